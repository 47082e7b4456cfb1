"""The Watched endpoints page (DESIGN §13) through its real widgets.

Buttons are pressed with real clicks, keys with real key presses; modal windows are
answered by a timer. Probes go to real servers on 127.0.0.1 (`openssl s_server` with a
certificate 10 days from expiry, a silent TCP server, a closed port). The desktop
notification goes to a real notification service, dunst, on a private session bus
(``dbus-run-session``, its own Xvfb display), whose history gives the summary and body.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import unavailable
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot
from tlskit import free_port, raw_server, s_server
from uikit import ModalDriver, click, make_env, open_window, type_text, wait_idle
from watchkit import expiring_in, silence

from kscert_gui.model.clock import system_clock
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.watch import WatchList, watch_list
from kscert_gui.ui import ids, text
from kscert_gui.ui.watch.add_endpoint import AddEndpointDialog
from kscert_gui.ui.watch.page import WatchPage
from kscert_gui.ui.watch.table_model import COL_STATE, STATE_ROLE

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

SESSION_START = 30.0


class Driver(ModalDriver):
    """A ModalDriver that can be told to stop looking (the button did not open its modal)."""

    stopped = False

    def _poll(self) -> None:
        if not self.stopped:
            super()._poll()


class Notes:
    """Stands in for the desktop notifier where the point is the page, not the bus."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, summary: str, body: str) -> bool:
        self.sent.append((summary, body))
        return True


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AdministrationServer]:
    with AdministrationServer.open(tmp_path / "store", MemorySecretStore(),
                                   clock=system_clock) as srv:
        yield srv


@pytest.fixture
def openssl() -> None:
    if shutil.which("openssl") is None:
        unavailable("the openssl command line is not installed")


def make_page(qtbot: QtBot, watch: WatchList, notifier: Notes | None = None) -> WatchPage:
    page = WatchPage(watch, notifier=notifier) if notifier else WatchPage(watch)
    qtbot.addWidget(page)
    page.resize(900, 400)
    page.show()
    qtbot.waitExposed(page)
    wait_idle(qtbot)
    return page


def press(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), button.objectName()
    click(button)


def states(page: WatchPage) -> list[str]:
    proxy = page.proxy
    return [str(proxy.index(r, COL_STATE).data(STATE_ROLE)) for r in range(proxy.rowCount())]


def no_error_box() -> None:
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == ids.MESSAGE_ERROR and widget.isVisible():
            raise AssertionError(f"an error was shown: {widget.findChild(QMessageBox)}")


# --- the table, Check now, the message ------------------------------------------------------


def test_check_now_colours_sorts_copies_and_tells(
    qtbot: QtBot, server: AdministrationServer, tmp_path: Path, openssl: None
) -> None:
    cert, key = expiring_in(tmp_path, "soon", 10)
    far_cert, far_key = expiring_in(tmp_path, "far", 200)
    watch = watch_list(server)
    notes = Notes()
    with s_server(tmp_path, cert, key) as soon, s_server(tmp_path, far_cert, far_key) as far:
        watch.add(f"127.0.0.1:{far}", name="far")
        watch.add(f"127.0.0.1:{soon}", name="soon")
        watch.add(f"127.0.0.1:{free_port()}", name="closed")
        page = make_page(qtbot, watch, notes)
        assert states(page) == ["", "", ""]
        with qtbot.waitSignal(page.sig_crossed, timeout=60_000, raising=True) as told:
            press(qtbot, page.check_button)
            assert page.busy.isVisible() and not page.check_button.isEnabled()
        wait_idle(qtbot)
        # A second check, the servers unchanged, tells nothing new: once per threshold.
        before = len(notes.sent)
        with qtbot.waitSignal(page.sig_updated, timeout=60_000, raising=True):
            press(qtbot, page.check_button)
        wait_idle(qtbot)
        assert len(notes.sent) == before == 1
    assert states(page) == ["ok", "expiring", "unreachable"]
    lines: list[str] = told.args[0]
    assert len(lines) == 1 and "(soon)" in lines[0] and "reminder at 14 days" in lines[0]
    assert page.message.isVisible() and page.message.text() == lines[0]
    assert notes.sent and notes.sent[0][0].startswith("Certificate expires in")
    assert not page.busy.isVisible() and page.check_button.isEnabled()
    # Coloured by state.
    brush = page.proxy.index(1, COL_STATE).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == QColor(text.WARNING_COLOR)
    brush = page.proxy.index(2, COL_STATE).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == QColor(text.ALERT_COLOR)
    # Sorted by a click on the State header: worst first.
    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(COL_STATE) + header.sectionSize(COL_STATE) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier(0),
                     QPoint(x, header.height() // 2))
    assert states(page) == ["unreachable", "expiring", "ok"]
    # Copied with Ctrl+C: the selected row, tab-separated, with the header.
    page.table.setFocus()
    page.table.selectRow(1)
    QTest.keyClick(page.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = QGuiApplication.clipboard().text().splitlines()
    assert copied[0].startswith("Endpoint\tName\tState")
    assert len(copied) == 2 and "\tsoon\tExpiring\t" in copied[1]


def test_the_list_has_its_context_menu_and_counts_in_words(
    qtbot: QtBot, server: AdministrationServer
) -> None:
    """DESIGN §8: every list has a context menu (Shift+F10, the Menu key): the row's Check
    now and Remove, then Copy; "Checked 1 endpoint", not "1 endpoints"."""
    from menukit import PopupDriver

    watch = watch_list(server)
    watch.add(f"127.0.0.1:{free_port()}", name="closed")
    page = make_page(qtbot, watch)
    with qtbot.waitSignal(page.sig_updated, timeout=60_000, raising=True):
        press(qtbot, page.check_button)
    wait_idle(qtbot)
    assert page.status.text().startswith("Checked 1 endpoint at "), page.status.text()
    rect = page.table.visualRect(page.proxy.index(0, 0))
    menu = PopupDriver()  # closes it
    QTest.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.keyClick(page.table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    menu.check()
    assert menu.entries == ["Check now", "Remove", "Copy", "Select all"], menu.entries
    assert all(menu.enabled.values()), menu.enabled
    # The Menu key opens it too; Check now from it probes again.
    pick = PopupDriver(pick="Check now")
    with qtbot.waitSignal(page.sig_updated, timeout=60_000, raising=True):
        QTest.keyClick(page.table, Qt.Key.Key_Menu)
        pick.check()
    wait_idle(qtbot)
    no_error_box()


def test_the_gui_thread_never_waits_for_a_check(
    qtbot: QtBot, server: AdministrationServer
) -> None:
    stop = threading.Event()
    try:
        with raw_server(silence(stop)) as quiet:
            watch = watch_list(server)
            watch.add(f"127.0.0.1:{quiet}")
            page = make_page(qtbot, watch)
            started = time.monotonic()
            press(qtbot, page.check_button)
            assert time.monotonic() - started < 0.5  # the probe waits 5 s, the click not
            assert page.busy.isVisible()
            window = page.window()
            assert window.cursor().shape() == Qt.CursorShape.BusyCursor
            with qtbot.waitSignal(page.sig_updated, timeout=30_000, raising=True):
                pass
    finally:
        stop.set()
    wait_idle(qtbot)
    assert states(page) == ["unreachable"]
    assert "timeout" in page.proxy.index(0, 7).data()


def test_the_console_tree_opens_the_page(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    with AdministrationServer.open(env.home, env.secrets, clock=env.clock) as server:
        watch_list(server).add(f"127.0.0.1:{free_port()}", name="closed")
    window = open_window(qtbot, env)
    window.show()
    qtbot.waitExposed(window)
    item = window.watch_item
    assert item.parent() is window.server_item and item.text(0) == "Watched endpoints"
    rect = window.tree.visualItemRect(item)
    QTest.mouseClick(window.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier(0), rect.center())
    page = window.watch_page
    assert page is not None and page.isVisible()
    wait_idle(qtbot)
    assert [e.title for e in page.model.entries] == [page.model.entries[0].endpoint
                                                      + " (closed)"]
    with qtbot.waitSignal(page.sig_updated, timeout=30_000, raising=True):
        press(qtbot, page.check_button)
    wait_idle(qtbot)
    assert states(page) == ["unreachable"]
    assert window.busy_bar.isHidden()
    # Back on Managed devices the page hides again.
    rect = window.tree.visualItemRect(window.devices_item)
    QTest.mouseClick(window.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier(0), rect.center())
    assert not page.isVisible()
    window.close()


def test_a_background_check_marks_the_node(
    qtbot: QtBot, tmp_path: Path, openssl: None
) -> None:
    """Without opening the node: the page starts by itself, its timer checks, and a
    threshold passed colours the node until it is opened."""
    env = make_env(tmp_path)
    env.clock.at = datetime.now(UTC).replace(microsecond=0)
    cert, key = expiring_in(tmp_path, "soon", 10)
    with s_server(tmp_path, cert, key) as port:
        with AdministrationServer.open(env.home, env.secrets, clock=env.clock) as server:
            watch_list(server).add(f"127.0.0.1:{port}", name="Branch")
        window = open_window(qtbot, env)
        window.show()
        qtbot.waitUntil(lambda: window.watch_page is not None, timeout=30_000)
        page = window.watch_page
        assert page is not None and not page.isVisible()
        wait_idle(qtbot)
        page.timer.start(50)  # the check interval elapses (the shortest one is a minute)
        with qtbot.waitSignal(page.sig_crossed, timeout=60_000, raising=True):
            pass
        page.timer.stop()
        wait_idle(qtbot)
    assert window.watch_item.foreground(0).color() == QColor(text.ALERT_COLOR)
    assert "(Branch)" in window.watch_item.toolTip(0)
    rect = window.tree.visualItemRect(window.watch_item)
    QTest.mouseClick(window.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier(0), rect.center())
    assert page.isVisible() and "(Branch)" in page.message.text()
    assert window.watch_item.toolTip(0) == ""
    window.close()


# --- Add and Remove ---------------------------------------------------------------------------


def test_add_and_remove_through_their_windows(
    qtbot: QtBot, server: AdministrationServer
) -> None:
    page = make_page(qtbot, watch_list(server))
    assert not page.remove_button.isEnabled() and not page.check_button.isEnabled()

    def fill(dialog: AddEndpointDialog) -> None:
        type_text(dialog.endpoint, "mdm.example.com:0")
        assert not dialog.ok_button.isEnabled()
        assert "out of range" in dialog.error.text()
        dialog.endpoint.clear()
        type_text(dialog.endpoint, "mdm.example.com:13292")
        type_text(dialog.name, "Head office")
        assert dialog.ok_button.isEnabled() and not dialog.error.isVisible()
        click(dialog.ok_button)

    driver = ModalDriver(AddEndpointDialog, fill)
    with qtbot.waitSignal(page.sig_updated, timeout=30_000, raising=True):
        press(qtbot, page.add_button)
    driver.check()
    wait_idle(qtbot)
    assert [e.title for e in page.model.entries] == ["mdm.example.com:13292 (Head office)"]

    # The same endpoint again: the store refuses it, the page says why, nothing changes.
    def again(dialog: AddEndpointDialog) -> None:
        type_text(dialog.endpoint, "MDM.example.com:13292")
        click(dialog.ok_button)

    refused: list[str] = []

    def dismiss(box: QMessageBox) -> None:
        refused.append(box.text())
        box.accept()

    driver = ModalDriver(AddEndpointDialog, again)
    box = ModalDriver(QMessageBox, dismiss)
    press(qtbot, page.add_button)
    driver.check()
    box.check()
    wait_idle(qtbot)
    assert refused == ["mdm.example.com:13292 is already watched."]
    assert len(page.model.entries) == 1

    # Remove: the question defaults to No; Yes removes it.
    page.table.selectRow(0)
    asked: list[QMessageBox.StandardButton] = []

    def yes(box: QMessageBox) -> None:
        asked.append(box.standardButton(box.defaultButton()))
        button = box.button(QMessageBox.StandardButton.Yes)
        assert button is not None
        click(button)

    driver2 = ModalDriver(QMessageBox, yes)
    with qtbot.waitSignal(page.sig_updated, timeout=30_000, raising=True):
        press(qtbot, page.remove_button)
    driver2.check()
    wait_idle(qtbot)
    assert asked == [QMessageBox.StandardButton.No]
    assert not page.model.entries
    assert watch_list(server).entries() == ()


def test_every_enabled_button_once(qtbot: QtBot, server: AdministrationServer) -> None:
    watch = watch_list(server)
    watch.add(f"127.0.0.1:{free_port()}", name="closed")
    page = make_page(qtbot, watch, Notes())
    page.table.selectRow(0)
    pressed: list[str] = []
    for button in page.findChildren(QPushButton):
        if not button.isEnabled() or not button.isVisible():
            continue
        pressed.append(button.objectName())
        drivers = [Driver(AddEndpointDialog, lambda d: click(d.cancel_button)),
                   Driver(QMessageBox, lambda b: b.reject())]
        click(button)
        wait_idle(qtbot)
        for driver in drivers:
            driver.stopped = True  # the ones this button did not open
        no_error_box()
    assert sorted(pressed) == sorted([ids.BUTTON_WATCH_ADD, ids.BUTTON_WATCH_REMOVE,
                                      ids.BUTTON_WATCH_CHECK, ids.BUTTON_WATCH_COPY])
    assert states(page) == ["unreachable"]  # Remove was answered No
    # The interval, typed: saved in the store (in a worker).
    page.interval.selectAll()
    type_text(page.interval, "15")
    QTest.keyClick(page.interval, Qt.Key.Key_Return)
    wait_idle(qtbot)
    assert watch.interval() == 15 * 60
    assert page.timer.interval() == 15 * 60_000


def test_every_widget_has_names(qtbot: QtBot, server: AdministrationServer) -> None:
    page = make_page(qtbot, watch_list(server))
    for widget in (page.table, page.add_button, page.remove_button, page.check_button,
                   page.copy_button, page.interval, page.message, page.busy, page.status):
        assert widget.objectName() and widget.accessibleName()


# --- the desktop notification -----------------------------------------------------------------

# $1: file for the environment. An Xvfb display of its own, dunst on the session bus.
_SESSION_SCRIPT = r"""
set -e
out="$1"
Xvfb -displayfd 5 -nolisten tcp -screen 0 800x600x24 5>"$out.display" 2>/dev/null &
i=0
while [ ! -s "$out.display" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
export DISPLAY=":$(cat "$out.display")"
dunst >"$out.dunst.log" 2>&1 &
i=0
until dunstctl count >/dev/null 2>&1 || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
printf 'DBUS_SESSION_BUS_ADDRESS=%s\nDISPLAY=%s\n' "$DBUS_SESSION_BUS_ADDRESS" "$DISPLAY" \
  > "$out.tmp"
mv "$out.tmp" "$out"
exec sleep 600
"""


@pytest.fixture
def notification_service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """dunst on a private session bus (dbus-run-session) with its own Xvfb display."""
    missing = [t for t in ("dbus-run-session", "Xvfb", "dunst", "dunstctl")
               if shutil.which(t) is None]
    if missing:
        unavailable(f"a real notification service needs {', '.join(missing)}")
    home = tmp_path / "session-home"
    (home / ".config").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_RUNTIME_DIR": str(home)})
    env_file = tmp_path / "session.env"
    proc = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", _SESSION_SCRIPT, "sh", str(env_file)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SESSION_START
        while not env_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the notification session did not start")
            time.sleep(0.05)
        session = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        env.update(session)
        yield env
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def dunst_history(env: dict[str, str]) -> list[dict[str, str]]:
    """Every notification dunst received (closed first, so that it is in the history)."""
    subprocess.run(["dunstctl", "close-all"], env=env, check=True, timeout=10)
    for _ in range(50):
        proc = subprocess.run(["dunstctl", "history"], env=env, capture_output=True,
                              text=True, check=True, timeout=10)
        found = [{k: str(v["data"]) for k, v in n.items()}
                 for n in json.loads(proc.stdout)["data"][0]]
        if found:
            return found
        time.sleep(0.1)
    return []


def test_a_crossing_reaches_the_desktop_notification_service(
    qtbot: QtBot, server: AdministrationServer, tmp_path: Path, openssl: None,
    notification_service: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS",
                       notification_service["DBUS_SESSION_BUS_ADDRESS"])
    cert, key = expiring_in(tmp_path, "soon", 10)
    watch = watch_list(server)
    with s_server(tmp_path, cert, key) as port:
        watch.add(f"127.0.0.1:{port}", name="Head office")
        page = make_page(qtbot, watch)  # the real notifier
        with qtbot.waitSignal(page.sig_notified, timeout=60_000, raising=True) as sent:
            press(qtbot, page.check_button)
    wait_idle(qtbot)
    assert sent.args == [True]
    history = dunst_history(notification_service)
    assert len(history) == 1
    note = history[0]
    assert note["appname"] == "kscert_gui"
    assert note["summary"] == f"Certificate expires in 10 days: 127.0.0.1:{port} (Head office)" \
        or note["summary"] == f"Certificate expires in 9 days: 127.0.0.1:{port} (Head office)"
    assert note["body"] == page.message.text()
    assert "reminder at 14 days" in note["body"]


def test_without_a_notification_service_nothing_breaks(
    qtbot: QtBot, server: AdministrationServer, tmp_path: Path, openssl: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    cert, key = expiring_in(tmp_path, "soon", 5)
    watch = watch_list(server)
    with s_server(tmp_path, cert, key) as port:
        watch.add(f"127.0.0.1:{port}")
        page = make_page(qtbot, watch)
        with qtbot.waitSignal(page.sig_notified, timeout=60_000, raising=True) as sent:
            press(qtbot, page.check_button)
    wait_idle(qtbot)
    assert sent.args == [False]
    assert "reminder at 7 days" in page.message.text()
    no_error_box()


def test_a_read_only_store_shows_results_and_changes_nothing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    home = tmp_path / "store"
    secrets = MemorySecretStore()
    with AdministrationServer.open(home, secrets) as writer:
        watch_list(writer).add(f"127.0.0.1:{free_port()}", name="closed")
        watch_list(writer).check(timeout=2)
        with AdministrationServer.open(home, secrets, writable=False) as reader:
            page = make_page(qtbot, watch_list(reader))
            assert states(page) == ["unreachable"]
            for button in (page.add_button, page.remove_button, page.check_button):
                assert not button.isEnabled()
            assert not page.interval.isEnabled() and page.copy_button.isEnabled()
            assert "read-only" in page.status.text()
            page.timer.start(10)  # an interval elapses: nothing is started
            qtbot.wait(100)
            assert not page._checking
            page.close()
