"""Secrets audit (issue 7, DESIGN §10): no password or private key ever lands anywhere.

Every command that handles a secret runs with known passwords and keys: the CLI in
children with HOME/XDG_* in a temporary folder (reissue, import of a PKCS #12 and of
a key + certificate with an encrypted key, refused imports with a wrong password,
inspect with a password, export with the key as modern and legacy PKCS #12, status),
and the GUI flows that take passwords (Certificate window with a PKCS #12 password and
with a key password, the export window, the store passphrase prompt). Then the store
folder, every file under the temporary HOME (logs, QSettings, caches), the GUI log file,
the audit rows and the captured stdout/stderr are searched for each password and each
private key in PEM, DER, base64 and hex form (``hardkit.secret_forms_*``): no hit.

Keyring failures (no backend, a locked collection of a real gnome-keyring, a dismissed
prompt) each give a clear message, exit 1 without a traceback, and leave the store as
it was.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from hardkit import (
    ROOT,
    STORE_PASSPHRASE,
    assert_clean_failure,
    build_real_store,
    file_digests,
    files_under,
    find_secrets,
    isolated_env,
    key_pem,
    make_identity,
    pkcs12_bytes,
    run_cli,
    secret_forms_of_key,
    secret_forms_of_password,
    write_passphrase_file,
)
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from kscert_gui import app as app_module
from kscert_gui.model import crypto
from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services.secrets import KeyringSecretStore, MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import Store
from kscert_gui.services.views import ReissueRequest

sys.path.insert(0, str(ROOT / "tests" / "ui"))
uikit = importlib.import_module("uikit")

P12_PASSWORD = "Audit p12 pw 4K9 spaces "
KEY_PASSWORD = "Audit key pw Zq71"
WRONG_PASSWORD = "Audit wrong guess 55x"
EXPORT_PASSWORD = "Audit export modern 8Hc"
LEGACY_PASSWORD = "Audit export legacy 3Tt"
GUI_P12_PASSWORD = "Audit GUI p12 pw 6Vb"
GUI_KEY_PASSWORD = "Audit GUI key pw 2Nm"
GUI_EXPORT_PASSWORD = "Audit GUI export pw 9Lp"
GUI_PASSPHRASE = "Audit typed store passphrase 1Qw"


def store_keys(home: Path, passphrase: bytes) -> list[Any]:
    """Every private key the store holds, decrypted (the needles for the scan)."""
    with Store.open(home, writable=False) as store:
        return [crypto.decrypt_private_key(r.key_enc, passphrase)
                for r in store.list_certificates()]


def audit_text(home: Path) -> bytes:
    with Store.open(home, writable=False) as store:
        return "\n".join(f"{e.action} {json.dumps(dict(e.detail))}"
                         for e in store.audit_entries()).encode()


def scan(places: dict[str, bytes], needles: dict[str, bytes]) -> list[str]:
    return [f"{needle} in {place}" for place, data in places.items()
            for needle in find_secrets(data, needles)]


# --- the CLI ------------------------------------------------------------------------------------


def test_cli_commands_leak_no_secret(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    home = tmp_path / "store"
    inputs, exports = tmp_path / "inputs", tmp_path / "exports"
    inputs.mkdir()
    exports.mkdir()
    passfile = write_passphrase_file(tmp_path / "passphrase")
    p12_ident = make_identity("audit-p12.example")
    x509_ident = make_identity("audit-x509.example")
    (inputs / "server.p12").write_bytes(pkcs12_bytes(p12_ident, P12_PASSWORD.encode()))
    (inputs / "server.key").write_bytes(key_pem(x509_ident.key, KEY_PASSWORD.encode()))
    (inputs / "server.cer").write_bytes(
        x509_ident.cert.public_bytes(serialization.Encoding.DER))
    base = ["--home", str(home), "--passphrase-file", str(passfile)]
    p12 = ["--pkcs12", str(inputs / "server.p12")]
    pair = ["--key", str(inputs / "server.key"), "--cert", str(inputs / "server.cer")]
    commands: list[tuple[list[str], str | None, int]] = [
        (["reissue", "--address", "mdm.audit.example", "--immediately", "--yes"], None, 0),
        (["reissue", "--after-days", "30", "--yes"], None, 0),
        (["inspect", *p12, "--password-stdin", "--json"], P12_PASSWORD, 0),
        (["inspect", *pair, "--password-stdin"], KEY_PASSWORD, 0),
        (["inspect", *p12, "--password-stdin"], WRONG_PASSWORD, 1),
        (["import", *p12, "--password-stdin", "--after-days", "40", "--yes"], WRONG_PASSWORD, 1),
        (["import", *pair, "--password-stdin", "--immediately", "--yes"], WRONG_PASSWORD, 1),
        (["import", *p12, "--password-stdin", "--after-days", "40", "--yes"], P12_PASSWORD, 0),
        (["import", *pair, "--password-stdin", "--immediately", "--yes", "--json"],
         KEY_PASSWORD, 0),
        (["export", "--main", "--with-key", "--format", "p12", "--out",
          str(exports / "modern.p12")], EXPORT_PASSWORD, 0),
        (["export", "--main", "--with-key", "--format", "p12", "--legacy", "--out",
          str(exports / "legacy.p12")], LEGACY_PASSWORD, 0),
        (["status"], None, 0),
        (["status", "--json"], None, 0),
    ]
    places: dict[str, bytes] = {}
    for n, (args, stdin, code) in enumerate(commands):
        proc = run_cli([*base, *args], env, stdin=None if stdin is None else stdin + "\n")
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        places[f"stdout of {args[0]} #{n}"] = proc.stdout.encode()
        places[f"stderr of {args[0]} #{n}"] = proc.stderr.encode()
    # The secrets were really used: the exports open with their passwords, with the key.
    for name, password in (("modern.p12", EXPORT_PASSWORD), ("legacy.p12", LEGACY_PASSWORD)):
        loaded = pkcs12.load_pkcs12((exports / name).read_bytes(), password.encode())
        assert loaded.key is not None
    passphrase = STORE_PASSPHRASE.encode()
    keys = [*store_keys(home, passphrase), p12_ident.key, x509_ident.key]
    assert len(keys) == 6  # two issued, two imported, and the imported files' keys again
    needles: dict[str, bytes] = {}
    for i, key in enumerate(keys):
        needles.update({f"key{i}-{k}": v for k, v in secret_forms_of_key(key).items()})
    for name, password in (("p12", P12_PASSWORD), ("key", KEY_PASSWORD),
                           ("wrong", WRONG_PASSWORD), ("export", EXPORT_PASSWORD),
                           ("legacy", LEGACY_PASSWORD), ("store", STORE_PASSPHRASE)):
        needles.update(secret_forms_of_password(name, password.encode()))
    for path in files_under(home):
        places[str(path)] = path.read_bytes()
    for path in files_under(tmp_path / "userhome"):
        places[str(path)] = path.read_bytes()
    places["audit log"] = audit_text(home)
    assert any("store.sqlite3" in p for p in places)
    assert scan(places, needles) == []
    # The needles do find what they look for (the scan is not blind).
    assert find_secrets(key_pem(p12_ident.key, None), needles)
    assert find_secrets(P12_PASSWORD.encode("utf-16-le"), needles)


# --- the GUI ------------------------------------------------------------------------------------


@pytest.fixture
def gui_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """HOME/XDG_* and QSettings in ``tmp_path``; the GUI's log handler on a file there."""
    env = isolated_env(tmp_path)
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(key, env[key])
    uikit.isolate_settings(tmp_path / "userhome")
    log_file = app_module.setup_logging(app_module.log_path())
    assert str(log_file).startswith(str(tmp_path))
    root = logging.getLogger()
    added = [h for h in root.handlers if isinstance(h, logging.FileHandler)
             and h.baseFilename == str(log_file)]
    try:
        yield log_file
    finally:
        for handler in added:
            root.removeHandler(handler)
            handler.close()


class Confirm:
    def __call__(self, *args: Any, **kwargs: Any) -> bool:
        return True


def test_gui_flows_leak_no_secret(
    qtbot: QtBot, tmp_path: Path, gui_files: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from kscert_gui.ui import messages, passphrase
    from kscert_gui.ui.dialogs.export import ExportDialog
    from kscert_gui.ui.dialogs.other_certificate import (
        PKCS12_LABEL,
        X509_LABEL,
        OtherCertificateDialog,
    )
    from kscert_gui.ui.dialogs.viewer import CertificateViewer, read_viewer_data
    from kscert_gui.ui.main_window import MainWindow

    monkeypatch.setattr(messages, "confirm", Confirm())
    infos: list[str] = []
    monkeypatch.setattr(messages, "show_info", lambda _p, _t, text: infos.append(text))
    env = uikit.make_env(tmp_path, main_age_days=350, mobile_devices=3)
    p12_made = uikit.make_certificate("gui-p12.audit.example")
    x509_made = uikit.make_certificate("gui-x509.audit.example")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    p12_file = uikit.write_pkcs12(inputs / "gui.p12", p12_made, GUI_P12_PASSWORD.encode())
    key_file, cert_file = uikit.write_key_and_cert(inputs, x509_made, GUI_KEY_PASSWORD.encode())

    window = uikit.open_window(qtbot, env)
    _props, page = uikit.open_certificates(qtbot, window)

    def run_dialog(kind: str, password: str, term: int | None, expect_ok: bool) -> None:
        def fill(dialog: OtherCertificateDialog) -> None:
            label = PKCS12_LABEL if kind == "pkcs12" else X509_LABEL
            dialog.cert_type.setCurrentIndex(dialog.cert_type.findText(label))
            if kind == "pkcs12":
                dialog.p12_file.set_path(p12_file)
                dialog.p12_password.setText(password)
            else:
                dialog.key_file.set_path(key_file)
                dialog.key_password.setText(password)
                dialog.cert_file.set_path(cert_file)
            dialog.term.set_term(term)
            qtbot.waitUntil(dialog.is_idle, timeout=60_000)
            assert dialog.ok_button.isEnabled() == expect_ok, dialog.findings.codes()
            if expect_ok:
                uikit.click(dialog.ok_button)
            else:
                assert "wrong-password" in dialog.findings.codes()
                dialog.reject()

        page.radio_other.setChecked(True)
        driver = uikit.ModalDriver(OtherCertificateDialog, fill)
        uikit.click(page.browse_button)
        driver.check()
        uikit.wait_idle(qtbot)

    run_dialog("pkcs12", WRONG_PASSWORD, 45, expect_ok=False)
    run_dialog("pkcs12", GUI_P12_PASSWORD, 45, expect_ok=True)
    run_dialog("x509", WRONG_PASSWORD, None, expect_ok=False)
    run_dialog("x509", GUI_KEY_PASSWORD, None, expect_ok=True)
    st = window.console.server.status()
    assert st.main is not None and st.main.info.sha256 == x509_made.sha256

    # The export window, then the viewer writes the PKCS #12 with the typed password.
    export_path = tmp_path / "exports" / "gui.p12"
    export_path.parent.mkdir()
    dialog = ExportDialog(None, key_available=True, default_name="mobile")
    qtbot.addWidget(dialog)
    dialog.p12.setChecked(True)
    dialog.encryption.setCurrentIndex(1)  # legacy 3DES
    dialog.password.setText(GUI_EXPORT_PASSWORD)
    dialog.password_again.setText(GUI_EXPORT_PASSWORD)
    dialog.file.set_path(export_path)
    assert dialog.ok_button.isEnabled()
    dialog.accept()
    request = dialog.result_value()
    assert request is not None and request.legacy
    viewer = CertificateViewer(window.console, read_viewer_data(window.console.server, "main"))
    qtbot.addWidget(viewer)
    viewer.start_export(request)
    uikit.wait_idle(qtbot)
    loaded = pkcs12.load_pkcs12(export_path.read_bytes(), GUI_EXPORT_PASSWORD.encode())
    assert loaded.key is not None and infos

    # The store passphrase typed at the prompt when the keyring is unusable.
    store_id = window.console.server.store.store_id
    window.close()
    uikit.wait_idle(qtbot)
    window.console.close()
    memory = env.secrets
    old = memory.get_passphrase(store_id)
    assert old is not None
    typed_home = tmp_path / "typed"
    typed_secrets = MemorySecretStore()
    with AdministrationServer.open(typed_home, typed_secrets, clock=env.clock) as server:
        typed_secrets.set_passphrase(server.store.store_id, GUI_PASSPHRASE.encode())
        server.reissue(ReissueRequest("typed.audit.example", None), confirmed=True)
    fail_backend = importlib.import_module("keyring.backends.fail")
    asked: list[str] = []

    def ask(_parent: object, reason: str) -> bytes:
        asked.append(reason)
        return GUI_PASSPHRASE.encode()

    monkeypatch.setattr(passphrase, "ask_passphrase", ask)
    window2 = app_module.build_main_window(
        typed_home, secrets=KeyringSecretStore(backend=fail_backend.Keyring()), clock=env.clock)
    assert isinstance(window2, MainWindow)
    qtbot.addWidget(window2)
    _props2, page2 = uikit.open_certificates(qtbot, window2)

    def reissue(dialog: Any) -> None:
        dialog.use_old.setChecked(True)
        dialog.term.after_days.setChecked(True)
        dialog.term.days.setValue(30)
        uikit.click(dialog.ok_button)

    from kscert_gui.ui.dialogs.reissue import ReissueDialog

    page2.radio_issued.setChecked(True)
    driver = uikit.ModalDriver(ReissueDialog, reissue)
    uikit.click(page2.reissue_button)
    driver.check()
    uikit.wait_idle(qtbot)
    assert asked and "keyring" in asked[0].lower()
    assert window2.console.server.status().reserve is not None
    window2.close()
    uikit.wait_idle(qtbot)
    window2.console.close()

    # --- the scan
    out, err = capfd.readouterr()
    places: dict[str, bytes] = {"stdout": out.encode(), "stderr": err.encode()}
    for folder in (env.home, typed_home, tmp_path / "userhome"):
        for path in files_under(folder):
            places[str(path)] = path.read_bytes()
    assert gui_files.exists() and str(gui_files) in places
    QSettings().sync()
    settings_files = [p for p in places if "qsettings" in p or ".config" in p]
    places["audit log"] = audit_text(env.home) + audit_text(typed_home)
    keys = [p12_made.key, x509_made.key, *store_keys(typed_home, GUI_PASSPHRASE.encode()),
            *store_keys(env.home, old)]
    needles: dict[str, bytes] = {}
    for i, key in enumerate(keys):
        needles.update({f"key{i}-{k}": v for k, v in secret_forms_of_key(key).items()})
    for name, password in (("p12", GUI_P12_PASSWORD), ("key", GUI_KEY_PASSWORD),
                           ("wrong", WRONG_PASSWORD), ("export", GUI_EXPORT_PASSWORD),
                           ("typed", GUI_PASSPHRASE)):
        needles.update(secret_forms_of_password(name, password.encode()))
    needles.update(secret_forms_of_password("store", old))
    assert scan(places, needles) == [], settings_files


# --- keyring failures ---------------------------------------------------------------------------


def _keyring_store(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A store made with a passphrase file, and an environment without one."""
    passfile = write_passphrase_file(tmp_path / "passphrase")
    home = tmp_path / "store"
    build_real_store(home, passfile)
    return home, isolated_env(tmp_path), file_digests(home)


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        ("keyring.backends.fail.Keyring", "No OS keyring is available"),
        ("dismissing_keyring.Keyring", "dismissed"),
    ],
    ids=["no-backend", "prompt-dismissed"],
)
def test_keyring_failure_is_a_clear_refusal(tmp_path: Path, backend: str, words: str) -> None:
    home, env, before = _keyring_store(tmp_path)
    env["PYTHON_KEYRING_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # Every command that needs the store passphrase (cancelling a reserve does not).
    for args in (["reissue", "--after-days", "30", "--yes"],
                 ["reissue", "--immediately", "--yes"],
                 ["export", "--main", "--with-key", "--format", "p12", "--out",
                  str(tmp_path / "out.p12")]):
        proc = run_cli(["--home", str(home), *args], env, stdin="export pw\n")
        assert_clean_failure(proc)
        assert words in proc.stderr, proc.stderr
        assert "keyring" in proc.stderr.lower()
        assert file_digests(home) == before, args
    assert not (tmp_path / "out.p12").exists()
    # Reading needs no secret: status still answers.
    proc = run_cli(["--home", str(home), "status", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["reserve"] is not None
    assert file_digests(home) == before


@pytest.mark.integration
def test_locked_keyring_collection_is_a_clear_refusal(
    tmp_path: Path, secret_service: dict[str, str]
) -> None:
    """A real gnome-keyring: the store's passphrase is in it, then the collection is
    locked; the CLI in a child says so and changes nothing."""
    secretstorage = importlib.import_module("secretstorage")
    home = tmp_path / "store"
    with AdministrationServer.open(home, KeyringSecretStore()) as server:
        server.reissue(ReissueRequest("locked.audit.example", None), confirmed=True)
        store_id = server.store.store_id
    assert KeyringSecretStore().get_passphrase(store_id) is not None
    before = file_digests(home)
    conn = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(conn)
        collection.lock()
        assert collection.is_locked()
    finally:
        conn.close()
    env = isolated_env(tmp_path)
    env.update(secret_service)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    proc = run_cli(["--home", str(home), "reissue", "--after-days", "30", "--yes"], env,
                   timeout=120)
    assert_clean_failure(proc)
    assert "keyring" in proc.stderr.lower()
    assert "locked" in proc.stderr or "dismissed" in proc.stderr, proc.stderr
    assert file_digests(home) == before
    # In this process too: a typed error, never the keyring's own exception.
    with pytest.raises(SecretStoreError, match=r"locked|dismissed"):
        KeyringSecretStore().get_passphrase(store_id)
