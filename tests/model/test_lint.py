"""kscert_gui.model.lint: every DESIGN §4 rule, its severity, rule set and boundaries."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from certfactory import AT, Made, ec_key, make_ca, make_cert, rsa_key
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from kscert_gui.model import crypto
from kscert_gui.model.certinfo import Finding
from kscert_gui.model.crypto import Material, issue_certificate
from kscert_gui.model.lint import ALL_CODES, check, has_errors, san_matches

SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

#: DESIGN §4, as a contract: code → (severity, rule set).
EXPECTED = {
    "unreadable": ("error", "file"),
    "wrong-password": ("error", "file"),
    "no-private-key": ("error", "file"),
    "no-certificate": ("error", "file"),
    "key-mismatch": ("error", "file"),
    "expired": ("error", "server"),
    "validity-too-long": ("error", "server"),
    "key-too-weak": ("error", "server"),
    "weak-signature": ("error", "apple"),
    "missing-san": ("error", "apple"),
    "missing-server-auth-eku": ("error", "apple"),
    "not-ca-certificate": ("error", "server"),
    "key-usage-incomplete": ("error", "server"),
    "address-not-in-san": ("error", "server"),
    "expires-soon": ("warning", "server"),
    "not-yet-valid": ("warning", "server"),
    "incomplete-chain": ("warning", "apple"),
    "non-rsa-key": ("warning", "server"),
}


def material(made: Made, chain: tuple[x509.Certificate, ...] = ()) -> Material:
    return Material(certificate=made.certificate, chain=chain, private_key=made.key)


def lint(made: Made, **kwargs: object) -> list[Finding]:
    return check(material(made), AT, **kwargs)  # type: ignore[arg-type]


def only(findings: list[Finding], code: str) -> Finding:
    """The one finding with ``code``, asserting its contract severity and rule set."""
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, findings
    finding = matching[0]
    assert (finding.severity, finding.rule_set) == EXPECTED[code]
    assert finding.message and finding.fix
    return finding


def test_all_codes_is_the_design_table() -> None:
    assert ALL_CODES == tuple(EXPECTED)
    assert len(set(ALL_CODES)) == len(ALL_CODES)


def test_a_good_certificate_has_no_findings() -> None:
    assert lint(make_cert(), address="mdm.example.com") == []


def test_an_issued_certificate_passes_every_rule() -> None:
    issued = issue_certificate("mdm.example.com", AT)
    mat = Material(certificate=issued.certificate, private_key=issued.private_key)
    assert check(mat, AT, "MDM.example.com.") == []
    # ...for its whole life except the last 30 days.
    assert check(mat, AT + timedelta(days=367), "mdm.example.com") == []
    ip = issue_certificate("192.0.2.7", AT).certificate
    assert check(Material(certificate=ip), AT, "192.0.2.7") == []


def test_no_certificate_returns_file_findings_only() -> None:
    finding = crypto.unreadable_finding("The file is empty.")
    assert check(Material(findings=(finding,)), AT) == [finding]
    assert check(Material(), AT) == []


# --- file-level codes travel through check() ----------------------------------------------


def test_file_level_codes() -> None:
    made = make_cert()
    password = b"two words"
    p12 = crypto.export_pkcs12(made.certificate, made.key, [], password)
    only(check(crypto.read_pkcs12(p12[:100], password), AT), "unreadable")
    only(check(crypto.read_pkcs12(p12, b"not it"), AT), "wrong-password")
    enc = serialization.BestAvailableEncryption(password)
    no_key = serialization.pkcs12.serialize_key_and_certificates(
        None, None, None, [made.certificate], enc
    )
    findings = check(crypto.read_pkcs12(no_key, password), AT)
    only(findings, "no-private-key")
    assert [f.code for f in findings] == ["no-private-key"]  # the certificate itself is fine
    no_cert = serialization.pkcs12.serialize_key_and_certificates(
        None, rsa_key(), None, None, enc
    )
    only(check(crypto.read_pkcs12(no_cert, password), AT), "no-certificate")
    other_key = rsa_key(2048, 1).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    findings = check(crypto.read_x509_pair(other_key, None, made.pem), AT)
    assert findings[0].code == "key-mismatch"
    only(findings, "key-mismatch")


def test_file_findings_come_first() -> None:
    made = make_cert(san=None)
    mismatch = crypto.read_x509_pair(
        rsa_key(2048, 1).private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        None,
        made.der,
    )
    assert [f.code for f in check(mismatch, AT)] == ["key-mismatch", "missing-san"]


# --- validity -----------------------------------------------------------------------------


def test_expired_at_the_exact_second() -> None:
    made = make_cert(not_before=AT - timedelta(days=300), validity=timedelta(days=300))
    assert made.certificate.not_valid_after_utc == AT
    at_expiry = check(material(made), AT)
    assert "expired" not in [f.code for f in at_expiry]  # notAfter == at is still valid
    only(at_expiry, "expires-soon")
    after = check(material(made), AT + SECOND)
    finding = only(after, "expired")
    assert "expires-soon" not in [f.code for f in after]
    assert "2026-11-26T12:00:00Z" in finding.message
    long_ago = only(check(material(made), AT + timedelta(days=12)), "expired")
    assert "12 days" in long_ago.message


def test_expires_soon_boundaries() -> None:
    made = make_cert(not_before=AT - timedelta(days=100), validity=timedelta(days=130))
    not_after = made.certificate.not_valid_after_utc
    assert not_after - AT == timedelta(days=30)
    assert check(material(made), AT) == []  # exactly 30 days left
    finding = only(check(material(made), AT + SECOND), "expires-soon")
    assert "29 days" in finding.message
    assert "expires-soon" in [f.code for f in check(material(made), not_after - DAY)]


def test_validity_too_long_boundary() -> None:
    exact = make_cert(validity=timedelta(days=397))
    assert "validity-too-long" not in [f.code for f in lint(exact)]
    longer = make_cert(validity=timedelta(days=397, seconds=1))
    finding = only(lint(longer), "validity-too-long")
    assert "397" in finding.message
    ten_years = only(lint(make_cert(validity=timedelta(days=3650))), "validity-too-long")
    assert "3650.00 days" in ten_years.message


def test_not_yet_valid_warning_and_error_at_switch_time() -> None:
    made = make_cert(not_before=AT + timedelta(days=5))
    assert [f.code for f in lint(made)] == ["not-yet-valid"]
    warning = only(lint(made), "not-yet-valid")
    assert "5 days" in warning.message
    # Valid again by the time it becomes the main certificate: still a warning.
    later = lint(made, switch_at=AT + timedelta(days=5))
    assert only(later, "not-yet-valid").severity == "warning"
    assert not has_errors(later)
    # Still not valid at the switch time: an error.
    early = [f for f in lint(made, switch_at=AT + timedelta(days=4)) if f.code == "not-yet-valid"]
    assert len(early) == 1 and early[0].severity == "error" and early[0].rule_set == "server"
    assert has_errors(early)
    assert "switch time" in early[0].message
    # Valid from exactly now: no finding.
    assert lint(make_cert(not_before=AT)) == []


# --- key and signature --------------------------------------------------------------------


def test_key_too_weak() -> None:
    finding = only(lint(make_cert(key=rsa_key(1024))), "key-too-weak")
    assert "1024" in finding.message
    assert "key-too-weak" not in [f.code for f in lint(make_cert(key=rsa_key(2048)))]


def test_non_rsa_key() -> None:
    finding = only(lint(make_cert(key=ec_key())), "non-rsa-key")
    assert "secp256r1" in finding.message
    assert not has_errors(lint(make_cert(key=ec_key())))
    ed = make_cert(key=ed25519.Ed25519PrivateKey.generate(), issuer=make_ca())
    ed_findings = check(material(ed, (make_ca().certificate,)), AT)
    assert "Ed25519" in only(ed_findings, "non-rsa-key").message


@pytest.mark.parametrize(("algo", "name"), [("sha1", "sha1"), ("md5", "md5")])
def test_weak_signature(algo: str, name: str) -> None:
    made = make_cert(signature=algo)  # type: ignore[arg-type]
    findings = lint(made)
    finding = only(findings, "weak-signature")
    assert name in finding.message.lower()
    # A self-signed SHA-1 certificate is still recognised as self-signed.
    assert "incomplete-chain" not in [f.code for f in findings]


# --- extensions ---------------------------------------------------------------------------


def test_missing_san() -> None:
    finding = only(lint(make_cert(san=None)), "missing-san")
    assert "CN" in finding.message
    # A SAN with only other kinds of names counts as missing.
    builder_cert = make_cert(san=())
    only(lint(builder_cert), "missing-san")


def test_missing_server_auth_eku() -> None:
    absent = only(lint(make_cert(eku=None)), "missing-server-auth-eku")
    assert "no extendedKeyUsage" in absent.message
    client = only(
        lint(make_cert(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))), "missing-server-auth-eku"
    )
    assert "clientAuth" in client.message
    both = make_cert(eku=(ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH))
    assert lint(both) == []


def test_not_ca_certificate() -> None:
    false = only(lint(make_cert(ca=False)), "not-ca-certificate")
    assert "CA:FALSE" in false.message
    absent = only(lint(make_cert(ca=None)), "not-ca-certificate")
    assert "no basicConstraints" in absent.message


def test_key_usage_incomplete() -> None:
    partial = make_cert(key_usage=frozenset({"digital_signature", "key_encipherment"}))
    finding = only(lint(partial), "key-usage-incomplete")
    assert "keyCertSign" in finding.message and "cRLSign" in finding.message
    assert "digitalSignature" not in finding.message
    absent = only(lint(make_cert(key_usage=None)), "key-usage-incomplete")
    assert "no keyUsage" in absent.message


# --- connection address -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("san", "address", "matches"),
    [
        (["mdm.example.com"], "mdm.example.com", True),
        (["MDM.Example.COM"], "mdm.example.com", True),
        (["mdm.example.com"], "MDM.EXAMPLE.COM.", True),
        (["xn--bcher-kva.example"], "bücher.example", True),
        (["xn--bcher-kva.example"], "xn--bcher-kva.example", True),
        (["*.example.com"], "mdm.example.com", True),
        (["*.example.com"], "a.mdm.example.com", False),
        (["*.example.com"], "example.com", False),
        (["*.mdm.example.com"], "mdm.example.com", False),
        (["other.example.com"], "mdm.example.com", False),
        (["mdm.example.com.evil"], "mdm.example.com", False),
        (["192.0.2.7"], "192.0.2.7", True),
        (["2001:db8::1"], "2001:0db8::0001", True),
        (["192.0.2.7"], "192.0.2.8", False),
        (["mdm.example.com"], "192.0.2.7", False),
        (["192.0.2.7"], "mdm.example.com", False),
    ],
)
def test_address_matching(san: list[str], address: str, matches: bool) -> None:
    made = make_cert(san=san)
    assert san_matches(made.certificate, address) is matches
    codes = [f.code for f in lint(made, address=address)]
    assert ("address-not-in-san" in codes) is not matches


def test_ip_literal_in_a_dns_name_does_not_match_an_ip_address() -> None:
    made = make_cert(san=[])
    dns_ip = x509.SubjectAlternativeName([x509.DNSName("192.0.2.7")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(made.certificate.subject)
        .issuer_name(made.certificate.subject)
        .public_key(rsa_key().public_key())
        .serial_number(1)
        .not_valid_before(AT - DAY)
        .not_valid_after(AT + timedelta(days=100))
        .add_extension(dns_ip, critical=False)
        .sign(rsa_key(), hashes.SHA256())
    )
    assert not san_matches(cert, "192.0.2.7")


def test_address_not_in_san_message_names_both() -> None:
    finding = only(lint(make_cert(san=["other.example.com"]), address="mdm.example.com"),
                   "address-not-in-san")
    assert "mdm.example.com" in finding.message and "other.example.com" in finding.message
    no_san = lint(make_cert(san=None), address="mdm.example.com")
    only(no_san, "address-not-in-san")
    only(no_san, "missing-san")


# --- chain --------------------------------------------------------------------------------


def test_incomplete_chain() -> None:
    ca = make_ca()
    leaf = make_cert(issuer=ca)
    finding = only(lint(leaf), "incomplete-chain")
    assert "Test Root CA" in finding.message
    assert check(material(leaf, (ca.certificate,)), AT) == []
    impostor = make_ca(index=8)  # same name, other key: not the issuer
    only(check(material(leaf, (impostor.certificate,)), AT), "incomplete-chain")
    # A certificate claiming its own name as issuer but signed by another key.
    forged = make_cert(issuer=make_cert(key=rsa_key(2048, 3)))
    only(lint(forged), "incomplete-chain")


# --- everything at once -------------------------------------------------------------------


def test_every_code_is_produced_somewhere() -> None:
    seen: set[str] = set()
    worst = make_cert(
        key=rsa_key(1024),
        san=None,
        eku=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        ca=False,
        key_usage=frozenset({"digital_signature"}),
        not_before=AT - timedelta(days=2000),
        validity=timedelta(days=1000),
        signature="sha1",
        issuer=make_ca(),
    )
    findings = lint(worst, address="mdm.example.com")
    seen |= {f.code for f in findings}
    assert has_errors(findings)
    seen |= {f.code for f in lint(make_cert(not_before=AT + DAY))}
    seen |= {f.code for f in lint(make_cert(validity=timedelta(days=11)))}
    seen |= {f.code for f in lint(make_cert(key=ec_key()))}
    made = make_cert()
    password = b"a b"
    p12 = crypto.export_pkcs12(made.certificate, made.key, [], password)
    seen |= {f.code for f in check(crypto.read_pkcs12(b"", None), AT)}
    seen |= {f.code for f in check(crypto.read_pkcs12(p12, None), AT)}
    enc = serialization.BestAvailableEncryption(password)
    pk = serialization.pkcs12
    seen |= {
        f.code
        for f in check(
            crypto.read_pkcs12(
                pk.serialize_key_and_certificates(None, None, None, [made.certificate], enc),
                password,
            ),
            AT,
        )
    }
    seen |= {
        f.code
        for f in check(
            crypto.read_pkcs12(
                pk.serialize_key_and_certificates(None, rsa_key(2048, 1), None, None, enc),
                password,
            ),
            AT,
        )
    }
    seen |= {
        f.code
        for f in check(
            crypto.read_pkcs12(
                pk.serialize_key_and_certificates(
                    None, rsa_key(2048, 1), None, [made.certificate], enc
                ),
                password,
            ),
            AT,
        )
    }
    assert seen == set(ALL_CODES)
    for finding in findings:
        assert (finding.severity, finding.rule_set) == EXPECTED[finding.code]


def test_has_errors() -> None:
    warning = Finding("expires-soon", "warning", "server", "m", "f")
    error = Finding("expired", "error", "server", "m", "f")
    assert not has_errors([])
    assert not has_errors([warning])
    assert has_errors([warning, error])
    assert has_errors(iter([error]))


@pytest.mark.integration
def test_openssl_sha1_certificate_is_weak(tmp_path: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha1",
            "-keyout", "k.pem", "-out", "c.der", "-outform", "DER", "-days", "100",
            "-subj", "/CN=old.example.com",
            "-addext", "subjectAltName=DNS:old.example.com",
        ],
        cwd=tmp_path, check=True, capture_output=True, timeout=120,
    )
    mat = crypto.read_certificate_only((tmp_path / "c.der").read_bytes())
    assert mat.certificate is not None
    only(check(mat, mat.certificate.not_valid_before_utc), "weak-signature")
