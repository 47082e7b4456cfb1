"""What the Certificates page says, as a person reads it: local time with the zone's offset
(UTC in the tooltip), "Days left" without repeating itself, the history of retired and
cancelled certificates, the last success line gone when Properties reopens."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from uikit import click, demo_env, open_certificates, open_window, refreshed, wait_idle

from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import messages, text


@pytest.fixture
def berlin() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_times_are_local_with_their_offset_and_utc_in_the_tooltip(
    qtbot: QtBot, tmp_path: Path, berlin: None
) -> None:
    window = open_window(qtbot, demo_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    st = page.status
    assert st is not None and st.main is not None
    utc = st.main.info.not_after
    assert page.valid_to.text() == utc.astimezone().strftime("%Y-%m-%d %H:%M:%S +01:00")
    assert page.valid_to.toolTip() == utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    # Messages of the services (ISO 8601 UTC for the command line) are shown the same way.
    shown = " ".join(v.message for v in page.warnings.verdicts)
    assert "T" not in "".join(w for w in shown.split() if w[:4].isdigit() and "-" in w)
    assert "+01:00" in shown
    assert text.localize("at 2026-12-21T22:42:22Z") == "at 2026-12-21 23:42:22 +01:00"


def test_days_left_says_it_once_and_counts_have_one_style(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, demo_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    shown = page.days_left.text()
    assert "days left" not in shown and shown.split(" ")[0].isdigit()
    assert "no reserve certificate is specified" in shown
    assert text.days(1) == "1 day" and text.days(2) == "2 days"
    assert text.localize("1250 devices") == "1\u00a0250 devices"
    assert "1250" not in page.connection.text() + page.cutover.text()


def test_history_lists_the_retired_and_cancelled_certificates(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = demo_env(tmp_path)
    with env.server() as server:
        server.reissue(ReissueRequest(None, 30), confirmed=True)
        server.cancel_reserve()
        server.reissue(ReissueRequest(None, None), confirmed=True)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    states = [page.history.topLevelItem(i).text(0)  # type: ignore[union-attr]
              for i in range(page.history.topLevelItemCount())]
    assert states == ["Retired", "Cancelled"]
    assert page.history_group.title() == "History (2)"


def test_the_last_success_line_is_gone_when_properties_reopens(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "confirm", lambda *a, **k: True)
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    props, page = open_certificates(qtbot, window)
    click(page.cancel_reserve_button)
    wait_idle(qtbot)
    assert page.result_label.isVisibleTo(page)
    props.close()
    refreshed(qtbot, window)
    window.action_properties.trigger()
    qtbot.waitExposed(props)
    assert not page.result_label.isVisibleTo(page)


@pytest.mark.parametrize("elsewhere", ["advance", "reinstall"])
def test_the_result_line_goes_when_a_change_made_elsewhere_arrives(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, elsewhere: str
) -> None:
    """"The certificate is reissued …" stays for the page's own change and goes when a
    later change made in Managed devices (Advance, Reinstall agent) arrives; it stayed
    shown beside a state that had moved on."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from uikit import ModalDriver

    from kscert_gui.ui.dialogs.reissue import ReissueDialog

    monkeypatch.setattr(messages, "confirm", lambda *a, **k: True)
    monkeypatch.setattr(messages, "show_info", lambda *a, **k: None)
    window = open_window(qtbot, demo_env(tmp_path))
    window.show()
    qtbot.waitExposed(window)
    props, page = open_certificates(qtbot, window)
    driver = ModalDriver(ReissueDialog, lambda dialog: click(dialog.ok_button))
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)
    assert page.result_label.isVisibleTo(page)
    assert page.result_label.text() == (
        "The certificate is reissued for use as the reserve certificate.")

    tree = window.tree  # Managed devices, clicked in the console tree
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(window.devices_item).center())
    devices = window.devices_page
    assert devices is not None
    wait_idle(qtbot)
    assert page.result_label.isVisibleTo(page)  # nothing changed yet
    refreshed(qtbot, window)  # F5 (as the periodic refresh): the same state, line kept
    assert page.result_label.isVisibleTo(page)
    button = devices.sim_button if elsewhere == "advance" else devices.reinstall_button
    assert button.isEnabled()
    click(button)
    wait_idle(qtbot)
    assert props.isVisible()
    assert not page.result_label.isVisibleTo(page)


def test_the_result_line_of_a_reconnect_stays_with_its_own_reading(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reconnect on the page: the snapshot it leaves is the change's own, so the line
    stays (a later reading hides it)."""
    from test_gateways_ui import stale_env

    monkeypatch.setattr(messages, "confirm", lambda *a, **k: True)
    monkeypatch.setattr(messages, "show_info", lambda *a, **k: None)
    window = open_window(qtbot, stale_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    (button,) = page.gateway_notice.buttons.values()
    click(button)
    wait_idle(qtbot)
    assert page.result_label.isVisibleTo(page)
    assert page.result_label.text().endswith("now holds the main certificate.")
    assert not page.gateway_notice.buttons  # the page shows the reading after it
    refreshed(qtbot, window)  # F5: a later reading of the same state keeps the line
    assert page.result_label.isVisibleTo(page)


def test_the_history_copies_its_rows_with_ctrl_c(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    env = demo_env(tmp_path)
    with env.server() as server:
        server.reissue(ReissueRequest(None, None), confirmed=True)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    page.history.selectAll()
    QApplication.clipboard().clear()
    QTest.keyClick(page.history, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    copied = QApplication.clipboard().text().splitlines()
    assert copied[0].split("\t")[:2] == ["State", "Issued to"]
    assert copied[1].split("\t")[0] == "Retired"


def test_the_reissue_window_notes_instants_in_local_time(
    qtbot: QtBot, tmp_path: Path, berlin: None
) -> None:
    from uikit import ModalDriver

    from kscert_gui.ui.dialogs.reissue import ReissueDialog

    window = open_window(qtbot, demo_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    seen: list[str] = []

    def look(dialog: ReissueDialog) -> None:
        seen.extend(v.message for v in dialog.issues.verdicts)
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, look)
    click(page.reissue_button)
    driver.check()
    notes = " ".join(seen)
    assert "+01:00" in notes and " UTC" not in notes and "Z " not in notes


def test_counts_of_devices_say_device_or_devices(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """"72 devices", "1 selected device": never "device(s)" (DESIGN §8: "1 day", "2 days")."""
    import re

    from kscert_gui.ui.devices.delivery import DeliveryDialog

    asked: list[str] = []

    def confirm(_parent: object, _title: str, question: str, default_no: bool) -> bool:
        asked.append(question)
        return False  # No: nothing reinstalled

    monkeypatch.setattr(messages, "confirm", confirm)
    window = open_window(qtbot, demo_env(tmp_path, reserve=True))
    window.tree.setCurrentItem(window.devices_item)
    page = window.devices_page
    assert page is not None
    wait_idle(qtbot)
    click(page.delivery_button)
    dialog = next(w for w in page.findChildren(DeliveryDialog) if w.isVisible())
    qtbot.waitUntil(lambda: bool(dialog.count.text()))
    assert re.fullmatch(r"\d[\d\u00a0]* devices?", dialog.count.text()), dialog.count.text()
    dialog.close()
    page.view.selectRow(0)
    click(page.reinstall_button)
    assert asked and "on 1 selected device?" in asked[0], asked
    assert not any("(s)" in q for q in asked)


def test_the_main_windows_summary_shows_the_warnings_in_the_windows_style(
    qtbot: QtBot, tmp_path: Path, berlin: None
) -> None:
    """The server node's summary lists the status warnings as the Certificates page does:
    local time with its offset and "1 250", not "2026-12-23T01:54:47Z" and "1250"."""
    import re

    window = open_window(qtbot, demo_env(tmp_path))
    window.tree.setCurrentItem(window.server_item)
    shown = window.summary.text()
    assert "no reserve certificate is specified" in shown  # the warnings are there
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", shown), shown
    assert "1250" not in shown and "1241" not in shown, shown
    assert "+01:00" in shown and "1\u00a0250" in shown
