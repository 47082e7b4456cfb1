"""Managed devices in the console: device list, filters, sort, group Properties, at-risk list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTreeWidgetItem
from pytestqt.qtbot import QtBot
from uikit import (
    ModalDriver,
    click,
    demo_env,
    make_env,
    open_certificates,
    open_window,
    wait_idle,
)

from kscert_gui.ui import ids, messages, text
from kscert_gui.ui.devices.add_device import AddDeviceDialog
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.devices.group_properties import GroupPropertiesDialog
from kscert_gui.ui.devices.page import DevicesPage
from kscert_gui.ui.devices.table_model import (
    COL_LAST,
    COL_NAME,
    COL_REASON,
    COL_STATE,
    STATE_ROLE,
    DeviceTableModel,
)
from kscert_gui.ui.main_window import MainWindow

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)



def children(window: MainWindow) -> list[QTreeWidgetItem]:
    root = window.devices_item
    items = (root.child(i) for i in range(root.childCount()))
    return [c for c in items if c is not None]


def devices_page(qtbot: QtBot, window: MainWindow, group: str | None = None) -> DevicesPage:
    item = window.devices_item
    if group is not None:
        item = next(c for c in children(window) if c.text(0) == group)
    window.tree.setCurrentItem(item)
    page = window.devices_page
    assert page is not None
    wait_idle(qtbot)
    assert page.table is not None
    return page


def column(model: DeviceTableModel, col: int,
           role: int = Qt.ItemDataRole.DisplayRole) -> list[Any]:
    return [model.data(model.index(r, col), role) for r in range(model.rowCount())]


def test_device_list_shows_sorts_and_filters(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    page = devices_page(qtbot, window)
    model = page.model
    assert page.objectName() == ids.PAGE_DEVICES and page.isVisible()
    assert model.rowCount() == 1251
    assert page.count.text() == "1\u00a0251 of 1\u00a0251 devices"
    names = column(model, COL_NAME)
    assert names == sorted(names, key=lambda n: str(n).casefold())
    assert "of 1\u00a0250 devices have the reserve certificate" in page.delivery.text()

    # Sort by last synchronization, newest first; "never" goes last.
    page.view.sortByColumn(COL_LAST, Qt.SortOrder.DescendingOrder)
    shown = column(model, COL_LAST)
    assert shown[0] != "never" and shown[-1] == "never"
    stamps = [s for s in shown if s != "never"]
    assert stamps == sorted(stamps, reverse=True)
    page.view.sortByColumn(COL_NAME, Qt.SortOrder.DescendingOrder)
    assert column(model, COL_NAME)[0] == max(names, key=lambda n: str(n).casefold())

    # Filter by name, group and state.
    page.filter_edit.setText("IPH-000")
    assert model.rowCount() > 0
    assert all("iph-000" in str(n) for n in column(model, COL_NAME))
    page.filter_edit.clear()
    page.group_combo.setCurrentIndex(page.group_combo.findText(
        "Managed devices/Warehouse scanners"))
    assert model.rowCount() == 200
    page.state_combo.setCurrentIndex(page.state_combo.findData("at-risk"))
    at_risk = column(model, COL_STATE, STATE_ROLE)
    assert at_risk and set(at_risk) == {"at-risk"}
    assert set(column(model, COL_STATE)) == {"at risk"}
    page.group_combo.setCurrentIndex(0)
    page.state_combo.setCurrentIndex(0)
    assert model.rowCount() == 1251


def test_selecting_a_group_in_the_tree_filters_the_list(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path))
    page = devices_page(qtbot, window, "Field staff")
    assert page.model.rowCount() == 450
    assert page.group_combo.currentText() == "Managed devices/Field staff"
    assert page.group_button.isEnabled()
    window.tree.setCurrentItem(window.server_item)
    assert not page.isVisibleTo(window)


def test_sync_settings_page_changes_the_period_and_the_store(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env = demo_env(tmp_path)
    window = open_window(qtbot, env)
    page = devices_page(qtbot, window, "Head office")
    seen: dict[str, object] = {}

    def fill(dialog: GroupPropertiesDialog) -> None:
        assert dialog.pages.currentWidget() is dialog.sync_page
        assert dialog.sync_page.objectName() == ids.PAGE_SYNC_SETTINGS
        assert dialog.inherit.isChecked() and not dialog.hours.isEnabled()
        dialog.inherit.setChecked(False)
        dialog.hours.setValue(0)
        seen["blocked"] = not dialog.ok_button.isEnabled()
        seen["error"] = dialog.error.text()
        dialog.hours.setValue(3.5)
        seen["effective"] = dialog.effective.text()
        click(dialog.ok_button)

    driver = ModalDriver(GroupPropertiesDialog, fill)
    window.action_group_properties.trigger()
    driver.check()
    wait_idle(qtbot)
    assert seen["blocked"] and "1 minute to 720 hours" in str(seen["error"])
    assert "every 3.5 hours" in str(seen["effective"])
    settings = window.console.server.fleet.group_settings(page.group_combo.currentData())[0]
    assert settings.path == "Managed devices/Head office" and settings.sync_hours == 3.5
    entry = window.console.server.store.audit_entries()[-1]
    assert entry.action == "group-sync" and entry.detail["hours"] == 3.5


def test_at_risk_list_opens_from_the_certificates_page(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    _props, certificates = open_certificates(qtbot, window)
    assert certificates.at_risk_button.objectName() == ids.BUTTON_AT_RISK
    assert certificates.at_risk_button.isEnabled()
    assert "of 1\u00a0250 devices have the reserve certificate" in certificates.delivery.text()
    click(certificates.at_risk_button)
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, DeliveryDialog) and w.isVisible())
    qtbot.addWidget(dialog)
    wait_idle(qtbot)
    status = window.console.server.status()
    at_risk = [w for w in status.warnings if w.code == "devices-at-risk"]
    assert at_risk
    model = dialog.model
    assert model.rowCount() > 0
    assert set(column(model, COL_STATE, STATE_ROLE)) == {"at-risk"}
    assert str(model.rowCount()) in at_risk[0].message
    reasons = column(model, COL_REASON)
    assert all(r for r in reasons)
    assert "at risk" in dialog.summary.text()
    assert dialog.chart.data is not None and dialog.chart.data.total == 1250
    assert not dialog.chart.grab().isNull()  # paints without error
    dialog.state.setCurrentIndex(dialog.state.findData(None))
    assert model.rowCount() == 1251


def test_simulation_controls_advance_a_training_store(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    page = devices_page(qtbot, window)
    assert page.sim_group.isVisibleTo(window)
    page.sim_amount.setValue(31)
    page.sim_unit.setCurrentIndex(page.sim_unit.findData(24))
    click(page.sim_button)
    wait_idle(qtbot)
    assert window.console.server.now() == T0 + timedelta(days=31)
    assert "lost the connection" in page.delivery.text()
    assert page.sim_clock.text() == f"Now: {text.instant(T0 + timedelta(days=31))}"
    assert "lost" in set(column(page.model, COL_STATE, STATE_ROLE))
    assert window.status is not None and window.status.reserve is None


def test_real_store_has_no_simulation_controls(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, mobile_devices=4))
    page = devices_page(qtbot, window)
    assert not page.sim_group.isVisibleTo(window)
    assert page.model.rowCount() == 4


def test_add_device_and_import_csv_from_the_page(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, make_env(tmp_path, mobile_devices=2))
    page = devices_page(qtbot, window)

    def fill(dialog: AddDeviceDialog) -> None:
        dialog.name.setText("tablet-1")
        dialog.platform.setCurrentText("Android")
        ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
        assert ok is not None
        click(ok)

    driver = ModalDriver(AddDeviceDialog, fill)
    click(page.add_button)
    driver.check()
    wait_idle(qtbot)
    assert "tablet-1" in page.model.visible_names()

    csv_path = tmp_path / "devices.csv"
    csv_path.write_text("name;group;platform;last synchronization\n"
                        "new-1;Kiosks;iOS;01.03.2026 08:00:00\n"
                        "new-2;Kiosks;Nokia;\n", encoding="utf-8")
    asked: list[str] = []
    told: list[str] = []
    def confirm(_parent: object, _title: str, question: str, default_no: bool) -> bool:
        asked.append(question)
        return True

    monkeypatch.setattr(messages, "confirm", confirm)
    monkeypatch.setattr(messages, "show_info", lambda _p, _t, text: told.append(text))
    page.import_csv(csv_path)
    wait_idle(qtbot)
    assert "line 3: unknown platform 'Nokia'" in asked[0]
    assert told and "1 bad row skipped" in told[0]
    assert "new-1" in page.model.visible_names()
    groups = [c.text(0) for c in children(window)]
    assert "Kiosks" in groups  # the console tree shows the new group


def test_every_interactive_widget_has_names(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path))
    page = devices_page(qtbot, window)
    for widget in (page.filter_edit, page.group_combo, page.state_combo, page.view,
                   page.add_button, page.import_button, page.group_button,
                   page.delivery_button, page.sim_amount, page.sim_unit, page.sim_button):
        assert widget.objectName() and widget.accessibleName(), widget
