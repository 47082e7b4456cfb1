"""Every list copies its selected rows (Ctrl+C, tab-separated), has a context menu (right
click, Menu key, Shift+F10); the device and at-risk lists save as CSV (DESIGN §8)."""

from __future__ import annotations

import csv
import errno
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from menukit import FileDialogDriver, PopupDriver, wait_for
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QPushButton, QTableView
from pytestqt.qtbot import QtBot
from uikit import click, make_env, open_window, wait_idle

from kscert_gui.services import table_export
from kscert_gui.ui import ids, messages, text
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.devices.page import DevicesPage
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.widgets import file_dialogs

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def devices_page(qtbot: QtBot, window: MainWindow) -> DevicesPage:
    window.show()
    qtbot.waitExposed(window)
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    wait_idle(qtbot)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0)
    return page


def click_row(view: QTableView, row: int, modifier: Qt.KeyboardModifier = (
        Qt.KeyboardModifier.NoModifier)) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def clipboard_lines() -> list[list[str]]:
    return [line.split("\t") for line in QGuiApplication.clipboard().text().splitlines()]


@pytest.fixture
def infos(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(messages, "show_info", lambda _p, _t, text: seen.append(text))
    return seen


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    seen: list[BaseException] = []
    monkeypatch.setattr(messages, "show_error", lambda _p, err, *_a: seen.append(err))
    return seen


def test_ctrl_c_copies_the_selected_devices_as_tab_separated_rows(
    qtbot: QtBot, tmp_path: Path
) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=5)))
    view = page.view
    click_row(view, 1)
    click_row(view, 3, Qt.KeyboardModifier.ShiftModifier)
    QGuiApplication.clipboard().clear()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard_lines()
    header = [view.model().headerData(c, Qt.Orientation.Horizontal) for c in range(6)]
    assert lines[0] == header
    assert [line[0] for line in lines[1:]] == ["phone-0001", "phone-0002", "phone-0003"]
    # What the view shows, cell by cell.
    shown = [view.model().index(2, c).data() for c in range(6)]
    assert lines[2] == shown


def test_copy_follows_the_columns_as_shown(qtbot: QtBot, tmp_path: Path) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=3)))
    view = page.view
    header = view.horizontalHeader()
    header.moveSection(header.visualIndex(3), 0)  # Group first
    view.setColumnHidden(4, True)  # no Platform
    click_row(view, 0)
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard_lines()
    assert lines[0] == ["Group", "Name", "Connection", "At the cut-over",
                        "Last synchronization"]
    assert lines[1][:2] == ["Managed devices/Phones", "phone-0000"]


@pytest.mark.parametrize("key", ["shift+f10", "menu", "right-click"])
def test_the_device_list_menu_opens_by_mouse_and_keyboard(
    qtbot: QtBot, tmp_path: Path, key: str
) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=3)))
    view = page.view
    click_row(view, 2)
    view.setFocus()
    driver = PopupDriver("Copy")
    if key == "shift+f10":
        QTest.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    elif key == "menu":
        QTest.keyClick(view, Qt.Key.Key_Menu)
    else:
        # Qt sends the context menu event on a right button press (the offscreen platform
        # has no window system to do so).
        pos = view.visualRect(view.model().index(0, 0)).center()
        view.customContextMenuRequested.emit(pos)
    driver.check()
    assert driver.entries == ["Copy", "Select all", "Save as CSV…"]
    lines = clipboard_lines()
    wanted = "phone-0000" if key == "right-click" else "phone-0002"
    # A right click on a row not selected selects it first.
    assert [line[0] for line in lines[1:]] == [wanted]


def test_save_as_csv_writes_the_list_private_and_remembers_the_folder(
    qtbot: QtBot, tmp_path: Path, infos: list[str]
) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=4)))
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "my devices.csv"
    driver = FileDialogDriver(target)
    click(page.save_button)
    driver.check()
    wait_idle(qtbot)
    assert infos == [f"4 rows saved to {target}."]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["my devices.csv"]  # no temporary file left
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Name", "Connection", "At the cut-over"]
    assert [r[0] for r in rows[1:]] == [f"phone-{i:04d}" for i in range(4)]
    assert file_dialogs.last_folder() == folder
    # The next file dialog, Import from CSV here, starts in that folder.
    again = FileDialogDriver(None)
    click(page.import_button)
    again.check()
    assert again.directory == folder


def test_save_as_csv_with_a_filter_saves_what_is_shown(
    qtbot: QtBot, tmp_path: Path, infos: list[str]
) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=12)))
    QTest.keyClicks(page.filter_edit, "phone-001")
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    target = tmp_path / "filtered"  # no suffix: .csv is added
    driver = FileDialogDriver(target)
    click(page.save_button)
    driver.check()
    wait_idle(qtbot)
    rows = list(csv.reader(target.with_suffix(".csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rows[1:]] == ["phone-0010", "phone-0011"]


def test_a_write_error_is_a_plain_message(
    qtbot: QtBot, tmp_path: Path, errors: list[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(table_export, "write_private_file", full)
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=2)))
    driver = FileDialogDriver(tmp_path / "out.csv")
    click(page.save_button)
    driver.check()
    wait_idle(qtbot)
    assert len(errors) == 1
    text, details = messages.describe(errors[0])
    assert details is None  # not an "unexpected error"
    assert text == f"The file {tmp_path / 'out.csv'} cannot be written: No space left on device."


def test_a_cancelled_save_writes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=2)))
    driver = FileDialogDriver(None)
    click(page.save_button)
    driver.check()
    assert page.list_tools.save_task is None


def open_delivery(qtbot: QtBot, page: DevicesPage) -> DeliveryDialog:
    click(page.delivery_button)
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, DeliveryDialog) and w.isVisible())
    qtbot.waitExposed(dialog)
    return dialog


def test_the_at_risk_list_copies_has_a_menu_and_saves_as_csv(
    qtbot: QtBot, tmp_path: Path, infos: list[str]
) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=6)))
    dialog = open_delivery(qtbot, page)
    dialog.state.setCurrentIndex(dialog.state.count() - 1)  # All devices
    view = dialog.view
    qtbot.waitUntil(lambda: view.model().rowCount() == 6)
    click_row(view, 0)
    driver = PopupDriver("Select all")
    QTest.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    driver.check()
    assert driver.entries == ["Copy", "Select all", "Save as CSV…"]
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = clipboard_lines()
    assert len(lines) == 7 and lines[0][1] == "Why"  # right after the name
    target = tmp_path / "risk.csv"
    saver = FileDialogDriver(target)
    button = dialog.findChild(QPushButton, ids.BUTTON_SAVE_AT_RISK_CSV)
    assert button is not None
    click(button)
    saver.check()
    wait_idle(qtbot)
    rows = list(csv.reader(target.open(encoding="utf-8-sig")))
    assert len(rows) == 7 and rows[0][1] == "Why"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    dialog.close()


def test_copy_with_nothing_selected_leaves_the_clipboard(qtbot: QtBot, tmp_path: Path) -> None:
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=2)))
    view = page.view
    view.clearSelection()
    QGuiApplication.clipboard().setText("before")
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "before"
    driver = PopupDriver()
    view.customContextMenuRequested.emit(QPoint(2, view.viewport().height() - 2))
    driver.check()
    assert driver.enabled["Copy"] is False
    wait_for(lambda: QApplication.activePopupWidget() is None)
    assert view.selectionMode() == QAbstractItemView.SelectionMode.ExtendedSelection


def test_distribution_points_copy_whole_values_and_keep_the_host_menu(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from test_gateways_ui import GATEWAY, open_points, row_of, stale_env

    from kscert_gui.ui.properties.distribution_points import HEADERS

    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    table = page.table
    row = row_of(page, GATEWAY)
    item = table.item(row, 0)
    assert item is not None
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, table.visualItemRect(item).center())
    driver = PopupDriver("Copy")
    QTest.keyClick(table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    driver.check()
    assert driver.entries == ["Properties", "Check", "Reconnect", "Remove", "Copy"]
    assert driver.enabled["Reconnect"] is True
    lines = clipboard_lines()
    assert lines[0] == list(HEADERS)  # each on one line (the view breaks them in two)
    assert lines[1][0] == GATEWAY and lines[1][5] == "No"
    held = page.points[row].sha256
    assert held is not None and lines[1][4] == held  # the whole SHA-256, not "…"


def test_findings_copy_and_menu(qtbot: QtBot) -> None:
    from kscert_gui.ui.widgets.issues import FindingsTable, Verdict

    table = FindingsTable("findings")
    qtbot.addWidget(table)
    table.set_verdicts([Verdict("error", "san-missing", "No SAN.", "Add one."),
                        Verdict("warning", "short", "Short\tlife.")])
    table.show()
    qtbot.waitExposed(table)
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard_lines() == [["Severity", "Code", "Message", "How to fix"],
                                 ["error", "san-missing", "No SAN.", "Add one."],
                                 ["warning", "short", "Short life.", ""]]
    driver = PopupDriver()
    QTest.keyClick(table, Qt.Key.Key_Menu)
    driver.check()
    assert driver.entries == ["Copy", "Select all"]


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_last_synchronization_is_local_time_with_its_offset(
    qtbot: QtBot, tmp_path: Path, berlin: None
) -> None:
    """One date style in windows: local time and offset; UTC in the tooltip."""
    from uikit import AT

    from kscert_gui.ui.devices.table_model import COL_LAST

    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=1)))
    index = page.model.index(0, COL_LAST)
    # The devices synchronized an hour before AT (09:30 UTC): 09:30 in Berlin in March.
    assert index.data() == "2026-03-02 09:30:00 +01:00"
    assert index.data(Qt.ItemDataRole.ToolTipRole) == "2026-03-02 08:30:00 UTC"
    assert index.data() == text.instant(AT - timedelta(hours=1))
    assert page.model.cell_text(0, COL_LAST) == index.data()


def test_the_viewer_fields_copy_as_rows(qtbot: QtBot, tmp_path: Path) -> None:
    from uikit import ModalDriver, open_certificates

    from kscert_gui.ui.dialogs.viewer import CertificateViewer

    window = open_window(qtbot, make_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    seen: list[list[list[str]]] = []

    def copy(viewer: CertificateViewer) -> None:
        table = viewer.details_table
        viewer.tabs.setCurrentIndex(1)
        first = table.item(0, 0)
        assert first is not None
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, table.visualItemRect(first).center())
        QTest.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        seen.append(clipboard_lines())
        viewer.reject()

    driver = ModalDriver(CertificateViewer, copy)
    click(page.view_button)
    driver.check()
    lines = seen[0]
    assert lines[0] == ["Field", "Value"] and len(lines) == 2


def test_a_long_selection_is_copied_by_a_worker(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kscert_gui.ui.widgets import list_tools

    monkeypatch.setattr(list_tools, "COPY_IN_WORKER", 3)
    page = devices_page(qtbot, open_window(qtbot, make_env(tmp_path, mobile_devices=8)))
    view = page.view
    click_row(view, 0)
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QGuiApplication.clipboard().setText("before")
    QTest.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot)
    lines = clipboard_lines()
    assert [line[0] for line in lines] == ["Name"] + [f"phone-{i:04d}" for i in range(8)]


def test_a_tree_widget_list_copies_too(qtbot: QtBot) -> None:
    """A flat QTreeWidget (the certificate history) gets the same tools."""
    from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

    from kscert_gui.ui.widgets.list_tools import ListTools

    tree = QTreeWidget()
    qtbot.addWidget(tree)
    tree.setHeaderLabels(["State", "Subject"])
    tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    tree.addTopLevelItems([QTreeWidgetItem(["retired", "CN=a"]),
                           QTreeWidgetItem(["cancelled", "CN=b"])])
    ListTools(tree, title="History")
    tree.show()
    qtbot.waitExposed(tree)
    tree.setFocus()
    first = tree.topLevelItem(0)
    assert first is not None
    tree.setCurrentItem(first)
    QTest.keyClick(tree, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard_lines() == [["State", "Subject"], ["retired", "CN=a"],
                                 ["cancelled", "CN=b"]]
    driver = PopupDriver(key=Qt.Key.Key_Escape)
    QTest.keyClick(tree, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    driver.check()
    assert driver.entries == ["Copy", "Select all"] and driver.active == "Copy"
