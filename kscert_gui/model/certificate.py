"""Frozen dataclasses describing certificates and findings, built from cryptography objects."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from kscert_gui.model.clock import iso

Severity = Literal["error", "warning"]
RuleSet = Literal["server", "apple", "file"]


@dataclass(frozen=True)
class Finding:
    """One result of the requirements check (DESIGN §4). ``code`` is a contract."""

    code: str
    severity: Severity
    rule_set: RuleSet
    message: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "rule_set": self.rule_set,
            "message": self.message,
            "fix": self.fix,
        }


def key_description(public_key: Any) -> str:
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
    return type(public_key).__name__


def signature_description(cert: x509.Certificate) -> str:
    """'sha256WithRSAEncryption'-like name of the signature algorithm."""
    name = cert.signature_algorithm_oid._name
    return name if name and name != "Unknown OID" else cert.signature_algorithm_oid.dotted_string


def _san_values(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (x509.ExtensionNotFound, ValueError):
        return ()
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    values: list[str] = list(san.get_values_for_type(x509.DNSName))
    values += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return tuple(values)


def _has_ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bool:
    try:
        cert.extensions.get_extension_for_oid(oid)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return bc.ca


def _purposes(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
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


@dataclass(frozen=True)
class CertificateInfo:
    """What the console shows of one certificate. Built only from public data."""

    subject: str
    issuer: str
    common_name: str
    san: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    sha256: str
    serial: str
    key: str
    signature: str
    is_ca: bool
    self_signed: bool
    purposes: tuple[str, ...] = field(default=())

    @classmethod
    def from_x509(cls, cert: x509.Certificate) -> CertificateInfo:
        der = cert.public_bytes(serialization.Encoding.DER)
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        cn = cns[0].value if cns else ""
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            common_name=cn if isinstance(cn, str) else cn.decode("utf-8", "replace"),
            san=_san_values(cert),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            sha256=hashlib.sha256(der).hexdigest(),
            serial=format(cert.serial_number, "x"),
            key=key_description(cert.public_key()),
            signature=signature_description(cert),
            is_ca=_is_ca(cert),
            self_signed=_self_signed(cert),
            purposes=_purposes(cert),
        )

    def days_left(self, at: datetime) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return int((self.not_after - at).total_seconds() // 86400)

    def to_json(self) -> dict[str, Any]:
        """The ``certificate`` object of ``kscert inspect --json`` (DESIGN §9)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "san": list(self.san),
            "not_before": iso(self.not_before),
            "not_after": iso(self.not_after),
            "sha256": self.sha256,
            "key": self.key,
            "signature": self.signature,
        }


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
