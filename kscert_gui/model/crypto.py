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
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kscert_gui.model.address import normalize_address
from kscert_gui.model.certificate import (
    ABSENT_OR_ODD,
    ODD_INPUT,
    signature_description,
)
from kscert_gui.model.certinfo import Finding, quoted
from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.errors import InputFileError, ValidationError, WrongPasswordError

#: Validity of an issued certificate: never more than 397 days (DESIGN §3, §4).
ISSUED_VALIDITY = timedelta(days=397)
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
#: X.520 upper bound of a commonName.
_CN_MAX = 64
#: A hostile file must not make the MAC check spin for minutes.
_MAX_MAC_ITERATIONS = 1_000_000

_PEM_MARK = b"-----BEGIN"


class UnreadableError(InputFileError):
    """Data that is not the expected format (corrupt, truncated, empty, wrong kind)."""


# --- issuing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate issued through the Administration Server and its fresh private key."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey = field(repr=False)


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
    #: Things a person should know that are no finding (a password that was not needed).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.severity == "error" for f in self.findings)


_CHOOSE_THE_RIGHT_FILE = (
    "Choose the right file: a PKCS #12 container (.p12, .pfx), a certificate "
    "(.cer, .crt, .pem, .der) or a private key (.prk, .pem, .key), as exported, "
    "not truncated."
)
#: The fix of a key or container encrypted in a way this program cannot read.
EXPORT_AGAIN_WITH_AES = (
    "Export the key again with AES-256 encryption (for example 'openssl pkcs8 -topk8 "
    "-v2 aes-256-cbc -in KEY -out NEW.pem'), or without encryption on a trusted machine."
)


_NO_CERTIFICATE = "The certificate file holds no readable X.509 certificate in PEM or DER form."


def unreadable_finding(message: str, fix: str = _CHOOSE_THE_RIGHT_FILE) -> Finding:
    """An ``unreadable`` finding (rule set ``file``)."""
    return Finding("unreadable", "error", "file", message, fix)


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
    subject = quoted(cert.subject.rfc4514_string()) or "(empty subject)"
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
    except ODD_INPUT:
        return False
    if isinstance(cert_public, rsa.RSAPublicKey) and isinstance(key_public, rsa.RSAPublicKey):
        return cert_public.public_numbers() == key_public.public_numbers()
    mine = _public_der(cert_public)
    return mine is not None and mine == _public_der(key_public)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except ABSENT_OR_ODD:
        return False


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` (``cert`` itself for a self-signed one) issued ``cert``: the names
    match and the signature verifies; names alone decide when the signature cannot be
    checked here (an algorithm this program does not know: other rules report it)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except ODD_INPUT:
        return True
    return True


def _pick_leaf(
    certs: Sequence[x509.Certificate],
    key: PrivateKeyTypes | None,
    preferred: x509.Certificate | None = None,
) -> tuple[x509.Certificate | None, tuple[x509.Certificate, ...]]:
    """Choose the leaf of certificates in any order (DESIGN §4): the preferred one, else
    the one the key belongs to, else the one that issued no other certificate in the
    file (a non-CA first), else the first.

    Returns:
        (leaf, the others): the leaf's issuer, its issuer's issuer and so on first, then
        the rest in the order of the file; each certificate once.
    """
    # Issuers are looked up by name, so that a large bundle costs a lookup per
    # certificate and a signature check only where the names match.
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for cert in certs:
        by_subject.setdefault(cert.subject, []).append(cert)

    def issuers_of(cert: x509.Certificate) -> list[x509.Certificate]:
        return [c for c in by_subject.get(cert.issuer, []) if c != cert and issued_by(cert, c)]

    leaf = preferred
    if leaf is None and key is not None:
        leaf = next((c for c in certs if keys_match(c, key)), None)
    if leaf is None:
        issuers = {issuer for cert in certs for issuer in issuers_of(cert)}
        ends = [c for c in certs if c not in issuers]
        leaf = next((c for c in ends if not _is_ca(c)), ends[0] if ends else None)
    if leaf is None and certs:
        leaf = certs[0]
    # Each certificate once (dict: kept in the order of the file), the leaf not among them.
    others = dict.fromkeys(c for c in certs if c != leaf)
    chain: dict[x509.Certificate, None] = {}
    current = leaf
    while current is not None:
        current = next((c for c in issuers_of(current) if c in others and c not in chain), None)
        if current is not None:
            chain[current] = None
    return leaf, (*chain, *(c for c in others if c not in chain))


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
    kept.

    Returns:
        The certificates; an empty list when the data holds no readable
        certificate (empty, junk, truncated, another kind of PEM block) or one of
        them cannot be read whole. This function never raises on bad input.
    """
    certs, _problem = read_certificate_list(data)
    return certs


_REISSUE_MALFORMED = (
    "Have the certificate issued again with the part named above in valid X.509 form "
    "(other programs may display it, but devices cannot rely on it), or choose another "
    "certificate."
)


def read_certificate_list(data: bytes) -> tuple[list[x509.Certificate], Finding | None]:
    """:func:`read_certificates`, and when nothing is returned, why: an ``unreadable``
    finding that names the certificate and the part of it that cannot be read."""
    if not data:
        return [], unreadable_finding("The certificate file is empty.")
    pem = _PEM_MARK in data
    certs: list[x509.Certificate] | None
    try:
        if pem:
            certs = list(x509.load_pem_x509_certificates(data))
        else:
            certs = [x509.load_der_x509_certificate(part) for part in _split_der(data)]
    except ODD_INPUT:
        certs = None
    except IndexError:
        certs = None
    if certs and all(loaded_problem(c) is None for c in certs):
        return certs, None
    ders = _pem_certificate_ders(data) if pem else _der_parts(data)
    for index, der in enumerate(ders):
        problem = certificate_problem(der)
        if problem is not None:
            who = (
                "The certificate"
                if len(ders) == 1
                else f"Certificate {index + 1} of {len(ders)} in the file"
            )
            return [], unreadable_finding(f"{who} cannot be read: {problem}.", _REISSUE_MALFORMED)
    return [], unreadable_finding(_NO_CERTIFICATE)


def fully_parsed(cert: x509.Certificate) -> bool:
    """Whether every part of ``cert`` can be read.

    cryptography decodes names, the key and the extensions only when they are first
    asked for; a damaged one then raises far from where the file was read (and not
    only ValueError). A certificate that fails here is as unreadable as one that does
    not load at all. A key of a type cryptography does not know (GOST) is no damage.
    """
    return loaded_problem(cert) is None


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(.*?)-----END (?:X509 |TRUSTED )?"
    rb"CERTIFICATE-----",
    re.DOTALL,
)


def _pem_certificate_ders(data: bytes) -> list[bytes]:
    """The DER bodies of the certificate blocks of a PEM file (undecodable ones empty)."""
    ders: list[bytes] = []
    for match in _PEM_CERTIFICATE.finditer(data):
        lines = [line.strip() for line in match.group(1).splitlines()]
        body = b"".join(line for line in lines if line and b":" not in line)
        try:
            ders.append(base64.b64decode(body, validate=False))
        except (binascii.Error, ValueError):
            ders.append(b"")
    return ders


def _der_parts(data: bytes) -> list[bytes]:
    try:
        return _split_der(data)
    except (ValueError, IndexError):
        return [data]


#: The part of a certificate a cryptography parse error points at, as a person says it.
_PARTS = {
    "version": "its version field is malformed",
    "serial": "its serial number is malformed",
    "signature_alg": "its signature algorithm is malformed",
    "issuer": "its issuer name is malformed",
    "validity": "its validity dates are malformed",
    "subject": "its subject name is malformed",
    "spki": "its public key is malformed",
    "issuer_unique_id": "its issuer unique identifier is malformed",
    "subject_unique_id": "its subject unique identifier is malformed",
    "raw_extensions": "its extensions are malformed",
}
_LOCATION = re.compile(r'"TbsCertificate::(\w+)"(?:,\s*(\d+))?')
_OUTER_LOCATION = re.compile(r'"Certificate::(signature_alg|signature)"')


def certificate_problem(der: bytes) -> str | None:
    """Which part of a DER certificate cannot be read, as a clause ("its
    basicConstraints extension appears twice"); None when all of it can, or when the
    data is not a certificate at all (nothing to name)."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except x509.InvalidVersion as exc:
        return (
            f"its version field holds {exc.parsed_version}, not one of X.509's versions "
            "(0, 1 or 2 for v1, v2 and v3)"
        )
    except ODD_INPUT as exc:
        return _located_problem(str(exc), der) if _looks_like_certificate(der) else None
    return loaded_problem(cert)


def _looks_like_certificate(der: bytes) -> bool:
    """Whether DER data has the shape of a certificate (a CRL, a key or a CSR has not),
    so that a parse error may be said to be in one of its parts."""
    try:
        outer, tbs, _extensions = _certificate_layout(der)
    except (ValueError, IndexError):
        return False
    tags = [tag for tag, _start, _end in tbs]
    if tags and tags[0] == 0xA0:
        tags = tags[1:]
    return (
        [tag for tag, _start, _end in outer] == [0x30, 0x30, 0x03]
        and tags[:6] == [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]
    )


def _located_problem(message: str, der: bytes) -> str | None:
    """The part a parse error's location names (cryptography puts it in the message)."""
    found = _LOCATION.search(message)
    if found is None:
        outer = _OUTER_LOCATION.search(message)
        if outer is None:
            return None
        return (
            "its signature algorithm is malformed"
            if outer.group(1) == "signature_alg"
            else "its signature value is malformed"
        )
    part, index = found.group(1), found.group(2)
    if part == "raw_extensions" and index is not None:
        extensions = _extension_elements(der)
        if extensions is not None and int(index) < len(extensions):
            return f"its {_extension_name(der, extensions[int(index)])} extension is malformed"
    return _PARTS.get(part)


def loaded_problem(cert: x509.Certificate) -> str | None:
    """Which part of a loaded certificate cannot be read (see :func:`certificate_problem`)."""
    try:
        cert.subject.rfc4514_string()
    except ODD_INPUT:
        return "its subject name is malformed"
    try:
        cert.issuer.rfc4514_string()
    except ODD_INPUT:
        return "its issuer name is malformed"
    try:
        _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number)
    except ODD_INPUT:
        return "its validity dates are malformed"
    try:
        cert.public_key()
    except UnsupportedAlgorithm:
        pass  # a key type this program does not know: non-rsa-key, not damage
    except ODD_INPUT:
        return "its public key is malformed"
    try:
        _ = cert.signature_algorithm_parameters
    except UnsupportedAlgorithm:
        pass
    except ODD_INPUT:
        name = cert.signature_algorithm_oid._name
        if not name or name == "Unknown OID":
            name = cert.signature_algorithm_oid.dotted_string
        return f"its signature algorithm ({name}) has missing or invalid parameters"
    try:
        signature_description(cert)
    except ODD_INPUT:
        return "its signature algorithm is malformed"
    try:
        _ = cert.extensions
    except x509.DuplicateExtension as exc:
        return f"its {_oid_name(exc.oid.dotted_string)} extension appears twice"
    except ODD_INPUT as exc:
        der = cert.public_bytes(serialization.Encoding.DER)
        return _bad_extension(der, exc) or "its extensions are malformed"
    return None


# --- naming the extension that cannot be read ---------------------------------------------


def _oid_text(content: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content octets."""
    values: list[int] = []
    value = 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    if not values:
        raise ValueError("empty OBJECT IDENTIFIER")
    first = min(values[0] // 40, 2)
    return ".".join(str(v) for v in (first, values[0] - 40 * first, *values[1:]))


def _oid_name(dotted: str) -> str:
    try:
        name = x509.ObjectIdentifier(dotted)._name
    except ValueError:
        return dotted
    return name if name and name != "Unknown OID" else dotted


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def _elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, start of the element, end of the element) of each element in a range."""
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        tag, _content, stop = _tlv(data, pos)
        if stop > end:
            raise ValueError("DER element overruns its parent")
        out.append((tag, pos, stop))
        pos = stop
    return out


def _certificate_layout(
    der: bytes,
) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """(the certificate's three parts, the TBS parts, the extensions) as elements."""
    _tag, start, end = _tlv(der, 0)
    outer = _elements(der, start, end)
    _tag, tbs_start, tbs_end = _tlv(der, outer[0][1])
    tbs = _elements(der, tbs_start, tbs_end)
    extensions: list[tuple[int, int, int]] = []
    for tag, pos, _stop in tbs:
        if tag == 0xA3:
            _t, s, _e = _tlv(der, pos)
            _t, list_start, list_end = _tlv(der, s)
            extensions = _elements(der, list_start, list_end)
    return outer, tbs, extensions


def _extension_elements(der: bytes) -> list[tuple[int, int, int]] | None:
    try:
        return _certificate_layout(der)[2]
    except (ValueError, IndexError):
        return None


def _extension_name(der: bytes, element: tuple[int, int, int]) -> str:
    try:
        _tag, start, end = _tlv(der, element[1])
        tag, oid_start, oid_end = _tlv(der, start)
        if tag != 0x06 or oid_end > end:
            return "unnamed"
        return _oid_name(_oid_text(der[oid_start:oid_end]))
    except (ValueError, IndexError):
        return "unnamed"


#: Real certificates have a dozen extensions or so.
_MAX_EXTENSIONS_TRIED = 100


def _bad_extension(der: bytes, exc: Exception) -> str | None:
    """Name the extension that cannot be read: each one is tried alone, in a copy of
    the certificate that holds only it (cryptography reads them all at once)."""
    try:
        outer, tbs, extensions = _certificate_layout(der)
    except (ValueError, IndexError):
        return None
    if len(extensions) > _MAX_EXTENSIONS_TRIED:
        return None  # each try copies the certificate: a hostile one must not be slow
    for element in extensions:
        tbs_content = b"".join(
            _der(0xA3, _der(0x30, der[element[1] : element[2]]))
            if tag == 0xA3
            else der[pos:stop]
            for tag, pos, stop in tbs
        )
        single = _der(
            0x30,
            _der(0x30, tbs_content) + b"".join(der[pos:stop] for _t, pos, stop in outer[1:]),
        )
        try:
            _ = x509.load_der_x509_certificate(single).extensions
        except x509.UnsupportedGeneralNameType:
            return (
                f"its {_extension_name(der, element)} extension holds an x400Address or "
                "ediPartyName name, which this program cannot read"
            )
        except ODD_INPUT:
            return f"its {_extension_name(der, element)} extension is malformed"
    if isinstance(exc, x509.UnsupportedGeneralNameType):
        return "a name in its extensions is an x400Address or ediPartyName, which this " \
               "program cannot read"
    return None


def _guarded(
    load: Callable[[bytes, bytes | None], PrivateKeyTypes],
) -> Callable[[bytes, bytes | None], PrivateKeyTypes]:
    """``load``, with a panic of the library's Rust code (an exception that is not an
    Exception: the short-IV case below was one) turned into an unreadable file rather
    than the end of the program or of a worker thread."""

    def call(data: bytes, password: bytes | None) -> PrivateKeyTypes:
        try:
            return load(data, password)
        except Exception:
            raise
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            raise UnreadableError(
                "The private key cannot be read: the cryptography library failed on it."
            ) from None

    return call


class UnsupportedEncryptionError(UnreadableError):
    """A key or container encrypted in a way this program cannot decrypt (an unknown
    cipher, key derivation or PRF, invalid parameters, a damaged header): no password
    would open it here, so it is never a wrong password (DESIGN §4)."""

    fix = EXPORT_AGAIN_WITH_AES


def _cannot_decrypt(reason: str) -> UnsupportedEncryptionError:
    return UnsupportedEncryptionError(
        f"The private key is encrypted with something this program cannot read: {reason}. "
        "No password would open it here."
    )


def _not_a_key(exc: Exception) -> UnreadableError:
    if isinstance(exc, UnsupportedAlgorithm):
        return UnreadableError(
            "The private key cannot be read: its key type or encryption is not supported."
        )
    return UnreadableError(
        "The private key cannot be read: it is not a PEM or DER private key (PKCS #8 or "
        "traditional OpenSSL form)."
    )


def read_private_key(data: bytes, password: bytes | None) -> PrivateKeyTypes:
    """Read a PEM or DER private key: PKCS #8 (encrypted or not) or traditional OpenSSL.

    An empty password counts as none. A password given for a key that is not
    encrypted is not an error.

    Raises:
        WrongPasswordError: the key is encrypted and the password is missing or wrong.
        UnsupportedEncryptionError: the key is encrypted in a way this program cannot
            decrypt (whatever the password).
        UnreadableError: the data is not a private key this program can read.
    """
    if not data:
        raise UnreadableError("The private key file is empty.")
    pem = _PEM_MARK in data
    load = _guarded(
        serialization.load_pem_private_key if pem else serialization.load_der_private_key
    )
    # Before cryptography sees the header: a short IV in it makes the library panic
    # (an exception that is not an Exception, with a backtrace on stderr).
    header = _dek_info_problem(data) if pem else None
    if header is not None:
        raise _cannot_decrypt(header)
    pw = password or None
    blobs = _pem_bodies(data) if pem else [data]
    if pw is not None and _excessive_iterations(blobs):
        raise UnreadableError(_TOO_MANY_ITERATIONS)
    try:
        return load(data, pw)
    except TypeError:
        if pw is None:
            # Would any password do? The header tells (no key derivation runs, so a
            # hostile file's scrypt parameters cannot eat the memory either).
            reason = _pbes2_problem(blobs) or _unknown_scheme(blobs)
            if reason is not None:
                raise _cannot_decrypt(reason) from None
            raise WrongPasswordError(
                "The private key is encrypted and no password was given."
            ) from None
        # A superfluous password: the key is not encrypted.
        try:
            return load(data, None)
        except ODD_INPUT as exc:
            raise _not_a_key(exc) from None
    except ODD_INPUT as exc:
        if pw is not None:
            # Is it an encrypted key at all? Without a password cryptography says so
            # with a TypeError; a corrupt file gives a ValueError again.
            try:
                load(data, None)
            except TypeError:
                reason = _decryption_failure(exc, blobs)
                if reason is not None:
                    raise _cannot_decrypt(reason) from None
                raise WrongPasswordError("The password does not open the private key.") from None
            except ODD_INPUT:
                pass
        damaged = _pbes2_problem(blobs)
        if damaged is not None:
            raise _cannot_decrypt(damaged) from None
        raise _not_a_key(exc) from None


#: PKCS #8 encryption schemes cryptography decrypts (pyca's vectors have each): PBES2,
#: pbeWithMD5AndDES-CBC, and the PKCS #12 schemes with SHA-1 and 3-key 3DES, RC2-40,
#: RC4-128. The rest it calls an "Unknown key encryption algorithm".
_PBES2_OID = "1.2.840.113549.1.5.13"
_KNOWN_SCHEMES = frozenset({
    _PBES2_OID,
    "1.2.840.113549.1.5.3",
    "1.2.840.113549.1.12.1.3",
    "1.2.840.113549.1.12.1.6",
    "1.2.840.113549.1.12.1.1",
})


def _unknown_scheme(blobs: Sequence[bytes]) -> str | None:
    """The encryption scheme of an encrypted PKCS #8 key when it is not one of
    :data:`_KNOWN_SCHEMES`; None otherwise (or when the data is not such a key)."""
    for der in blobs:
        try:
            tag, start, end = _tlv(der, 0)
            top = _children(der, start, end)
            if tag != 0x30 or len(top) != 2 or top[0][0] != 0x30 or top[1][0] != 0x04:
                continue
            scheme = _oid_at(der, _children(der, top[0][1], top[0][2])[0])
        except (ValueError, IndexError):
            continue
        if scheme not in _KNOWN_SCHEMES:
            return f"the encryption scheme {_oid_name(scheme)}, which it does not know"
    return None


def _decryption_failure(exc: Exception, blobs: list[bytes]) -> str | None:
    """Why an encrypted key could not be decrypted when no password could help; None
    when a wrong password may be the reason.

    cryptography says "Incorrect password" when the padding check fails; a stream
    cipher (RC4) gives garbage instead, which does not parse: both may be a wrong
    password. Unknown algorithms and invalid parameters are named in its message.
    """
    message = str(exc)
    if isinstance(exc, UnsupportedAlgorithm):
        return _pbes2_problem(blobs) or "an encryption algorithm it does not support"
    unknown = re.search(r"Unknown key encryption algorithm: ([0-9.]+)", message)
    if unknown is not None:
        return _pbes2_problem(blobs) or f"an unknown encryption algorithm ({unknown.group(1)})"
    if "unknown cipher" in message.lower():
        return "a cipher it does not support"
    if "DEK-Info" in message:
        return "its encryption header (DEK-Info) is damaged"
    if "Invalid key" in message:
        return _pbes2_problem(blobs) or "encryption parameters it does not support"
    return None


#: Ciphers of traditional OpenSSL PEM encryption cryptography decrypts, and IV sizes.
_DEK_CIPHERS = {"AES-128-CBC": 16, "AES-256-CBC": 16, "DES-EDE3-CBC": 8}
_PROC_TYPE = re.compile(rb"^[ \t]*Proc-Type[ \t]*:[^\r\n]*ENCRYPTED", re.MULTILINE | re.IGNORECASE)
_DEK_INFO = re.compile(
    rb"^[ \t]*DEK-Info[ \t]*:[ \t]*([^,\r\n]*)(?:,([^\r\n]*))?\r?$", re.MULTILINE | re.IGNORECASE
)


def _dek_info_problem(data: bytes) -> str | None:
    """What is wrong with the encryption header of a traditional encrypted PEM key.

    Every DEK-Info line is checked (a file may have several; which one the library
    takes is its business), in any letter case.
    """
    if _PROC_TYPE.search(data) is None:
        return None
    lines = list(_DEK_INFO.finditer(data))
    if not lines:
        return "its encryption header has no DEK-Info line"
    for found in lines:
        problem = _one_dek_info_problem(found)
        if problem is not None:
            return problem
    return None


def _one_dek_info_problem(found: re.Match[bytes]) -> str | None:
    cipher = found.group(1).strip().decode("ascii", "replace").upper()
    size = _DEK_CIPHERS.get(cipher)
    if size is None:
        shown = quoted(cipher[:40]) or "none"
        return f"the cipher {shown} (this program reads AES-128-CBC, AES-256-CBC, DES-EDE3-CBC)"
    if found.group(2) is None:
        return "its encryption header (DEK-Info) is damaged: it gives no IV"
    iv_text = found.group(2).strip()
    try:
        iv = bytes.fromhex(iv_text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return "its encryption header (DEK-Info) is damaged: the IV is not hexadecimal"
    if len(iv) < size:
        return (
            f"its encryption header (DEK-Info) is damaged: the IV has {len(iv)} bytes, "
            f"{cipher} needs {size}"
        )
    return None


_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_PRFS = {
    "1.2.840.113549.2.7": "hmacWithSHA1",
    "1.2.840.113549.2.8": "hmacWithSHA224",
    "1.2.840.113549.2.9": "hmacWithSHA256",
    "1.2.840.113549.2.10": "hmacWithSHA384",
    "1.2.840.113549.2.11": "hmacWithSHA512",
}
#: PBES2 ciphers cryptography decrypts, and their IV sizes.
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": ("aes-128-cbc", 16),
    "2.16.840.1.101.3.4.1.22": ("aes-192-cbc", 16),
    "2.16.840.1.101.3.4.1.42": ("aes-256-cbc", 16),
    "1.2.840.113549.3.7": ("des-ede3-cbc", 8),
    "1.2.840.113549.3.2": ("rc2-cbc", 8),
}
#: RC2 parameter version 58: an effective key length of 128 bits, the one it reads.
_RC2_128 = 58


def _pbes2_problem(blobs: Sequence[bytes]) -> str | None:
    """What in a PKCS #8 PBES2 header this program cannot decrypt: the key derivation,
    its PRF, the cipher, or a damaged IV or iteration count. None when it looks right,
    or when the data is not PBES2 (or not DER this parser reads)."""
    for blob in blobs:
        try:
            problem = _pbes2_header_problem(blob)
        except (ValueError, IndexError):
            continue
        if problem is not None:
            return problem
    return None


def _oid_at(data: bytes, element: tuple[int, int, int]) -> str:
    if element[0] != 0x06:
        raise ValueError("not an OBJECT IDENTIFIER")
    return _oid_text(data[element[1] : element[2]])


def _pbes2_header_problem(der: bytes) -> str | None:
    tag, start, end = _tlv(der, 0)
    top = _children(der, start, end)
    if tag != 0x30 or len(top) != 2 or top[0][0] != 0x30 or top[1][0] != 0x04:
        return None  # not an EncryptedPrivateKeyInfo
    algorithm = _children(der, top[0][1], top[0][2])
    scheme = _oid_at(der, algorithm[0])
    if scheme != _PBES2_OID:
        return None  # PBES1 and PKCS #12 schemes: cryptography names unknown ones
    params = _children(der, algorithm[1][1], algorithm[1][2])
    kdf = _children(der, params[0][1], params[0][2])
    kdf_oid = _oid_at(der, kdf[0])
    if kdf_oid == _PBKDF2:
        kdf_params = _children(der, kdf[1][1], kdf[1][2])
        iterations = int.from_bytes(der[kdf_params[1][1] : kdf_params[1][2]], "big", signed=True)
        if iterations < 1:
            return f"its encryption header is damaged: {iterations} key-derivation iterations"
        prf = next((item for item in kdf_params[2:] if item[0] == 0x30), None)
        if prf is not None:
            prf_oid = _oid_at(der, _children(der, prf[1], prf[2])[0])
            if prf_oid not in _PRFS:
                return f"the password hash (PRF) {_oid_name(prf_oid)}, which it does not know"
    elif kdf_oid != _SCRYPT:
        return f"the key derivation function {_oid_name(kdf_oid)}, which it does not know"
    cipher = _children(der, params[1][1], params[1][2])
    cipher_oid = _oid_at(der, cipher[0])
    known = _PBES2_CIPHERS.get(cipher_oid)
    if known is None:
        return f"the cipher {_oid_name(cipher_oid)}, which it does not know"
    name, size = known
    iv_element = cipher[1]
    if name == "rc2-cbc" and iv_element[0] == 0x30:
        rc2 = _children(der, iv_element[1], iv_element[2])
        if len(rc2) == 2:
            version = int.from_bytes(der[rc2[0][1] : rc2[0][2]], "big")
            if version != _RC2_128:
                return "RC2 with an effective key length other than 128 bits"
        iv_element = rc2[-1]
    if iv_element[0] != 0x04:
        return "its encryption header is damaged: the cipher has no IV"
    iv_size = iv_element[2] - iv_element[1]
    if iv_size != size:
        return (
            f"its encryption header is damaged: the IV has {iv_size} bytes, "
            f"{name} needs {size}"
        )
    return None


def read_certificate_only(cert_data: bytes) -> Material:
    """Read a certificate file (PEM, bundle in any order, or DER) without a private key."""
    certs, problem = read_certificate_list(cert_data)
    if not certs:
        return Material(findings=(problem or unreadable_finding(_NO_CERTIFICATE),))
    leaf, chain = _pick_leaf(certs, None)
    return Material(certificate=leaf, chain=chain)


def _key_finding(exc: UnreadableError) -> Finding:
    if isinstance(exc, UnsupportedEncryptionError):
        return unreadable_finding(exc.message, exc.fix)
    return unreadable_finding(exc.message)


def read_x509_pair(key_data: bytes, key_password: bytes | None, cert_data: bytes) -> Material:
    """Read an X.509 private key file and its certificate file (public key)."""
    findings: list[Finding] = []
    key: PrivateKeyTypes | None = None
    try:
        key = read_private_key(key_data, key_password)
    except WrongPasswordError as exc:
        findings.append(_wrong_password(exc.message))
    except UnreadableError as exc:
        findings.append(_key_finding(exc))
    certs, problem = read_certificate_list(cert_data)
    if not certs:
        findings.append(problem or unreadable_finding(_NO_CERTIFICATE))
        return Material(private_key=key, findings=tuple(findings))
    # The certificate the key opens is the leaf; otherwise the one that issued no other.
    matching = next((c for c in certs if keys_match(c, key)), None) if key is not None else None
    leaf, chain = _pick_leaf(certs, None, preferred=matching)
    if key is not None and matching is None and leaf is not None:
        findings.append(_key_mismatch(leaf))
    return Material(certificate=leaf, chain=chain, private_key=key, findings=tuple(findings))


def read_pkcs12(data: bytes, password: bytes | None) -> Material:
    """Read a PKCS #12 container (modern AES-256/PBKDF2 or legacy RC2-40/3DES).

    ``None`` and ``b""`` are both tried for an empty password; a container that is not
    protected opens also when a password is given (a note says it was not needed). A
    parse failure is ``unreadable``; a password failure is told apart from
    undecryptable content (an unsupported cipher or damaged data) by checking the
    container's own MAC.
    """
    if not data:
        return Material(findings=(unreadable_finding("The PKCS #12 file is empty."),))
    if _excessive_iterations([data]):
        return Material(findings=(unreadable_finding(_TOO_MANY_ITERATIONS),))
    candidates: list[bytes | None] = [password] if password else [None, b""]
    loaded: pkcs12.PKCS12KeyAndCertificates | None = None
    notes: tuple[str, ...] = ()
    for candidate in [*candidates, *([None, b""] if password else [])]:
        try:
            loaded = pkcs12.load_pkcs12(data, candidate)
        except ValueError as exc:
            if "Invalid password" not in str(exc):
                return Material(findings=(_unreadable_p12(),))
            continue
        except ODD_INPUT:
            return Material(findings=(_unreadable_p12(),))
        if candidate not in candidates:
            notes = (
                "The PKCS #12 container is not protected by a password: the password "
                "given was not needed.",
            )
        break
    if loaded is None:
        return Material(findings=(_password_or_cipher(data, candidates, password),))

    key: PrivateKeyTypes | None = loaded.key
    certs: list[x509.Certificate] = []
    preferred = loaded.cert.certificate if loaded.cert is not None else None
    if preferred is not None:
        certs.append(preferred)
    certs += [c.certificate for c in loaded.additional_certs]
    for index, cert in enumerate(certs):
        problem = loaded_problem(cert)
        if problem is not None:
            who = "The certificate" if len(certs) == 1 else (
                f"Certificate {index + 1} of {len(certs)}")
            return Material(findings=(unreadable_finding(
                f"{who} in the PKCS #12 container cannot be read: {problem}.",
                _REISSUE_MALFORMED),))
    leaf, chain = _pick_leaf(certs, key, preferred)
    findings: list[Finding] = []
    if key is None:
        findings.append(_no_private_key())
    if leaf is None:
        findings.append(_no_certificate("the PKCS #12 container"))
    elif key is not None and not keys_match(leaf, key):
        findings.append(_key_mismatch(leaf))
    return Material(
        certificate=leaf, chain=chain, private_key=key, findings=tuple(findings), notes=notes
    )


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
