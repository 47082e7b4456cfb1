"""kscert_gui.services.inputs: reading users' files safely, errors as findings."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kscert_gui.model import crypto
from kscert_gui.model.errors import InputFileError
from kscert_gui.services import inputs
from kscert_gui.services.inputs import (
    MAX_INPUT_BYTES,
    load_certificate_file,
    load_pkcs12_file,
    load_x509_files,
    read_input_file,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PASSWORD = b"pass word with spaces "


@pytest.fixture(scope="module")
def issued() -> crypto.IssuedCertificate:
    return crypto.issue_certificate("mdm.example.com", NOW)


def codes(material: crypto.Material) -> list[str]:
    return [f.code for f in material.findings]


def test_no_qt_in_model_and_services() -> None:
    # In a fresh interpreter: pytest-qt has already imported PySide6 in this one.
    code = (
        "import sys, kscert_gui.services.inputs, kscert_gui.model.lint; "
        "sys.exit('PySide6' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_max_input_bytes() -> None:
    assert MAX_INPUT_BYTES == 10 * 1024 * 1024


def test_read_input_file_reads_small_files(tmp_path: Path) -> None:
    path = tmp_path / "c.cer"
    path.write_bytes(b"abc")
    assert read_input_file(path) == b"abc"
    assert read_input_file(str(path)) == b"abc"


def test_read_input_file_exactly_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.der"
    with open(path, "wb") as handle:
        handle.truncate(MAX_INPUT_BYTES)
    assert len(read_input_file(path)) == MAX_INPUT_BYTES


def test_too_large_file_is_refused_from_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge.p12"
    path.write_bytes(os.urandom(20 * 1024 * 1024))

    def must_not_read(path: Path, limit: int) -> bytes:
        raise AssertionError("a file over the limit must not be read")

    monkeypatch.setattr(inputs, "_read_at_most", must_not_read)
    with pytest.raises(InputFileError, match="too large") as info:
        read_input_file(path)
    assert str(path) in str(info.value)
    for material in (
        load_pkcs12_file(path, PASSWORD),
        load_certificate_file(path),
    ):
        assert codes(material) == ["unreadable"]
        assert material.findings[0].rule_set == "file"
        assert "too large" in material.findings[0].message


def test_a_file_that_grows_after_the_stat_is_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.pem"
    path.write_bytes(b"small")
    monkeypatch.setattr(inputs, "_read_at_most", lambda p, limit: b"\0" * limit)
    with pytest.raises(InputFileError, match="too large"):
        read_input_file(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.p12"
    with pytest.raises(InputFileError, match="does not exist") as info:
        read_input_file(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a directory") as info:
        read_input_file(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs exist on POSIX only")
def test_fifo_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "pipe.pem"
    os.mkfifo(path)
    with pytest.raises(InputFileError, match="not a regular file"):
        read_input_file(path)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated: tests may run as root, for whom chmod 000 does not stop reading.
    path = tmp_path / "locked.key"
    path.write_bytes(b"x")

    def denied(path: Path, limit: int) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(inputs, "_read_at_most", denied)
    with pytest.raises(InputFileError, match="permission denied") as info:
        read_input_file(path)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    monkeypatch.setattr(os, "stat", lambda p: denied(p, 0))
    try:
        with pytest.raises(InputFileError, match="permission denied"):
            read_input_file(path)
    finally:
        monkeypatch.undo()  # os.stat is global: restore it at once


def test_load_pkcs12_file(tmp_path: Path, issued: crypto.IssuedCertificate) -> None:
    path = tmp_path / "server.pfx"
    path.write_bytes(
        crypto.export_pkcs12(issued.certificate, issued.private_key, [], PASSWORD)
    )
    material = load_pkcs12_file(path, PASSWORD)
    assert material.ok and material.certificate == issued.certificate
    assert codes(load_pkcs12_file(path, PASSWORD.strip())) == ["wrong-password"]
    assert codes(load_pkcs12_file(path, None)) == ["wrong-password"]
    assert codes(load_pkcs12_file(tmp_path / "missing.p12", PASSWORD)) == ["unreadable"]
    empty = tmp_path / "empty.p12"
    empty.write_bytes(b"")
    assert codes(load_pkcs12_file(empty, None)) == ["unreadable"]
    junk = tmp_path / "junk.p12"
    junk.write_bytes(os.urandom(4096))
    assert codes(load_pkcs12_file(junk, PASSWORD)) == ["unreadable"]


def test_load_certificate_file_decides_by_content(
    tmp_path: Path, issued: crypto.IssuedCertificate
) -> None:
    # Misleading extensions on purpose: PEM vs DER is decided by the content.
    der_named_pem = tmp_path / "cert.pem"
    der_named_pem.write_bytes(crypto.export_certificate(issued.certificate, "der"))
    pem_named_der = tmp_path / "cert.der"
    pem_named_der.write_bytes(crypto.export_certificate(issued.certificate, "pem"))
    for path in (der_named_pem, pem_named_der):
        material = load_certificate_file(path)
        assert material.ok and material.certificate == issued.certificate
    truncated = tmp_path / "cut.cer"
    truncated.write_bytes(crypto.export_certificate(issued.certificate, "der")[:200])
    assert codes(load_certificate_file(truncated)) == ["unreadable"]
    assert codes(load_certificate_file(tmp_path)) == ["unreadable"]


def test_load_x509_files(tmp_path: Path, issued: crypto.IssuedCertificate) -> None:
    key_path = tmp_path / "server.prk"
    key_path.write_bytes(
        issued.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(PASSWORD),
        )
    )
    cert_path = tmp_path / "server.cer"
    cert_path.write_bytes(crypto.export_certificate(issued.certificate, "der"))
    material = load_x509_files(key_path, PASSWORD, cert_path)
    assert material.ok and material.certificate == issued.certificate
    assert material.private_key is not None
    assert codes(load_x509_files(key_path, b"nope", cert_path)) == ["wrong-password"]

    missing_key = load_x509_files(tmp_path / "none.prk", PASSWORD, cert_path)
    assert codes(missing_key) == ["unreadable"]
    assert "none.prk" in missing_key.findings[0].message
    assert missing_key.certificate == issued.certificate  # still shown
    missing_cert = load_x509_files(key_path, PASSWORD, tmp_path / "none.cer")
    assert codes(missing_cert) == ["unreadable"]
    assert missing_cert.certificate is None
    both = load_x509_files(tmp_path / "a.prk", None, tmp_path / "b.cer")
    assert codes(both) == ["unreadable", "unreadable"]
    assert all(f.rule_set == "file" and f.severity == "error" for f in both.findings)
