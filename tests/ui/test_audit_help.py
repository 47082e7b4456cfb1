"""Action → Audit log (every recorded action, newest first, never a secret), the Help
menu (README sections, About) and Shift+F10 in the console tree (DESIGN §8)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from menukit import PopupDriver
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot
from uikit import AT, ModalDriver, click, make_env, open_window, refreshed, wait_idle

from kscert_gui.model.clock import iso
from kscert_gui.ui import help, ids, messages, text
from kscert_gui.ui.dialogs.about import AboutDialog
from kscert_gui.ui.dialogs.audit_log import AuditLogDialog
from kscert_gui.ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def open_audit(qtbot: QtBot, window: MainWindow) -> AuditLogDialog:
    window.show()
    qtbot.waitExposed(window)
    window.action_audit_log.trigger()
    dialog = window.audit_window
    assert dialog is not None
    qtbot.waitExposed(dialog)
    wait_idle(qtbot)
    assert dialog.reading is not None
    return dialog


def column(dialog: AuditLogDialog, col: int) -> list[str]:
    table = dialog.table
    return [table.item(r, col).text() for r in range(table.rowCount())]  # type: ignore[union-attr]


def test_the_audit_log_lists_every_action_newest_first(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path, mobile_devices=2)
    with env.server() as server:
        server.fleet.add_device("tablet-7", "Phones", "Android")
        # What a server answered may hold control characters; they are never shown.
        with server.store.transaction() as conn:
            server.store.audit(conn, AT, "devices-import", {"rows": 1250, "switch_at": iso(AT)})
            server.store.audit(conn, AT, "gateway-check", {"reason": "bad\x1b[31m\nline"})
        entries = server.store.audit_entries()
    window = open_window(qtbot, env)
    dialog = open_audit(qtbot, window)
    assert dialog.windowTitle() == "Audit log"
    table = dialog.table
    assert table.rowCount() == len(entries)
    newest = entries[-1]
    first = table.item(0, 0)
    assert first is not None
    assert first.text() == text.instant(newest.at)  # local time with its offset
    assert first.toolTip() == text.instant_utc(newest.at)  # UTC in the tooltip
    assert column(dialog, 1)[:3] == ["Gateway check", "Devices import", "Device add"]
    assert column(dialog, 2)[0] == "reason: bad\ufffd[31m\ufffdline"
    # The windows' number and date styles in the details too.
    assert column(dialog, 2)[1] == f"rows: 1\u00a0250; switch at: {text.instant(AT)}"
    assert "tablet-7" in column(dialog, 2)[2]
    assert column(dialog, 1)[-1] == entries[0].action.replace("-", " ").capitalize()
    assert dialog.status.text() == f"{len(entries)} recorded actions, newest first."
    # Nothing secret: no key of any entry names one.
    for line in column(dialog, 2):
        assert "password" not in line.lower() and "passphrase" not in line.lower()


def test_the_audit_log_copies_has_a_menu_and_follows_changes(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env = make_env(tmp_path, mobile_devices=2)
    window = open_window(qtbot, env)
    dialog = open_audit(qtbot, window)
    table = dialog.table
    before = table.rowCount()
    rect = table.visualRect(table.model().index(0, 1))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = [line.split("\t") for line in QGuiApplication.clipboard().text().splitlines()]
    assert lines[0] == ["Time", "Action", "Details"]
    assert lines[1] == [table.item(0, c).text() for c in range(3)]  # type: ignore[union-attr]
    driver = PopupDriver()
    QTest.keyClick(table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    driver.check()
    assert driver.entries == ["Copy", "Select all", "Save as CSV…"]
    selected = dialog.selected_ids()
    # A change made in the console appears without Refresh; the selection stays.
    window.console.server.fleet.add_device("new-phone", "Phones", "iOS")
    refreshed(qtbot, window)
    wait_idle(qtbot)
    assert table.rowCount() == before + 1
    assert column(dialog, 1)[0] == "Device add" and "new-phone" in column(dialog, 2)[0]
    assert dialog.selected_ids() == selected
    # Refresh (the button and F5) reads it again.
    with qtbot.waitSignal(dialog.sig_loaded, timeout=10_000):
        click(dialog.refresh_button)
    # Close, then Action → Audit log again raises the same window, read anew.
    close = dialog.buttons.button(QDialogButtonBox.StandardButton.Close)
    assert close is not None
    click(close)
    assert not dialog.isVisible()
    with qtbot.waitSignal(dialog.sig_loaded, timeout=10_000):
        window.action_audit_log.trigger()
    assert dialog.isVisible()


def test_help_opens_the_readme_at_each_section(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(help, "open_url", open_url)
    window = open_window(qtbot, make_env(tmp_path))
    labels = [a.text().replace("&", "") for a in window.help_actions]
    assert labels[0] == "Quick start"
    for action in window.help_actions:
        action.trigger()
    readme = help.readme_path()
    assert readme is not None
    headings = {help.anchor(line.lstrip("#").strip())
                for line in readme.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}
    assert len(opened) == len(help.SECTIONS)
    for url in opened:
        assert url.isLocalFile() and Path(url.toLocalFile()) == readme
        assert url.fragment() in headings
    assert help.anchor("Managed devices, the connection and the cut-over forecast") == (
        "managed-devices-the-connection-and-the-cut-over-forecast")


def test_help_without_a_program_for_the_readme_says_so(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(help, "open_url", lambda url: False)
    shown: list[str] = []
    monkeypatch.setattr(messages, "show_info", lambda _p, _t, body: shown.append(body))
    window = open_window(qtbot, make_env(tmp_path))
    window.help_actions[0].trigger()
    assert shown and shown[0].startswith("No program on this computer opens the README")


def test_about_names_version_store_and_licence(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    window = open_window(qtbot, env)
    seen: list[str] = []

    def read(dialog: AboutDialog) -> None:
        seen.append(dialog.label.text())
        close = dialog.buttons.button(QDialogButtonBox.StandardButton.Close)
        assert close is not None
        click(close)

    driver = ModalDriver(AboutDialog, read)
    window.action_about.trigger()
    driver.check()
    assert seen == [
        f"kscert_gui {metadata.version('kscert_gui')}\n"
        "Certificates console for the mobile Administration Server\n\n"
        f"Store: {env.home}\nLicence: MIT"
    ]


def test_shift_f10_opens_the_console_tree_menu(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    window.tree.setCurrentItem(window.server_item)
    window.tree.setFocus()
    # Opened from the keyboard, the first entry is selected: Return chooses it.
    driver = PopupDriver(key=Qt.Key.Key_Return)
    QTest.keyClick(window.tree, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    driver.check()
    assert driver.entries == ["Properties"]
    assert driver.active == "Properties"
    qtbot.waitUntil(lambda: window.properties_window is not None)
    props = window.properties_window
    assert props is not None and props.isVisible()
    assert props.objectName() == ids.PROPERTIES_WINDOW
