"""The composition root: start-up options, first start on the demo store, crash handling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from kscert_gui import app
from kscert_gui.ui import messages

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def _env(tmp_path: Path) -> dict[str, str]:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("app test passphrase\n")
    passphrase.chmod(0o600)
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        KSCERT_PASSPHRASE_FILE=str(passphrase),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    env.pop("KSCERT_HOME", None)
    return env


def test_quit_after_show_creates_demo_store_then_reopens_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _env(tmp_path)
    for _ in range(2):  # first start creates the demo store, the second just opens it
        proc = subprocess.run(
            [sys.executable, "-m", "kscert_gui", "--home", str(home), "--quit-after-show"],
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
    from kscert_gui.services.secrets import PassphraseFileSecretStore
    from kscert_gui.services.server import AdministrationServer

    secrets = PassphraseFileSecretStore(Path(env["KSCERT_PASSPHRASE_FILE"]))
    with AdministrationServer.open(home, secrets, writable=False) as server:
        st = server.status()
        assert st.name == "Training" and st.training
        assert st.main is not None
    log = tmp_path / "state" / "kscert_gui" / "log" / "kscert-gui.log"
    if log.exists():
        assert (log.stat().st_mode & 0o777) == 0o600
        assert "app test passphrase" not in log.read_text()


def test_screenshot_option(tmp_path: Path, qapp: QApplication) -> None:
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui", "--home", str(tmp_path / "home"),
         "--screenshot", str(shot)],
        env=_env(tmp_path), capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    image = QImage(str(shot))
    assert not image.isNull() and image.width() > 400


def test_importing_the_composition_root_is_cheap() -> None:
    """main() imports the service layer before PySide6 (see the kscert_gui.app docstring)."""
    code = (
        "import sys, kscert_gui.app\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('PySide6', 'cryptography', 'keyring', 'filelock'))\n"
        "sys.exit(', '.join(heavy) if heavy else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_console_opens_and_paints_without_importing_cryptography(tmp_path: Path) -> None:
    """The main window and Properties → Certificates of a store with a main certificate
    are shown from the stored display records (services/base.row_info): cryptography
    (~50 ms of the start, bench/startup.py) is imported only to issue, read or export."""
    home = tmp_path / "home"
    env = _env(tmp_path)
    code = (
        "import atexit, runpy, sys\n"
        "def report():\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'cryptography')\n"
        "    print('CRYPTOGRAPHY=' + ','.join(loaded[:3]))\n"
        "atexit.register(report)\n"
        f"sys.argv = ['kscert-gui', '--home', {str(home)!r}, '--quit-after-show']\n"
        "runpy.run_module('kscert_gui', run_name='__main__')\n"
    )
    outputs = []
    for _ in range(2):  # the first start creates the demo store (and so issues a key)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs.append(proc.stdout)
    assert "CRYPTOGRAPHY=cryptography" in outputs[0]  # a check that can fail
    assert "CRYPTOGRAPHY=\n" in outputs[1], outputs[1]


def test_parse_args() -> None:
    args = app.parse_args(["--home", "/x", "--quit-after-show"])
    assert args.home == Path("/x") and args.quit_after_show and not args.demo
    assert app.parse_args(["--demo"]).demo
    with pytest.raises(SystemExit):
        app.parse_args(["--home", "/x", "--demo"])


def test_excepthook_shows_error_and_logs(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shown: list[BaseException] = []
    monkeypatch.setattr(messages, "show_error",
                        lambda parent, err: shown.append(err))
    hook = app.ExceptHook()
    try:
        raise RuntimeError("internal")
    except RuntimeError as err:
        hook(RuntimeError, err, err.__traceback__)
    assert [str(e) for e in shown] == ["internal"]
    assert "uncaught exception" in caplog.text


def test_choose_secrets_prefers_passphrase_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kscert_gui.services import secrets


    path = tmp_path / "pp"
    path.write_text("x\n")
    monkeypatch.setenv("KSCERT_PASSPHRASE_FILE", str(path))
    assert isinstance(app.choose_secrets(), secrets.PassphraseFileSecretStore)
    monkeypatch.delenv("KSCERT_PASSPHRASE_FILE")
    assert isinstance(app.choose_secrets(), secrets.LazyKeyringSecretStore)


def test_store_exists(tmp_path: Path) -> None:
    assert not app.store_exists(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    assert not app.store_exists(tmp_path / "empty")


def test_build_main_window_does_not_show(qapp: QApplication, tmp_path: Path) -> None:
    from uikit import AT, isolate_settings

    from kscert_gui.model.clock import FixedClock
    from kscert_gui.services.secrets import MemorySecretStore

    isolate_settings(tmp_path)
    window = app.build_main_window(tmp_path / "store", secrets=MemorySecretStore(),
                                   clock=FixedClock(AT))
    try:
        assert isinstance(window, QWidget) and not window.isVisible()
    finally:
        window.close()
        window.deleteLater()
