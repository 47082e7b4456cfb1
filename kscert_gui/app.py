"""Composition root of the GUI: picks the secret store, opens the store, shows the windows.

``python -m kscert_gui [--home DIR | --demo] [--quit-after-show] [--screenshot FILE]``

Start-up time is measured (bench/startup.py), which shapes this module:

- importing it is cheap: :func:`main` imports the console's modules, the service layer
  (sqlite3, cryptography) before PySide6, whose import hook reads the source of every
  module imported after it (about 15 ms for the ~150 modules of the service layer);
- the cyclic garbage collector is paused while the console starts (it would run ~70
  times over a heap that only grows) and the start-up heap is then frozen
  (:func:`settle_heap`), so that no later collection, nor the exit, scans it again.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kscert_gui.model.clock import Clock, system_clock
from kscert_gui.model.errors import KscertError, StoreLockedError, StoreNotWritableError
from kscert_gui.services import secrets as secret_stores
from kscert_gui.services.secrets import SecretStore

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QMainWindow, QProgressDialog

    from kscert_gui.ui.console import Console
    from kscert_gui.ui.main_window import MainWindow
    from kscert_gui.ui.paintwatch import PaintWatch

log = logging.getLogger("kscert_gui.app")

EXIT_OK = 0
EXIT_ERROR = 1
#: --quit-after-show gives up if the windows are not painted within this time.
PAINT_TIMEOUT_MS = 60_000


# --- choices --------------------------------------------------------------------------------


def default_home() -> Path:
    from kscert_gui.cli import default_home as cli_default_home

    return cli_default_home()


def demo_home() -> Path:
    """The demo ("Training") store lives in the user data directory's ``demo`` folder."""
    from platformdirs import user_data_path

    return user_data_path("kscert_gui", appauthor=False) / "demo"


def choose_secrets() -> SecretStore:
    """KSCERT_PASSPHRASE_FILE if set, else the OS keyring (opened lazily, off the GUI thread).

    A keyring that turns out to be unusable makes the GUI ask for the store passphrase
    (kept in memory only): see :mod:`kscert_gui.ui.passphrase`.
    """
    path = os.environ.get("KSCERT_PASSPHRASE_FILE")
    if path:
        return secret_stores.PassphraseFileSecretStore(Path(path))
    return secret_stores.LazyKeyringSecretStore()


def store_exists(home: Path) -> bool:
    """Whether ``home`` already holds a store database (a first start has none)."""
    from kscert_gui.services.store import DB_NAME

    return (home / DB_NAME).is_file()


def memory_secrets_for(home: Path, value: bytes) -> SecretStore:
    """A MemorySecretStore holding the typed store passphrase (never written to disk)."""
    from kscert_gui.services.server import AdministrationServer

    memory = secret_stores.MemorySecretStore()
    with AdministrationServer.open(home, memory) as server:  # creates the empty store
        memory.set_passphrase(server.store.store_id, value)
    return memory


def open_console(home: Path, secrets: SecretStore, clock: Clock) -> Console:
    """Open the store for changes; read-only if another process holds it or this user
    may not change it."""
    from kscert_gui.services.server import AdministrationServer
    from kscert_gui.ui.console import Console

    try:
        server = AdministrationServer.open(home, secrets, writable=True, clock=clock)
    except (StoreLockedError, StoreNotWritableError) as err:
        server = AdministrationServer.open(home, secrets, writable=False, clock=clock)
        return Console(server, read_only_reason=str(err))
    return Console(server)


def build_main_window(
    home: Path,
    *,
    secrets: SecretStore | None = None,
    clock: Clock | None = None,
) -> QMainWindow:
    """The main window on the store in ``home``, not shown (a QApplication must exist).

    It returns once the first snapshot, read in a worker, is shown in it, so that what
    it shows can be looked at straight away.
    """
    from kscert_gui.ui.main_window import MainWindow

    console = open_console(home, secrets or choose_secrets(), clock or system_clock)
    window = MainWindow(console)
    window.status_feed.wait_for_first()
    return window


def import_console_modules() -> None:
    """Import what the console needs to start, the service layer before PySide6.

    PySide6's import hook (its ``__feature__`` switch) reads the source of every module
    imported after PySide6 itself; the ~150 modules below the facade do not need that.
    """
    for name in ("kscert_gui.services.server", "kscert_gui.ui.main_window"):
        importlib.import_module(name)


def settle_heap() -> None:
    """End the start-up pause of the cyclic collector (idempotent).

    The objects made so far (modules, classes, the windows) live as long as the
    process, so they move to the collector's permanent generation: later collections,
    and the interpreter's exit, no longer scan them (gc.freeze).
    """
    if not gc.isenabled():
        gc.freeze()
        from kscert_gui.ui import tasks

        # Once workers run, the GUI thread collects on a timer instead (ui/tasks.py).
        if not tasks.collects_on_gui_thread():
            gc.enable()


# --- logging and uncaught exceptions --------------------------------------------------------


def log_path() -> Path:
    from platformdirs import user_log_path

    return user_log_path("kscert_gui", appauthor=False) / "kscert-gui.log"


def setup_logging(path: Path | None = None) -> Path:
    """Log to a file readable by the owner only (no password ever reaches a log)."""
    target = path or log_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return target


class ExceptHook:
    """Route uncaught exceptions to the log and a message box: never a bare traceback."""

    def __init__(self) -> None:
        self._showing = False
        self.previous = sys.excepthook

    def __call__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self.previous(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        from PySide6.QtWidgets import QApplication

        from kscert_gui.ui import messages

        if self._showing or QApplication.instance() is None:
            return
        self._showing = True
        try:
            messages.show_error(QApplication.activeWindow(), exc)
        finally:
            self._showing = False

    def install(self) -> None:
        sys.excepthook = self

    def uninstall(self) -> None:
        sys.excepthook = self.previous


# --- start-up -------------------------------------------------------------------------------


class Launcher:
    """Creates the demo store when needed (off the GUI thread), then shows the windows."""

    def __init__(
        self, app: QApplication, home: Path, secrets: SecretStore, args: argparse.Namespace
    ) -> None:
        self.app = app
        self.home = home
        self.secrets = secrets
        self.args = args
        self.window: MainWindow | None = None
        self._progress: QProgressDialog | None = None
        self._watch: PaintWatch | None = None
        self.exit_code = EXIT_OK

    def start(self) -> None:
        if store_exists(self.home):
            self._show()
            return
        self._create_demo()

    def _create_demo(self) -> None:
        from PySide6.QtWidgets import QProgressDialog

        from kscert_gui.services import demo
        from kscert_gui.ui import tasks

        settle_heap()  # the windows come later; creating the demo store makes garbage
        self._progress = QProgressDialog("Creating the training store…", "", 0, 0)
        self._progress.setCancelButton(None)
        self._progress.setWindowTitle("Administration Server")
        self._progress.setMinimumDuration(300)
        home, secrets = self.home, self.secrets
        tasks.run_in_background(
            self._progress,
            lambda: demo.create_demo_store(home, secrets, system_clock),
            lambda _none: self._demo_done(),
            self._demo_failed,
        )

    def _demo_done(self) -> None:
        if self._progress is not None:
            self._progress.close()
        self._show()

    @property
    def interactive(self) -> bool:
        """--quit-after-show and --screenshot never wait for a person (benchmarks, CI)."""
        return not (self.args.quit_after_show or self.args.screenshot)

    def _fail(self, err: BaseException) -> None:
        from kscert_gui.ui import messages

        if self.interactive:
            messages.show_error(None, err)
        else:
            text = err.message if isinstance(err, KscertError) else type(err).__name__
            log.error("start-up failed: %s", text)
            print(f"kscert-gui: error: {text}", file=sys.stderr)
        self.exit_code = EXIT_ERROR
        self.app.exit(EXIT_ERROR)

    def _demo_failed(self, err: BaseException) -> None:
        from kscert_gui.ui import passphrase
        from kscert_gui.ui.console import Console

        if self.interactive and isinstance(err, KscertError) and Console.wants_passphrase(err):
            value = passphrase.ask_passphrase(None, str(err))
            if value is not None:
                self.secrets = memory_secrets_for(self.home, value)
                self._create_demo()
                return
        if self._progress is not None:
            self._progress.close()
        self._fail(err)

    def _show(self) -> None:
        try:
            self._open_windows()
        finally:
            settle_heap()  # start-up is over, whatever happened

    def _open_windows(self) -> None:
        from PySide6.QtCore import QTimer

        from kscert_gui.ui.main_window import MainWindow
        from kscert_gui.ui.paintwatch import PaintWatch

        try:
            console = open_console(self.home, self.secrets, system_clock)
        except KscertError as err:
            self._fail(err)
            return
        self.window = MainWindow(console)
        self.window.show()
        if not (self.args.quit_after_show or self.args.screenshot):
            return
        window = self.window
        properties = window.open_properties()
        QTimer.singleShot(PAINT_TIMEOUT_MS, self._timed_out)
        feed = window.status_feed

        def watch(*_: object) -> None:
            # Painted with the first snapshot in them, not with "Loading…".
            if self._watch is None:
                self._watch = PaintWatch([window, properties], self._painted)
                window.update()
                properties.update()

        if feed.has_reading:
            watch()
        else:
            feed.sig_status.connect(watch)

    def _painted(self) -> None:
        assert self.window is not None
        if self.args.screenshot:
            properties = self.window.properties_window
            assert properties is not None
            if not properties.grab().save(str(self.args.screenshot), "PNG"):
                log.error("could not save the screenshot to %s", self.args.screenshot)
                self.exit_code = EXIT_ERROR
        self.window.close()
        self.app.exit(self.exit_code)

    def _timed_out(self) -> None:
        log.error("the windows were not painted within %d ms", PAINT_TIMEOUT_MS)
        self.exit_code = EXIT_ERROR
        self.app.exit(EXIT_ERROR)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kscert-gui",
        description="Console for the mobile Administration Server certificate.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--home", type=Path, help="the store directory (default: $KSCERT_HOME, "
                       "else the user data directory)")
    where.add_argument("--demo", action="store_true",
                       help="open (or create) the training store in the user data directory")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="open the main window and Properties → Certificates, exit once "
                        "both are painted (start-up benchmarks)")
    parser.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    gc.disable()  # until settle_heap(), once the windows are up
    try:
        return _run(args)
    finally:
        settle_heap()


def _run(args: argparse.Namespace) -> int:
    import_console_modules()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kscert_gui.ui import resources, tasks
    from kscert_gui.ui.main_window import APPLICATION, ORGANIZATION

    try:
        setup_logging()
    except OSError as err:  # a read-only home must not stop the console
        print(f"kscert-gui: logging disabled: {err}", file=sys.stderr)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        # argv[0] is the window manager's instance name (WM_CLASS): "kscert-gui", not
        # "__main__.py" when started with python -m.
        app = QApplication(["kscert-gui"])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    # No application display name: Qt would append it to every window title, and the
    # titles already name their window once ("Properties: Administration Server Training").
    app.setDesktopFileName("kscert-gui")
    app.setWindowIcon(resources.icon("kscert-gui"))
    hook = ExceptHook()
    hook.install()
    try:
        home = demo_home() if args.demo else (args.home or default_home())
        launcher = Launcher(app, home, choose_secrets(), args)
        QTimer.singleShot(0, launcher.start)
        code = app.exec()
        tasks.wait_for_all()
        if launcher.window is not None and launcher.window.isVisible():
            launcher.window.close()
        return code or launcher.exit_code
    finally:
        hook.uninstall()
