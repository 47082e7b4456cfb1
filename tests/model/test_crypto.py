"""kscert_gui.model.crypto: issuing, reading (PKCS #12, PEM, DER, keys) and export."""

from __future__ import annotations

import ipaddress
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from certfactory import make_ca, make_cert, rsa_key
from certkit import pem_armour
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kscert_gui.model.address import normalize_address
from kscert_gui.model.crypto import (
    Material,
    UnreadableError,
    decrypt_private_key,
    encrypt_private_key,
    export_certificate,
    export_pkcs12,
    issue_certificate,
    keys_match,
    passphrase_opens,
    read_certificate_only,
    read_certificates,
    read_pkcs12,
    read_private_key,
    read_x509_pair,
    verify_pkcs12_mac,
)
from kscert_gui.model.errors import ValidationError, WrongPasswordError

PASSWORD = b"correct horse battery staple"  # spaces are part of passwords
WRONG = b"correct horse battery stapl"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def codes(material: Material) -> list[str]:
    return [f.code for f in material.findings]


def openssl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=120
    )


def modern_p12(cert: x509.Certificate, key: rsa.RSAPrivateKey, password: bytes) -> bytes:
    return export_pkcs12(cert, key, [], password)


# --- normalize_address --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mdm.example.com", "mdm.example.com"),
        ("MDM.Example.COM.", "mdm.example.com"),
        ("  mdm.example.com \n", "mdm.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("a" * 63 + ".example", "a" * 63 + ".example"),
    ],
)
def test_normalize_address_accepts(text: str, expected: str) -> None:
    assert normalize_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "a b",
        "http://x",
        "https://mdm.example.com/",
        "x:443",
        "mdm.example.com:13292",
        "-bad.example",
        "bad-.example",
        "a" * 64 + ".example",
        "*.example.com",
        "a..b",
        ".example.com",
        "under_score.example",
        "1.2.3.999",
        ".".join(["abcdefghi"] * 26),  # 259 characters
        "fe80::1%eth0",
    ],
)
def test_normalize_address_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_address(text)
    if text.strip():
        assert text.strip() in str(info.value)


# --- issue_certificate --------------------------------------------------------------------


def test_issued_certificate_has_every_design_property() -> None:
    issued = issue_certificate("MDM.Example.com", NOW)
    cert = issued.certificate
    key = issued.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert keys_match(cert, key)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc == NOW + timedelta(days=397)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mdm.example.com"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mdm.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == []
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku_ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku_ext.critical
    ku = ku_ext.value
    assert (ku.digital_signature, ku.key_encipherment, ku.key_cert_sign, ku.crl_sign) == (
        True,
        True,
        True,
        True,
    )
    assert not (ku.content_commitment or ku.data_encipherment or ku.key_agreement)
    bc_ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc_ext.critical and bc_ext.value.ca
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert.verify_directly_issued_by(cert)  # self-signed, signature valid


def test_issued_certificate_for_ip_addresses_uses_ip_san() -> None:
    for address in ("10.0.0.1", "2001:db8::1"):
        cert = issue_certificate(address, NOW).certificate
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(address)]
        assert san.get_values_for_type(x509.DNSName) == []


def test_issued_certificate_idna_address_and_whole_seconds() -> None:
    cert = issue_certificate("Bücher.Example", NOW.replace(microsecond=654321)).certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["xn--bcher-kva.example"]
    assert cert.not_valid_before_utc == NOW
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=397)


def test_issued_certificate_long_address_keeps_full_san() -> None:
    address = ("a" * 40) + "." + ("b" * 40) + ".example"
    cert = issue_certificate(address, NOW).certificate
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [address]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "a" * 40


def test_issue_certificate_naive_now_is_utc() -> None:
    cert = issue_certificate("mdm.example.com", datetime(2026, 11, 26, 12, 0)).certificate
    assert cert.not_valid_before_utc == NOW


@pytest.mark.parametrize("bits", [3072, 4096])
def test_issue_certificate_larger_keys(bits: int) -> None:
    issued = issue_certificate("mdm.example.com", NOW, key_size=bits)
    assert issued.private_key.key_size == bits
    public = issued.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == bits


@pytest.mark.parametrize("bits", [1024, 2047, 8192])
def test_issue_certificate_rejects_other_key_sizes(bits: int) -> None:
    with pytest.raises(ValidationError, match=str(bits)):
        issue_certificate("mdm.example.com", NOW, key_size=bits)


def test_issue_certificate_rejects_bad_address() -> None:
    with pytest.raises(ValidationError, match="x:443"):
        issue_certificate("x:443", NOW)


def test_two_issued_certificates_have_different_keys_and_serials() -> None:
    first = issue_certificate("mdm.example.com", NOW)
    second = issue_certificate("mdm.example.com", NOW)
    assert (
        first.private_key.private_numbers().d != second.private_key.private_numbers().d
    )
    assert first.certificate.public_key() != second.certificate.public_key()
    assert first.certificate.serial_number != second.certificate.serial_number
    assert not keys_match(first.certificate, second.private_key)


def test_issued_certificate_repr_hides_the_key() -> None:
    issued = issue_certificate("mdm.example.com", NOW)
    text = repr(issued)
    assert "private_key" not in text
    assert str(issued.private_key.private_numbers().d) not in text


@pytest.mark.integration
def test_issued_certificate_as_openssl_sees_it(tmp_path: Path) -> None:
    cert = issue_certificate("mdm.example.com", NOW).certificate
    (tmp_path / "c.pem").write_bytes(export_certificate(cert, "pem"))
    text = openssl("x509", "-in", "c.pem", "-text", "-noout", cwd=tmp_path).stdout
    assert "CA:TRUE" in text
    assert "TLS Web Server Authentication" in text
    assert "Digital Signature, Key Encipherment, Certificate Sign, CRL Sign" in text
    assert "DNS:mdm.example.com" in text
    assert "sha256WithRSAEncryption" in text
    assert "Public-Key: (2048 bit)" in text
    ip_cert = issue_certificate("192.0.2.7", NOW).certificate
    (tmp_path / "ip.pem").write_bytes(export_certificate(ip_cert, "pem"))
    text = openssl("x509", "-in", "ip.pem", "-text", "-noout", cwd=tmp_path).stdout
    assert "IP Address:192.0.2.7" in text


# --- keys_match ---------------------------------------------------------------------------


def test_keys_match_rsa_and_ec() -> None:
    rsa_cert = make_cert()
    ec_cert = make_cert(key=ec.generate_private_key(ec.SECP256R1()))
    assert keys_match(rsa_cert.certificate, rsa_cert.key)
    assert keys_match(ec_cert.certificate, ec_cert.key)
    assert not keys_match(rsa_cert.certificate, rsa_key(2048, 1))
    assert not keys_match(rsa_cert.certificate, ec_cert.key)
    assert not keys_match(ec_cert.certificate, ec.generate_private_key(ec.SECP256R1()))


# --- read_certificates / read_certificate_only --------------------------------------------


def test_read_certificates_pem_der_and_bundles() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    assert read_certificates(leaf.pem) == [leaf.certificate]
    assert read_certificates(leaf.der) == [leaf.certificate]
    assert read_certificates(leaf.pem + ca.pem) == [leaf.certificate, ca.certificate]
    assert read_certificates(leaf.der + ca.der) == [leaf.certificate, ca.certificate]
    # Text around the blocks, as `openssl pkcs12 -nokeys` writes it.
    noisy = b"Bag Attributes\n    friendlyName: x\n" + leaf.pem + b"\nsubject=...\n" + ca.pem
    assert read_certificates(noisy) == [leaf.certificate, ca.certificate]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"junk that is not a certificate",
        b"\x30\x82\xff\xff" + b"\x00" * 10,
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ],
)
def test_read_certificates_junk_gives_empty_list(data: bytes) -> None:
    assert read_certificates(data) == []


def test_read_certificates_truncated_and_wrong_kind() -> None:
    made = make_cert()
    assert read_certificates(made.der[:-20]) == []
    assert read_certificates(made.pem[: len(made.pem) // 2]) == []
    key_pem = rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert read_certificates(key_pem) == []


def test_read_certificate_only() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    material = read_certificate_only(leaf.pem + ca.pem)
    assert material.certificate == leaf.certificate
    assert material.chain == (ca.certificate,)
    assert material.private_key is None
    assert material.findings == () and material.ok
    bad = read_certificate_only(b"\x00\x01garbage")
    assert codes(bad) == ["unreadable"] and not bad.ok
    assert bad.findings[0].severity == "error" and bad.findings[0].rule_set == "file"
    assert codes(read_certificate_only(b"")) == ["unreadable"]


# --- read_private_key ---------------------------------------------------------------------


def _key_bytes(
    key: rsa.RSAPrivateKey,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
    password: bytes | None,
) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(encoding, fmt, enc)


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL),
    ],
)
def test_read_private_key_plain_forms(
    encoding: serialization.Encoding, fmt: serialization.PrivateFormat
) -> None:
    key = rsa_key()
    data = _key_bytes(key, encoding, fmt, None)
    for password in (None, b"", PASSWORD):  # a superfluous password is not an error
        loaded = read_private_key(data, password)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        assert loaded.private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
    ],
)
def test_read_private_key_encrypted_forms(
    encoding: serialization.Encoding, fmt: serialization.PrivateFormat
) -> None:
    key = rsa_key()
    data = _key_bytes(key, encoding, fmt, PASSWORD)
    loaded = read_private_key(data, PASSWORD)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == key.private_numbers()
    for missing in (None, b""):
        with pytest.raises(WrongPasswordError, match="no password"):
            read_private_key(data, missing)
    with pytest.raises(WrongPasswordError) as info:
        read_private_key(data, WRONG)
    assert WRONG.decode() not in str(info.value)
    assert WRONG.decode() not in repr(info.value)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"junk",
        pem_armour("PRIVATE KEY", b"AAAA\n"),
        b"\x30\x03\x02\x01\x00",
    ],
)
def test_read_private_key_unreadable(data: bytes) -> None:
    for password in (None, PASSWORD):
        with pytest.raises(UnreadableError) as info:
            read_private_key(data, password)
        assert PASSWORD.decode() not in str(info.value)


def test_read_private_key_truncated_encrypted_is_unreadable() -> None:
    data = _key_bytes(
        rsa_key(), serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, PASSWORD
    )
    with pytest.raises(UnreadableError):
        read_private_key(data[:100], PASSWORD)


def test_read_private_key_ec() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD),
    )
    loaded = read_private_key(data, PASSWORD)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()


# --- read_x509_pair -----------------------------------------------------------------------


def test_read_x509_pair_ok_with_bundle() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    assert isinstance(leaf.key, rsa.RSAPrivateKey)
    key_pem = _key_bytes(
        leaf.key, serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, PASSWORD
    )
    material = read_x509_pair(key_pem, PASSWORD, leaf.pem + ca.pem)
    assert material.ok and material.findings == ()
    assert material.certificate == leaf.certificate
    assert material.chain == (ca.certificate,)
    assert material.private_key is not None
    assert keys_match(leaf.certificate, material.private_key)
    # The key decides the leaf even when the bundle is in the wrong order.
    reordered = read_x509_pair(key_pem, PASSWORD, ca.pem + leaf.pem)
    assert reordered.certificate == leaf.certificate
    assert reordered.chain == (ca.certificate,)


def test_read_x509_pair_file_findings() -> None:
    made = make_cert()
    assert isinstance(made.key, rsa.RSAPrivateKey)
    key_pem = _key_bytes(
        made.key, serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, PASSWORD
    )
    other_key = _key_bytes(
        rsa_key(2048, 1), serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, None
    )
    assert codes(read_x509_pair(key_pem, WRONG, made.pem)) == ["wrong-password"]
    assert codes(read_x509_pair(key_pem, None, made.pem)) == ["wrong-password"]
    mismatch = read_x509_pair(other_key, None, made.der)
    assert codes(mismatch) == ["key-mismatch"]
    assert mismatch.certificate == made.certificate
    assert codes(read_x509_pair(b"junk", None, made.pem)) == ["unreadable"]
    assert codes(read_x509_pair(key_pem, PASSWORD, b"junk")) == ["unreadable"]
    assert codes(read_x509_pair(b"", None, b"")) == ["unreadable", "unreadable"]
    for material in (mismatch, read_x509_pair(key_pem, WRONG, made.pem)):
        assert not material.ok
        assert all(f.rule_set == "file" and f.severity == "error" for f in material.findings)
        assert all(f.fix for f in material.findings)


# --- read_pkcs12 --------------------------------------------------------------------------


def test_read_pkcs12_modern_with_chain() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    data = export_pkcs12(leaf.certificate, leaf.key, [ca.certificate], PASSWORD)
    material = read_pkcs12(data, PASSWORD)
    assert material.ok and material.findings == ()
    assert material.certificate == leaf.certificate
    assert material.chain == (ca.certificate,)
    assert material.private_key is not None
    assert keys_match(leaf.certificate, material.private_key)


def test_read_pkcs12_legacy_3des() -> None:
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD, legacy=True)
    material = read_pkcs12(data, PASSWORD)
    assert material.ok
    assert material.certificate == made.certificate


@pytest.mark.parametrize("legacy", [False, True])
def test_read_pkcs12_wrong_or_missing_password(legacy: bool) -> None:
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD, legacy=legacy)
    for password in (WRONG, None, b""):
        material = read_pkcs12(data, password)
        assert codes(material) == ["wrong-password"]
        finding = material.findings[0]
        assert (finding.severity, finding.rule_set) == ("error", "file")
        assert material.certificate is None and material.private_key is None
        assert WRONG.decode() not in finding.message


@pytest.mark.parametrize("legacy", [False, True])
def test_read_pkcs12_corrupt_is_unreadable(legacy: bool) -> None:
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD, legacy=legacy)
    for broken in (data[: len(data) // 2], data[:10], b"", b"\x00" * 64, made.pem):
        material = read_pkcs12(broken, PASSWORD)
        assert codes(material) == ["unreadable"]
        assert material.findings[0].rule_set == "file"


@pytest.mark.parametrize("legacy", [False, True])
def test_read_pkcs12_tells_undecryptable_from_wrong_password(
    legacy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What happens when OpenSSL's legacy provider is missing: every password fails
    with 'Invalid password or PKCS12 data'; the MAC tells the two cases apart."""
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD, legacy=legacy)

    def refuse(data: bytes, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates:
        raise ValueError("Invalid password or PKCS12 data")

    monkeypatch.setattr(pkcs12, "load_pkcs12", refuse)
    right = read_pkcs12(data, PASSWORD)
    assert codes(right) == ["unreadable"]
    assert "cannot be decrypted" in right.findings[0].message
    assert codes(read_pkcs12(data, WRONG)) == ["wrong-password"]
    assert codes(read_pkcs12(data, None)) == ["wrong-password"]


@pytest.mark.parametrize("legacy", [False, True])
def test_verify_pkcs12_mac(legacy: bool) -> None:
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD, legacy=legacy)
    assert verify_pkcs12_mac(data, [PASSWORD]) is True
    assert verify_pkcs12_mac(data, [WRONG, PASSWORD]) is True
    assert verify_pkcs12_mac(data, [WRONG, None, b""]) is False
    assert verify_pkcs12_mac(b"junk", [PASSWORD]) is None
    assert verify_pkcs12_mac(data[:50], [PASSWORD]) is None


def test_read_pkcs12_without_key_takes_leaf_from_additional_certs() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca, ca=False)
    enc = serialization.BestAvailableEncryption(PASSWORD)
    data = pkcs12.serialize_key_and_certificates(
        None, None, None, [ca.certificate, leaf.certificate], enc
    )
    material = read_pkcs12(data, PASSWORD)
    assert codes(material) == ["no-private-key"]
    assert material.certificate == leaf.certificate  # the non-CA one
    assert material.chain == (ca.certificate,)
    assert material.findings[0].rule_set == "file"


def test_read_pkcs12_without_certificate() -> None:
    key = rsa_key()
    enc = serialization.BestAvailableEncryption(PASSWORD)
    data = pkcs12.serialize_key_and_certificates(b"k", key, None, None, enc)
    material = read_pkcs12(data, PASSWORD)
    assert codes(material) == ["no-certificate"]
    assert material.private_key is not None and material.certificate is None


def test_read_pkcs12_key_of_another_certificate() -> None:
    made = make_cert()
    other = make_cert(key=rsa_key(2048, 1))
    enc = serialization.BestAvailableEncryption(PASSWORD)
    # The leaf is carried as an additional certificate; the key belongs to none of them.
    data = pkcs12.serialize_key_and_certificates(
        b"k", rsa_key(2048, 2), None, [made.certificate, other.certificate], enc
    )
    material = read_pkcs12(data, PASSWORD)
    assert codes(material) == ["key-mismatch"]
    assert material.certificate == made.certificate


def test_material_repr_hides_the_key() -> None:
    made = make_cert()
    data = export_pkcs12(made.certificate, made.key, [], PASSWORD)
    material = read_pkcs12(data, PASSWORD)
    assert material.private_key is not None
    assert "private_key" not in repr(material)
    assert isinstance(made.key, rsa.RSAPrivateKey)
    assert str(made.key.private_numbers().d) not in repr(material)


# --- export -------------------------------------------------------------------------------


def test_export_certificate_round_trip() -> None:
    made = make_cert()
    pem = export_certificate(made.certificate, "pem")
    der = export_certificate(made.certificate, "der")
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert x509.load_pem_x509_certificate(pem) == made.certificate
    assert x509.load_der_x509_certificate(der) == made.certificate
    with pytest.raises(ValidationError):
        export_certificate(made.certificate, "p7b")  # type: ignore[arg-type]


def test_export_pkcs12_needs_a_password_and_a_supported_key() -> None:
    made = make_cert()
    with pytest.raises(ValidationError):
        export_pkcs12(made.certificate, made.key, [], b"")


@pytest.mark.parametrize("legacy", [False, True])
def test_export_pkcs12_round_trip(legacy: bool) -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    data = export_pkcs12(leaf.certificate, leaf.key, [ca.certificate], PASSWORD, legacy=legacy)
    loaded = pkcs12.load_pkcs12(data, PASSWORD)
    assert loaded.cert is not None and loaded.cert.friendly_name == b"kscert"
    material = read_pkcs12(data, PASSWORD)
    assert material.ok
    assert material.certificate == leaf.certificate
    assert material.chain == (ca.certificate,)


@pytest.mark.integration
@pytest.mark.parametrize("legacy", [False, True])
def test_export_pkcs12_read_by_openssl(legacy: bool, tmp_path: Path) -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    data = export_pkcs12(leaf.certificate, leaf.key, [ca.certificate], PASSWORD, legacy=legacy)
    (tmp_path / "out.p12").write_bytes(data)
    args = ["pkcs12", "-info", "-noout", "-in", "out.p12", "-passin", "pass:" + PASSWORD.decode()]
    if legacy:
        args.append("-legacy")
    result = openssl(*args, cwd=tmp_path)
    info = result.stdout + result.stderr
    if legacy:
        assert "pbeWithSHA1And3-KeyTripleDES-CBC" in info
        assert "MAC: sha1" in info
    else:
        assert "AES-256-CBC" in info and "PBKDF2" in info
        assert "MAC: sha256" in info
    bad = [*args]
    bad[bad.index("pass:" + PASSWORD.decode())] = "pass:" + WRONG.decode()
    assert openssl(*bad, cwd=tmp_path, check=False).returncode != 0


# --- key encryption for the store ---------------------------------------------------------


def test_encrypt_decrypt_private_key_round_trip() -> None:
    key = rsa_key()
    blob = encrypt_private_key(key, PASSWORD)
    opened = decrypt_private_key(blob, PASSWORD)
    assert isinstance(opened, rsa.RSAPrivateKey)
    assert opened.private_numbers() == key.private_numbers()
    plain_pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert plain_pkcs8 not in blob
    prime = key.private_numbers().p.to_bytes(128, "big")
    assert prime not in blob
    assert bytes.fromhex("060960864801650304012a") in blob  # OID aes256-CBC
    assert PASSWORD not in blob


def test_passphrase_opens_checks_the_passphrase_only() -> None:
    blob = encrypt_private_key(rsa_key(), PASSWORD)
    assert passphrase_opens(blob, PASSWORD)
    assert not passphrase_opens(blob, WRONG)
    assert not passphrase_opens(blob, b"")
    assert not passphrase_opens(blob[:40], PASSWORD)
    assert not passphrase_opens(b"not a key at all", PASSWORD)


def test_decrypt_private_key_failures() -> None:
    blob = encrypt_private_key(rsa_key(), PASSWORD)
    with pytest.raises(WrongPasswordError) as info:
        decrypt_private_key(blob, WRONG)
    assert WRONG.decode() not in str(info.value)
    with pytest.raises(WrongPasswordError):
        decrypt_private_key(blob, b"")
    with pytest.raises(WrongPasswordError):
        decrypt_private_key(blob[:40], PASSWORD)
    with pytest.raises(ValidationError):
        encrypt_private_key(rsa_key(), b"")


# --- files made by the openssl command line -----------------------------------------------


@pytest.fixture(scope="module")
def openssl_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys, certificates and containers as users make them with openssl 3."""
    d = tmp_path_factory.mktemp("openssl")
    pw = "pass:" + PASSWORD.decode()
    openssl("genrsa", "-out", "key.pem", "2048", cwd=d)
    openssl(
        "req", "-x509", "-new", "-key", "key.pem", "-out", "cert.pem", "-days", "300",
        "-subj", "/CN=mdm.example.com", "-sha256",
        "-addext", "subjectAltName=DNS:mdm.example.com",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign",
        "-addext", "extendedKeyUsage=serverAuth",
        cwd=d,
    )
    openssl("x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der", cwd=d)
    openssl("genrsa", "-out", "other.pem", "2048", cwd=d)
    openssl(
        "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "modern.p12",
        "-certpbe", "AES-256-CBC", "-keypbe", "AES-256-CBC", "-passout", pw, cwd=d,
    )
    openssl(
        "pkcs12", "-export", "-legacy", "-inkey", "key.pem", "-in", "cert.pem",
        "-out", "legacy.p12", "-passout", pw, cwd=d,
    )
    openssl(
        "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "empty.p12",
        "-passout", "pass:", cwd=d,
    )
    openssl(
        "pkcs12", "-export", "-nokeys", "-in", "cert.pem", "-out", "nokeys.p12",
        "-passout", pw, cwd=d,
    )
    openssl(
        "genrsa", "-traditional", "-aes256", "-passout", pw, "-out", "trad.pem", "2048", cwd=d
    )
    openssl(
        "pkcs8", "-topk8", "-v2", "aes256", "-in", "key.pem", "-passout", pw,
        "-out", "p8.pem", cwd=d,
    )
    openssl(
        "pkcs8", "-topk8", "-v2", "aes256", "-in", "key.pem", "-passout", pw,
        "-outform", "DER", "-out", "p8.der", cwd=d,
    )
    openssl("rsa", "-in", "key.pem", "-outform", "DER", "-out", "key.der", cwd=d)
    return d


@pytest.mark.integration
def test_openssl_pkcs12_modern_and_legacy(openssl_files: Path) -> None:
    cert = x509.load_pem_x509_certificate((openssl_files / "cert.pem").read_bytes())
    for name in ("modern.p12", "legacy.p12"):
        data = (openssl_files / name).read_bytes()
        material = read_pkcs12(data, PASSWORD)
        assert material.ok, material.findings
        assert material.certificate == cert
        assert material.private_key is not None
        assert codes(read_pkcs12(data, WRONG)) == ["wrong-password"]
        assert codes(read_pkcs12(data, None)) == ["wrong-password"]
        assert codes(read_pkcs12(data[:-100], PASSWORD)) == ["unreadable"]
        assert verify_pkcs12_mac(data, [PASSWORD]) is True
        assert verify_pkcs12_mac(data, [WRONG]) is False


@pytest.mark.integration
def test_openssl_legacy_pkcs12_uses_rc2_or_3des(openssl_files: Path) -> None:
    info = openssl(
        "pkcs12", "-info", "-noout", "-legacy", "-in", "legacy.p12",
        "-passin", "pass:" + PASSWORD.decode(), cwd=openssl_files,
    )
    text = info.stdout + info.stderr
    assert "pbeWithSHA1And40BitRC2-CBC" in text or "pbeWithSHA1And3-KeyTripleDES-CBC" in text


@pytest.mark.integration
def test_openssl_pkcs12_empty_password(openssl_files: Path) -> None:
    data = (openssl_files / "empty.p12").read_bytes()
    for password in (None, b""):
        material = read_pkcs12(data, password)
        assert material.ok and material.certificate is not None
        assert material.notes == ()
    # DESIGN §4: an unprotected container given a password opens, and says so.
    given = read_pkcs12(data, PASSWORD)
    assert given.ok and given.certificate is not None
    assert given.notes and "not protected by a password" in given.notes[0]


@pytest.mark.integration
def test_openssl_pkcs12_without_keys(openssl_files: Path) -> None:
    cert = x509.load_pem_x509_certificate((openssl_files / "cert.pem").read_bytes())
    material = read_pkcs12((openssl_files / "nokeys.p12").read_bytes(), PASSWORD)
    assert codes(material) == ["no-private-key"]
    assert material.certificate == cert


@pytest.mark.integration
@pytest.mark.parametrize("name", ["trad.pem", "p8.pem", "p8.der"])
def test_openssl_encrypted_keys(openssl_files: Path, name: str) -> None:
    data = (openssl_files / name).read_bytes()
    if name == "trad.pem":
        assert b"Proc-Type: 4,ENCRYPTED" in data
    key = read_private_key(data, PASSWORD)
    assert isinstance(key, rsa.RSAPrivateKey)
    with pytest.raises(WrongPasswordError):
        read_private_key(data, WRONG)
    with pytest.raises(WrongPasswordError):
        read_private_key(data, None)


@pytest.mark.integration
def test_openssl_x509_pairs(openssl_files: Path) -> None:
    cert_pem = (openssl_files / "cert.pem").read_bytes()
    cert_der = (openssl_files / "cert.der").read_bytes()
    key_pem = (openssl_files / "key.pem").read_bytes()
    key_der = (openssl_files / "key.der").read_bytes()
    p8 = (openssl_files / "p8.der").read_bytes()
    for key_data, password in ((key_pem, None), (key_der, PASSWORD), (p8, PASSWORD)):
        for cert_data in (cert_pem, cert_der):
            material = read_x509_pair(key_data, password, cert_data)
            assert material.ok, material.findings
            assert material.certificate is not None
    other = (openssl_files / "other.pem").read_bytes()
    assert codes(read_x509_pair(other, None, cert_der)) == ["key-mismatch"]
    assert read_certificates(cert_der) == read_certificates(cert_pem)


# --- bad input never raises unexpectedly (property tests) ---------------------------------

_P12_SAMPLE = export_pkcs12(
    make_cert().certificate, rsa_key(), [], PASSWORD
)
_CERT_SAMPLE = make_cert().der


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_normalize_address_only_raises_validation_error(text: str) -> None:
    try:
        result = normalize_address(text)
    except ValidationError:
        return
    assert normalize_address(result) == result  # idempotent
    assert result == result.strip().lower()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, b"", PASSWORD]))
def test_readers_turn_random_bytes_into_findings(data: bytes, password: bytes | None) -> None:
    assert read_pkcs12(data, password).certificate is None
    assert read_certificates(data) == []
    assert codes(read_certificate_only(data)) == ["unreadable"]
    assert not read_x509_pair(data, password, data).ok


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_damaged_containers_and_certificates_give_findings(position: int, value: int) -> None:
    p12 = bytearray(_P12_SAMPLE)
    p12[position % len(p12)] = value
    material = read_pkcs12(bytes(p12), PASSWORD)
    assert material.ok or {f.code for f in material.findings} <= {
        "unreadable",
        "wrong-password",
    }
    cert = bytearray(_CERT_SAMPLE)
    cert[position % len(cert)] = value
    assert len(read_certificates(bytes(cert))) <= 1
