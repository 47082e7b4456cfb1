"""Defects a person met in the Reissue certificate and Certificate windows, each pressed
as a person does (issue: the console as an operator uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from uikit import (
    ADDRESS,
    ModalDriver,
    click,
    in_other_certificate_window,
    make_certificate,
    make_env,
    open_certificates,
    open_window,
    type_text,
    wait_idle,
    write_pkcs12,
)

from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import messages
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def squashed(dialog: QWidget, widgets: list[QWidget]) -> list[str]:
    return [w.objectName() or w.accessibleName() for w in widgets
            if w.isVisible() and w.height() < w.minimumSizeHint().height()]


def test_tab_reaches_the_chosen_option_and_space_does_not_switch(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=300))
    _props, page = open_certificates(qtbot, window)
    seen: dict[str, object] = {}

    def fill(dialog: ReissueDialog) -> None:
        dialog.key_size.setFocus()
        QTest.keyClick(dialog.key_size, Qt.Key.Key_Tab)
        focused = dialog.focusWidget()
        seen["focus"] = focused
        assert focused is not None
        QTest.keyClick(focused, Qt.Key.Key_Space)
        seen["term"] = dialog.term.term_days()
        seen["after"] = dialog.term.after_days
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert seen["focus"] is seen["after"]  # not the unselected Immediately
    assert seen["term"] == 30


def test_the_reissue_window_grows_when_a_message_appears(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=300, mobile_devices=3))
    _props, page = open_certificates(qtbot, window)
    seen: dict[str, object] = {}

    def fill(dialog: ReissueDialog) -> None:
        before = dialog.height()
        click(dialog.change)
        type_text(dialog.address, "bad..address")
        click(dialog.term.immediately)  # a warning about the devices appears too
        for _ in range(5):
            QApplication.processEvents()
            qtbot.wait(20)
        seen["grew"] = dialog.height() >= before
        seen["error"] = dialog.address_error.isVisible()
        seen["squashed"] = squashed(dialog, [
            dialog.use_old, dialog.change, dialog.address, dialog.term.immediately,
            dialog.term.after_days, dialog.term.days, dialog.address_error,
            dialog.ok_button])
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert seen == {"grew": True, "error": True, "squashed": []}


def test_a_certificate_for_another_name_is_said_and_asked(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    def answer(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        questions.append(text)
        return False

    monkeypatch.setattr(messages, "confirm", answer)
    window = open_window(qtbot, make_env(tmp_path, main_age_days=300))
    _props, page = open_certificates(qtbot, window)
    p12 = write_pkcs12(tmp_path / "other.p12", make_certificate("mdm.elsewhere.example"), None)
    codes: list[list[str]] = []

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        codes.append(dialog.findings.codes())
        click(dialog.ok_button)
        click(dialog.cancel_button)

    in_other_certificate_window(qtbot, page, fill)
    assert "address-change" in codes[0]
    assert len(questions) == 1
    assert f"Devices connect to {ADDRESS} now" in questions[0]
    assert "mdm.elsewhere.example" in questions[0]


def test_a_wrong_password_is_named_in_the_summary(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=300))
    _props, page = open_certificates(qtbot, window)
    p12 = write_pkcs12(tmp_path / "locked.p12", make_certificate(), b"right")
    seen: list[str] = []

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        type_text(dialog.p12_password, "wrong")
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        seen.append(dialog.status_label.text())
        click(dialog.cancel_button)

    in_other_certificate_window(qtbot, page, fill)
    assert not seen[0].startswith("no certificate")
    assert "password" in seen[0].lower()


def test_immediately_says_the_pending_reserve_was_cancelled(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    def yes(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        questions.append(text)
        return True

    monkeypatch.setattr(messages, "confirm", yes)
    env = make_env(tmp_path, main_age_days=300)
    with env.server() as server:
        server.reissue(ReissueRequest(None, 30), confirmed=True)
    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        click(dialog.term.immediately)
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)
    assert any("pending reserve certificate" in q and "cancelled" in q for q in questions)
    assert "reserve certificate that was pending" in page.result_label.text()
    assert page.status is not None and page.status.reserve is None
