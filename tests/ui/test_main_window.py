"""Main window: console tree, status bar expiry watch, geometry in QSettings, read-only mode."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QTreeWidgetItem, QWidget
from pytestqt.qtbot import QtBot
from uikit import (
    ADDRESS,
    AT,
    click,
    isolate_settings,
    make_env,
    open_certificates,
    open_window,
    refreshed,
)

from kscert_gui.app import build_main_window
from kscert_gui.model.clock import FixedClock
from kscert_gui.services import demo
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids, text
from kscert_gui.ui.main_window import MainWindow

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def child_text(item: QTreeWidgetItem, index: int) -> str:
    child = item.child(index)
    assert child is not None
    return child.text(0)


def test_tree_has_server_and_managed_devices(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path, mobile_devices=2)
    window = open_window(qtbot, env)
    assert window.objectName() == ids.MAIN_WINDOW
    assert window.server_item.text(0) == f"Administration Server {window.console.server.name}"
    assert window.devices_item.text(0) == "Managed devices"
    assert window.devices_item.parent() is window.server_item
    groups = [child_text(window.devices_item, i) for i in range(window.devices_item.childCount())]
    assert groups == ["Phones"]
    assert [a.text().replace("&", "") for a in window.context_menu_actions()] == ["Properties"]


def test_double_click_opens_properties_on_certificates(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    window.tree.itemDoubleClicked.emit(window.server_item, 0)
    props = window.properties_window
    assert props is not None and props.isVisible()
    assert props.current_section() == ids.SECTION_CERTIFICATES
    assert props.windowTitle().startswith("Properties: Administration Server")
    # A second request raises the same window instead of opening another.
    assert window.open_properties() is props


def test_reopened_properties_show_what_changed_while_closed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """A change made while the window was closed (here through the console, as the
    devices page or a simulation step would) is shown when it is opened again."""
    window = open_window(qtbot, make_env(tmp_path))
    props = window.open_properties()
    reserve = props.findChild(QLabel, ids.LABEL_RESERVE_SUBJECT)
    assert reserve is not None
    before = reserve.text()
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    props.select_section(ids.SECTION_CERTIFICATES)
    props.close()
    window.console.server.reissue(ReissueRequest(None, 30), confirmed=True)
    assert window.open_properties() is props
    qtbot.waitUntil(lambda: reserve.text() != before, timeout=10_000)  # read in a worker
    assert reserve.text() != before
    assert "CN=" + ADDRESS in reserve.text()


def test_distribution_points_page_is_built_when_first_shown(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    props = window.open_properties()
    assert props.findChild(QWidget, ids.PAGE_DISTRIBUTION_POINTS) is None  # start-up time
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    page = props.distribution_points_page
    assert props.pages.currentWidget() is page
    assert props.findChild(QWidget, ids.PAGE_DISTRIBUTION_POINTS) is page
    props.select_section(ids.SECTION_CERTIFICATES)
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    assert props.distribution_points_page is page


def test_status_bar_ok(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=10))
    label = window.valid_to_label
    assert label.text().startswith("Valid to: ")
    assert "387 days left" in label.text()
    assert label.property("alert") is False


def test_status_bar_expiring_is_coloured_until_a_reserve_exists(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env = make_env(tmp_path, main_age_days=377)  # 20 days left
    window = open_window(qtbot, env)
    label = window.valid_to_label
    assert "20 days left and no reserve certificate" in label.text()
    assert label.property("alert") is True
    assert text.ALERT_COLOR in label.styleSheet()
    _props, page = open_certificates(qtbot, window)
    assert page.days_left.property("alert") is True
    window.console.server.reissue(ReissueRequest(None, 15), confirmed=True)
    refreshed(qtbot, window)
    assert label.property("alert") is False
    assert "reserve certificate is pending" in label.text()
    assert page.days_left.property("alert") is False



def test_status_bar_at_the_expiry_boundary(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path, main_age_days=397)  # now == notAfter: still valid, 0 days left
    window = open_window(qtbot, env)
    assert "0 days left" in window.valid_to_label.text()
    env.clock.advance(timedelta(seconds=1))
    refreshed(qtbot, window)
    assert "Expired on" in window.valid_to_label.text()
    assert "connection with devices lost" in window.valid_to_label.text()
    assert window.valid_to_label.property("alert") is True


def test_status_bar_without_certificate(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main=False))
    assert window.valid_to_label.text().startswith("No certificate")
    assert window.valid_to_label.property("alert") is True


def test_geometry_is_kept_and_no_secret_in_settings(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    folder = isolate_settings(tmp_path)
    window = build_main_window(env.home, secrets=env.secrets, clock=env.clock)
    qtbot.addWidget(window)
    window.resize(700, 500)
    window.close()
    settings = QSettings("kscert_gui", "kscert_gui")
    assert settings.value("main_window/geometry") is not None
    again = build_main_window(env.home, secrets=env.secrets, clock=env.clock)
    assert isinstance(again, MainWindow)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (700, 500)
    stored = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert stored, "the settings file was written"
    passphrase = env.secrets.get_passphrase(again.console.server.store.store_id)
    assert passphrase is not None and passphrase not in stored
    assert b"password" not in stored.lower() and b"passphrase" not in stored.lower()


def test_read_only_when_store_is_locked(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    isolate_settings(tmp_path)
    holder = AdministrationServer.open(env.home, env.secrets, clock=env.clock)
    try:
        window = build_main_window(env.home, secrets=env.secrets, clock=env.clock)
        assert isinstance(window, MainWindow)
        qtbot.addWidget(window)
        assert window.console.read_only
        assert "Read-only" in window.mode_label.text()
        _props, page = open_certificates(qtbot, window)
        assert not page.reissue_button.isEnabled()
        assert not page.browse_button.isEnabled()
        assert not page.radio_other.isEnabled()
        assert page.valid_to.toolTip().endswith("UTC")  # reading still works
    finally:
        holder.close()


def test_demo_store_shows_fleet_and_gateway(qtbot: QtBot, tmp_path: Path) -> None:
    home = tmp_path / "demo"
    secrets = MemorySecretStore()
    clock = FixedClock(AT)
    demo.create_demo_store(home, secrets, clock, pin_clock=True)
    isolate_settings(tmp_path)
    window = build_main_window(home, secrets=secrets, clock=clock)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    assert window.server_item.text(0) == "Administration Server Training"
    names = {child_text(window.devices_item, i) for i in range(window.devices_item.childCount())}
    assert names == {name for name, _h, _s in demo.DEMO_GROUPS}
    assert "20 days left" in window.valid_to_label.text()
    assert window.valid_to_label.property("alert") is True
    assert "Training store" in window.mode_label.text()
    props = window.open_properties()
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    table = props.distribution_points_page.table
    assert props.pages.currentWidget() is props.distribution_points_page
    assert table.rowCount() == 1
    cells = [table.item(0, c).text() for c in range(table.columnCount())]  # type: ignore[union-attr]
    assert cells[:4] == [demo.GATEWAY_HOST, "Yes", "13000", "13292"]
    assert cells[5] == "Yes"
    page = props.certificates_page
    assert page.warnings.verdicts and page.warnings.verdicts[0].code == "expiring"


def test_summary_pane_follows_the_tree(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, mobile_devices=3))
    assert ADDRESS in window.summary.text()
    assert window.properties_button.isVisibleTo(window)
    window.tree.setCurrentItem(window.devices_item)
    assert "3 managed mobile devices" in window.summary.text()
    assert not window.properties_button.isVisibleTo(window)
    window.tree.setCurrentItem(window.server_item)
    click(window.properties_button)
    assert window.properties_window is not None
