"""Frozen dataclasses describing certificates and findings, built from cryptography objects."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from kscert_gui.model.certinfo import CertificateInfo

#: What cryptography raises on odd input besides ValueError, often only when a part of a
#: certificate is first read (DESIGN §4 "Known traps"). None of it may escape a reader.
ODD_INPUT: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.InvalidVersion,
)
#: :data:`ODD_INPUT`, or the extension asked for is not there.
ABSENT_OR_ODD: tuple[type[Exception], ...] = (x509.ExtensionNotFound, *ODD_INPUT)


#: Key types cryptography does not load, by the OID of the certificate's public key.
_KEY_TYPES = {
    "1.2.643.2.2.19": "GOST R 34.10-2001",
    "1.2.643.2.2.20": "GOST R 34.10-94",
    "1.2.643.7.1.1.1.1": "GOST R 34.10-2012 (256-bit)",
    "1.2.643.7.1.1.1.2": "GOST R 34.10-2012 (512-bit)",
    "1.2.156.10197.1.301": "SM2",
    "1.2.840.10046.2.1": "DH",
    "1.2.840.113549.1.3.1": "DH",
}


def key_description(public_key: object) -> str:
    """'RSA 2048', 'EC secp256r1', 'Ed25519', ..."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA {public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"EC {public_key.curve.name}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(public_key, dsa.DSAPublicKey):
        return f"DSA {public_key.key_size}"
    if isinstance(public_key, x25519.X25519PublicKey):
        return "X25519"
    if isinstance(public_key, x448.X448PublicKey):
        return "X448"
    if isinstance(public_key, dh.DHPublicKey):
        return f"DH {public_key.key_size}"
    return type(public_key).__name__.lstrip("_")


def _unloadable_key_oid(cert: x509.Certificate) -> x509.ObjectIdentifier | None:
    """The OID of the certificate's key type when cryptography does not load that type
    (GOST, SM2, ...); None when it does, or when the key is damaged instead."""
    try:
        cert.public_key()
    except UnsupportedAlgorithm:
        pass
    except ODD_INPUT:
        return None
    else:
        return None
    try:
        return cert.public_key_algorithm_oid
    except ODD_INPUT:
        return None


def _key_type_name(oid: x509.ObjectIdentifier) -> str | None:
    known = _KEY_TYPES.get(oid.dotted_string)
    if known is not None:
        return known
    return oid._name if oid._name and oid._name != "Unknown OID" else None


def unknown_key_type(cert: x509.Certificate) -> str | None:
    """The name of the certificate's key type ('GOST R 34.10-2001', or 'unknown (OID)')
    when cryptography cannot load the key; None when it can, or when the key is
    damaged instead."""
    oid = _unloadable_key_oid(cert)
    if oid is None:
        return None
    return _key_type_name(oid) or f"unknown ({oid.dotted_string})"


def key_phrase(cert: x509.Certificate) -> str:
    """The certificate's key as a finding says it: 'an EC secp256r1 key', 'a GOST R
    34.10-2001 key', 'a key of a type this program does not know (1.2.3.4)'."""
    oid = _unloadable_key_oid(cert)
    if oid is not None and _key_type_name(oid) is None:
        return f"a key of a type this program does not know ({oid.dotted_string})"
    return f"{with_article(certificate_key_description(cert))} key"


def certificate_key_description(cert: x509.Certificate) -> str:
    """:func:`key_description` of the certificate's key, also for key types cryptography
    cannot load ('GOST R 34.10-2001') and damaged keys ('unreadable'); never raises."""
    unknown = unknown_key_type(cert)
    if unknown is not None:
        return unknown
    try:
        return key_description(cert.public_key())
    except ODD_INPUT:
        return "unreadable"


def with_article(phrase: str) -> str:
    """'an EC secp256r1', 'an Ed25519', 'an RSA 2048', 'a DSA 2048', 'a GOST R 34.10-2001'.

    'an' before a vowel, and before an abbreviation whose first letter is said with a
    vowel sound (F, H, L, M, N, R, S, X: "an RSA", "an SM2"). GOST is said as a word,
    but G is not among those letters either.
    """
    if not phrase:
        return phrase
    word = phrase.split()[0].split("-")[0]
    first = phrase[0]
    spelled = word.isupper() or any(ch.isdigit() for ch in word)
    vowel_sound = first.upper() in "AEIOU" or (spelled and first.upper() in "FHLMNRSX")
    return f"{'an' if vowel_sound else 'a'} {phrase}"


# --- signature algorithms -----------------------------------------------------------------

#: Names and hashes of signature algorithm OIDs cryptography does not name, or names
#: without the hash: MD2/MD4/MD5/SHA-1 in every form found in real certificates.
_SIGNATURES: dict[str, tuple[str, str | None]] = {
    "1.2.840.113549.1.1.2": ("md2WithRSAEncryption", "MD2"),
    "1.2.840.113549.1.1.3": ("md4WithRSAEncryption", "MD4"),
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "MD5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "SHA-1"),
    "1.2.840.113549.2.2": ("md2 (1.2.840.113549.2.2)", "MD2"),
    "1.2.840.113549.2.4": ("md4 (1.2.840.113549.2.4)", "MD4"),
    "1.2.840.113549.2.5": ("md5 (1.2.840.113549.2.5)", "MD5"),
    "1.3.14.3.2.3": ("md5WithRSA (OIW, 1.3.14.3.2.3)", "MD5"),
    "1.3.14.3.2.13": ("dsaWithSHA (OIW, 1.3.14.3.2.13)", "SHA-0"),
    "1.3.14.3.2.15": ("shaWithRSASignature (OIW, 1.3.14.3.2.15)", "SHA-0"),
    "1.3.14.3.2.26": ("sha1 (1.3.14.3.2.26)", "SHA-1"),
    "1.3.14.3.2.27": ("dsaWithSHA1 (OIW, 1.3.14.3.2.27)", "SHA-1"),
    "1.3.14.3.2.29": ("sha1WithRSA (OIW, 1.3.14.3.2.29)", "SHA-1"),
    "1.2.840.10040.4.3": ("dsa-with-sha1", "SHA-1"),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "SHA-1"),
}
#: Hashes no signature may use (DESIGN §4 weak-signature).
WEAK_HASHES = frozenset({"MD2", "MD4", "MD5", "SHA-0", "SHA-1"})
_RSASSA_PSS = "1.2.840.113549.1.1.10"


def _hash_label(algorithm: hashes.HashAlgorithm | None) -> str | None:
    if algorithm is None:
        return None
    name = algorithm.name.upper()
    if name.startswith("SHA") and not name.startswith(("SHA-", "SHA3", "SHAKE")):
        name = "SHA-" + name[3:]  # sha256 -> SHA-256, sha1 -> SHA-1
    return name.replace("SHA-512-", "SHA-512/")


def signature_hash(cert: x509.Certificate) -> str | None:
    """The hash of the certificate's signature ('SHA-256', 'MD5', 'SHA-1' for RSASSA-PSS
    with SHA-1, ...); None when it cannot be told (Ed25519, unknown algorithms,
    RSASSA-PSS without its parameters)."""
    known = _SIGNATURES.get(cert.signature_algorithm_oid.dotted_string)
    if known is not None:
        return known[1]
    try:
        return _hash_label(cert.signature_hash_algorithm)
    except ODD_INPUT:
        return None


def signature_description(cert: x509.Certificate) -> str:
    """The signature algorithm by name: 'sha256WithRSAEncryption', 'rsassaPss with SHA-256',
    'sha1WithRSA (OIW, 1.3.14.3.2.29)'; the dotted OID only when nothing names it."""
    oid = cert.signature_algorithm_oid
    known = _SIGNATURES.get(oid.dotted_string)
    if known is not None:
        return known[0]
    name = oid._name if oid._name and oid._name != "Unknown OID" else oid.dotted_string
    if oid.dotted_string == _RSASSA_PSS:
        digest = signature_hash(cert)
        return f"{name} with {digest}" if digest else f"{name} with invalid parameters"
    return name


def _san_values(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except ABSENT_OR_ODD:
        return ()
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    values: list[str] = list(san.get_values_for_type(x509.DNSName))
    values += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(values)


def _has_ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        cert.extensions.get_extension_for_oid(oid)
    except ABSENT_OR_ODD:
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except ABSENT_OR_ODD:
        return False
    return bc.ca


def _purposes(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except ABSENT_OR_ODD:
        return ()
    names = {
        ExtendedKeyUsageOID.SERVER_AUTH: "Server authentication",
        ExtendedKeyUsageOID.CLIENT_AUTH: "Client authentication",
        ExtendedKeyUsageOID.CODE_SIGNING: "Code signing",
        ExtendedKeyUsageOID.EMAIL_PROTECTION: "Email protection",
    }
    return tuple(names.get(oid, oid.dotted_string) for oid in eku)


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, Exception):  # InvalidSignature and unsupported algorithms
        return False
    return True


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    """What the console shows of ``cert`` (its public data only)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = cns[0].value if cns else ""
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=cn if isinstance(cn, str) else cn.decode("utf-8", "replace"),
        san=_san_values(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=hashlib.sha256(der).hexdigest(),
        serial=format(cert.serial_number, "x"),
        key=certificate_key_description(cert),
        signature=signature_description(cert),
        is_ca=_is_ca(cert),
        self_signed=_self_signed(cert),
        purposes=_purposes(cert),
    )
