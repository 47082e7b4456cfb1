"""Build certificates with any flaw at run time, for the crypto and lint tests.

``make_cert()`` with no arguments gives a certificate that passes every DESIGN §4
rule at :data:`AT`; each keyword argument introduces one flaw. RSA keys are cached
per (size, index) because generating them dominates the test time.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The pinned instant of the tests.
AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ADDRESS = "mdm.example.com"

ALL_KEY_USAGE = frozenset({"digital_signature", "key_encipherment", "key_cert_sign", "crl_sign"})
_USAGE_FIELDS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)

_SHA256_RSA_OID = bytes.fromhex("06092a864886f70d01010b")
_WEAK_RSA_OIDS = {
    "sha1": bytes.fromhex("06092a864886f70d010105"),
    "md5": bytes.fromhex("06092a864886f70d010104"),
}


@functools.cache
def rsa_key(bits: int = 2048, index: int = 0) -> rsa.RSAPrivateKey:
    """A cached RSA key; a different ``index`` gives a different key."""
    del index  # part of the cache key only
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(index: int = 0) -> ec.EllipticCurvePrivateKey:
    del index
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Made:
    """A certificate and the key it was made for."""

    certificate: x509.Certificate
    key: PrivateKeyTypes

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _der_tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def resign_weak(cert: x509.Certificate, key: rsa.RSAPrivateKey, algo: str) -> x509.Certificate:
    """Re-sign an sha256WithRSA certificate with SHA-1 or MD5.

    cryptography refuses to *create* such signatures, but users' old files have
    them; the TBS is patched (same OID length) and signed with the primitive.
    """
    new_oid = _WEAK_RSA_OIDS[algo]
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA_OID) == 1
    tbs = tbs.replace(_SHA256_RSA_OID, new_oid)
    digest: hashes.HashAlgorithm = hashes.SHA1() if algo == "sha1" else hashes.MD5()
    signature = key.sign(tbs, padding.PKCS1v15(), digest)
    algorithm = _der_tlv(0x30, new_oid + b"\x05\x00")
    der = _der_tlv(0x30, tbs + algorithm + _der_tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def make_cert(
    *,
    cn: str = ADDRESS,
    san: Sequence[str] | None = (ADDRESS,),
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    ca: bool | None = True,
    key_usage: frozenset[str] | None = ALL_KEY_USAGE,
    not_before: datetime = AT - timedelta(days=10),
    validity: timedelta = timedelta(days=365),
    key: PrivateKeyTypes | None = None,
    issuer: Made | None = None,
    signature: Literal["sha256", "sha1", "md5"] = "sha256",
) -> Made:
    """A certificate that passes every §4 rule unless told otherwise.

    Args:
        san: DNS names or IP literals for the SAN; ``None`` leaves the extension out.
        eku: the EKU OIDs; ``None`` leaves the extension out.
        ca: basicConstraints CA flag; ``None`` leaves the extension out.
        key_usage: the keyUsage bits set; ``None`` leaves the extension out.
        key: the subject key (default: a cached RSA 2048 key).
        issuer: sign with this certificate's key and name (default: self-signed).
        signature: the signature hash (SHA-1 and MD5 only with RSA issuers).
    """
    subject_key = key if key is not None else rsa_key()
    signing_key = issuer.key if issuer is not None else subject_key
    assert isinstance(signing_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    issuer_key: CertificateIssuerPrivateKeyTypes = signing_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer.certificate.subject if issuer is not None else name(cn))
        .public_key(subject_key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + validity)
    )
    if san is not None:
        entries: list[x509.GeneralName] = []
        for value in san:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                entries.append(x509.DNSName(value))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=None), critical=True
        )
    if key_usage is not None:
        bits = {f: f in key_usage for f in _USAGE_FIELDS}
        builder = builder.add_extension(x509.KeyUsage(**bits), critical=True)
    cert = builder.sign(issuer_key, hashes.SHA256())
    if signature != "sha256":
        assert isinstance(issuer_key, rsa.RSAPrivateKey)
        cert = resign_weak(cert, issuer_key, signature)
    return Made(cert, subject_key)


def make_ca(cn: str = "Test Root CA", index: int = 7) -> Made:
    """A self-signed CA certificate with its own key."""
    return make_cert(cn=cn, san=None, eku=None, key=rsa_key(2048, index))
