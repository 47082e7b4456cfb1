"""``kscert inspect`` and ``kscert import`` on odd files made at run time (issue 13): what
openssl and other programs write and cryptography reads only in part.

Each test builds its input with cryptography, the openssl command line or DER surgery
(``derkit``), and fails on the code before the fix: a crash ("unexpected error", or a
library panic through main), a wrong verdict, or a message that names nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cryptography_vectors
import derkit
import pytest
from certkit import compliant_certificate
from clikit import Run, write_passfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from kscert_gui.model import crypto

VECTORS = Path(cryptography_vectors.__file__).parent
PASSWORD = "right password"
NOW = datetime.now(UTC).replace(microsecond=0)
BASIC_CONSTRAINTS = "2.5.29.19"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(tmp_path / "store", write_passfile(tmp_path / "pass"), monkeypatch, capsys)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey, password: str | None = None) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _p12(key: rsa.RSAPrivateKey | None, cert: x509.Certificate,
         password: str | None = PASSWORD) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"odd", key, cert, None, encryption)


def _codes(data: dict[str, object]) -> list[str]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return [f["code"] for f in findings]


def _message(data: dict[str, object], code: str) -> str:
    findings = data["findings"]
    assert isinstance(findings, list)
    return str(next(f["message"] for f in findings if f["code"] == code))


@pytest.fixture(scope="module")
def duplicate_bc(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate with two basicConstraints extensions (openssl reads it)."""
    good = compliant_certificate(key, "mdm.example.com", NOW, 300)
    der = derkit.with_duplicate_extension(
        good.public_bytes(serialization.Encoding.DER), BASIC_CONSTRAINTS)
    return x509.load_der_x509_certificate(der)


# --- no crash: every input form -------------------------------------------------------


def test_duplicate_extension_in_every_input_form(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey, duplicate_bc: x509.Certificate
) -> None:
    cert = _write(tmp_path / "dup.pem", _pem(duplicate_bc))
    key_file = _write(tmp_path / "dup.key", _key_pem(key))
    p12 = _write(tmp_path / "dup.p12", _p12(key, duplicate_bc))
    for args, stdin in (
        (["--cert", cert], ""),
        (["--key", key_file, "--cert", cert], ""),
        (["--pkcs12", p12, "--password-stdin"], PASSWORD + "\n"),
    ):
        rc, data = run.json("inspect", *args, stdin=stdin)
        assert rc == 2, args
        assert _codes(data) == ["unreadable"], args
        assert "basicConstraints extension appears twice" in _message(data, "unreadable")
    # import: the same findings (the Certificate window shows them), nothing installed.
    rc, data = run.json("import", "--pkcs12", p12, "--password-stdin", "--immediately",
                        stdin=PASSWORD + "\n")
    assert rc == 2 and _codes(data) == ["unreadable"]
    assert "basicConstraints" in _message(data, "unreadable")


def test_unsupported_name_type_and_pss_without_parameters_in_a_pkcs12(
    run: Run, tmp_path: Path
) -> None:
    for vector, part in (
        ("x509/san_x400address.der", "subjectAltName extension"),
        ("x509/custom/rsa_pss_cert_no_sig_params.der", "signature algorithm (rsassaPss)"),
    ):
        cert = x509.load_der_x509_certificate((VECTORS / vector).read_bytes())
        p12 = _write(tmp_path / "odd.p12", _p12(None, cert))
        rc, data = run.json("inspect", "--pkcs12", p12, "--password-stdin",
                            stdin=PASSWORD + "\n")
        assert rc == 2 and _codes(data) == ["unreadable"], vector
        assert part in _message(data, "unreadable")


def test_the_certificate_window_check_reports_instead_of_raising(
    tmp_path: Path, key: rsa.RSAPrivateKey, duplicate_bc: x509.Certificate
) -> None:
    """What the Certificate window shows comes from inputs + lint (the worker's path)."""
    from kscert_gui.model import lint
    from kscert_gui.services import inputs

    cert = _write(tmp_path / "dup.pem", _pem(duplicate_bc))
    key_file = _write(tmp_path / "dup.key", _key_pem(key))
    material = inputs.load_x509_files(key_file, None, cert)
    findings = lint.check(material, NOW)
    assert [f.code for f in findings] == ["unreadable"]
    assert "basicConstraints" in findings[0].message


# --- verdicts -------------------------------------------------------------------------


def test_md5_signed_v1_certificate_made_by_openssl_is_weak(run: Run, tmp_path: Path) -> None:
    key, csr, cert = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "md5.pem"
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-subj", "/CN=md5.example.com", "-out", str(csr)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-signkey", str(key), "-md5",
                    "-days", "30", "-out", str(cert)], check=True, capture_output=True)
    assert x509.load_pem_x509_certificate(cert.read_bytes()).version == x509.Version.v1
    rc, data = run.json("inspect", "--cert", str(cert))
    assert rc == 1
    assert "weak-signature" in _codes(data)
    assert "MD5" in _message(data, "weak-signature")
    assert data["certificate"]["signature"] == "md5WithRSAEncryption"


def test_md2_and_sha1_oiw_signatures_are_named(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    der = compliant_certificate(key, "mdm.example.com", NOW, 300).public_bytes(
        serialization.Encoding.DER)
    null = derkit.Node(0x05)
    for dotted, phrase, name in (
        ("1.2.840.113549.1.1.2", "MD2", "md2WithRSAEncryption"),
        ("1.3.14.3.2.29", "SHA-1", "sha1WithRSA (OIW, 1.3.14.3.2.29)"),
        ("1.2.840.113549.2.5", "MD5", "md5 (1.2.840.113549.2.5)"),
    ):
        odd = derkit.with_signature_algorithm(der, dotted, null)
        rc, data = run.json("inspect", "--cert", _write(tmp_path / "sig.der", odd))
        assert rc == 1 and "weak-signature" in _codes(data), dotted
        assert phrase in _message(data, "weak-signature") and name in _message(
            data, "weak-signature")
        assert data["certificate"]["signature"] == name


def _chain(key: rsa.RSAPrivateKey) -> tuple[x509.Certificate, x509.Certificate,
                                              x509.Certificate]:
    """root → intermediate → leaf; the leaf meets every rule."""
    def cert(subject: str, issuer: str, public: rsa.RSAPublicKey, signer: rsa.RSAPrivateKey,
             ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=300))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = cert("Odd Root", "Odd Root", root_key.public_key(), root_key, True)
    mid = cert("Odd Intermediate", "Odd Root", mid_key.public_key(), root_key, True)
    leaf = cert("mdm.example.com", "Odd Intermediate", key.public_key(), mid_key, False)
    return root, mid, leaf


def test_bundle_in_the_wrong_order_checks_the_leaf(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    root, mid, leaf = _chain(key)
    bundle = _write(tmp_path / "bundle.pem", _pem(root) + _pem(mid) + _pem(leaf))
    rc, data = run.json("inspect", "--cert", bundle)
    assert rc == 1  # the leaf has no SAN: what matters is which certificate is judged
    assert data["certificate"]["subject"] == "CN=mdm.example.com"
    assert [c["subject"] for c in data["chain"]] == ["CN=Odd Intermediate", "CN=Odd Root"]
    assert "incomplete-chain" not in _codes(data)
    # In a container without a key, too (the leaf in the "additional certificates").
    p12 = pkcs12.serialize_key_and_certificates(
        None, None, None, [root, mid, leaf], serialization.BestAvailableEncryption(b"pw"))
    rc, data = run.json("inspect", "--pkcs12", _write(tmp_path / "b.p12", p12),
                        "--password-stdin", stdin="pw\n")
    assert rc == 1 and data["certificate"]["subject"] == "CN=mdm.example.com"
    assert "no-private-key" in _codes(data)


def test_unprotected_container_given_a_password_opens_with_a_note(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    cert = compliant_certificate(key, "mdm.example.com", NOW, 300)
    p12 = _write(tmp_path / "open.p12", _p12(key, cert, password=None))
    rc, data = run.json("inspect", "--pkcs12", p12, "--password-stdin", stdin="typed anyway\n")
    assert rc == 0 and data["ok"] is True and data["findings"] == []
    assert "not protected by a password" in data["notes"][0]
    rc, out, _err = run("inspect", "--pkcs12", p12, "--password-stdin", stdin="typed anyway\n")
    assert "Note: The PKCS #12 container is not protected by a password" in out
    rc, data = run.json("inspect", "--pkcs12", p12)
    assert rc == 0 and "notes" not in data


def test_invalid_address_is_a_usage_error_with_json(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    cert = _write(tmp_path / "c.pem", _pem(compliant_certificate(key, "a.example", NOW, 300)))
    rc, out, err = run("inspect", "--cert", cert, "--address", "not an address", "--json")
    assert rc == 2
    assert json.loads(out)["error"]["code"] == "usage"
    assert "--address" in err


def test_terminal_escapes_in_a_name_are_not_passed_to_the_terminal(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    hostile = "evil\x1b[2J\x1b[H\nOK\r\u202e"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostile)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(NOW).not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    rc, out, _err = run("inspect", "--cert", _write(tmp_path / "evil.pem", _pem(cert)))
    assert rc == 1
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    assert out.splitlines()[0] == "REFUSED"
    assert "OK" not in [line.strip() for line in out.splitlines()]
    assert "\\x1b[2J" in out


# --- keys encrypted in a way no password opens here -----------------------------------


def test_short_iv_in_a_dek_info_header_is_unreadable_not_a_library_panic(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.BestAvailableEncryption(PASSWORD.encode()))
    found = re.search(rb"DEK-Info: ([A-Z0-9-]+),([0-9A-F]+)", pem)
    assert found is not None
    damaged = pem.replace(found.group(2), found.group(2)[:-4])
    key_file = _write(tmp_path / "short-iv.pem", damaged)
    cert = _write(tmp_path / "c.pem", _pem(compliant_certificate(key, "a.example", NOW, 300)))
    for stdin in (PASSWORD + "\n", None):
        args = ["--password-stdin"] if stdin is not None else []
        rc, data = run.json("inspect", "--key", key_file, "--cert", cert, *args,
                            stdin=stdin or "")
        assert rc == 2 and _codes(data) == ["unreadable"]
        assert "IV" in _message(data, "unreadable")
        assert "cannot read" in _message(data, "unreadable")


def test_damaged_iv_in_pkcs8_is_unreadable_and_says_so(
    tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(PASSWORD.encode()))
    with pytest.raises(crypto.UnreadableError, match="IV has 8 bytes"):
        crypto.read_private_key(derkit.with_pbes2_iv(der, 8), PASSWORD.encode())


def test_traditional_pem_with_a_cipher_not_read_here_is_unreadable(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    plain = _write(tmp_path / "plain.pem", _key_pem(key))
    encrypted = tmp_path / "camellia.pem"
    subprocess.run(["openssl", "rsa", "-in", plain, "-camellia256", "-traditional",
                    "-passout", f"pass:{PASSWORD}", "-out", str(encrypted)],
                   check=True, capture_output=True)
    cert = _write(tmp_path / "c.pem", _pem(compliant_certificate(key, "a.example", NOW, 300)))
    rc, data = run.json("inspect", "--key", str(encrypted), "--cert", cert,
                        "--password-stdin", stdin=PASSWORD + "\n")
    assert rc == 2 and _codes(data) == ["unreadable"]
    assert "CAMELLIA-256-CBC" in _message(data, "unreadable")
    assert "AES-256" in data["findings"][0]["fix"]


def test_import_prints_findings_on_one_line_each(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    """The findings import writes to stderr quote names from the file (key-mismatch)."""
    hostile = "evil\x1b[2J\nkscert: OK, imported\u2028"
    cert = compliant_certificate(key, "mdm.example.com", NOW, 300)
    evil = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostile)]))
        .issuer_name(cert.issuer).public_key(key.public_key()).serial_number(2)
        .not_valid_before(NOW).not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rc, _out, err = run("import", "--key", _write(tmp_path / "other.key", _key_pem(other)),
                        "--cert", _write(tmp_path / "evil.pem", _pem(evil)), "--immediately")
    assert rc == 1
    assert "key-mismatch" in err
    assert "\x1b" not in err and "\u2028" not in err
    assert all(line.startswith("kscert: ") for line in err.splitlines())
    assert not any(line.startswith("kscert: OK") for line in err.splitlines())


def test_import_of_an_unprotected_container_given_a_password_says_so(
    run: Run, tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    """kscert import tells the note that inspect and the Certificate window tell."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    cert = compliant_certificate(key, "mdm.example.com", now, 300)
    p12 = _write(tmp_path / "open.p12", _p12(key, cert, password=None))
    rc, out, err = run("import", "--pkcs12", p12, "--password-stdin", "--immediately", "--yes",
                       stdin="typed anyway\n")
    assert rc == 0, err
    assert "Imported:" in out and "Note: The PKCS #12 container is not protected" in out
    assert "kscert: note: The PKCS #12 container is not protected" in err
    rc, data = run.json("import", "--pkcs12", p12, "--password-stdin", "--after-days", "30",
                        "--yes", stdin="typed anyway\n")
    assert rc == 0 and "not protected by a password" in data["notes"][0]
