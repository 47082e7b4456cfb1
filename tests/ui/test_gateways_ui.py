"""The seed's connection gateway procedure through the real widgets (DESIGN §7, §8).

Acceptance 2: Properties → Distribution points → remove the gateway → Add → Select →
Add device from group → pick the host → scope → OK → host Properties → Connection
gateway → tick, keep the default ports → OK; the gateway then holds the main certificate.
Acceptance 3: invalid ports are refused in the GUI and nothing is saved.
Acceptance 4: the status bar warns about every stale gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QMenu,
    QMessageBox,
    QStyle,
    QStyleOptionButton,
    QWidget,
)
from pytestqt.qtbot import QtBot
from uikit import Env, ModalDriver, click, make_env, open_window, type_text, wait_idle

from kscert_gui.model.clock import iso
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids, messages
from kscert_gui.ui.gateways.add_point import AddDistributionPointDialog
from kscert_gui.ui.gateways.host_properties import HostPropertiesDialog
from kscert_gui.ui.gateways.pickers import DevicePickerDialog, GroupPickerDialog
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.properties.distribution_points import DistributionPointsPage

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

GATEWAY = "gw-dmz-01"
STALE = "Connection gateway {} still serves the previous mobile certificate — reconnect it."


class Recorder:
    """Stands in for messages.confirm / show_info: records, answers ``answer``."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, bool]] = []
        self.infos: list[tuple[str, str]] = []

    def confirm(self, parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        self.asked.append((title, text, default_no))
        return self.answer

    def show_info(self, parent: QWidget | None, title: str, text: str) -> None:
        self.infos.append((title, text))


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(messages, "confirm", recorder.confirm)
    monkeypatch.setattr(messages, "show_info", recorder.show_info)
    return recorder


def add_hosts(server: AdministrationServer, hosts: tuple[str, ...]) -> None:
    """A DMZ group under Managed devices with Linux hosts (devices come from another issue)."""
    at = server.now()
    with server.store.transaction() as conn:
        found = conn.execute(
            "SELECT id FROM groups WHERE parent_id IS NULL AND name = 'Managed devices'"
        ).fetchone()
        root = found[0] if found is not None else conn.execute(
            "INSERT INTO groups(name, parent_id) VALUES ('Managed devices', NULL)").lastrowid
        dmz = conn.execute("INSERT INTO groups(name, parent_id) VALUES ('DMZ', ?)",
                           (root,)).lastrowid
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, 'Linux', ?)",
            [(h, dmz, iso(at)) for h in hosts],
        )


def stale_env(tmp_path: Path, gateways: tuple[str, ...] = (GATEWAY,)) -> Env:
    """Gateways connected with the first certificate, then an Immediately reissue (14.2)."""
    env = make_env(tmp_path, mobile_devices=3)
    with env.server() as server:
        add_hosts(server, (*gateways, "spare-host"))
        for host in gateways:
            server.points.add_gateway(host, "DMZ")
        server.reissue(ReissueRequest(None, None), confirmed=True)
        assert [p.host for p in server.points.gateways() if p.stale] == list(gateways)
    return env


def open_points(qtbot: QtBot, window: MainWindow) -> DistributionPointsPage:
    """Properties (server's context menu) → Sections pane → Distribution points."""
    window.show()
    qtbot.waitExposed(window)
    choose_from_menu(
        qtbot,
        lambda: window.tree.customContextMenuRequested.emit(
            window.tree.visualItemRect(window.server_item).center()
        ),
        "Properties",
    )
    props = window.properties_window
    assert props is not None
    qtbot.waitExposed(props)
    sections = [props.sections.topLevelItem(i) for i in range(props.sections.topLevelItemCount())]
    item = next(s for s in sections if s is not None and s.text(0) == "Distribution points")
    props.sections.setCurrentItem(item)
    page = props.pages.currentWidget()
    assert isinstance(page, DistributionPointsPage)
    return page


def choose_from_menu(qtbot: QtBot, open_menu: Callable[[], None], label: str) -> list[str]:
    """Open a popup menu and trigger its action ``label``; return the labels it offered.

    A push button's menu may pop up after the click returns, so this waits until the
    action has run (including any modal window it opened and a driver closed).
    """
    seen: list[str] = []
    done: list[bool] = []

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, pick)
            return
        actions = [a for a in menu.actions() if not a.isSeparator()]
        seen.extend(a.text().replace("&", "") for a in actions)
        action = next(a for a in actions if a.text().replace("&", "") == label)
        menu.close()
        try:
            action.trigger()
        finally:
            done.append(True)

    QTimer.singleShot(0, pick)
    open_menu()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert label in seen
    return seen


def tick(box: QCheckBox) -> None:
    """A click on the check box's indicator (its centre may lie beyond the label)."""
    option = QStyleOptionButton()
    box.initStyleOption(option)
    rect = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())


def hosts_in(page: DistributionPointsPage) -> list[str]:
    return [page.table.item(r, 0).text() for r in range(page.table.rowCount())]  # type: ignore[union-attr]


def row_of(page: DistributionPointsPage, host: str) -> int:
    return hosts_in(page).index(host)


# --- acceptance 2 ----------------------------------------------------------------------------


def test_seed_procedure_reconnects_the_gateway(
    qtbot: QtBot, tmp_path: Path, answers: Recorder
) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    main = window.console.server.status().main
    assert main is not None
    page = open_points(qtbot, window)
    assert hosts_in(page) == [GATEWAY]
    assert page.stale.isVisibleTo(page) and page.stale.text() == STALE.format(GATEWAY)

    # Select the desired host and remove it as a distribution point.
    page.table.selectRow(row_of(page, GATEWAY))
    assert page.reconnect_button.isEnabled()
    click(page.remove_button)
    title, question, default_no = answers.asked[-1]
    assert title == "Remove distribution point" and default_no
    assert f"Disable {GATEWAY} as a connection gateway and distribution point?" in question
    wait_idle(qtbot)
    assert hosts_in(page) == []  # the host disappears from the device list

    # Add → Add distribution point window.
    def fill_add(dialog: AddDistributionPointDialog) -> None:
        assert dialog.windowTitle() == "Add distribution point"
        assert not dialog.ok_button.isEnabled()

        def pick_host(picker: DevicePickerDialog) -> None:
            assert picker.windowTitle() == "Add device from group"
            assert not picker.ok_button.isEnabled()
            everything = Qt.MatchFlag.MatchContains | Qt.MatchFlag.MatchRecursive
            names = {item.text(0) for item in picker.tree.findItems("", everything)}
            assert {GATEWAY, "spare-host", "DMZ", "Managed devices"} <= names
            assert not any(n.startswith("phone-") for n in names)  # mobile devices: no
            picker.tree.setCurrentItem(picker.find_item("DMZ"))
            assert not picker.ok_button.isEnabled()  # a group is not a device
            picker.tree.setCurrentItem(picker.find_item(GATEWAY))
            assert picker.ok_button.isEnabled()
            click(picker.ok_button)

        devices = ModalDriver(DevicePickerDialog, pick_host)
        offered = choose_from_menu(qtbot, lambda: click(dialog.select_device_button),
                                   "Add device from group")
        assert offered == ["Add device from group"]
        devices.check()
        assert dialog.device_edit.text() == GATEWAY
        assert not dialog.ok_button.isEnabled()  # the scope is still missing

        def pick_group(picker: GroupPickerDialog) -> None:
            picker.tree.setCurrentItem(picker.find_item("DMZ"))
            click(picker.ok_button)

        groups = ModalDriver(GroupPickerDialog, pick_group)
        click(dialog.select_scope_button)
        groups.check()
        assert dialog.scope_edit.text() == "Managed devices/DMZ"
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)

    driver = ModalDriver(AddDistributionPointDialog, fill_add)
    click(page.add_button)
    driver.check()
    wait_idle(qtbot)
    assert hosts_in(page) == [GATEWAY]
    assert page.selected_host() == GATEWAY
    assert page.table.item(0, 1).text() == "No"  # type: ignore[union-attr]

    # In the context menu of the host that appears, select Properties.
    def fill_properties(dialog: HostPropertiesDialog) -> None:
        labels = [dialog.sections.item(i).text() for i in range(dialog.sections.count())]
        assert labels == ["General", "Connection gateway"]
        dialog.sections.setCurrentRow(labels.index("Connection gateway"))
        assert dialog.pages.currentWidget() is dialog.gateway_page
        assert dialog.gateway_check.text().replace("&", "") == "Connection gateway"
        assert not dialog.gateway_check.isChecked()
        tick(dialog.gateway_check)
        assert dialog.gateway_check.isChecked()
        # Leave the default port numbers.
        assert (dialog.agent_port.text(), dialog.mobile_port.text()) == ("13000", "13292")
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)

    driver = ModalDriver(HostPropertiesDialog, fill_properties)
    item = page.table.item(row_of(page, GATEWAY), 0)
    assert item is not None
    rect = page.table.visualItemRect(item)
    offered = choose_from_menu(
        qtbot, lambda: page.table.customContextMenuRequested.emit(rect.center()), "Properties")
    assert offered == ["Properties", "Check", "Reconnect", "Remove", "Copy"]
    driver.check()
    wait_idle(qtbot)

    # The new mobile certificate is delivered to the connection gateway.
    assert [page.table.item(0, c).toolTip() for c in (1, 2, 3, 4, 5)] == [  # type: ignore[union-attr]
        "Yes", "13000", "13292", main.info.sha256, "Yes"]
    assert not page.stale.isVisibleTo(page)
    assert not window.gateways_label.isVisibleTo(window)
    assert not window.properties_window.certificates_page.gateway_notice.isVisibleTo(  # type: ignore[union-attr]
        window)
    window.close()
    with env.server() as server:
        point = server.points.distribution_point(GATEWAY)
        assert point.gateway and point.scope == "Managed devices/DMZ"
        assert (point.agent_port, point.mobile_port) == (13000, 13292)
        assert point.held is not None and point.held.id == main.id and point.matches_main
        assert [w.code for w in server.status().warnings if w.code == "gateway-stale"] == []
        actions = [e.action for e in server.store.audit_entries()][-3:]
        assert actions == ["distribution-point-removed", "distribution-point-added",
                           "gateway-connected"]


def test_remove_asks_with_no_as_default(qtbot: QtBot, tmp_path: Path) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    page.table.selectRow(0)
    seen: list[QMessageBox.StandardButton] = []

    def answer_no(box: QMessageBox) -> None:
        seen.append(box.standardButton(box.defaultButton()))
        no = box.button(QMessageBox.StandardButton.No)
        assert no is not None
        click(no)

    driver = ModalDriver(QMessageBox, answer_no)
    click(page.remove_button)
    driver.check()
    assert seen == [QMessageBox.StandardButton.No]
    wait_idle(qtbot)
    assert hosts_in(page) == [GATEWAY]


# --- Reconnect ---------------------------------------------------------------------------------


def test_reconnect_from_the_distribution_points_section(
    qtbot: QtBot, tmp_path: Path, answers: Recorder
) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    page.table.selectRow(0)
    click(page.reconnect_button)
    wait_idle(qtbot)
    assert answers.asked[-1][0] == "Reconnect connection gateway"
    main = window.console.server.status().main
    assert main is not None
    # The certificate the gateway now holds is shown.
    title, text = answers.infos[-1]
    assert title == "Reconnect connection gateway"
    assert main.info.sha256 in text and "This is the main certificate." in text
    assert f"openssl s_client -connect {GATEWAY}:13292 -showcerts" in text
    assert page.table.item(0, 5).text() == "Yes"  # type: ignore[union-attr]
    held = page.table.item(0, 4)
    assert held is not None  # short in the list so that "Matches" stays in view; all of it
    assert held.toolTip() == main.info.sha256  # in the tooltip and for screen readers
    assert held.text() == main.info.sha256[:16] + "…"
    assert not page.reconnect_button.isEnabled()
    assert not window.gateways_label.isVisibleTo(window)


def test_reconnect_from_the_certificates_page(
    qtbot: QtBot, tmp_path: Path, answers: Recorder
) -> None:
    env = stale_env(tmp_path, (GATEWAY, "gw-dmz-02"))
    window = open_window(qtbot, env)
    props = window.open_properties()
    props.select_section(ids.SECTION_CERTIFICATES)
    page = props.certificates_page
    notice = page.gateway_notice
    assert notice.isVisibleTo(page)
    assert sorted(notice.buttons) == [GATEWAY, "gw-dmz-02"]
    codes = [v.code for v in page.warnings.verdicts]
    # Told once: by the notice with its Reconnect buttons, not again in the warnings.
    assert codes.count("gateway-stale") == 0
    click(notice.buttons["gw-dmz-02"])
    wait_idle(qtbot)
    assert "gw-dmz-02" in answers.infos[-1][1]
    assert page.result_label.text() == "Connection gateway gw-dmz-02 now holds the main " \
        "certificate."
    assert sorted(notice.buttons) == [GATEWAY]
    # The Distribution points section and the status bar follow.
    points = props.distribution_points_page
    assert [p.host for p in points.points if p.stale] == [GATEWAY]
    assert window.gateways_label.text() == STALE.format(GATEWAY)


def test_reconnect_from_host_properties(
    qtbot: QtBot, tmp_path: Path, answers: Recorder
) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    page.table.selectRow(0)
    main = window.console.server.status().main
    assert main is not None
    held_texts: list[str] = []

    def reconnect_inside(dialog: HostPropertiesDialog) -> None:
        dialog.select_section("Connection gateway")
        assert "NOT the main certificate" in dialog.held.text()
        assert dialog.reconnect_button.isEnabled()
        click(dialog.reconnect_button)
        qtbot.waitUntil(lambda: dialog.task is not None and not dialog.task.running)
        held_texts.append(dialog.held.text())
        assert not dialog.reconnect_button.isEnabled()
        cancel = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
        assert cancel is not None
        click(cancel)

    driver = ModalDriver(HostPropertiesDialog, reconnect_inside)
    click(page.properties_button)
    driver.check()
    wait_idle(qtbot)
    assert main.info.sha256 in held_texts[0] and "This is the main certificate." in held_texts[0]
    assert page.table.item(0, 5).text() == "Yes"  # type: ignore[union-attr]


# --- acceptance 3: ports ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "mobile", "words"),
    [
        ("0", "13292", "Port for Network Agents: 0 is out of range"),
        ("13000", "65536", "Port for connecting mobile devices: 65536 is out of range"),
        ("14000", "14000", "must differ (both are 14000)"),
        ("abc", "13292", "Port for Network Agents: 'abc' is not a port number"),
        ("", "13292", "Port for Network Agents: enter a port number"),
    ],
)
def test_invalid_ports_are_refused_and_nothing_is_saved(
    qtbot: QtBot, tmp_path: Path, agent: str, mobile: str, words: str
) -> None:
    env = make_env(tmp_path)
    with env.server() as server:
        add_hosts(server, ("host-1",))
        server.points.add_distribution_point("host-1", "DMZ")
        entries = len(server.store.audit_entries())
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    page.table.selectRow(0)

    def try_ports(dialog: HostPropertiesDialog) -> None:
        dialog.select_section("Connection gateway")
        dialog.gateway_check.setChecked(True)
        dialog.agent_port.setText(agent)
        dialog.mobile_port.setText(mobile)
        assert not dialog.ok_button.isEnabled()
        assert dialog.port_error.isVisibleTo(dialog)
        assert words in dialog.port_error.text()
        dialog.accept()  # Enter or a script: still refused
        assert dialog.isVisible() and dialog.result_value() is None
        dialog.reject()

    driver = ModalDriver(HostPropertiesDialog, try_ports)
    click(page.properties_button)
    driver.check()
    wait_idle(qtbot)
    window.close()
    with env.server() as server:
        point = server.points.distribution_point("host-1")
        assert not point.gateway and point.held is None
        assert (point.agent_port, point.mobile_port) == (13000, 13292)
        assert len(server.store.audit_entries()) == entries


def test_port_fields_take_digits_only(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    with env.server() as server:
        add_hosts(server, ("host-1",))
        view = server.points.add_distribution_point("host-1", "DMZ")
    window = open_window(qtbot, env)
    dialog = HostPropertiesDialog(window.console, view, window)
    qtbot.addWidget(dialog)
    dialog.gateway_check.setChecked(True)
    dialog.agent_port.clear()
    type_text(dialog.agent_port, "ab1c2")
    assert dialog.agent_port.text() == "12"
    assert dialog.ok_button.isEnabled()
    type_text(dialog.agent_port, "34567")
    assert dialog.agent_port.text() == "12345"  # five digits at most
    dialog.mobile_port.setText("12345")
    assert not dialog.ok_button.isEnabled()
    assert "must differ" in dialog.port_error.text()
    dialog.mobile_port.setText("13292")
    assert dialog.ok_button.isEnabled() and not dialog.port_error.isVisibleTo(dialog)
    dialog.accept()
    settings = dialog.result_value()
    assert settings is not None
    assert (settings.enabled, settings.agent_port, settings.mobile_port) == (True, 12345, 13292)


# --- acceptance 4: status bar ------------------------------------------------------------------


def test_status_bar_warns_about_every_stale_gateway(qtbot: QtBot, tmp_path: Path) -> None:
    env = stale_env(tmp_path, ("gw-a", "gw-b", "gw-c"))
    window = open_window(qtbot, env)
    label = window.findChild(QWidget, ids.STATUS_GATEWAYS)
    assert label is window.gateways_label
    assert window.gateways_label.isVisibleTo(window)
    assert window.gateways_label.text().splitlines() == [
        STALE.format(h) for h in ("gw-a", "gw-b", "gw-c")]
    assert window.gateways_label.accessibleName() == "Connection gateways to reconnect"
    with_no_stale = make_env(tmp_path / "other")
    other = open_window(qtbot, with_no_stale)
    assert not other.gateways_label.isVisibleTo(other)


# --- Add distribution point window -----------------------------------------------------------


def test_add_window_needs_device_and_scope(qtbot: QtBot, tmp_path: Path) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    dialog = AddDistributionPointDialog(window.console, window)
    qtbot.addWidget(dialog)
    assert not dialog.ok_button.isEnabled()
    assert "Select the device" in dialog.error.text()
    candidates = {d.name: d for d in window.console.server.points.distribution_point_candidates()}
    dialog.set_device(candidates[GATEWAY])
    assert not dialog.ok_button.isEnabled()
    assert f"{GATEWAY} is already a distribution point." == dialog.error.text()
    dialog.set_device(candidates["spare-host"])
    assert "Select the distribution point scope" in dialog.error.text()
    scopes = {g.path: g for g in window.console.server.points.scope_groups()}
    dialog.set_scope(scopes["Managed devices/Phones"])
    assert dialog.ok_button.isEnabled()
    dialog.accept()
    request = dialog.result_value()
    assert request is not None
    assert (request.device, request.scope) == ("spare-host", "Managed devices/Phones")
    # The device picker shows a host that already is a distribution point as unavailable.
    picker = DevicePickerDialog(window.console.server.points.scope_groups(),
                                tuple(candidates.values()))
    qtbot.addWidget(picker)
    picker.tree.setCurrentItem(picker.find_item(GATEWAY))
    assert not picker.ok_button.isEnabled()
    assert "already a distribution point" in picker.find_item(GATEWAY).text(1)


def test_names_of_the_new_widgets(qtbot: QtBot, tmp_path: Path) -> None:
    env = stale_env(tmp_path)
    window = open_window(qtbot, env)
    page = open_points(qtbot, window)
    page.table.selectRow(0)
    point = page.selected_point()
    assert point is not None
    dialogs: list[QWidget] = [
        page,
        AddDistributionPointDialog(window.console, window),
        HostPropertiesDialog(window.console, point, window),
    ]
    for widget in dialogs[1:]:
        qtbot.addWidget(widget)
    for widget in dialogs:
        for name in (
            ids.BUTTON_ADD_POINT, ids.BUTTON_REMOVE_POINT, ids.BUTTON_POINT_PROPERTIES,
            ids.BUTTON_RECONNECT_GATEWAY, ids.EDIT_POINT_DEVICE, ids.BUTTON_SELECT_DEVICE,
            ids.EDIT_POINT_SCOPE, ids.BUTTON_SELECT_SCOPE, ids.CHECK_CONNECTION_GATEWAY,
            ids.EDIT_AGENT_PORT, ids.EDIT_MOBILE_PORT, ids.BUTTON_HOST_RECONNECT,
            ids.HOST_SECTIONS,
        ):
            found = widget.findChild(QWidget, name)
            if found is not None:
                assert found.accessibleName(), name
    assert dialogs[1].findChild(QWidget, ids.BUTTON_SELECT_DEVICE) is not None
    assert dialogs[2].findChild(QWidget, ids.EDIT_MOBILE_PORT) is not None
    assert page.findChild(QWidget, ids.BUTTON_RECONNECT_GATEWAY) is not None
