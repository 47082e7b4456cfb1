"""Key and certificate generation, PKCS #12 / PEM / DER parsing and export (DESIGN §3, §4).

Pure: no file I/O and no clock reads (time is a parameter). Bad input never raises
an unexpected exception from the ``read_*`` functions that return a :class:`Material`:
it becomes a file-level :class:`Finding` (``unreadable``, ``wrong-password``,
``no-private-key``, ``no-certificate``, ``key-mismatch``).

No password and no key bytes ever reach an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kscert_gui.model.certificate import Finding
from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.errors import InputFileError, ValidationError, WrongPasswordError

#: Validity of an issued certificate: never more than 397 days (DESIGN §3, §4).
ISSUED_VALIDITY = timedelta(days=397)
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
#: X.520 upper bound of a commonName.
_CN_MAX = 64
#: A hostile file must not make the MAC check spin for minutes.
_MAX_MAC_ITERATIONS = 1_000_000

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_PEM_MARK = b"-----BEGIN"


class UnreadableError(InputFileError):
    """Data that is not the expected format (corrupt, truncated, empty, wrong kind)."""


# --- issuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate issued through the Administration Server and its fresh private key."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)


def normalize_address(text: str) -> str:
    """Validate a connection address and return its canonical form.

    An IPv4/IPv6 literal comes back compressed (``str(ip_address)``); a host name
    comes back as its lowercase IDNA A-label form without a trailing dot.

    Raises:
        ValidationError: the text is neither an IP address nor a valid host name
            (empty, spaces, scheme, path, port, wildcard, bad label, too long).
    """
    raw = text.strip()
    if not raw:
        raise ValidationError("The connection address is empty: enter a host name or IP address.")

    def bad(reason: str) -> ValidationError:
        return ValidationError(f"'{raw}' is not a valid connection address: {reason}.")

    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            raise bad("an IPv6 zone index (%...) cannot be part of a certificate")
        return str(ip)
    if any(ch.isspace() for ch in raw):
        raise bad("it contains spaces")
    if "://" in raw or "/" in raw:
        raise bad("give the host name only, without a scheme (http://) or a path")
    if "*" in raw:
        raise bad("wildcards are not allowed in a connection address")
    if ":" in raw or "[" in raw or "]" in raw:
        raise bad("give the host name only, without a port number")
    name = raw[:-1] if raw.endswith(".") else raw
    labels = name.split(".")
    out: list[str] = []
    for label in labels:
        if not label:
            raise bad("it has an empty label (two dots in a row, or a leading dot)")
        if label.isascii():
            ascii_label = label.lower()
        else:
            from encodings import idna  # rare: not imported at every start of the console

            try:
                ascii_label = idna.ToASCII(label).decode("ascii").lower()
            except UnicodeError:
                raise bad(f"the label '{label}' cannot be converted to IDNA form") from None
        if len(ascii_label) > 63:
            raise bad(f"the label '{label}' is longer than 63 characters")
        if not _LABEL.match(ascii_label):
            raise bad(
                f"the label '{label}' may hold only letters, digits and '-', "
                "and may not start or end with '-'"
            )
        out.append(ascii_label)
    if out[-1].isdigit():
        raise bad("it looks like an IP address but is not a valid one")
    result = ".".join(out)
    if len(result) > 253:
        raise bad(f"a host name may have at most 253 characters, this one has {len(result)}")
    return result


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def issue_certificate(address: str, now: datetime, key_size: int = 2048) -> IssuedCertificate:
    """Issue a self-signed mobile certificate that meets every rule of DESIGN §4.

    A fresh RSA key every call; SHA-256; ``notBefore`` = ``now`` (whole seconds,
    UTC); ``notAfter`` = ``notBefore`` + 397 days; CN and SAN = the address.

    Raises:
        ValidationError: a bad address or a key size other than 2048, 3072, 4096.
    """
    if key_size not in ALLOWED_KEY_SIZES:
        raise ValidationError(
            f"RSA key size {key_size} is not offered: choose 2048, 3072 or 4096 bits."
        )
    addr = normalize_address(address)
    not_before = ensure_utc(now).replace(microsecond=0)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    # The address always goes to the SAN (what clients check). A CN is limited to 64
    # characters; for a longer host name the CN holds its leftmost label only.
    cn = addr if len(addr) <= _CN_MAX else addr.split(".")[0]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    san_entry: x509.GeneralName = (
        x509.IPAddress(ipaddress.ip_address(addr)) if _is_ip(addr) else x509.DNSName(addr)
    )
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + ISSUED_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([san_entry]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
        )
    )
    return IssuedCertificate(certificate=builder.sign(key, hashes.SHA256()), private_key=key)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Material:
    """What was read from the files of one custom certificate.

    ``chain`` holds the other certificates found (the leaf excluded); ``findings``
    the file-level findings (unreadable, wrong-password, no-private-key,
    no-certificate, key-mismatch).
    """

    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    private_key: PrivateKeyTypes | None = field(default=None, repr=False)
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.severity == "error" for f in self.findings)


def unreadable_finding(message: str) -> Finding:
    """An ``unreadable`` finding (rule set ``file``)."""
    return Finding(
        "unreadable",
        "error",
        "file",
        message,
        "Choose the right file: a PKCS #12 container (.p12, .pfx), a certificate "
        "(.cer, .crt, .pem, .der) or a private key (.prk, .pem, .key), as exported, "
        "not truncated.",
    )


def _wrong_password(message: str) -> Finding:
    return Finding(
        "wrong-password",
        "error",
        "file",
        message,
        "Enter the password the file was exported with (spaces count).",
    )


def _no_private_key() -> Finding:
    return Finding(
        "no-private-key",
        "error",
        "file",
        "The PKCS #12 container holds no private key.",
        "Export the certificate again together with its private key "
        "(for example 'openssl pkcs12 -export -inkey KEY -in CERT').",
    )


def _no_certificate(what: str) -> Finding:
    return Finding(
        "no-certificate",
        "error",
        "file",
        f"No certificate was found in {what}.",
        "Export the container again with the certificate, or use the X.509 option "
        "with the certificate file.",
    )


def _key_mismatch(cert: x509.Certificate) -> Finding:
    subject = cert.subject.rfc4514_string() or "(empty subject)"
    return Finding(
        "key-mismatch",
        "error",
        "file",
        f"The private key does not belong to the certificate '{subject}'.",
        "Choose the private key that was generated together with this certificate.",
    )


def _public_der(public_key: object) -> bytes | None:
    try:
        return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (AttributeError, ValueError, TypeError, UnsupportedAlgorithm):
        return None


def keys_match(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    """True when ``key`` is the private half of the certificate's public key."""
    try:
        cert_public = cert.public_key()
        key_public = key.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    if isinstance(cert_public, rsa.RSAPublicKey) and isinstance(key_public, rsa.RSAPublicKey):
        return cert_public.public_numbers() == key_public.public_numbers()
    mine = _public_der(cert_public)
    return mine is not None and mine == _public_der(key_public)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _pick_leaf(
    certs: Sequence[x509.Certificate],
    key: PrivateKeyTypes | None,
    preferred: x509.Certificate | None = None,
) -> tuple[x509.Certificate | None, tuple[x509.Certificate, ...]]:
    """Choose the leaf: the preferred one, else the one the key opens, else the first
    non-CA, else the first. Returns (leaf, the others in their order)."""
    leaf = preferred
    if leaf is None and key is not None:
        leaf = next((c for c in certs if keys_match(c, key)), None)
    if leaf is None:
        leaf = next((c for c in certs if not _is_ca(c)), None)
    if leaf is None and certs:
        leaf = certs[0]
    others: list[x509.Certificate] = []
    for cert in certs:
        if cert is leaf or cert == leaf or cert in others:
            continue
        others.append(cert)
    return leaf, tuple(others)


def _split_der(data: bytes) -> list[bytes]:
    """Split concatenated DER TLVs (a certificate or a chain stored back to back)."""
    parts: list[bytes] = []
    pos = 0
    while pos < len(data):
        tag, _start, end = _tlv(data, pos)
        if tag != 0x30:
            raise ValueError("not a DER SEQUENCE")
        parts.append(data[pos:end])
        pos = end
    return parts


def read_certificates(data: bytes) -> list[x509.Certificate]:
    """Read every certificate of a PEM file or bundle, or of DER data.

    PEM or DER is decided by content (``-----BEGIN``), never by a file name. DER
    data may hold several certificates back to back. The order of the input is
    kept (bundles are leaf first).

    Returns:
        The certificates; an empty list when the data holds no readable
        certificate (empty, junk, truncated, another kind of PEM block). This
        function never raises on bad input.
    """
    if not data:
        return []
    try:
        if _PEM_MARK in data:
            certs = list(x509.load_pem_x509_certificates(data))
        else:
            certs = [x509.load_der_x509_certificate(part) for part in _split_der(data)]
    except (ValueError, TypeError, IndexError, UnsupportedAlgorithm, x509.InvalidVersion):
        # InvalidVersion (a version other than v1/v3) is not a ValueError.
        return []
    return certs if all(fully_parsed(c) for c in certs) else []


def fully_parsed(cert: x509.Certificate) -> bool:
    """Whether every part of ``cert`` can be read.

    cryptography decodes names, the key and the extensions only when they are first
    asked for; a damaged one then raises ValueError far from where the file was read.
    A certificate that fails here is as unreadable as one that does not load at all.
    """
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        cert.public_key()
        _ = (cert.extensions, cert.not_valid_before_utc, cert.not_valid_after_utc)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _describe_key_error(exc: Exception) -> str:
    if isinstance(exc, UnsupportedAlgorithm):
        return "its key type or encryption is not supported"
    return "it is not a PEM or DER private key (PKCS #8 or traditional OpenSSL form)"


def read_private_key(data: bytes, password: bytes | None) -> PrivateKeyTypes:
    """Read a PEM or DER private key: PKCS #8 (encrypted or not) or traditional OpenSSL.

    An empty password counts as none. A password given for a key that is not
    encrypted is not an error.

    Raises:
        WrongPasswordError: the key is encrypted and the password is missing or wrong.
        UnreadableError: the data is not a private key this program can read.
    """
    if not data:
        raise UnreadableError("The private key file is empty.")
    load: Callable[[bytes, bytes | None], PrivateKeyTypes] = (
        serialization.load_pem_private_key
        if _PEM_MARK in data
        else serialization.load_der_private_key
    )
    pw = password or None
    pem = load is serialization.load_pem_private_key
    if pw is not None and _excessive_iterations(_pem_bodies(data) if pem else [data]):
        raise UnreadableError(_TOO_MANY_ITERATIONS)
    try:
        return load(data, pw)
    except TypeError:
        if pw is None:
            raise WrongPasswordError(
                "The private key is encrypted and no password was given."
            ) from None
        # A superfluous password: the key is not encrypted.
        try:
            return load(data, None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise UnreadableError(
                f"The private key cannot be read: {_describe_key_error(exc)}."
            ) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        if pw is not None:
            # Is it an encrypted key at all? Without a password cryptography says so
            # with a TypeError; a corrupt file gives a ValueError again.
            try:
                load(data, None)
            except TypeError:
                raise WrongPasswordError(
                    "The password does not open the private key."
                ) from None
            except (ValueError, UnsupportedAlgorithm):
                pass
        raise UnreadableError(
            f"The private key cannot be read: {_describe_key_error(exc)}."
        ) from None


def read_certificate_only(cert_data: bytes) -> Material:
    """Read a certificate file (PEM, bundle or DER) without a private key."""
    certs = read_certificates(cert_data)
    if not certs:
        return Material(findings=(_unreadable_cert(cert_data),))
    leaf, chain = _pick_leaf(certs, None, preferred=certs[0])
    return Material(certificate=leaf, chain=chain)


def _unreadable_cert(cert_data: bytes) -> Finding:
    if not cert_data:
        return unreadable_finding("The certificate file is empty.")
    return unreadable_finding(
        "The certificate file holds no readable X.509 certificate in PEM or DER form."
    )


def read_x509_pair(key_data: bytes, key_password: bytes | None, cert_data: bytes) -> Material:
    """Read an X.509 private key file and its certificate file (public key)."""
    findings: list[Finding] = []
    key: PrivateKeyTypes | None = None
    try:
        key = read_private_key(key_data, key_password)
    except WrongPasswordError as exc:
        findings.append(_wrong_password(exc.message))
    except UnreadableError as exc:
        findings.append(unreadable_finding(exc.message))
    certs = read_certificates(cert_data)
    if not certs:
        findings.append(_unreadable_cert(cert_data))
        return Material(private_key=key, findings=tuple(findings))
    # The certificate the key opens is the leaf; otherwise the bundle order decides.
    matching = next((c for c in certs if keys_match(c, key)), None) if key is not None else None
    leaf, chain = _pick_leaf(certs, None, preferred=matching or certs[0])
    if key is not None and matching is None and leaf is not None:
        findings.append(_key_mismatch(leaf))
    return Material(certificate=leaf, chain=chain, private_key=key, findings=tuple(findings))


def read_pkcs12(data: bytes, password: bytes | None) -> Material:
    """Read a PKCS #12 container (modern AES-256/PBKDF2 or legacy RC2-40/3DES).

    ``None`` and ``b""`` are both tried for an empty password. A parse failure is
    ``unreadable``; a password failure is told apart from undecryptable content
    (an unsupported cipher or damaged data) by checking the container's own MAC.
    """
    if not data:
        return Material(findings=(unreadable_finding("The PKCS #12 file is empty."),))
    if _excessive_iterations([data]):
        return Material(findings=(unreadable_finding(_TOO_MANY_ITERATIONS),))
    candidates: list[bytes | None] = [password] if password else [None, b""]
    loaded: pkcs12.PKCS12KeyAndCertificates | None = None
    for candidate in candidates:
        try:
            loaded = pkcs12.load_pkcs12(data, candidate)
            break
        except ValueError as exc:
            if "Invalid password" not in str(exc):
                return Material(findings=(_unreadable_p12(),))
        except (TypeError, UnsupportedAlgorithm, x509.InvalidVersion):
            return Material(findings=(_unreadable_p12(),))
    if loaded is None:
        return Material(findings=(_password_or_cipher(data, candidates, password),))

    key: PrivateKeyTypes | None = loaded.key
    certs: list[x509.Certificate] = []
    preferred = loaded.cert.certificate if loaded.cert is not None else None
    if preferred is not None:
        certs.append(preferred)
    certs += [c.certificate for c in loaded.additional_certs]
    if not all(fully_parsed(c) for c in certs):
        return Material(findings=(_unreadable_p12(),))
    leaf, chain = _pick_leaf(certs, key, preferred)
    findings: list[Finding] = []
    if key is None:
        findings.append(_no_private_key())
    if leaf is None:
        findings.append(_no_certificate("the PKCS #12 container"))
    elif key is not None and not keys_match(leaf, key):
        findings.append(_key_mismatch(leaf))
    return Material(certificate=leaf, chain=chain, private_key=key, findings=tuple(findings))


def _unreadable_p12() -> Finding:
    return unreadable_finding(
        "The file is not a PKCS #12 container (it is damaged, truncated or another kind "
        "of file)."
    )


def _password_or_cipher(
    data: bytes, candidates: Sequence[bytes | None], password: bytes | None
) -> Finding:
    verdict = verify_pkcs12_mac(data, candidates)
    if verdict is True:
        return unreadable_finding(
            "The password is right (the container's integrity check passes) but its "
            "contents cannot be decrypted: the encryption is not supported here (for "
            "example legacy RC2 without the OpenSSL legacy provider) or the data is damaged."
        )
    if not password:
        return _wrong_password(
            "The PKCS #12 container is protected by a password and none was given."
        )
    if verdict is None:
        return _wrong_password(
            "The password does not open the PKCS #12 container (or its data is damaged)."
        )
    return _wrong_password("The password does not open the PKCS #12 container.")


# --- PKCS #12 MAC (RFC 7292 appendix B) ---------------------------------------------------

_OID_DATA = bytes.fromhex("2a864886f70d010701")  # 1.2.840.113549.1.7.1
_MAC_HASHES = {
    bytes.fromhex("2b0e03021a"): "sha1",  # 1.3.14.3.2.26
    bytes.fromhex("608648016503040201"): "sha256",
    bytes.fromhex("608648016503040202"): "sha384",
    bytes.fromhex("608648016503040203"): "sha512",
    bytes.fromhex("608648016503040204"): "sha224",
    bytes.fromhex("2a864886f70d0205"): "md5",  # 1.2.840.113549.2.5
}


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """One DER TLV at ``pos``: (tag, content start, content end). Definite lengths only."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tag")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80 or first > 0x84:
        raise ValueError("unsupported DER length")
    else:
        count = first & 0x7F
        if pos + count > len(data):
            raise ValueError("truncated DER")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


_TOO_MANY_ITERATIONS = (
    f"The file asks for more than {_MAX_MAC_ITERATIONS:,} password-hashing iterations; "
    "no real export does that, and checking it would take minutes. It is refused as damaged."
)
#: Bounds of the iteration-count scan, so that a hostile file cannot make it slow either.
_SCAN_DEPTH = 16
_SCAN_NODES = 50_000


def _pem_bodies(data: bytes) -> list[bytes]:
    """The base64-decoded bodies of the PEM blocks in ``data`` (undecodable ones skipped)."""
    bodies: list[bytes] = []
    for block in data.split(_PEM_MARK)[1:]:
        lines = block.splitlines()[1:]
        body = b"".join(
            line.strip() for line in lines
            if line and b":" not in line and not line.startswith(b"-----")
        )
        try:
            bodies.append(base64.b64decode(body))
        except (binascii.Error, ValueError):
            continue
    return bodies


def _excessive_iterations(blobs: Sequence[bytes]) -> bool:
    """True when DER data asks for more than ``_MAX_MAC_ITERATIONS`` iterations.

    Password-based parameters (PBES1, PBKDF2, PKCS #12 PBE, PKCS #12 MacData) all put
    the iteration count as an INTEGER right after the salt OCTET STRING; OpenSSL runs
    whatever count the file says. The scan also looks inside OCTET STRINGs that hold
    DER (the bags of a PKCS #12 container); its depth and size are bounded.
    """
    budget = [_SCAN_NODES]

    def scan(data: bytes, start: int, end: int, depth: int) -> bool:
        if depth > _SCAN_DEPTH:
            return False
        try:
            items = _children(data, start, end)
        except (ValueError, IndexError):
            return False
        budget[0] -= len(items)
        if budget[0] < 0:
            return False
        for i, (tag, s, e) in enumerate(items):
            following = items[i + 1] if i + 1 < len(items) else None
            if tag == 0x04 and following is not None and following[0] == 0x02:
                count = int.from_bytes(data[following[1] : following[2]], "big", signed=True)
                if count > _MAX_MAC_ITERATIONS:
                    return True
            if (tag & 0x20 or (tag == 0x04 and e > s and data[s] == 0x30)) and scan(
                data, s, e, depth + 1
            ):
                return True
        return False

    return any(scan(blob, 0, len(blob), 0) for blob in blobs)


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        item = _tlv(data, pos)
        if item[2] > end:
            raise ValueError("DER element overruns its parent")
        items.append(item)
        pos = item[2]
    return items


def _octets(data: bytes, tag: int, start: int, end: int) -> bytes:
    """The value of a primitive or constructed OCTET STRING."""
    if tag == 0x04:
        return data[start:end]
    if tag == 0x24:
        return b"".join(_octets(data, *child) for child in _children(data, start, end))
    raise ValueError("not an OCTET STRING")


def _bmp_password(password: bytes | None) -> bytes:
    """RFC 7292 B.1: BMPString with a two-byte terminator; ``None`` is the empty string."""
    if password is None:
        return b""
    try:
        text = password.decode("utf-8")
    except UnicodeDecodeError:
        # What OpenSSL does with bytes that are not UTF-8.
        return b"".join(b"\x00" + bytes([b]) for b in password) + b"\x00\x00"
    return text.encode("utf-16-be") + b"\x00\x00"


def pkcs12_kdf(
    hash_name: str, password: bytes, salt: bytes, purpose: int, iterations: int, size: int
) -> bytes:
    """The PKCS #12 key derivation of RFC 7292 appendix B.2.

    ``password`` is already in BMPString form (see RFC 7292 B.1); ``purpose`` is 1
    (key), 2 (IV) or 3 (MAC key).
    """
    u = hashlib.new(hash_name).digest_size
    v = hashlib.new(hash_name).block_size

    def fill(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * (length // len(value) + 1))[:length]

    d = bytes([purpose]) * v
    i = bytearray(fill(salt) + fill(password))
    out = b""
    while len(out) < size:
        a = hashlib.new(hash_name, d + bytes(i)).digest()
        for _ in range(iterations - 1):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")
    return out[:size]


def verify_pkcs12_mac(data: bytes, passwords: Sequence[bytes | None]) -> bool | None:
    """Check a PKCS #12 file's password-based MAC with each of ``passwords``.

    Returns:
        True when one password verifies the MAC, False when none does, None when
        the file has no MAC, uses an unknown MAC algorithm or cannot be parsed.
    """
    try:
        tag, start, end = _tlv(data, 0)
        if tag != 0x30:
            return None
        parts = _children(data, start, end)
        if len(parts) < 3 or parts[1][0] != 0x30 or parts[2][0] != 0x30:
            return None
        content_info = _children(data, parts[1][1], parts[1][2])
        oid = content_info[0]
        if oid[0] != 0x06 or data[oid[1] : oid[2]] != _OID_DATA or len(content_info) < 2:
            return None
        explicit = content_info[1]
        if explicit[0] != 0xA0:
            return None
        inner = _children(data, explicit[1], explicit[2])[0]
        auth_safe = _octets(data, *inner)
        mac_data = _children(data, parts[2][1], parts[2][2])
        digest_info = _children(data, mac_data[0][1], mac_data[0][2])
        algorithm = _children(data, digest_info[0][1], digest_info[0][2])
        hash_name = _MAC_HASHES.get(data[algorithm[0][1] : algorithm[0][2]])
        expected = _octets(data, *digest_info[1])
        salt = _octets(data, *mac_data[1])
        iterations = 1
        if len(mac_data) > 2 and mac_data[2][0] == 0x02:
            iterations = int.from_bytes(data[mac_data[2][1] : mac_data[2][2]], "big")
    except (ValueError, IndexError):
        return None
    if hash_name is None or not 1 <= iterations <= _MAX_MAC_ITERATIONS:
        return None
    size = hashlib.new(hash_name).digest_size
    for password in passwords:
        key = pkcs12_kdf(hash_name, _bmp_password(password), salt, 3, iterations, size)
        if hmac.compare_digest(hmac.new(key, auth_safe, hash_name).digest(), expected):
            return True
    return False


# --- export -------------------------------------------------------------------------------


def export_certificate(cert: x509.Certificate, fmt: Literal["pem", "der"]) -> bytes:
    """The certificate (public part) as PEM or DER."""
    if fmt == "pem":
        return cert.public_bytes(serialization.Encoding.PEM)
    if fmt == "der":
        return cert.public_bytes(serialization.Encoding.DER)
    raise ValidationError(f"Unknown certificate format '{fmt}': choose pem or der.")


def export_pkcs12(
    cert: x509.Certificate,
    key: PrivateKeyTypes,
    chain: Sequence[x509.Certificate],
    password: bytes,
    legacy: bool = False,
    name: bytes = b"kscert",
) -> bytes:
    """A password-protected PKCS #12 container with the key, the certificate and chain.

    Modern: PBES2 (PBKDF2-SHA256, AES-256-CBC) with an HMAC-SHA256 MAC. Legacy (for
    old importers): PBES1 SHA-1 + 3-key triple DES with an HMAC-SHA1 MAC.

    Raises:
        ValidationError: an empty password or a key type PKCS #12 cannot hold.
    """
    if not password:
        raise ValidationError("A PKCS #12 export needs a password.")
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | dsa.DSAPrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        raise ValidationError("This kind of private key cannot be exported as PKCS #12.")
    builder = serialization.PrivateFormat.PKCS12.encryption_builder()
    if legacy:
        builder = (
            builder.kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
        )
    else:
        builder = (
            builder.kdf_rounds(100_000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
        )
    return pkcs12.serialize_key_and_certificates(
        name, key, cert, list(chain) or None, builder.build(password)
    )


def encrypt_private_key(key: PrivateKeyTypes, passphrase: bytes) -> bytes:
    """The key as encrypted PKCS #8 DER (PBES2, AES-256-CBC) for the store (DESIGN §10).

    Raises:
        ValidationError: an empty passphrase.
    """
    if not passphrase:
        raise ValidationError("A private key is never stored without a passphrase.")
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def passphrase_opens(blob: bytes, passphrase: bytes) -> bool:
    """Whether ``passphrase`` decrypts a key written by :func:`encrypt_private_key`.

    Only the decryption (and the PKCS #8 structure under it) is checked, not the
    consistency of the RSA key: the key is thrown away at once, and cryptography's RSA
    check (primality tests of p and q: about 0.25 s for a 4096-bit key) holds the GIL,
    so it would freeze the GUI thread while a background reissue asks this. Keys that
    are used (export, serve) are opened, and checked, by :func:`decrypt_private_key`.
    """
    if not passphrase:
        return False
    try:
        serialization.load_der_private_key(
            blob, passphrase, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def decrypt_private_key(blob: bytes, passphrase: bytes) -> PrivateKeyTypes:
    """Open a key written by :func:`encrypt_private_key`.

    Raises:
        WrongPasswordError: the passphrase does not open it (or the blob is damaged).
    """
    try:
        return serialization.load_der_private_key(blob, passphrase or None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise WrongPasswordError(
            "The passphrase does not open the stored private key."
        ) from None
