"""Every `kscert` argument, file and stdin with a wrong value (DESIGN §9, §10).

For each: the exit code of DESIGN §9 (2 a usage error or unreadable input, 1 a
refusal), one ``kscert: error:`` line that says what is wrong, no traceback, no
"unexpected error", and a store that is exactly as it was. Everything runs in
process (``cli.main``) on copies of two stores made once per module.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import stat
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clikit
import pytest
from clikit import write_passfile
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kscert_gui import cli
from kscert_gui.model.clock import FixedClock, iso, parse_instant
from kscert_gui.model.errors import UsageError
from kscert_gui.services import fsutil, tls
from kscert_gui.services.demo import create_demo_store
from kscert_gui.services.secrets import PassphraseFileSecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import DB_NAME
from kscert_gui.services.views import ReissueRequest

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
P12_PASSWORD = b"correct horse  battery "
NOT_UTF8 = "caf\udce9"  # what Python makes of the bytes b"caf\xe9" in argv


# --- stores -------------------------------------------------------------------------------


def _passfile(path: Path) -> Path:
    return write_passfile(path, b"a store passphrase for wrong values")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("templates")
    passfile = _passfile(base / "pass")
    real = base / "real"
    with AdministrationServer.open(real, PassphraseFileSecretStore(passfile)) as server:
        server.reissue(ReissueRequest("mdm.example.test", None, 2048), confirmed=True)
    training = base / "training"
    create_demo_store(training, PassphraseFileSecretStore(passfile), FixedClock(T0), pin_clock=True)
    return {"real": real, "training": training}


class Run(clikit.Run):
    def __call__(self, *args: str, stdin: str | bytes = "", home: bool = True) -> tuple[
        int, str, str
    ]:
        rc, out, err = super().__call__(*args, stdin=stdin, home=home)
        assert "unexpected error" not in err
        return rc, out, err

    def refused(self, code: int, *args: str, stdin: str | bytes = "",
                home: bool = True) -> str:
        """Run a command that must fail with ``code``: one error line, store unchanged."""
        before = snapshot(self.home)
        rc, out, err = self(*args, stdin=stdin, home=home)
        assert rc == code, (args, out, err)
        assert err.count("kscert: error:") == 1, err
        assert snapshot(self.home) == before
        return err


def snapshot(home: Path) -> dict[str, Any]:
    """Every row of every table, and the names in the directory (a missing store: None)."""
    if not (home / DB_NAME).is_file():
        return {"files": sorted(os.listdir(home)) if home.is_dir() else None}
    conn = sqlite3.connect(f"{(home / DB_NAME).resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        rows = {t: sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{t}"'))
                for t in tables}
    finally:
        conn.close()
    rows["files"] = sorted(n for n in os.listdir(home) if n != "store.owner")
    return rows


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return _passfile(tmp_path / "store.pass")


def _copy(templates: dict[str, Path], which: str, tmp_path: Path) -> Path:
    home = tmp_path / which
    shutil.copytree(templates[which], home)
    return home


@pytest.fixture
def real(templates: dict[str, Path], tmp_path: Path, passfile: Path,
         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(_copy(templates, "real", tmp_path), passfile, monkeypatch, capsys)


@pytest.fixture
def training(templates: dict[str, Path], tmp_path: Path, passfile: Path,
             monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(_copy(templates, "training", tmp_path), passfile, monkeypatch, capsys)


# --- arguments: usage errors (exit 2) -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        # status --at
        (["status", "--at", ""], "instant is empty"),
        (["status", "--at", "0001-01-01T00:00:00+14:00"], "not an ISO 8601 instant"),
        (["status", "--at", "9999-12-31T23:59:59-01:00"], "not an ISO 8601 instant"),
        (["status", "--at", "2027-02-30T00:00:00Z"], "not an ISO 8601 instant"),
        # reissue --after-days / --key-size
        (["reissue", "--after-days", "3_0"], "not a whole number of days"),
        (["reissue", "--after-days", "٣٠"], "not a whole number of days"),
        (["reissue", "--after-days", "30.0"], "not a whole number of days"),
        (["reissue", "--after-days", ""], "not a whole number of days"),
        (["reissue", "--after-days", "9" * 5000], "not a whole number of days"),
        (["reissue", "--after-days", "-5"], "out of range"),
        (["reissue", "--key-size", "abc", "--immediately"], "invalid int value"),
        # file arguments that are empty
        (["import", "--pkcs12", "", "--immediately"], "file name is empty"),
        (["import", "--key", " ", "--cert", "c.cer", "--immediately"], "file name is empty"),
        (["inspect", "--cert", ""], "file name is empty"),
        (["export", "--main", "--out", ""], "file name is empty"),
        (["devices", "import", ""], "file name is empty"),
        # import / inspect combinations
        (["import", "--cert", "c.cer", "--immediately"], "one of the arguments"),
        (["import", "--pkcs12", "a.p12", "--key", "k.pem", "--immediately"], "not allowed"),
        (["inspect", "--key", "k.pem"], "--key needs --cert"),
        # export combinations
        (["export", "--main", "--format", "p12", "--out", "x.p12"], "needs --with-key"),
        (["export", "--main", "--legacy", "--out", "x.pem"], "--legacy applies"),
        (["export", "--main", "--reserve", "--out", "x.pem"], "not allowed"),
        (["export", "--main"], "--out"),
        # check HOST:PORT, --servername, --timeout
        (["check", ".:443"], "not a valid host name"),
        (["check", "a..b:443"], "not a valid host name"),
        (["check", "a" * 70 + ".example:443"], "not a valid host name"),
        (["check", "bad host:443"], "spaces"),
        (["check", "256.1.1.1:443"], "not a valid one"),
        (["check", "http://127.0.0.1:443"], "without a scheme"),
        (["check", "127.0.0.1:443/path"], "without a scheme"),
        (["check", "127.0.0.1:1_0"], "not a number"),
        (["check", "127.0.0.1:٣"], "not a number"),
        (["check", "[::1]:0"], "out of range"),
        (["check", "[::1]:65536"], "out of range"),
        (["check", "[::1]"], "[ADDR]:PORT"),
        (["check", "MDM.Example.COM:x"], "The port in 'MDM.Example.COM:x' is not a number"),
        (["check", "127.0.0.1:443", "--servername", ""], "name is empty"),
        (["check", "127.0.0.1:443", "--servername", "bad name"], "spaces"),
        (["check", "127.0.0.1:443", "--servername", "a..b"], "not a valid host name"),
        (["check", "127.0.0.1:443", "--servername", "1.2.3.4"], "is an IP address"),
        (["check", "127.0.0.1:443", "--servername", "host:443"], "not a host name"),
        (["check", "127.0.0.1:443", "--timeout", "0"], "more than 0"),
        (["check", "127.0.0.1:443", "--timeout", "nan"], "out of range"),
        (["check", "127.0.0.1:443", "--timeout", "inf"], "out of range"),
        (["check", "127.0.0.1:443", "--timeout", "-1"], "out of range"),
        (["check", "127.0.0.1:443", "--timeout", "601"], "out of range"),
        (["check", "127.0.0.1:443", "--timeout", "soon"], "not a number of seconds"),
        # serve --bind / --server-port
        (["serve", "--bind", ""], "address is empty"),
        (["serve", "--bind", "a..b"], "not a valid host name"),
        (["serve", "--bind", "999.1.1.1"], "not a valid one"),
        (["serve", "--bind", "bad host"], "spaces"),
        (["serve", "--bind", "127.0.0.1:80"], "--server-port"),
        (["serve", "--server-port", "1_0"], "not a number"),
        (["serve", "--server-port", "0"], "out of range"),
        (["serve", "--server-port", "65536"], "out of range"),
        # devices / groups / simulate / gateways
        (["devices", "add", "", "--group", "G", "--platform", "iOS"], "device name is empty"),
        (["devices", "add", "d", "--group", " ", "--platform", "iOS"], "group is empty"),
        (["devices", "add", "d", "--group", "G", "--platform", "iPadOS"], "unknown platform"),
        (["devices", "add", "d", "--group", "G", "--platform", "iOS", "--last-sync",
          "0001-01-01T00:00:00+14:00"], "not an ISO 8601 instant"),
        (["devices", "add", "d", "--group", "G", "--platform", "iOS", "--last-sync",
          "yesterday"], "not an ISO 8601 instant"),
        (["devices", "list", "--group", ""], "group is empty"),
        (["devices", "list", "--state", "at risk"], "invalid choice"),
        (["groups", "set-sync", "", "--hours", "4"], "group is empty"),
        (["groups", "set-sync", "Head office", "--hours", "1_2"], "not a number of hours"),
        (["groups", "set-sync", "Head office", "--hours", "١٢"], "not a number of hours"),
        (["groups", "set-sync", "Head office", "--hours", "6,5"], "not a number of hours"),
        (["groups", "set-sync", "Head office", "--hours", "0x10"], "not a number of hours"),
        (["groups", "set-sync", "Head office", "--hours=-inf"], "out of range"),
        (["simulate", "advance", "--days", "1_0"], "not a whole number of days"),
        (["simulate", "advance", "--days", "٣"], "not a whole number of days"),
        (["simulate", "advance", "--hours", "1_0"], "not a whole number of hours"),
        (["gateways", "add", "", "--scope", "G"], "device name is empty"),
        (["gateways", "add", "gw", "--scope", ""], "scope group is empty"),
        (["gateways", "add", "gw", "--scope", "G", "--agent-port", "1_0"], "not a port"),
        (["gateways", "remove", " ", "--yes"], "device name is empty"),
        (["gateways", "reconnect", ""], "device name is empty"),
        (["server", "set-version", "15.0"], "invalid choice"),
        # a missing sub-command is named by its choices, not by an internal name
        (["devices"], "required: {add,import,list}"),
        (["gateways"], "required: {add,remove,reconnect,list}"),
        (["groups"], "required: {list,set-sync}"),
        (["simulate"], "required: {advance,reinstall}"),
        (["server"], "required: {set-version}"),
        # names that are not UTF-8 (bytes b"caf\xe9" in argv)
        (["devices", "add", NOT_UTF8, "--group", "G", "--platform", "iOS", "--create-group"],
         "argument NAME: the value is not UTF-8 text (byte 0xe9)"),
        (["devices", "add", "d", "--group", NOT_UTF8, "--platform", "iOS", "--create-group"],
         "argument --group: the value is not UTF-8"),
        (["groups", "set-sync", NOT_UTF8, "--hours", "4"], "GROUP: the value is not UTF-8"),
        (["gateways", "add", NOT_UTF8, "--scope", "G"], "DEVICE: the value is not UTF-8"),
        (["gateways", "remove", NOT_UTF8, "--yes"], "DEVICE: the value is not UTF-8"),
        (["gateways", "reconnect", NOT_UTF8], "DEVICE: the value is not UTF-8"),
        (["check", f"{NOT_UTF8}:443"], "argument HOST:PORT: the value is not UTF-8"),
        (["reissue", "--address", NOT_UTF8, "--after-days", "30"],
         "--address: the value is not UTF-8"),
    ],
)
def test_usage_errors_exit_2_and_change_nothing(training: Run, args: list[str],
                                                words: str) -> None:
    err = training.refused(2, *args)
    assert words in err
    assert err.startswith("kscert: error:")


@pytest.mark.parametrize("home", ["", " "])
def test_empty_home_is_a_usage_error(real: Run, home: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, _out, err = real("--home", home, "status", home=False)
    assert rc == 2 and "store directory is empty" in err
    assert sorted(os.listdir(tmp_path)) == ["real", "store.pass"]  # no store in the cwd


@pytest.mark.parametrize("value", [" ", "\t"])
def test_blank_kscert_home_is_a_usage_error(real: Run, value: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KSCERT_HOME", value)
    rc, _out, err = real("status", home=False)
    assert rc == 2 and "KSCERT_HOME holds only spaces" in err
    assert sorted(os.listdir(tmp_path)) == ["real", "store.pass"]


def test_blank_kscert_passphrase_file_is_a_usage_error(
    real: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KSCERT_PASSPHRASE_FILE", "  ")
    before = snapshot(real.home)
    capsys.readouterr()
    rc = cli.main(["--home", str(real.home), "reissue", "--after-days", "30", "--yes"])
    err = capsys.readouterr().err
    assert rc == 2 and "KSCERT_PASSPHRASE_FILE holds only spaces" in err
    assert snapshot(real.home) == before


@pytest.mark.parametrize("address", ["", " "])
def test_inspect_with_an_empty_address_is_refused(real: Run, address: str,
                                                  files: dict[str, Path]) -> None:
    # A usage error (issue 13): exit 2, as for any other argument that is not valid.
    err = real.refused(2, "inspect", "--cert", str(files["cer"]), "--address", address)
    assert "connection address is empty" in err


def test_home_with_a_tilde_is_the_users_home(real: Run, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    rc, _out, err = real("--home", "~/kscert-store", "status", home=False)
    assert rc == 0, err
    assert (tmp_path / "user" / "kscert-store" / DB_NAME).is_file()
    assert not (tmp_path / "~").exists()


def test_control_characters_in_a_message_are_escaped(real: Run) -> None:
    err = real.refused(1, "reissue", "--address", "bad\x1b[31mhost", "--after-days", "30")
    assert "\x1b" not in err and "bad\\x1b[31mhost" in err


# --- --home: files, foreign directories, permissions (exit 1, nothing touched) ------------


def test_home_is_a_file(real: Run, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    for command in (["status"], ["reissue", "--immediately", "--yes"], ["devices", "list"]):
        rc, _out, err = real("--home", str(a_file), *command, home=False)
        assert rc == 1 and "is a file, not a store directory" in err
        rc, _out, err = real("--home", str(a_file / "sub"), *command, home=False)
        assert rc == 1 and "cannot be created: not a directory" in err
    assert a_file.read_text() == "mine\n"


def test_home_that_holds_other_files_is_not_taken_over(real: Run, tmp_path: Path) -> None:
    """`--home ~` or `--home /tmp` by mistake: no store there, no chmod 0700 of it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "report.odt").write_text("someone's work")
    os.chmod(shared, 0o1777)
    for command in (["status"], ["reissue", "--immediately", "--yes"],
                    ["devices", "add", "d", "--group", "G", "--platform", "iOS",
                     "--create-group"]):
        rc, _out, err = real("--home", str(shared), *command, home=False)
        assert rc == 1
        assert "is not a store directory: it holds other files (report.odt)" in err
    assert sorted(os.listdir(shared)) == ["report.odt"]
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_an_empty_directory_becomes_a_store(real: Run, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, out, err = real("--home", str(empty), "status", "--json", home=False)
    assert rc == 0, err
    assert json.loads(out)["state"] == "no-certificate"


def test_a_store_this_user_may_not_change_is_still_read(
    real: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's store: status reads it; a change is refused with the reason."""
    from kscert_gui.services import store as store_module

    def denied(path: Path) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(store_module, "ensure_private_dir", denied)
    rc, out, err = real("status", "--json")
    assert rc == 0, err
    assert json.loads(out)["main"]["san"] == ["mdm.example.test"]
    err = real.refused(1, "reissue", "--after-days", "30", "--yes")
    assert "cannot be changed by this user (permission denied); it can still be read" in err


def test_the_console_opens_a_store_it_may_not_change_read_only(
    real: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kscert_gui import app
    from kscert_gui.model.clock import system_clock
    from kscert_gui.services import store as store_module

    def denied(path: Path) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(store_module, "ensure_private_dir", denied)
    console = app.open_console(real.home, PassphraseFileSecretStore(real.passfile),
                               system_clock)
    try:
        assert console.read_only
        assert console.read_only_reason is not None
        assert "cannot be changed by this user" in console.read_only_reason
    finally:
        console.close()


# --- the passphrase file ------------------------------------------------------------------


def _in_thread(call: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Run ``call`` in a daemon thread: a hang fails the test instead of the suite."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the command hangs"
    return result[0]


def _private(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d / "missing.pass", "does not exist"),
        (lambda d: _private(d / "empty.pass", b""), "is empty"),
        (lambda d: _private(d / "blank.pass", b"\n\n"), "is empty"),
        (lambda d: _private(d / "open.pass", b"a store passphrase for wrong values\n", 0o644),
         "can be read by other users (mode 0644)"),
        (lambda d: _private(d / "wrong.pass", b"another passphrase\n"),
         "does not open this store's private keys"),
        (lambda d: _private(d / "binary.pass", b"\xff\xfe\xfd\n"),
         "does not open this store's private keys"),
        (lambda d: _private(d / "long.pass", b"x" * 5000), "longer than 4096 bytes"),
        (lambda d: d, "is not a regular file"),
    ],
    ids=["missing", "empty", "blank", "world-readable", "wrong", "binary", "long", "directory"],
)
def test_bad_passphrase_files_are_refused(real: Run, tmp_path: Path,
                                          make: Callable[[Path], Path], words: str) -> None:
    real.passfile = make(tmp_path)
    err = real.refused(1, "reissue", "--after-days", "30", "--yes")
    assert words in err
    assert "a store passphrase" not in err and "another passphrase" not in err


def test_a_failed_first_command_leaves_no_store_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reissue refused for its passphrase file made no store, so `demo` still works
    there; a store that existed before is kept, whatever fails."""
    home = tmp_path / "new-store"
    passfile = _private(tmp_path / "open.pass", b"a store passphrase for wrong values\n", 0o644)
    run = Run(home, passfile, monkeypatch, capsys)
    err = run.refused(1, "reissue", "--after-days", "30", "--yes")
    assert "can be read by other users" in err
    assert not home.exists()
    os.chmod(passfile, 0o600)
    rc, out, _err = run("demo")
    assert rc == 0 and "Created the demo store" in out
    os.chmod(passfile, 0o644)
    run.refused(1, "reissue", "--after-days", "30", "--yes")
    os.chmod(passfile, 0o600)
    rc, st = run.json("status")
    assert rc == 0 and st["fleet"]["devices"] == 1250 and st["main"] is not None


def test_a_fifo_as_passphrase_file_is_refused_without_waiting(real: Run, tmp_path: Path) -> None:
    fifo = tmp_path / "pass.fifo"
    os.mkfifo(fifo)
    real.passfile = fifo
    rc, _out, err = _in_thread(lambda: real("reissue", "--after-days", "30", "--yes"))
    assert rc == 1 and "is not a regular file" in err


def test_a_fifo_as_device_list_is_refused_without_waiting(training: Run, tmp_path: Path) -> None:
    fifo = tmp_path / "fleet.csv"
    os.mkfifo(fifo)
    rc, _out, err = _in_thread(lambda: training("devices", "import", str(fifo)))
    assert rc == 2 and "is not a regular file (a pipe or a device)" in err


# --- stdin --------------------------------------------------------------------------------


def _identity(name: str = "custom.example.test") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC) - timedelta(minutes=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=True,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=300))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("files")
    key, cert = _identity()
    p12 = d / "custom.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"custom", key, cert, None, serialization.BestAvailableEncryption(P12_PASSWORD)))
    latin1_key = d / "latin1.key"
    latin1_key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption("café".encode("latin-1"))))
    cer = d / "custom.cer"
    cer.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return {"p12": p12, "latin1_key": latin1_key, "cer": cer}


@pytest.mark.parametrize("stdin", ["", b""], ids=["text", "bytes"])
@pytest.mark.parametrize(
    "command",
    [["inspect"], ["import", "--after-days", "30", "--yes"]],
    ids=["inspect", "import"],
)
def test_password_stdin_with_nothing_on_stdin(real: Run, files: dict[str, Path],
                                              command: list[str], stdin: str | bytes) -> None:
    err = real.refused(2, *command, "--pkcs12", str(files["p12"]), "--password-stdin",
                       stdin=stdin)
    assert "standard input is empty" in err


@pytest.mark.parametrize(
    "command",
    [["inspect"], ["import", "--after-days", "30", "--yes"]],
    ids=["inspect", "import"],
)
def test_a_pkcs12_password_that_is_not_utf8(real: Run, files: dict[str, Path],
                                            command: list[str]) -> None:
    err = real.refused(2, *command, "--pkcs12", str(files["p12"]), "--password-stdin",
                       stdin=b"\xff\xfecorrect\n")
    assert "not UTF-8 text; a PKCS #12 password is text" in err
    assert "correct" not in err and "0xff" not in err  # nothing of the secret


def test_an_export_password_that_is_not_utf8(real: Run, tmp_path: Path) -> None:
    out = tmp_path / "main.p12"
    err = real.refused(2, "export", "--main", "--with-key", "--format", "p12", "--out",
                       str(out), stdin=b"\xffsecret\n")
    assert "not UTF-8 text" in err and "secret" not in err
    assert not out.exists()


def test_a_key_password_that_is_not_utf8_opens_the_key(real: Run,
                                                       files: dict[str, Path]) -> None:
    """A private key's password is bytes: a Latin-1 password exported elsewhere works."""
    rc, out, err = real("inspect", "--key", str(files["latin1_key"]), "--cert",
                        str(files["cer"]), "--password-stdin", "--json",
                        stdin="café\n".encode("latin-1"))
    assert rc == 0, err
    assert json.loads(out)["ok"] is True


def test_password_from_a_real_stdin_keeps_its_spaces(real: Run, files: dict[str, Path]) -> None:
    rc, out, err = real("inspect", "--pkcs12", str(files["p12"]), "--password-stdin", "--json",
                        stdin=P12_PASSWORD + b"\r\n")
    assert rc == 0, err
    assert json.loads(out)["ok"] is True


def test_a_file_piped_in_as_password_is_refused(real: Run, files: dict[str, Path]) -> None:
    err = real.refused(2, "inspect", "--pkcs12", str(files["p12"]), "--password-stdin",
                       stdin=b"A" * (70 * 1024) + b"\n")
    assert "longer than 64 KiB" in err


@pytest.mark.parametrize("stdin", ["", "\n", b""], ids=["nothing", "empty-line", "bytes"])
def test_export_p12_without_a_password(real: Run, tmp_path: Path, stdin: str | bytes) -> None:
    out = tmp_path / "main.p12"
    err = real.refused(2, "export", "--main", "--with-key", "--format", "p12", "--out",
                       str(out), stdin=stdin)
    assert "PKCS #12 password on stdin" in err
    assert not out.exists()


# --- export --out -------------------------------------------------------------------------


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "out.pem")
    return d / "out.pem"


def _link(d: Path) -> Path:
    (d / "target.pem").write_text("keep me\n")
    (d / "link.pem").symlink_to(d / "target.pem")
    return d / "link.pem"


def _dir_link(d: Path) -> Path:
    (d / "folder").mkdir()
    (d / "folder-link").symlink_to(d / "folder")
    return d / "folder-link"


def _under_a_file(d: Path) -> Path:
    (d / "a-file").write_text("x")
    return d / "a-file" / "main.pem"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d, "is a directory; give a file name"),
        (_dir_link, "is a directory; give a file name"),
        (lambda d: d / "missing" / "main.pem", "the folder"),
        (_under_a_file, "is not a directory"),
        (_fifo, "is not a regular file"),
        (_link, "is a link"),
    ],
    ids=["directory", "link-to-directory", "missing-folder", "folder-is-a-file", "fifo",
         "link"],
)
def test_export_out_that_cannot_be_the_file(real: Run, tmp_path: Path,
                                            make: Callable[[Path], Path], words: str) -> None:
    out = make(tmp_path)
    before = {p.name: (p.is_symlink(), p.stat().st_mode if p.exists() else None)
              for p in tmp_path.iterdir()}
    err = real.refused(2, "export", "--main", "--out", str(out))
    assert words in err
    after = {p.name: (p.is_symlink(), p.stat().st_mode if p.exists() else None)
             for p in tmp_path.iterdir()}
    assert after == before
    if out.name == "link.pem":
        assert (tmp_path / "target.pem").read_text() == "keep me\n"
    # (Not tried on a device such as /dev/null: run as root, a regression would replace it.)


def test_export_write_failure_is_a_clear_error(real: Run, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fsutil, "write_private_file", denied)
    err = real.refused(2, "export", "--main", "--out", str(tmp_path / "main.pem"))
    assert "main.pem cannot be written: permission denied" in err


def test_export_over_an_existing_file_replaces_it_privately(real: Run, tmp_path: Path) -> None:
    out = tmp_path / "main.pem"
    out.write_text("old\n")
    os.chmod(out, 0o644)
    rc, _out, err = real("export", "--main", "--out", str(out))
    assert rc == 0, err
    assert out.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("fmt", "name", "warned"),
    [("der", "main.pem", True), ("pem", "main.der", True), ("pem", "main.crt", False),
     ("der", "main.cer", False)],
)
def test_export_warns_when_the_name_says_another_format(
    real: Run, tmp_path: Path, fmt: str, name: str, warned: bool
) -> None:
    rc, _out, err = real("export", "--main", "--format", fmt, "--out", str(tmp_path / name))
    assert rc == 0, err
    assert ("kscert: warning:" in err) is warned
    data = (tmp_path / name).read_bytes()
    assert data.startswith(b"-----BEGIN") is (fmt == "pem")


def test_export_to_a_name_that_is_not_utf8_with_a_strict_stdout(
    real: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / f"{NOT_UTF8}.pem"
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    rc = cli.main(["--home", str(real.home), "--passphrase-file", str(real.passfile),
                   "export", "--main", "--out", str(out)])
    assert rc == 0
    assert out.is_file()
    stdout.flush()
    assert b"Wrote " in raw.getvalue()


def test_inspect_json_of_a_name_that_is_not_utf8_with_a_strict_stdout(
    real: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    rc = cli.main(["inspect", "--cert", str(tmp_path / f"{NOT_UTF8}.cer"), "--json"])
    assert rc == 2
    stdout.flush()
    data = json.loads(raw.getvalue())
    assert [f["code"] for f in data["findings"]] == ["unreadable"]


# --- groups and device lists --------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "words"),
    [
        ("a\x01b", "The group name holds control characters"),
        ("g" * 300, "is longer than 255 characters"),
        ("a/" * 40, "the group path has 40 levels"),
        ("a/" * 3000, "the group path has 3000 levels"),
    ],
    ids=["control", "long", "deep", "very-deep"],
)
def test_devices_add_refuses_a_group_it_cannot_create(training: Run, group: str,
                                                      words: str) -> None:
    err = training.refused(1, "devices", "add", "new-phone", "--group", group, "--platform",
                           "iOS", "--create-group")
    assert words.lower() in err.lower()


@pytest.mark.parametrize(
    ("group", "words"),
    [
        ("a\x01b", "the group name holds control characters"),
        ("g" * 300, "is longer than 255 characters"),
        ("a/" * 3000, "the group path has 3000 levels"),
    ],
    ids=["control", "long", "very-deep"],
)
def test_device_list_with_a_bad_group_imports_nothing(training: Run, tmp_path: Path,
                                                      group: str, words: str) -> None:
    csv_file = tmp_path / "fleet.csv"
    csv_file.write_text("name,group,platform,last synchronization\n"
                        f"good-1,Field staff,iOS,\nbad-1,{group},Android,\n", encoding="utf-8")
    err = training.refused(1, "devices", "import", str(csv_file))
    assert "line 3: " in err and words in err and "line 2" not in err
    rc, _out, err = training("devices", "import", str(csv_file), "--skip-bad-rows")
    assert rc == 0 and "(skipped)" in err
    assert "\x01" not in err


def test_a_device_list_from_the_year_1_keeps_the_store_readable(training: Run,
                                                                tmp_path: Path) -> None:
    csv_file = tmp_path / "old.csv"
    csv_file.write_text("name,group,platform,last synchronization\n"
                        "ancient,Field staff,iOS,01.01.0001 00:00:00\n", encoding="utf-8")
    assert training("devices", "import", str(csv_file))[0] == 0
    rc, out, err = training("devices", "list", "--json")
    assert rc == 0, err
    [row] = [d for d in json.loads(out)["devices"] if d["name"] == "ancient"]
    assert row["last_sync"] == "0001-01-01T00:00:00Z"
    assert training("reissue", "--after-days", "30", "--yes")[0] == 0
    assert training("simulate", "advance", "--days", "1")[0] == 0


def test_status_at_the_year_1_is_iso_8601(real: Run) -> None:
    rc, out, err = real("status", "--at", "0001-01-01", "--json")
    assert rc == 0, err
    assert json.loads(out)["at"] == "0001-01-01T00:00:00Z"


# --- serve: a port that cannot be opened ------------------------------------------------


def test_serve_on_a_privileged_port_says_why(real: Run,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: object, port: int) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tls.TlsServer, "_listen", denied)
    err = real.refused(1, "serve", "--server-port", "443")
    assert "Cannot listen on 127.0.0.1:443" in err
    assert "ports below 1024 need administrator rights" in err


# --- the parsers underneath ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ],
)
def test_iso_has_four_digit_years_and_reads_back(value: datetime, text: str) -> None:
    assert iso(value) == text
    assert parse_instant(text) == value.replace(microsecond=0)


@pytest.mark.parametrize("text", ["", "  ", "0001-01-01T00:00:00+14:00",
                                  "9999-12-31T23:59:59-00:01", "2026-13-01"])
def test_parse_instant_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_instant(text)


@pytest.mark.parametrize(
    ("host", "bad"),
    [("localhost", False), ("gw_dmz.example", False), ("example.com.", False),
     ("127.0.0.1", False), ("::1", False), ("münchen.example", False),
     ("a..b", True), (".", True), ("a" * 64, True), ("256.1.1.1", True), ("a b", True),
     ("a\x00b", True)],
)
def test_host_problem(host: str, bad: bool) -> None:
    assert (tls.host_problem(host) is not None) is bad


@pytest.mark.parametrize("host", ["a..b", "a" * 64 + ".example"])
def test_probe_of_a_host_the_resolver_cannot_encode_reports_it(host: str) -> None:
    result = tls.probe(host, 443, timeout=1)
    assert result.error == f"cannot resolve {host}: it is not a valid host name"
