"""The requirements check of DESIGN §4: a certificate and its files → findings.

Pure: the instant ``at`` (and the planned switch time) are parameters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from kscert_gui.model.address import normalize_address
from kscert_gui.model.certificate import (
    ABSENT_OR_ODD,
    ODD_INPUT,
    WEAK_HASHES,
    key_phrase,
    signature_description,
    signature_hash,
)
from kscert_gui.model.certinfo import Finding, quoted
from kscert_gui.model.clock import ensure_utc, iso
from kscert_gui.model.crypto import Material, issued_by
from kscert_gui.model.errors import ValidationError

#: Every code of the DESIGN §4 table, in the table's order. Codes are a contract.
ALL_CODES: tuple[str, ...] = (
    "unreadable",
    "wrong-password",
    "no-private-key",
    "no-certificate",
    "key-mismatch",
    "expired",
    "validity-too-long",
    "key-too-weak",
    "weak-signature",
    "missing-san",
    "missing-server-auth-eku",
    "not-ca-certificate",
    "key-usage-incomplete",
    "address-not-in-san",
    "expires-soon",
    "not-yet-valid",
    "incomplete-chain",
    "non-rsa-key",
)

_E = TypeVar("_E", bound=x509.ExtensionType)

MAX_VALIDITY_SECONDS = 397 * 86_400
MIN_RSA_BITS = 2048
EXPIRES_SOON = timedelta(days=30)

_KEY_USAGE_BITS = (
    ("digital_signature", "digitalSignature"),
    ("key_encipherment", "keyEncipherment"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def has_errors(findings: Iterable[Finding]) -> bool:
    """True when one finding is an error (it blocks the import)."""
    return any(f.severity == "error" for f in findings)


def check(
    material: Material,
    at: datetime,
    address: str | None = None,
    switch_at: datetime | None = None,
) -> list[Finding]:
    """Run every DESIGN §4 rule.

    Args:
        material: what was read from the files; its file-level findings come first.
        at: the instant the check is made for.
        address: the connection address the certificate must cover, if any.
        switch_at: when the certificate would become the main one (a reserve);
            a certificate still not valid then is an error, not a warning.

    Returns:
        ``material.findings`` followed by the findings on ``material.certificate``
        in the order of the §4 table.
    """
    findings = list(material.findings)
    cert = material.certificate
    if cert is None:
        return findings
    at = ensure_utc(at)
    findings += _validity(cert, at, switch_at)
    findings += _key(cert)
    findings += _signature(cert)
    findings += _extensions(cert)
    if address is not None:
        findings += _address(cert, address)
    findings += _chain(cert, material.chain)
    order = {code: i for i, code in enumerate(ALL_CODES)}
    file_level = len(material.findings)
    return findings[:file_level] + sorted(findings[file_level:], key=lambda f: order[f.code])


# --- validity -----------------------------------------------------------------------------


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86_400
    whole = int(days)
    return f"{whole} day" if whole == 1 else f"{whole} days"


def _validity(cert: x509.Certificate, at: datetime, switch_at: datetime | None) -> list[Finding]:
    out: list[Finding] = []
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    if at > not_after:
        out.append(
            Finding(
                "expired",
                "error",
                "server",
                f"The certificate expired on {iso(not_after)} "
                f"({_days(at - not_after)} before {iso(at)}).",
                "Use a certificate that is currently valid, or reissue one through the "
                "Administration Server.",
            )
        )
    elif not_after - at < EXPIRES_SOON:
        out.append(
            Finding(
                "expires-soon",
                "warning",
                "server",
                f"The certificate expires on {iso(not_after)}: only "
                f"{_days(not_after - at)} left (at least 30 are recommended).",
                "Use a certificate with a longer remaining validity so that devices "
                "have time to receive its successor.",
            )
        )
    validity = (not_after - not_before).total_seconds()
    if validity > MAX_VALIDITY_SECONDS:
        out.append(
            Finding(
                "validity-too-long",
                "error",
                "server",
                f"The certificate is valid for {validity / 86_400:.2f} days "
                f"({iso(not_before)} to {iso(not_after)}); at most 397 days are allowed.",
                "Issue a certificate valid for 397 days or less.",
            )
        )
    if not_before > at:
        late = switch_at is not None and not_before > ensure_utc(switch_at)
        if late:
            assert switch_at is not None
            message = (
                f"The certificate is not valid until {iso(not_before)}, which is after "
                f"the switch time {iso(ensure_utc(switch_at))}: devices would get a "
                "certificate that is not yet valid."
            )
        else:
            message = (
                f"The certificate is not valid yet: it becomes valid on {iso(not_before)} "
                f"({_days(not_before - at)} after {iso(at)})."
            )
        out.append(
            Finding(
                "not-yet-valid",
                "error" if late else "warning",
                "server",
                message,
                "Use a certificate whose validity has started, or choose an activation "
                "term that ends after it becomes valid.",
            )
        )
    return out


# --- key and signature --------------------------------------------------------------------


def _key(cert: x509.Certificate) -> list[Finding]:
    try:
        public = cert.public_key()
    except ODD_INPUT:  # a key type cryptography does not know (GOST): non-rsa-key
        public = None
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            return [
                Finding(
                    "key-too-weak",
                    "error",
                    "server",
                    f"The RSA key has {public.key_size} bits; at least {MIN_RSA_BITS} "
                    "are required.",
                    "Generate a new RSA key of 2048 bits or more and a certificate for it.",
                )
            ]
        return []
    return [
        Finding(
            "non-rsa-key",
            "warning",
            "server",
            f"The certificate has {key_phrase(cert)}; the server documents RSA keys only.",
            "Prefer an RSA key of 2048 bits or more unless every device is known to "
            "accept this key type.",
        )
    ]


def _signature(cert: x509.Certificate) -> list[Finding]:
    digest = signature_hash(cert)
    if digest not in WEAK_HASHES:
        return []
    return [
        Finding(
            "weak-signature",
            "error",
            "apple",
            f"The certificate is signed with {digest}, algorithm "
            f"{signature_description(cert)}; MD2, MD4, MD5 and SHA-1 signatures are not "
            "trusted.",
            "Have the certificate signed again with SHA-256 or stronger.",
        )
    ]


# --- extensions ---------------------------------------------------------------------------


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    """The extension's value, or None when absent or malformed."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except ABSENT_OR_ODD:
        return None


def _extensions(cert: x509.Certificate) -> list[Finding]:
    out: list[Finding] = []
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is None or not (san.get_values_for_type(x509.DNSName) or san.get_values_for_type(
        x509.IPAddress
    )):
        out.append(
            Finding(
                "missing-san",
                "error",
                "apple",
                "The certificate has no DNS name or IP address in subjectAltName; a name "
                "in the common name (CN) alone is not trusted by Apple devices.",
                "Issue the certificate with a subjectAltName holding the connection "
                "address (DNS name or IP address).",
            )
        )
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is None or ExtendedKeyUsageOID.SERVER_AUTH not in list(eku):
        if eku is None:
            message = "The certificate has no extendedKeyUsage extension; serverAuth is required."
        else:
            present = ", ".join(
                getattr(oid, "_name", oid.dotted_string) for oid in eku
            ) or "none"
            message = (
                f"The certificate's extendedKeyUsage ({present}) lacks serverAuth "
                "(TLS Web Server Authentication)."
            )
        out.append(
            Finding(
                "missing-server-auth-eku",
                "error",
                "apple",
                message,
                "Issue the certificate with extendedKeyUsage serverAuth "
                "(TLS Web Server Authentication).",
            )
        )
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None or not bc.ca:
        out.append(
            Finding(
                "not-ca-certificate",
                "error",
                "server",
                "The certificate has no basicConstraints extension."
                if bc is None
                else "The certificate's basicConstraints says CA:FALSE.",
                "Issue the certificate with basicConstraints CA:TRUE, as the server "
                "requires for the mobile certificate.",
            )
        )
    ku = _extension(cert, x509.KeyUsage)
    missing = (
        [name for _, name in _KEY_USAGE_BITS]
        if ku is None
        else [name for attr, name in _KEY_USAGE_BITS if not getattr(ku, attr)]
    )
    if missing:
        out.append(
            Finding(
                "key-usage-incomplete",
                "error",
                "server",
                "The certificate has no keyUsage extension."
                if ku is None
                else f"The certificate's keyUsage lacks {', '.join(missing)}.",
                "Issue the certificate with keyUsage digitalSignature, keyEncipherment, "
                "keyCertSign and cRLSign.",
            )
        )
    return out


# --- connection address -------------------------------------------------------------------


def _a_label(name: str) -> str | None:
    """A SAN DNS name in lowercase A-label form (a leading '*' kept), None if invalid."""
    wildcard = name.startswith("*.")
    try:
        rest = normalize_address(name[2:] if wildcard else name)
    except ValidationError:
        return None
    return f"*.{rest}" if wildcard else rest


def san_matches(cert: x509.Certificate, address: str) -> bool:
    """Whether a SAN entry covers the connection address (DESIGN §4 address-not-in-san).

    A DNS name equal to it (case-insensitive, IDNA A-label form), a wildcard
    ``*.rest`` covering exactly its leftmost label, or an IP address equal to it.
    """
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is None:
        return False
    try:
        wanted = normalize_address(address)
    except ValidationError:
        wanted = address.strip().lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(wanted)
    except ValueError:
        ip = None
    if ip is not None:
        return any(value == ip for value in san.get_values_for_type(x509.IPAddress))
    parent = wanted.partition(".")[2]
    for raw in san.get_values_for_type(x509.DNSName):
        name = _a_label(raw)
        if name is None:
            continue
        if name == wanted or (parent and name == f"*.{parent}"):
            return True
    return False


def _address(cert: x509.Certificate, address: str) -> list[Finding]:
    if san_matches(cert, address):
        return []
    san = _extension(cert, x509.SubjectAlternativeName)
    names: list[str] = []
    if san is not None:
        names = list(san.get_values_for_type(x509.DNSName))
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return [
        Finding(
            "address-not-in-san",
            "error",
            "server",
            f"No subjectAltName entry matches the connection address '{quoted(address)}' "
            f"(the certificate names: {quoted(', '.join(names)) or 'none'}).",
            "Use a certificate issued for the connection address, or change the "
            "connection address.",
        )
    ]


# --- chain --------------------------------------------------------------------------------


def _chain(cert: x509.Certificate, chain: Iterable[x509.Certificate]) -> list[Finding]:
    if issued_by(cert, cert) or any(issued_by(cert, other) for other in chain):
        return []
    return [
        Finding(
            "incomplete-chain",
            "warning",
            "apple",
            f"The certificate is issued by '{quoted(cert.issuer.rfc4514_string())}', which is "
            "not in the file: devices must already trust that issuer.",
            "Add the issuing CA certificate to the file (a bundle, leaf first, or the "
            "PKCS #12 container).",
        )
    ]
