"""What the main window says beside the console tree: the server node names the reserve
certificate's delivery count once (it said "0 of 1 250 devices have the reserve
certificate" twice), and a group node's delivery summary counts that group's devices
(it counted the whole fleet under the group's own line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot
from uikit import demo_env, open_window, wait_idle

from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.text import thousands

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def _click_node(qtbot: QtBot, window: MainWindow, item: QTreeWidgetItem) -> None:
    window.tree.scrollToItem(item)
    QTest.mouseClick(window.tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.tree.visualItemRect(item).center())
    assert window.tree.currentItem() is item
    wait_idle(qtbot)


def _group_item(window: MainWindow, name: str) -> QTreeWidgetItem:
    window.devices_item.setExpanded(True)
    for i in range(window.devices_item.childCount()):
        child = window.devices_item.child(i)
        if child is not None and child.text(0) == name:
            return child
    raise AssertionError(f"no group node {name!r}")


def test_the_server_node_names_the_delivery_count_once(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    qtbot.waitExposed(window)
    _click_node(qtbot, window, _group_item(window, "Field staff"))
    _click_node(qtbot, window, window.server_item)
    summary = window.summary.text()
    assert summary.count("devices have the reserve certificate") == 1, summary
    assert "Reserve certificate becomes main at " in summary
    # The line that says it keeps what it means for the others.
    assert "the others lose the connection unless they synchronize before" in summary


def test_the_server_node_gives_the_reissue_advice_once(qtbot: QtBot, tmp_path: Path) -> None:
    """The demo store's first start: the expiry warning and the at-risk one both ended with
    the advice, and the summary said it twice."""
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    _click_node(qtbot, window, window.server_item)
    summary = window.summary.text()
    assert summary.count("Reissue it with a delayed activation term now.") == 1, summary
    # Both warnings are still there, each with what it says.
    assert "The mobile certificate expires in 20 days" in summary
    assert "No reserve certificate is specified: all " in summary
    assert "lose the connection when the main certificate expires at " in summary


def test_a_group_node_counts_the_group(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    qtbot.waitExposed(window)
    snapshot = window.snapshot
    assert snapshot is not None and snapshot.group_counts is not None
    item = _group_item(window, "Field staff")
    group_id = window.group_id_of(item)
    assert group_id is not None
    counts = snapshot.group_counts[group_id]
    fleet = snapshot.status.fleet.devices
    assert 0 < counts.devices < fleet
    _click_node(qtbot, window, item)
    page = window.devices_page
    assert page is not None and page.isVisible()
    delivery = page.delivery.text()
    n = thousands(counts.devices)
    assert delivery.startswith(
        f"{thousands(counts.connected)} of {n} mobile devices in this group are connected"), (
        delivery)
    assert f"0 of {n} devices have the reserve certificate" in delivery, delivery
    assert thousands(fleet) not in delivery, delivery
    # "All groups" in the page's own Group filter: every device again.
    combo = page.group_combo
    combo.setFocus()
    while combo.currentIndex() > 0:
        QTest.keyClick(combo, Qt.Key.Key_Up)
    assert combo.currentData() is None
    every = snapshot.devices.counts
    assert page.delivery.text().startswith(
        f"{thousands(every.connected)} of {thousands(fleet)} mobile devices are connected"), (
        page.delivery.text())
