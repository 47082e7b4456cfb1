"""STYLE habit 13, window by window: inside each window a person opens (Reissue
certificate, Certificate, the certificate viewer and its Export window, a group's
Properties, Add device, the distribution point windows and their pickers, the Check
window, the delivery window, the Watched endpoints page) every enabled button, tab and
list menu entry is pressed once, as a person would: clicks and keys, never a slot called.
Every answer they ask for is dismissed by a timer (No, Cancel, Close), so nothing is
changed unless the test presses OK on purpose.

Each test fails on an "unexpected error" message, on an exception raised in a slot
(pytest-qt fails the test), and on a button of the window that was enabled and never
pressed (a button added later is pressed too, or the test says why not).
"""

from __future__ import annotations

import csv
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from menukit import FileDialogDriver, ModalCloser, PopupDriver, trigger_all, wait_for
from PySide6.QtCore import QModelIndex, QRect, Qt, QUrl
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QLineEdit,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot
from uikit import (
    ModalDriver,
    click,
    demo_env,
    make_certificate,
    open_certificates,
    open_window,
    type_text,
    write_key_and_cert,
    write_pkcs12,
)

from kscert_gui.ui import help, ids, tasks
from kscert_gui.ui.devices.add_device import AddDeviceDialog
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.devices.group_properties import GroupPropertiesDialog
from kscert_gui.ui.dialogs.check import CheckDialog
from kscert_gui.ui.dialogs.export import ExportDialog
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.dialogs.viewer import CertificateViewer
from kscert_gui.ui.gateways.add_point import AddDistributionPointDialog
from kscert_gui.ui.gateways.host_properties import HostPropertiesDialog
from kscert_gui.ui.gateways.pickers import DevicePickerDialog, GroupPickerDialog
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.watch.add_endpoint import AddEndpointDialog
from kscert_gui.ui.widgets.list_tools import ListTools

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

W = TypeVar("W", bound=QWidget)
WAIT_MS = 60_000


@pytest.fixture
def closer(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModalCloser]:
    def open_url(_url: QUrl) -> bool:
        return True  # no browser is started

    monkeypatch.setattr(help, "open_url", open_url)
    driver = ModalCloser()
    yield driver
    driver.stop()


# --- pressing, as a person does ----------------------------------------------------------------


def label(widget: QWidget) -> str:
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.text().replace("&", "")
    return widget.accessibleName() or widget.objectName() or type(widget).__name__


def buttons_in(window: QWidget) -> list[QAbstractButton]:
    """The enabled buttons a person sees in ``window`` (push buttons, radio buttons, check
    boxes), not the ones inside another widget (a line edit's clear button, a spin box's
    arrows, a tab bar's scroll arrows, a table's corner: those belong to their field)."""
    out = []
    for button in window.findChildren(QAbstractButton):
        parent = button.parentWidget()
        if (button.window() is not window or not button.isVisibleTo(window)
                or not button.isEnabled()
                or isinstance(parent, QLineEdit | QAbstractSpinBox | QTabBar | QComboBox
                              | QAbstractItemView)):
            continue
        out.append(button)
    return out


#: For each window class, the buttons that closed it (OK, Cancel, Close) in this test.
closed_with: dict[str, set[str]] = {}


@pytest.fixture(autouse=True)
def _closed_with() -> Iterator[dict[str, set[str]]]:
    closed_with.clear()
    yield closed_with
    closed_with.clear()


def closes(button: QAbstractButton) -> bool:
    """An OK, Cancel or Close button of a window's button box."""
    box = button.parentWidget()
    if not isinstance(box, QDialogButtonBox) or not isinstance(button, QPushButton):
        return False
    return box.buttonRole(button) in (QDialogButtonBox.ButtonRole.AcceptRole,
                                      QDialogButtonBox.ButtonRole.RejectRole)


def settled(window: QWidget) -> bool:
    """No work running, and no window above ``window`` (the answers were dismissed)."""
    if tasks.active_tasks():
        return False
    modal = QApplication.activeModalWidget()
    return modal is None or modal is window or not window.isVisible()


def settle_in(window: QWidget) -> None:
    wait_for(lambda: settled(window), WAIT_MS)
    assert settled(window), f"still busy in {window.windowTitle()}: {tasks.active_tasks()}"


class Pressing:
    """Presses the buttons of one window and remembers which."""

    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.pressed: list[QWidget] = []

    def press(self, button: QAbstractButton) -> None:
        name = label(button)
        assert button.isVisibleTo(self.window) and button.isEnabled(), f"{name} cannot be pressed"
        self.pressed.append(button)
        click(button)
        settle_in(self.window)

    def tabs(self, bar: QTabBar, on_tab: Callable[[int], None]) -> None:
        """A click on each tab of ``bar`` (``on_tab(index)`` runs on each)."""
        for index in range(bar.count()):
            QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
            settle_in(self.window)
            assert bar.currentIndex() == index, bar.tabText(index)
            on_tab(index)

    def not_pressed(self) -> list[str]:
        """The enabled buttons not pressed yet, but for those that close the window (OK,
        Cancel, Close: one of them per opening; :attr:`closed_with` counts them)."""
        return [label(b) for b in buttons_in(self.window)
                if not closes(b) and not any(b is p for p in self.pressed)]

    def not_pressed_in(self, part: QWidget) -> list[str]:
        """The buttons of ``part`` (a page of the window) not pressed yet."""
        return [label(b) for b in buttons_in(self.window)
                if part.isAncestorOf(b) and not any(b is p for p in self.pressed)]

    def finish(self, close: QAbstractButton, *, every: bool = True) -> None:
        """Every button of the window was pressed (``every``: False when an earlier opening
        of the window pressed them); then ``close`` (OK, Cancel, Close)."""
        if every:
            assert self.not_pressed() == [], (self.window.windowTitle(), self.not_pressed())
        assert closes(close), label(close)
        closed_with.setdefault(type(self.window).__name__, set()).add(label(close))
        click(close)
        wait_for(lambda: not self.window.isVisible(), WAIT_MS)
        assert not self.window.isVisible(), f"{label(close)} left the window open"


class Presser:
    """Opens a modal window and presses inside it while the closer dismisses the rest."""

    def __init__(self, closer: ModalCloser) -> None:
        self.closer = closer
        self.windows: list[str] = []

    def inside(self, cls: type[W], open_it: Callable[[], None],
               handle: Callable[[W], None]) -> None:
        """``open_it`` (a click, a key, a menu entry) opens a ``cls`` window, perhaps
        after a background read; ``handle`` presses in it and closes it."""
        self.closer.spare.append(cls)
        try:
            driver = ModalDriver(cls, handle)
            open_it()
            driver.check(WAIT_MS)
        finally:
            self.closer.spare.remove(cls)
        self.windows.append(cls.__name__)


@pytest.fixture
def presser(closer: ModalCloser) -> Presser:
    return Presser(closer)


def fill(edit: QLineEdit | QAbstractSpinBox, value: str) -> None:
    """Click into a field, select what it holds (Ctrl+A) and type ``value``."""
    click(edit)
    QTest.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    if value:
        type_text(edit, value)
    else:
        QTest.keyClick(edit, Qt.Key.Key_Delete)


def choose(combo: QComboBox, text: str) -> None:
    """Pick ``text`` in a combo box with the arrow keys, as from the keyboard."""
    combo.setFocus()
    target = combo.findText(text)
    assert target >= 0, (text, [combo.itemText(i) for i in range(combo.count())])
    step = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    for _ in range(combo.count()):
        if combo.currentIndex() == target:
            break
        QTest.keyClick(combo, step)
    assert combo.currentIndex() == target, text


def click_row(view: QAbstractItemView, index: QModelIndex) -> None:
    rect: QRect = view.visualRect(index)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def click_sections(sections: QListWidget, pages: QStackedWidget) -> None:
    """A click on each entry of a Sections pane: its page is shown."""
    for row in range(sections.count()):
        item = sections.item(row)
        QTest.mouseClick(sections.viewport(), Qt.MouseButton.LeftButton,
                         pos=sections.visualItemRect(item).center())
        assert pages.currentIndex() == row, item.text()


def menu_entries(tools: ListTools, window: QWidget) -> list[str]:
    """Every enabled entry of a list's context menu, each triggered once (STYLE 13)."""
    actions = [a for a in tools.menu_actions() if isinstance(a, QAction)]
    return trigger_all(actions, lambda: settle_in(window))


def no_unexpected(closer: ModalCloser) -> None:
    assert closer.unexpected == [], closer.unexpected


def closed_port() -> int:
    """A local port nobody listens on: a check is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- Certificates page: Reissue certificate, Certificate, the viewer -----------------------------


def test_press_everything_in_the_reissue_certificate_window(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """OK with a delayed term, with Immediately and with a new address: each confirmation
    answered No returns to the window; then Cancel. Nothing is reissued."""
    window = open_window(qtbot, demo_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    settle_in(window)

    def handle(dialog: ReissueDialog) -> None:
        p = Pressing(dialog)
        p.press(dialog.ok_button)  # After this period expires → confirmation → No
        assert dialog.isVisible()
        p.press(dialog.term.immediately)
        p.press(dialog.ok_button)  # Immediately → confirmation → No
        assert dialog.isVisible()
        p.press(dialog.term.after_days)
        p.press(dialog.change)
        assert not dialog.ok_button.isEnabled()  # no address yet
        fill(dialog.address, "mdm.other.example")
        choose(dialog.key_size, "RSA 4096 bits")
        p.press(dialog.ok_button)
        p.press(dialog.use_old)
        p.finish(dialog.cancel_button)

    presser.inside(ReissueDialog, lambda: click(page.reissue_button), handle)
    no_unexpected(closer)
    asked = [s for s in closer.seen if s == "QMessageBox: Reissue certificate"]
    assert len(asked) == 3, closer.seen
    assert page.reserve_subject.text().startswith("None"), "No reissued a certificate"
    assert closed_with == {"ReissueDialog": {"Cancel"}}


def test_press_everything_in_the_certificate_window(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """Other certificate → Browse → Certificate: each Browse (its file dialog cancelled), a
    PKCS #12 file with its password, Immediately, an X.509 key and certificate, OK with
    each (the confirmation answered No), then Cancel."""
    env = demo_env(tmp_path)
    made = make_certificate("mdm.training.example")
    p12 = write_pkcs12(tmp_path / "server.p12", made, b"secret")
    key_path, cert_path = write_key_and_cert(tmp_path, made, b"keypass")
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    settle_in(window)
    click(page.radio_other)

    def checked(dialog: OtherCertificateDialog) -> None:
        wait_for(lambda: dialog.is_idle() and dialog.check is not None, WAIT_MS)
        assert dialog.check is not None, dialog.status_label.text()

    def handle(dialog: OtherCertificateDialog) -> None:
        p = Pressing(dialog)
        p.press(dialog.p12_file.browse)
        fill(dialog.p12_file.edit, str(p12))
        fill(dialog.p12_password, "wrong")
        checked(dialog)
        assert not dialog.ok_button.isEnabled()  # a wrong password blocks OK
        fill(dialog.p12_password, "secret")
        checked(dialog)
        if dialog.acknowledge.isVisible():
            p.press(dialog.acknowledge)
        p.press(dialog.ok_button)  # confirmation → No
        assert dialog.isVisible()
        p.press(dialog.term.immediately)
        checked(dialog)
        p.press(dialog.ok_button)  # Immediately → confirmation → No
        assert dialog.isVisible() and dialog.p12_file.edit.text() == str(p12)
        p.press(dialog.term.after_days)

        choose(dialog.cert_type, "X.509 certificate")
        p.press(dialog.key_file.browse)
        p.press(dialog.cert_file.browse)
        fill(dialog.key_file.edit, str(key_path))
        fill(dialog.key_password, "keypass")
        fill(dialog.cert_file.edit, str(cert_path))
        checked(dialog)
        if dialog.acknowledge.isVisible() and dialog.acknowledge.isEnabled():
            p.press(dialog.acknowledge)
        p.press(dialog.ok_button)  # confirmation → No
        assert dialog.isVisible()
        p.finish(dialog.cancel_button)

    presser.inside(OtherCertificateDialog, lambda: click(page.browse_button), handle)
    no_unexpected(closer)
    asked = [s for s in closer.seen if s == "QMessageBox: Certificate"]
    assert len(asked) == 3, closer.seen
    assert sum(s.startswith("QFileDialog") for s in closer.seen) == 3, closer.seen
    assert closed_with == {"OtherCertificateDialog": {"Cancel"}}


@pytest.mark.parametrize("which", ["main", "reserve"])
def test_press_everything_in_the_certificate_viewer(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser, which: str
) -> None:
    """View certificate (and View reserve certificate): each tab; on Details, Copy to
    clipboard and the fields list's menu; Export… with each format, Browse, OK (the file is
    written), Export… again with Cancel; then Close."""
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    _props, page = open_certificates(qtbot, window)
    settle_in(window)
    target = tmp_path / f"exported-{which}.p12"

    def export_ok(export: ExportDialog) -> None:
        p = Pressing(export)
        p.press(export.der)
        p.press(export.file.browse)  # its file dialog cancelled
        p.press(export.p12)
        fill(export.password, "export-pw")
        fill(export.password_again, "other")
        assert not export.ok_button.isEnabled()  # the passwords differ
        fill(export.password_again, "export-pw")
        choose(export.encryption, "3DES (legacy, for older systems)")
        fill(export.file.edit, str(target))
        p.press(export.pem)
        p.press(export.p12)
        assert export.file.path() == target
        p.finish(export.ok_button)

    def export_cancel(export: ExportDialog) -> None:
        Pressing(export).finish(export.cancel_button, every=False)

    def handle(viewer: CertificateViewer) -> None:
        p = Pressing(viewer)
        copy_button = viewer.findChild(QAbstractButton, ids.BUTTON_COPY_DETAILS)
        assert isinstance(copy_button, QAbstractButton)

        def on_tab(index: int) -> None:
            tab = viewer.tabs.widget(index)
            if tab is not None and tab.objectName() == ids.VIEWER_DETAILS:
                QGuiApplication.clipboard().clear()
                p.press(copy_button)
                assert "SHA-256 thumbprint: " in QGuiApplication.clipboard().text()
                click_row(viewer.details_table, viewer.details_table.model().index(1, 0))
                entries = menu_entries(viewer.details_tools, viewer)
                assert "Copy" in entries, entries

        p.tabs(viewer.tabs.tabBar(), on_tab)
        presser.inside(ExportDialog, lambda: p.press(viewer.export_button), export_ok)
        assert target.is_file()
        presser.inside(ExportDialog, lambda: click(viewer.export_button), export_cancel)
        settle_in(viewer)
        close = viewer.buttons.buttons()[0]
        p.finish(close)

    button = page.view_button if which == "main" else page.view_reserve_button
    presser.inside(CertificateViewer, lambda: click(button), handle)
    no_unexpected(closer)
    assert any(s.startswith("QFileDialog") for s in closer.seen), closer.seen
    assert "QMessageBox: Export certificate" in closer.seen, closer.seen  # saved to …
    from cryptography.hazmat.primitives.serialization import pkcs12

    loaded = pkcs12.load_key_and_certificates(target.read_bytes(), b"export-pw")
    assert isinstance(loaded[1], x509.Certificate)
    assert closed_with == {"ExportDialog": {"OK", "Cancel"}, "CertificateViewer": {"Close"}}


# --- Managed devices: a group's Properties, Add device, the delivery window ----------------------


def group_node(window: MainWindow, name: str) -> QModelIndex:
    for i in range(window.devices_item.childCount()):
        item = window.devices_item.child(i)
        if item is not None and item.text(0) == name:
            window.tree.setCurrentItem(item)
            return window.tree.currentIndex()
    raise LookupError(name)


def test_press_everything_in_a_group_properties_window(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """Group properties… (and the group node's Properties entry): each section, Inherit on
    and off, a period out of range and one in range; Cancel, then OK (the period is saved)."""
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    group_node(window, "Field staff")
    page = window.devices_page
    assert page is not None
    settle_in(window)

    def cancel(dialog: GroupPropertiesDialog) -> None:
        p = Pressing(dialog)
        click_sections(dialog.sections, dialog.pages)
        p.press(dialog.inherit)
        p.press(dialog.inherit)
        p.finish(dialog.cancel_button)

    def ok(dialog: GroupPropertiesDialog) -> None:
        p = Pressing(dialog)
        p.press(dialog.inherit)
        if dialog.inherit.isChecked():
            p.press(dialog.inherit)
        fill(dialog.hours, "0")
        assert dialog.error.text() and not dialog.ok_button.isEnabled()
        fill(dialog.hours, "7")
        assert dialog.ok_button.isEnabled()
        p.finish(dialog.ok_button)

    presser.inside(GroupPropertiesDialog, lambda: click(page.group_button), cancel)
    presser.inside(GroupPropertiesDialog, window.action_group_properties.trigger, ok)
    settle_in(window)
    no_unexpected(closer)
    gid = MainWindow.group_id_of(window.tree.currentItem())
    assert gid is not None
    assert window.console.server.fleet.group_settings(gid)[0].sync_hours == 7
    assert closed_with == {"GroupPropertiesDialog": {"OK", "Cancel"}}


def test_press_everything_in_the_add_device_window(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """Add device…: an empty name (OK disabled), a name, a group and a platform chosen,
    OK (the device appears); Add device… again and Cancel."""
    window = open_window(qtbot, demo_env(tmp_path))
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    settle_in(window)

    def ok(dialog: AddDeviceDialog) -> None:
        p = Pressing(dialog)
        assert not dialog.ok_button.isEnabled()
        fill(dialog.name, "tablet-new-01")
        choose(dialog.group, "Managed devices/Warehouse scanners")
        choose(dialog.platform, "iOS")
        p.finish(dialog.ok_button)

    def cancel(dialog: AddDeviceDialog) -> None:
        Pressing(dialog).finish(dialog.cancel_button, every=False)

    presser.inside(AddDeviceDialog, lambda: click(page.add_button), ok)
    settle_in(window)
    presser.inside(AddDeviceDialog, lambda: click(page.add_button), cancel)
    no_unexpected(closer)
    fill(page.filter_edit, "tablet-new")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    assert closed_with == {"AddDeviceDialog": {"OK", "Cancel"}}


def test_press_everything_in_the_delivery_window(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser
) -> None:
    """At-risk devices… → the delivery window: each Show choice; on each with devices, the
    list's menu and Save as CSV… into a file; then Close."""
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    _props, page = open_certificates(qtbot, window)
    settle_in(window)
    click(page.at_risk_button)
    dialogs = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, DeliveryDialog) and w.isVisible()]
    assert len(dialogs) == 1
    dialog = dialogs[0]
    qtbot.waitExposed(dialog)
    p = Pressing(dialog)
    saved: list[tuple[str, int]] = []
    for index in range(dialog.state.count()):
        choose(dialog.state, dialog.state.itemText(index))
        shown = dialog.model.rowCount()
        if not shown:
            assert not dialog.save_button.isEnabled()
            continue
        click_row(dialog.view, dialog.model.index(0, 0))
        entries = menu_entries(dialog.list_tools, dialog)  # Save as CSV…: Cancel
        assert {"Copy", "Select all", "Save as CSV…"} <= set(entries), entries
        target = tmp_path / f"devices-{index}.csv"
        closer.spare.append(QFileDialog)
        try:
            answer = FileDialogDriver(target)
            p.press(dialog.save_button)
            answer.check()
        finally:
            closer.spare.remove(QFileDialog)
        settle_in(dialog)
        saved.append((dialog.state.itemText(index), shown))
        with target.open(encoding="utf-8", newline="") as f:
            assert len(list(csv.reader(f))) == shown + 1  # a header, then each row
    assert len(saved) >= 2, saved
    close = dialog.buttons.buttons()[0]
    p.finish(close)
    no_unexpected(closer)
    assert closed_with == {"DeliveryDialog": {"Close"}}


# --- Distribution points: Add, host Properties, the pickers, Check -------------------------------


def test_press_everything_in_the_distribution_point_windows(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """Add (Select and its menu entry, the device picker, Select scope and the group picker,
    each with Cancel and then with OK), the host's Properties (each section, the Connection
    gateway check box, a wrong port, Reconnect answered No, Cancel, then OK), Check (on a
    port where nothing listens, then Close)."""
    from test_gateways_ui import GATEWAY, stale_env

    window = open_window(qtbot, stale_env(tmp_path))
    props = window.open_properties()
    qtbot.waitExposed(props)
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    page = props.distribution_points_page
    settle_in(props)
    qtbot.waitUntil(lambda: page.table.rowCount() > 0, timeout=WAIT_MS)

    def pick(name: str) -> Callable[[DevicePickerDialog | GroupPickerDialog], None]:
        def handle(picker: DevicePickerDialog | GroupPickerDialog) -> None:
            p = Pressing(picker)
            item = picker.find_item(name)
            picker.tree.scrollToItem(item)
            QTest.mouseClick(picker.tree.viewport(), Qt.MouseButton.LeftButton,
                             pos=picker.tree.visualItemRect(item).center())
            p.finish(picker.ok_button)
        return handle

    def cancel_picker(picker: DevicePickerDialog | GroupPickerDialog) -> None:
        Pressing(picker).finish(picker.cancel_button)

    def add(dialog: AddDistributionPointDialog, with_ok: bool) -> None:
        p = Pressing(dialog)
        menu = PopupDriver()  # Select pops up its menu; closed again
        p.press(dialog.select_device_button)
        menu.check()
        assert menu.entries == ["Add device from group"], menu.entries
        presser.inside(DevicePickerDialog, dialog.add_from_group.trigger,
                       pick("spare-host") if with_ok else cancel_picker)
        presser.inside(GroupPickerDialog, lambda: p.press(dialog.select_scope_button),
                       pick("DMZ") if with_ok else cancel_picker)
        if with_ok:
            assert dialog.device_edit.text() == "spare-host"
            p.finish(dialog.ok_button)
        else:
            p.finish(dialog.cancel_button)

    presser.inside(AddDistributionPointDialog, lambda: click(page.add_button),
                   lambda d: add(d, False))
    presser.inside(AddDistributionPointDialog, lambda: click(page.add_button),
                   lambda d: add(d, True))
    settle_in(props)
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=WAIT_MS)

    def host(dialog: HostPropertiesDialog, with_ok: bool) -> None:
        p = Pressing(dialog)
        click_sections(dialog.sections, dialog.pages)
        if not with_ok:
            p.finish(dialog.cancel_button, every=False)
            return
        p.press(dialog.gateway_check)
        p.press(dialog.gateway_check)
        fill(dialog.mobile_port, "13000")  # the same as the agents' port
        assert not dialog.ok_button.isEnabled() and dialog.port_error.text()
        fill(dialog.mobile_port, "13292")
        p.press(dialog.reconnect_button)  # the question answered No
        p.finish(dialog.ok_button)

    page.select_host(GATEWAY)
    presser.inside(HostPropertiesDialog, lambda: click(page.properties_button),
                   lambda d: host(d, False))
    page.select_host(GATEWAY)
    presser.inside(HostPropertiesDialog, lambda: click(page.properties_button),
                   lambda d: host(d, True))
    settle_in(props)

    def check(dialog: CheckDialog) -> None:
        p = Pressing(dialog)
        fill(dialog.host, "127.0.0.1")
        fill(dialog.port, str(closed_port()))
        p.press(dialog.check_button)
        wait_for(lambda: dialog.result_value() is not None, WAIT_MS)
        assert dialog.verdict.property("severity") == "error", dialog.verdict.text()
        p.finish(dialog.buttons.buttons()[0])

    page.select_host(GATEWAY)
    presser.inside(CheckDialog, lambda: click(page.check_button), check)
    no_unexpected(closer)
    assert presser.windows.count("DevicePickerDialog") == 2
    assert any(s.startswith("QMessageBox: Reconnect") for s in closer.seen), closer.seen
    both = {"OK", "Cancel"}
    assert closed_with == {"AddDistributionPointDialog": both, "DevicePickerDialog": both,
                           "GroupPickerDialog": both, "HostPropertiesDialog": both,
                           "CheckDialog": {"Close"}}


# --- Watched endpoints ----------------------------------------------------------------------------


def test_press_everything_on_the_watched_endpoints_page(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser, presser: Presser
) -> None:
    """Add… (a wrong endpoint, then one where nothing listens, OK; again with Cancel), Check
    now, Copy, the check interval, Remove answered No, and every entry of the list's
    context menu."""
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    window.tree.setCurrentItem(window.watch_item)
    page = window.ensure_watch_page()
    assert page.isVisible()
    settle_in(window)
    endpoint = f"127.0.0.1:{closed_port()}"
    p = Pressing(window)

    def add(dialog: AddEndpointDialog) -> None:
        d = Pressing(dialog)
        fill(dialog.endpoint, "no port here")
        assert dialog.error.text() and not dialog.ok_button.isEnabled()
        fill(dialog.endpoint, endpoint)
        fill(dialog.name, "Nothing listens")
        d.finish(dialog.ok_button)

    def cancel(dialog: AddEndpointDialog) -> None:
        Pressing(dialog).finish(dialog.cancel_button, every=False)

    presser.inside(AddEndpointDialog, lambda: p.press(page.add_button), add)
    qtbot.waitUntil(lambda: len(page.model.entries) == 1, timeout=WAIT_MS)
    presser.inside(AddEndpointDialog, lambda: click(page.add_button), cancel)
    settle_in(window)
    click_row(page.table, page.proxy.index(0, 0))
    p.press(page.check_button)
    qtbot.waitUntil(lambda: page.model.entries[0].state == "unreachable", timeout=WAIT_MS)
    p.press(page.copy_button)
    assert endpoint in QGuiApplication.clipboard().text()
    click(page.interval)
    QTest.keyClick(page.interval, Qt.Key.Key_Up)
    settle_in(window)
    p.press(page.remove_button)  # the question answered No
    assert len(page.model.entries) == 1
    click_row(page.table, page.proxy.index(0, 0))
    entries = menu_entries(page.list_tools, window)
    assert {"Check now", "Remove", "Copy"} <= set(entries), entries
    assert p.not_pressed_in(page) == []
    no_unexpected(closer)
    assert sum(s == "QMessageBox: Remove endpoint" for s in closer.seen) == 2, closer.seen
    assert closed_with == {"AddEndpointDialog": {"OK", "Cancel"}}
    assert page.status.text().startswith("Checked 1 endpoint at "), page.status.text()
