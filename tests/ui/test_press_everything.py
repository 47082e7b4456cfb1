"""STYLE habit 13: in each window this part of the console touches, every enabled button
and menu entry is pressed once, as a person would; every modal answer is dismissed
(Cancel, No, Close) by a timer. No "unexpected error" appears and no exception escapes
(pytest-qt fails the test on one raised in a slot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from menukit import ModalCloser, trigger_all, wait_for
from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMenu, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from uikit import click, demo_env, open_window, wait_idle

from kscert_gui.ui import help, ids, tasks
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.dialogs.audit_log import AuditLogDialog
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.widgets.list_tools import ListTools

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def closer(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModalCloser]:
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(help, "open_url", open_url)
    driver = ModalCloser()
    yield driver
    driver.stop()


def settle(qtbot: QtBot) -> None:
    """Until the work a press started has ended and its answers were dismissed."""
    wait_for(lambda: not tasks.active_tasks() and QApplication.activeModalWidget() is None,
             60_000)
    wait_idle(qtbot, 60_000)


def buttons_of(window: QWidget) -> list[QPushButton]:
    """The enabled buttons shown in ``window``, those of its button box (Close) last."""
    shown = [b for b in window.findChildren(QPushButton)
             if b.window() is window and b.isVisibleTo(window) and b.isEnabled()]
    boxed = [b for b in shown if isinstance(b.parentWidget(), QDialogButtonBox)]
    return [b for b in shown if b not in boxed] + boxed


def press_all(qtbot: QtBot, window: QWidget, keep_open: bool = False) -> list[str]:
    pressed: list[str] = []
    for button in buttons_of(window):
        if keep_open and isinstance(button.parentWidget(), QDialogButtonBox):
            continue
        if not (button.isVisibleTo(window) and button.isEnabled()):
            continue  # an earlier press changed it
        pressed.append(button.text().replace("&", ""))
        click(button)
        settle(qtbot)
    return pressed


def press_list_menu(qtbot: QtBot, tools: ListTools) -> list[str]:
    """Every enabled entry of a list's context menu (as the menu would show them)."""
    actions = [a for a in tools.menu_actions() if isinstance(a, QAction)]
    return trigger_all(actions, lambda: settle(qtbot))


def shown(cls: type[QWidget]) -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, cls) and w.isVisible()]


def test_press_everything_in_the_main_window_devices_and_their_windows(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser
) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    qtbot.waitExposed(window)
    report: dict[str, list[str]] = {}

    # Menus, Quit last.
    quit_action = window.action_quit
    entries: list[QAction] = []
    for top in window.menuBar().actions():
        menu = top.menu()
        assert isinstance(menu, QMenu)
        entries += [a for a in menu.actions() if a is not quit_action]
    report["menus"] = trigger_all(entries, lambda: settle(qtbot))
    assert "Audit log…" in report["menus"] and "About kscert_gui…" in report["menus"]
    for other in shown(AuditLogDialog):
        report["audit log"] = press_all(qtbot, other, keep_open=True)
        assert isinstance(other, AuditLogDialog)
        report["audit log menu"] = press_list_menu(qtbot, other.list_tools)
        press_all(qtbot, other)
    props = window.properties_window
    if props is not None:
        props.close()

    # The server node, then Managed devices with its list and buttons.
    window.tree.setCurrentItem(window.server_item)
    report["server"] = press_all(qtbot, window)
    if window.properties_window is not None:
        window.properties_window.close()
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    settle(qtbot)
    page.view.selectRow(0)
    report["devices menu"] = press_list_menu(qtbot, page.list_tools)
    report["devices"] = press_all(qtbot, window)
    assert {"Add device…", "Import from CSV…", "Delivery and at-risk devices…",
            "Save as CSV…", "Advance", "Reinstall agent…"} <= set(report["devices"])
    for dialog in shown(DeliveryDialog):
        assert isinstance(dialog, DeliveryDialog)
        dialog.view.selectRow(0)
        report["at-risk menu"] = press_list_menu(qtbot, dialog.list_tools)
        report["delivery"] = press_all(qtbot, dialog)
    assert "Save as CSV…" in report["delivery"] and "Close" in report["delivery"]
    # A group node: Group properties.
    group = window.devices_item.child(0)
    assert group is not None
    window.tree.setCurrentItem(group)
    settle(qtbot)
    report["group"] = press_all(qtbot, window)
    assert "Group properties…" in report["group"]

    assert closer.unexpected == [], closer.unexpected
    assert any(s.startswith("QFileDialog") for s in closer.seen)
    quit_action.trigger()
    settle(qtbot)
    assert not window.isVisible()


def test_press_everything_in_the_distribution_points_section(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser
) -> None:
    from test_gateways_ui import stale_env

    window = open_window(qtbot, stale_env(tmp_path))
    assert isinstance(window, MainWindow)
    props = window.open_properties()
    qtbot.waitExposed(props)
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    page = props.distribution_points_page
    settle(qtbot)
    qtbot.waitUntil(lambda: page.table.rowCount() > 0)
    page.table.selectRow(0)
    pressed = press_list_menu(qtbot, page.list_tools)
    assert {"Properties", "Check", "Reconnect", "Remove", "Copy"} <= set(pressed)
    page.table.selectRow(0)
    pressed = press_all(qtbot, props)
    assert {"Add", "Remove", "Properties", "Check", "Reconnect", "Close"} <= set(pressed)
    assert closer.unexpected == [], closer.unexpected
    assert not props.isVisible()


def test_press_everything_on_the_certificates_page(
    qtbot: QtBot, tmp_path: Path, closer: ModalCloser
) -> None:
    """Reissue, View certificate, Check, View reserve certificate, Cancel reserve
    certificate, At-risk devices… (and the delivery window's buttons), then Other
    certificate's Browse, then Close: each window they open is dismissed."""
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    props = window.open_properties()
    qtbot.waitExposed(props)
    props.select_section(ids.SECTION_CERTIFICATES)
    page = props.certificates_page
    settle(qtbot)
    pressed = press_all(qtbot, props, keep_open=True)
    assert {"Reissue", "View certificate", "Check", "View reserve certificate",
            "Cancel reserve certificate", "At-risk devices…"} <= set(pressed), pressed
    for dialog in shown(DeliveryDialog):
        press_all(qtbot, dialog)
    click(page.radio_other)
    assert page.browse_button.isEnabled()
    click(page.browse_button)
    settle(qtbot)
    pressed = press_all(qtbot, props)
    assert "Close" in pressed and not props.isVisible()
    assert closer.unexpected == [], closer.unexpected
    assert {"ReissueDialog", "OtherCertificateDialog", "CertificateViewer", "CheckDialog"} <= {
        s.split(":")[0] for s in closer.seen}, closer.seen
