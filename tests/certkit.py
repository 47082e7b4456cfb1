"""Certificates and PEM armour built at run time, shared by every test folder.

No key or certificate is committed: tests make them when they run. (pytest puts this
folder on ``sys.path`` because ``tests/conftest.py`` lives here.)
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def compliant_certificate(
    key: rsa.RSAPrivateKey, address: str, not_before: datetime, days: int
) -> x509.Certificate:
    """A self-signed certificate for ``address`` that meets every server and Apple
    requirement of DESIGN §4 (SAN, serverAuth, CA, the four key usages, SHA-256)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(address))
    except ValueError:
        san = x509.DNSName(address)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def pem_armour(label: str, body: bytes, *, end: str | None = None) -> bytes:
    """``body`` between BEGIN/END lines of ``label`` (``end``: another END label).

    Built here rather than written out, so that no test file holds what looks like a
    committed private key."""
    return (b"-----BEGIN " + label.encode() + b"-----\n" + body
            + b"-----END " + (label if end is None else end).encode() + b"-----\n")
