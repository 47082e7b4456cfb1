"""DER surgery for tests: certificates and keys with the flaws files made elsewhere have
(a duplicate extension, an algorithm without parameters, a damaged IV), which neither
cryptography nor openssl will write on purpose.

A DER element is a ``Node``: its tag and either its content octets (primitive) or its
children (constructed). Nothing is signed again: the flaws are what is tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    tag: int
    content: bytes = b""
    children: list[Node] = field(default_factory=list)

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def _length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def parse(data: bytes) -> list[Node]:
    """Every element of ``data`` (definite lengths, one-byte tags)."""
    nodes: list[Node] = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        length, start = _length(data, pos + 1)
        body = data[start : start + length]
        node = Node(tag)
        if node.constructed:
            node.children = parse(body)
        else:
            node.content = body
        nodes.append(node)
        pos = start + length
    return nodes


def encode(nodes: list[Node]) -> bytes:
    out = b""
    for node in nodes:
        body = encode(node.children) if node.constructed else node.content
        size = len(body)
        if size < 0x80:
            head = bytes([node.tag, size])
        else:
            octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
            head = bytes([node.tag, 0x80 | len(octets)]) + octets
        out += head + body
    return out


def oid(dotted: str) -> Node:
    """An OBJECT IDENTIFIER element."""
    parts = [int(p) for p in dotted.split(".")]
    values = [40 * parts[0] + parts[1], *parts[2:]]
    body = b""
    for value in values:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        body += bytes(reversed(chunk))
    return Node(0x06, body)


def _tbs(cert: Node) -> Node:
    return cert.children[0]


def _extensions(cert: Node) -> Node:
    explicit = next(child for child in _tbs(cert).children if child.tag == 0xA3)
    return explicit.children[0]


def with_duplicate_extension(der: bytes, dotted: str) -> bytes:
    """The certificate with its extension ``dotted`` present twice."""
    cert = parse(der)[0]
    extensions = _extensions(cert)
    twin = next(e for e in extensions.children if e.children[0].content == oid(dotted).content)
    extensions.children.append(twin)
    return encode([cert])


def with_signature_algorithm(der: bytes, dotted: str, parameters: Node | None) -> bytes:
    """The certificate with both of its signature algorithm fields set to ``dotted``
    (``parameters`` None: absent)."""
    cert = parse(der)[0]
    for algorithm in (_tbs(cert).children[_signature_index(cert)], cert.children[1]):
        algorithm.children = [oid(dotted), *([parameters] if parameters is not None else [])]
    return encode([cert])


def _signature_index(cert: Node) -> int:
    """Where the signature AlgorithmIdentifier sits in the TBS (after the version and
    serial number; a v1 certificate has no version field)."""
    return 2 if _tbs(cert).children[0].tag == 0xA0 else 1


def with_pbes2_iv(der: bytes, size: int) -> bytes:
    """A PBES2-encrypted PKCS #8 key (DER) whose cipher IV has ``size`` bytes."""
    info = parse(der)[0]
    scheme = info.children[0].children[1].children[1]
    scheme.children[1].content = bytes(range(size))
    return encode([info])
