"""DESIGN §6.1 in the windows: one snapshot, every view, the lost and blocked counts in
colour, and no view left stale after a change (Immediately, Cancel reserve, F5)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from uikit import ModalDriver, click, demo_env, open_certificates, open_window, wait_idle

from kscert_gui.services.server import ReissueRequest
from kscert_gui.ui import messages, text
from kscert_gui.ui.devices.delivery import DeliveryDialog
from kscert_gui.ui.devices.page import DevicesPage
from kscert_gui.ui.devices.table_model import (
    COL_CONNECTION,
    COL_REASON,
    COL_STATE,
    STATE_ROLE,
    DeviceTableModel,
)
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.main_window import MainWindow

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ALL = "1\u00a0250"



def devices_page(qtbot: QtBot, window: MainWindow) -> DevicesPage:
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    wait_idle(qtbot)
    assert page.table is not None
    return page


def cells(model: DeviceTableModel, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> list[
    object
]:
    return [model.data(model.index(r, col), role) for r in range(model.rowCount())]


def mobile_connections(page: DevicesPage) -> set[object]:
    model = page.model
    return {c for c in cells(model, COL_CONNECTION) if c != "—"}


def test_immediately_shows_every_device_lost_in_every_view(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "confirm", lambda *_a: True)
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    page = devices_page(qtbot, window)
    assert mobile_connections(page) == {"connected", "lost"}
    _props, certificates = open_certificates(qtbot, window)
    assert "devices lose the connection at the switch" in certificates.cutover.text()
    # The page's numbers are the forecast's, as the other views count them.
    fleet = window.status.fleet.counts  # type: ignore[union-attr]
    assert 0 < fleet.at_risk < fleet.expected
    assert certificates.cutover.text().startswith("Switch at ")
    assert (f"{text.thousands(fleet.delivered)} of "
            f"{text.thousands(fleet.devices)} devices have the reserve "
            f"certificate, {text.thousands(fleet.expected)} are expected to receive it in "
            f"time; {text.thousands(fleet.at_risk)} devices lose the connection at the "
            "switch") in certificates.cutover.text()

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.immediately.setChecked(True)
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(certificates.reissue_button)
    driver.check()
    wait_idle(qtbot)

    # Properties → Certificates: the count, in colour.
    assert certificates.connection.text() == (
        f"All {ALL} devices lost the connection: reinstall the endpoint agent on each")
    assert certificates.connection.property("alert") is True
    assert text.ALERT_COLOR in certificates.connection.styleSheet()
    # The status bar.
    assert window.connection_label.isVisibleTo(window)
    assert f"{ALL} of {ALL} devices lost the connection" in window.connection_label.text()
    # Managed devices, which before this snapshot showed the old forecast.
    assert page.table is window.snapshot.devices  # type: ignore[union-attr]
    assert mobile_connections(page) == {"lost"}
    assert f"{ALL} lost the connection" in page.delivery.text()
    # The warnings on the page name it too.
    codes = [v.code for v in certificates.warnings.verdicts]
    assert "devices-lost" in codes
    # No device is left to lose the connection at the expiry ("all 0 devices" was shown).
    assert "all 0" not in certificates.cutover.text()
    assert "no device is connected to lose it" in certificates.cutover.text()


def test_the_reissue_window_counts_the_devices_that_would_lose_the_connection(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Immediately's inline warning names the devices still connected, not the lost ones
    (it said all 1 250 while some were lost already)."""
    monkeypatch.setattr(messages, "confirm", lambda *_a: False)
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    _props, certificates = open_certificates(qtbot, window)
    fleet = window.status.fleet  # type: ignore[union-attr]
    assert 0 < fleet.lost < fleet.devices
    seen: list[str] = []

    def fill(dialog: ReissueDialog) -> None:
        click(dialog.term.immediately)
        seen.extend(v.message for v in dialog.issues.verdicts
                    if v.code == "immediate-with-devices")
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(certificates.reissue_button)
    driver.check()
    (message,) = seen
    assert message.startswith(f"{text.thousands(fleet.devices - fleet.lost)} managed mobile")


def test_the_cut_over_is_told_in_the_same_words_in_every_view(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The Certificates page and the Managed devices summary (the delivery window's too)
    give the cut-over in one sentence with the same numbers: the devices summary added
    "1 241 lose the connection at the switch" beside "72 are at risk"."""
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    page = devices_page(qtbot, window)
    _props, certificates = open_certificates(qtbot, window)
    line = certificates.cutover.text()
    assert line.startswith("Switch at ") and line in page.delivery.text()
    fleet = window.status.fleet.counts  # type: ignore[union-attr]
    lose = fleet.devices - fleet.lost - fleet.delivered
    assert f"{text.thousands(lose)} lose" not in page.delivery.text()


def test_cancel_reserve_updates_the_device_list(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "confirm", lambda *_a: True)
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.show()
    page = devices_page(qtbot, window)
    assert "have the reserve certificate" in page.delivery.text()
    _props, certificates = open_certificates(qtbot, window)
    with qtbot.waitSignal(certificates.sig_changed, timeout=30_000, raising=True):
        click(certificates.cancel_reserve_button)
    wait_idle(qtbot)
    assert "have the reserve certificate" not in page.delivery.text()
    assert "No reserve certificate is specified" in page.delivery.text()
    forecasts = {f for f in cells(page.model, COL_STATE, STATE_ROLE) if f}
    assert forecasts <= {"at-risk", "lost"}
    assert window.snapshot is not None and page.table is window.snapshot.devices


def test_f5_shows_a_change_made_by_another_process(qtbot: QtBot, tmp_path: Path) -> None:
    env = demo_env(tmp_path)
    other = env.server()  # as `kscert` would, beside the window (which opens read-only)
    try:
        window = open_window(qtbot, env)
        window.show()
        page = devices_page(qtbot, window)
        assert "No reserve certificate is specified" in page.delivery.text()
        other.reissue(ReissueRequest(None, 30), confirmed=True)
        with qtbot.waitSignal(window.status_feed.sig_status, timeout=30_000, raising=True):
            window.action_refresh.trigger()  # Action → Refresh (F5)
        wait_idle(qtbot)
        assert "have the reserve certificate" in page.delivery.text()
        assert window.status is not None and window.status.reserve is not None
    finally:
        other.close()


def test_at_risk_list_without_a_reserve_names_every_device_and_why(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    _props, certificates = open_certificates(qtbot, window)
    assert certificates.cutover.property("alert") is True
    assert "No reserve certificate is specified: all" in certificates.cutover.text()
    click(certificates.at_risk_button)
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, DeliveryDialog) and w.isVisible())
    qtbot.addWidget(dialog)
    wait_idle(qtbot)
    fleet = window.status.fleet  # type: ignore[union-attr]
    assert dialog.model.rowCount() == fleet.at_risk == fleet.devices - fleet.lost > 1000
    reasons = set(cells(dialog.model, COL_REASON))
    assert len(reasons) == 1
    (reason,) = reasons
    assert str(reason).startswith(
        "no reserve certificate is specified: all "
        f"{text.thousands(fleet.devices - fleet.lost)} devices lose "
        "the connection")


def test_reinstall_agent_button_re_enrolls_the_lost_devices(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def yes(_parent: object, _title: str, question: str, default_no: bool) -> bool:
        assert default_no
        asked.append(question)
        return True

    monkeypatch.setattr(messages, "confirm", yes)
    monkeypatch.setattr(messages, "show_info", lambda *_a: None)
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    page = devices_page(qtbot, window)
    lost = window.status.fleet.lost  # type: ignore[union-attr]
    assert lost > 0 and page.reinstall_button.isEnabled()
    click(page.reinstall_button)
    wait_idle(qtbot)
    assert asked and f"all {lost} devices that lost" in asked[0]
    assert window.status is not None and window.status.fleet.lost == 0
    assert "lost" not in mobile_connections(page)


def test_a_periodic_refresh_never_changes_what_a_person_chose(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other certificate stays chosen over three periodic refreshes (DESIGN §8)."""
    from kscert_gui.ui import main_window

    monkeypatch.setattr(main_window, "REFRESH_MS", 50)
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    _props, certificates = open_certificates(qtbot, window)
    assert certificates.radio_issued.isChecked()
    radio = certificates.radio_other  # a person's click, on the radio's indicator
    QTest.mouseClick(radio, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(8, radio.height() // 2))
    assert certificates.radio_other.isChecked() and certificates.browse_button.isEnabled()
    applied: list[object] = []
    window.status_feed.sig_status.connect(applied.append)
    qtbot.waitUntil(lambda: len(applied) >= 3, timeout=30_000)
    assert certificates.radio_other.isChecked()
    assert certificates.browse_button.isEnabled() and not certificates.reissue_button.isEnabled()


def test_the_delivery_window_chooses_what_to_show_only_while_the_person_has_not(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After Immediately (every device lost) the delivery window shows the lost devices by
    itself, and after Reinstall agent the devices at risk again (it stayed on "Devices
    lost", 0 devices, beside 1 250 at risk); a filter the person chose is never changed."""
    monkeypatch.setattr(messages, "confirm", lambda *_a, **_k: True)
    monkeypatch.setattr(messages, "show_info", lambda *_a: None)
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    _props, certificates = open_certificates(qtbot, window)

    def open_delivery() -> DeliveryDialog:
        before = {w for w in QApplication.topLevelWidgets() if isinstance(w, DeliveryDialog)}
        click(certificates.at_risk_button)
        (dialog,) = [w for w in QApplication.topLevelWidgets()
                     if isinstance(w, DeliveryDialog) and w.isVisible() and w not in before]
        qtbot.addWidget(dialog)
        qtbot.waitExposed(dialog)
        wait_idle(qtbot)
        return dialog

    automatic = open_delivery()
    assert automatic.state.currentData() == "at-risk"
    chosen = open_delivery()
    chosen.state.setFocus()
    QTest.keyClick(chosen.state, Qt.Key.Key_Down)  # the person: "All devices"
    assert chosen.state.currentData() is None

    def fill(dialog: ReissueDialog) -> None:
        click(dialog.term.immediately)
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(certificates.reissue_button)
    driver.check()
    wait_idle(qtbot)
    fleet = window.status.fleet  # type: ignore[union-attr]
    assert fleet.lost == fleet.devices and fleet.at_risk == 0
    assert automatic.state.currentData() == "lost"
    assert automatic.model.rowCount() == fleet.devices
    assert chosen.state.currentData() is None

    page = devices_page(qtbot, window)
    click(page.reinstall_button)
    wait_idle(qtbot)
    fleet = window.status.fleet  # type: ignore[union-attr]
    assert fleet.lost == 0 and fleet.at_risk == fleet.devices
    assert automatic.state.currentData() == "at-risk"
    assert automatic.model.rowCount() == fleet.devices
    assert automatic.count.text() == text.count(fleet.devices, "device")
    assert chosen.state.currentData() is None  # every device, mobile or not
    assert chosen.model.rowCount() >= fleet.devices
