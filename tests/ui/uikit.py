"""Helpers for the GUI tests: stores at pinned instants, files built at run time, modal driving.

Each test builds its own store under ``tmp_path`` with a MemorySecretStore and a
FixedClock; the windows are built with :func:`kscert_gui.app.build_main_window`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from certkit import compliant_certificate
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from kscert_gui.app import build_main_window
from kscert_gui.model.clock import FixedClock, iso
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer, ReissueRequest
from kscert_gui.ui import status_feed, tasks
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.properties.certificates import CertificatesPage
from kscert_gui.ui.properties.window import PropertiesWindow

AT = datetime(2026, 3, 2, 9, 30, 0, tzinfo=UTC)
ADDRESS = "mdm.example.com"
W = TypeVar("W", bound=QWidget)


@dataclass
class Env:
    home: Path
    secrets: MemorySecretStore
    clock: FixedClock
    tmp: Path

    def server(self) -> AdministrationServer:
        """A second handle for assertions (open it only after the window is closed)."""
        return AdministrationServer.open(self.home, self.secrets, clock=self.clock)


def isolate_settings(tmp: Path) -> Path:
    """Point QSettings at ``tmp`` so tests never touch the real user's configuration."""
    folder = tmp / "qsettings"
    folder.mkdir(exist_ok=True)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    return folder


def make_env(
    tmp_path: Path,
    *,
    main: bool = True,
    main_age_days: float = 0,
    mobile_devices: int = 0,
    sync_hours: float | None = None,
) -> Env:
    """A store whose main certificate was issued ``main_age_days`` before the pinned now."""
    secrets = MemorySecretStore()
    clock = FixedClock(AT - timedelta(days=main_age_days))
    home = tmp_path / "store"
    with AdministrationServer.open(home, secrets, clock=clock) as server:
        if main:
            server.reissue(ReissueRequest(ADDRESS, None), confirmed=True)
        if mobile_devices:
            add_mobile_devices(server, mobile_devices, sync_hours=sync_hours, at=AT)
    clock.at = AT
    return Env(home, secrets, clock, tmp_path)


def add_mobile_devices(
    server: AdministrationServer,
    count: int,
    *,
    sync_hours: float | None,
    at: datetime,
    group: str = "Phones",
) -> None:
    """Insert a group under "Managed devices" and ``count`` phones that synchronized at ``at``.

    The facade has no device methods yet (the devices issue adds them), so this goes
    through one store transaction, as the demo store does.
    """
    with server.store.transaction() as conn:
        root = conn.execute(
            "SELECT id FROM groups WHERE parent_id IS NULL AND name = 'Managed devices'"
        ).fetchone()
        if root is None:
            root_id = conn.execute(
                "INSERT INTO groups(name, parent_id, sync_hours) VALUES ('Managed devices', "
                "NULL, NULL)"
            ).lastrowid
        else:
            root_id = root[0]
        gid = conn.execute(
            "INSERT INTO groups(name, parent_id, sync_hours) VALUES (?, ?, ?)",
            (group, root_id, sync_hours),
        ).lastrowid
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, ?, ?)",
            [
                (f"phone-{i:04d}", gid, "iOS" if i % 3 else "Android",
                 iso(at - timedelta(hours=1)))
                for i in range(count)
            ],
        )


def open_window(qtbot: QtBot, env: Env) -> MainWindow:
    isolate_settings(env.tmp)
    window = build_main_window(env.home, secrets=env.secrets, clock=env.clock)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    assert window.status_feed.has_reading  # build_main_window waits for the first snapshot
    return window


def refreshed(qtbot: QtBot, window: MainWindow, timeout: int = 120_000) -> None:
    """Ask for a new snapshot (F5's path) and wait until every view has it."""
    feed = window.status_feed
    with qtbot.waitSignal(feed.sig_status, timeout=timeout, raising=True):
        window.refresh()
    wait_idle(qtbot, timeout)


def open_certificates(
    qtbot: QtBot, window: MainWindow
) -> tuple[PropertiesWindow, CertificatesPage]:
    """Properties → Administration server connection settings → Certificates."""
    from kscert_gui.ui import ids

    window.tree.setCurrentItem(window.server_item)
    window.action_properties.trigger()
    props = window.properties_window
    assert props is not None
    qtbot.waitExposed(props)
    props.select_section(ids.SECTION_CERTIFICATES)
    page = props.pages.currentWidget()
    assert isinstance(page, CertificatesPage)
    return props, page


def wait_idle(qtbot: QtBot, timeout: int = 120_000) -> None:
    """Wait until no background task runs and every view has the last reading (never
    sleep)."""
    qtbot.waitUntil(lambda: not tasks.active_tasks() and not status_feed.rendering(),
                    timeout=timeout)


class ModalDriver:
    """Runs ``handler(widget)`` once a modal widget of ``cls`` is shown.

    Schedule it *before* the click that opens the modal (whose ``exec()`` blocks).
    If the handler fails, the modal is closed so ``exec()`` returns, and the
    error is re-raised by :meth:`check`.
    """

    def __init__(self, cls: type[W], handler: Callable[[W], None]) -> None:
        self.cls = cls
        self.handler: Callable[[Any], None] = handler
        self.done = False
        self.error: BaseException | None = None
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        widget = QApplication.activeModalWidget()
        if widget is None or not isinstance(widget, self.cls) or not widget.isVisible():
            QTimer.singleShot(10, self._poll)
            return
        try:
            self.handler(widget)
        except BaseException as err:
            self.error = err
            widget.close()
        finally:
            self.done = True

    def check(self, timeout_ms: int = 60_000) -> None:
        """Fail unless the modal was shown and handled; a modal that opens after a
        background read (the viewer, Group properties, the pickers) is waited for."""
        deadline = time.monotonic() + timeout_ms / 1000
        while not self.done and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        assert self.done, f"no {self.cls.__name__} was shown"
        if self.error is not None:
            raise self.error


def in_other_certificate_window(
    qtbot: QtBot, page: CertificatesPage, fill: Callable[[Any], None]
) -> None:
    """Other certificate, then Browse… on the Certificates page: ``fill(dialog)`` runs in
    the Certificate window that opens (it must close it); then wait for the work it
    started."""
    from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog

    click(page.radio_other)
    driver = ModalDriver(OtherCertificateDialog, fill)
    click(page.browse_button)
    driver.check()
    wait_idle(qtbot)


# --- certificate files built at run time ---------------------------------------------------


@dataclass(frozen=True)
class Made:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def sha256(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def make_certificate(
    address: str = "mdm.custom.example",
    *,
    not_before: datetime = AT - timedelta(days=1),
    days: int = 300,
    bits: int = 2048,
) -> Made:
    """A self-signed certificate that meets every server and Apple requirement (DESIGN §4)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    cert = compliant_certificate(key, address, not_before, days)
    return Made(key, cert)


def write_pkcs12(path: Path, made: Made, password: bytes | None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption()
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"mobile", made.key, made.cert, None, encryption)
    )
    return path


def write_key_and_cert(
    folder: Path, made: Made, password: bytes | None, *, key_of: Made | None = None
) -> tuple[Path, Path]:
    """An encrypted PKCS #8 PEM key (``.pem``) and a DER certificate (``.cer``)."""
    key = (key_of or made).key
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption()
    )
    key_path = folder / "server.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          encryption)
    )
    cert_path = folder / "server.cer"
    cert_path.write_bytes(made.cert.public_bytes(serialization.Encoding.DER))
    return key_path, cert_path


# --- typed input helpers (QtBot's own are untyped) -------------------------------------------


def click(widget: QWidget) -> None:
    """A left click in the middle of ``widget``; on a radio button or check box, on its
    indicator (where a person clicks: a layout may stretch the widget past its text)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QCheckBox, QRadioButton

    if isinstance(widget, QRadioButton | QCheckBox):
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(
            min(8, widget.width() // 2), widget.height() // 2))
        return
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def key(widget: QWidget, which: Qt.Key) -> None:
    QTest.keyClick(widget, which)


def type_text(widget: QWidget, text: str) -> None:
    QTest.keyClicks(widget, text)


def demo_env(tmp_path: Path, *, reserve: bool = False) -> Env:
    """The demo (Training) store made at 2026-11-26 09:30 UTC; ``reserve``: with a reserve
    certificate of 30 days issued at once."""
    from datetime import UTC, datetime

    from kscert_gui.model.clock import FixedClock
    from kscert_gui.services.demo import create_demo_store
    from kscert_gui.services.secrets import MemorySecretStore
    from kscert_gui.services.server import ReissueRequest

    secrets = MemorySecretStore()
    clock = FixedClock(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    home = tmp_path / "demo"
    create_demo_store(home, secrets, clock, pin_clock=True)
    if reserve:
        with AdministrationServer.open(home, secrets, clock=clock) as server:
            server.reissue(ReissueRequest(None, 30), confirmed=True)
    return Env(home, secrets, clock, tmp_path)
