"""`kscert status/reissue/import/inspect/export` end to end (DESIGN §9)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from certkit import compliant_certificate
from clikit import Run, write_passfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kscert_gui.model.clock import parse_instant

PASSWORD = "correct horse  battery "  # spaces are part of it


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass")


def stable(data: Any) -> Any:
    """A status document without the fields that move with the clock."""
    if isinstance(data, dict):
        return {k: stable(v) for k, v in data.items() if k not in ("at", "days_left")}
    if isinstance(data, list):
        return [stable(v) for v in data]
    return data


@pytest.fixture
def run(home: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(home, passfile, monkeypatch, capsys)


def test_empty_store_status(run: Run) -> None:
    rc, data = run.json("status")
    assert rc == 0
    assert data["state"] == "no-certificate"
    assert data["main"] is None and data["reserve"] is None
    assert [w["code"] for w in data["warnings"]] == ["no-certificate"]


def test_reserve_switches_after_30_days_and_old_main_is_retired(run: Run, tmp_path: Path) -> None:
    assert run("reissue", "--address", "mdm.example.test", "--immediately", "--yes")[0] == 0
    rc, first = run.json("status")
    assert rc == 0 and first["state"] == "ok"
    old_sha = first["main"]["sha256"]
    rc, _out, err = run("reissue", "--after-days", "30", "--yes")
    assert rc == 0, err
    rc, data = run.json("status")
    reserve = data["reserve"]
    assert reserve is not None
    created = parse_instant(reserve["created_at"])
    switch = parse_instant(reserve["switch_at"])
    assert switch == created + timedelta(days=30)
    assert reserve["san"] == ["mdm.example.test"]  # "Use old connection address"
    assert data["main"]["sha256"] == old_sha

    at = (switch + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rc, later = run.json("status", "--at", at)
    assert rc == 0
    assert later["main"]["sha256"] == reserve["sha256"]
    assert later["reserve"] is None
    assert [h["sha256"] for h in later["history"] if h["state"] == "retired"] == [old_sha]
    # The what-if changed nothing.
    rc, again = run.json("status")
    assert again["reserve"]["sha256"] == reserve["sha256"]

    at_minus = (switch - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run.json("status", "--at", at_minus)[1]["main"]["sha256"] == old_sha


def _exported(run: Run, tmp_path: Path, which: str = "--main") -> x509.Certificate:
    out = tmp_path / "exported.pem"
    rc, _o, err = run("export", which, "--format", "pem", "--out", str(out))
    assert rc == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    return x509.load_pem_x509_certificate(out.read_bytes())


def _assert_design_3(cert: x509.Certificate, address: str) -> None:
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=397)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == address
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [address]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and ku.key_cert_sign and ku.crl_sign
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca


@pytest.mark.integration
def test_exported_certificate_has_every_design_3_property(run: Run, tmp_path: Path) -> None:
    assert run("reissue", "--address", "mdm.example.test", "--immediately")[0] == 0
    cert = _exported(run, tmp_path)
    _assert_design_3(cert, "mdm.example.test")
    text = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "exported.pem"), "-noout", "-text"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "Public-Key: (2048 bit)" in text
    assert "sha256WithRSAEncryption" in text
    assert "CA:TRUE" in text
    assert "TLS Web Server Authentication" in text
    assert "Digital Signature, Key Encipherment, Certificate Sign, CRL Sign" in text
    assert "DNS:mdm.example.test" in text


def test_ip_address_goes_into_san_as_ip(run: Run, tmp_path: Path) -> None:
    assert run("reissue", "--address", "127.0.0.1", "--immediately")[0] == 0
    cert = _exported(run, tmp_path)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_each_reissue_has_a_fresh_key(run: Run, tmp_path: Path) -> None:
    run("reissue", "--address", "mdm.example.test", "--immediately")
    a = _exported(run, tmp_path).public_key()
    run("reissue", "--after-days", "30", "--yes")
    b = _exported(run, tmp_path, "--reserve").public_key()
    assert isinstance(a, rsa.RSAPublicKey) and isinstance(b, rsa.RSAPublicKey)
    assert a.public_numbers() != b.public_numbers()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["reissue", "--immediately", "--after-days", "30"], "not allowed with"),
        (["reissue"], "one of the arguments"),
        (["reissue", "--after-days", "zero"], "not a whole number"),
        (["reissue", "--after-days", "0"], "out of range"),
        (["reissue", "--after-days", "397"], "out of range"),
        (["reissue", "--key-size", "1024", "--immediately"], "invalid choice"),
        (["status", "--at", "yesterday"], "ISO 8601"),
        (["export", "--main", "--format", "jpeg", "--out", "x"], "invalid choice"),
        (["export", "--main", "--with-key", "--format", "pem", "--out", "x"], "--with-key"),
        (["import", "--key", "k.pem", "--after-days", "30"], "--cert"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_without_traceback(run: Run, args: list[str], needle: str) -> None:
    rc, out, err = run(*args)
    assert rc == 2
    assert needle in err
    assert "Traceback" not in err + out


def test_invalid_address_is_refused_and_store_unchanged(run: Run) -> None:
    run("reissue", "--address", "mdm.example.test", "--immediately")
    before = run.json("status")[1]
    rc, _out, err = run("reissue", "--address", "http://bad host", "--after-days", "30")
    assert rc == 1
    assert "bad host" in err and "Traceback" not in err
    assert stable(run.json("status")[1]) == stable(before)


def test_export_without_reserve_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    rc, _out, err = run("export", "--reserve", "--out", str(tmp_path / "r.pem"))
    assert rc == 1 and "no reserve certificate" in err.lower()
    assert not (tmp_path / "r.pem").exists()


# --- import ----------------------------------------------------------------------------------


def _make_pair(tmp_path: Path, name: str = "custom.example.test", days: int = 300) -> tuple[
    rsa.RSAPrivateKey, x509.Certificate
]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC) - timedelta(minutes=1)
    cert = compliant_certificate(key, name, now, days)
    return key, cert


def _write_p12(tmp_path: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> Path:
    path = tmp_path / "custom.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"custom", key, cert, None,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    return path


def test_import_pkcs12_as_reserve_then_grep_store_for_secrets(run: Run, tmp_path: Path) -> None:
    run("reissue", "--address", "mdm.example.test", "--immediately")
    key, cert = _make_pair(tmp_path)
    p12 = _write_p12(tmp_path, key, cert)
    rc, _out, err = run("import", "--pkcs12", str(p12), "--password-stdin", "--after-days", "45",
                       "--yes", stdin=PASSWORD + "\n")
    assert rc == 0, err
    data = run.json("status")[1]
    assert data["reserve"]["san"] == ["custom.example.test"]
    assert data["reserve"]["source"] == "custom"

    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    trad_der = key.private_bytes(serialization.Encoding.DER,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())
    for path in run.home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"PRIVATE KEY" not in blob, path
            assert key_der not in blob and trad_der not in blob, path
            assert PASSWORD.encode() not in blob, path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(run.home.stat().st_mode) == 0o700


def test_import_wrong_password_refused_and_store_unchanged(run: Run, tmp_path: Path) -> None:
    run("reissue", "--address", "mdm.example.test", "--immediately")
    before = run.json("status")[1]
    key, cert = _make_pair(tmp_path)
    p12 = _write_p12(tmp_path, key, cert)
    rc, _out, err = run("import", "--pkcs12", str(p12), "--password-stdin", "--after-days", "45",
                       "--yes", stdin="wrong\n")
    assert rc == 1
    assert "wrong-password" in err
    assert "wrong\n" not in err and PASSWORD not in err
    assert stable(run.json("status")[1]) == stable(before)


def test_import_key_mismatch_refused(run: Run, tmp_path: Path) -> None:
    key, _cert = _make_pair(tmp_path)
    _key2, cert2 = _make_pair(tmp_path)
    kp = tmp_path / "k.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    cp = tmp_path / "c.cer"
    cp.write_bytes(cert2.public_bytes(serialization.Encoding.DER))
    rc, _out, err = run("import", "--key", str(kp), "--cert", str(cp), "--immediately")
    assert rc == 1 and "key-mismatch" in err
    assert run.json("status")[1]["main"] is None


def test_import_unreadable_file_exits_2(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.p12"
    junk.write_bytes(b"\x00garbage" * 100)
    rc, out, _err = run("import", "--pkcs12", str(junk), "--immediately", "--json")
    assert rc == 2
    assert json.loads(out)["findings"][0]["code"] == "unreadable"


def test_import_warning_needs_yes(run: Run, tmp_path: Path) -> None:
    key, cert = _make_pair(tmp_path, days=10)  # expires-soon warning
    p12 = _write_p12(tmp_path, key, cert)
    rc, _out, err = run("import", "--pkcs12", str(p12), "--password-stdin", "--immediately",
                       stdin=PASSWORD + "\n")
    assert rc == 1 and "expires-soon" in err and "acknowledged" in err
    assert run.json("status")[1]["main"] is None
    rc, _out, err = run("import", "--pkcs12", str(p12), "--password-stdin", "--immediately",
                       "--yes", stdin=PASSWORD + "\n")
    assert rc == 0, err


# --- inspect ----------------------------------------------------------------------------------


def test_inspect_json_shape(run: Run, tmp_path: Path) -> None:
    key, cert = _make_pair(tmp_path)
    p12 = _write_p12(tmp_path, key, cert)
    rc, data = run.json("inspect", "--pkcs12", str(p12), "--password-stdin",
                        "--address", "custom.example.test", stdin=PASSWORD + "\n")
    assert rc == 0
    assert data["ok"] is True and data["findings"] == []
    assert set(data["certificate"]) >= {"subject", "issuer", "san", "not_before", "not_after",
                                        "sha256", "key", "signature"}
    assert data["certificate"]["key"] == "RSA 2048"
    assert data["chain"] == []


def test_inspect_address_not_in_san(run: Run, tmp_path: Path) -> None:
    key, cert = _make_pair(tmp_path)
    p12 = _write_p12(tmp_path, key, cert)
    rc, data = run.json("inspect", "--pkcs12", str(p12), "--password-stdin",
                        "--address", "other.example.test", stdin=PASSWORD + "\n")
    assert rc == 1
    assert [f["code"] for f in data["findings"]] == ["address-not-in-san"]


def test_inspect_20_mib_random_file_is_unreadable(run: Run, tmp_path: Path) -> None:
    big = tmp_path / "big.p12"
    with big.open("wb") as fh:
        fh.write(os.urandom(20 * 1024 * 1024))
    rc, data = run.json("inspect", "--pkcs12", str(big))
    assert rc == 2
    assert data["ok"] is False
    assert [f["code"] for f in data["findings"]] == ["unreadable"]


def test_inspect_missing_file(run: Run, tmp_path: Path) -> None:
    rc, data = run.json("inspect", "--cert", str(tmp_path / "nope.cer"))
    assert rc == 2 and data["findings"][0]["code"] == "unreadable"


@pytest.fixture
def env_for_subprocess(home: Path, passfile: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env["KSCERT_HOME"] = str(home)
    env["KSCERT_PASSPHRASE_FILE"] = str(passfile)
    yield env


def test_console_script_runs_in_a_subprocess(env_for_subprocess: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "status", "--json"],
        capture_output=True, text=True, env=env_for_subprocess, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["state"] == "no-certificate"
    bad = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "status", "--at", "2026-13-45"],
        capture_output=True, text=True, env=env_for_subprocess, timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_inspect_of_a_negative_serial_number_prints_no_library_warning(tmp_path: Path) -> None:
    """openssl makes what cryptography only warns about; the person sees findings, not a
    library's deprecation warning with a file path (in a child: warnings print once)."""
    key, cert = tmp_path / "neg.key", tmp_path / "neg.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=neg.test", "-days", "30", "-set_serial", "-5"],
        check=True, capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-W", "default", "-m", "kscert_gui.cli", "inspect", "--cert", str(cert)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "CN=neg.test" in done.stdout
    assert "missing-san" in done.stdout
    assert "Warning" not in done.stderr and "serial" not in done.stderr
