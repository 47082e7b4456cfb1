"""Refusal paths: wrong password, key mismatch, N ≤ sync period, invalid address, and
Cancel / No at each step leaving the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from uikit import (
    Env,
    ModalDriver,
    click,
    key,
    make_certificate,
    make_env,
    open_certificates,
    open_window,
    type_text,
    wait_idle,
    write_key_and_cert,
    write_pkcs12,
)

from kscert_gui.ui import ids, messages
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.main_window import MainWindow

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def snapshot(window: MainWindow) -> tuple[object, ...]:
    """Everything a change could alter: slots, history and the audit-visible state."""
    st = window.console.server.status()
    return (
        st.main.info.sha256 if st.main else None,
        st.reserve.info.sha256 if st.reserve else None,
        tuple(c.info.sha256 for c in st.history),
        st.state,
        len(window.console.server.store.list_certificates()),
    )


def no_confirm(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []

    def refuse(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        asked.append(title)
        return False

    monkeypatch.setattr(messages, "confirm", refuse)
    return asked


def never_confirm(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        raise AssertionError(f"no confirmation expected, got {title!r}")

    monkeypatch.setattr(messages, "confirm", fail)


# --- the Certificate window refuses bad files ----------------------------------------------


def run_other_dialog(
    qtbot: QtBot, env: Env, fill: object
) -> tuple[MainWindow, tuple[object, ...]]:
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)
    page.radio_other.setChecked(True)
    driver = ModalDriver(OtherCertificateDialog, fill)  # type: ignore[arg-type]
    click(page.browse_button)
    driver.check()
    wait_idle(qtbot)
    return window, before


def test_wrong_password_blocks_ok(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=350)
    p12 = write_pkcs12(tmp_path / "server.p12", make_certificate(), b"right password")
    secret = "wrong password 123"

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        dialog.p12_password.setText(secret)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        assert "wrong-password" in dialog.findings.codes()
        assert not dialog.ok_button.isEnabled()
        assert secret not in dialog.status_label.text()
        dialog.ok_button.click()  # disabled: nothing happens
        assert dialog.isVisible()
        click(dialog.cancel_button)

    window, before = run_other_dialog(qtbot, env, fill)
    assert snapshot(window) == before


def test_key_mismatch_blocks_ok(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=350)
    key_path, cert_path = write_key_and_cert(
        tmp_path, make_certificate(), None, key_of=make_certificate("other.example")
    )

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.set_kind("x509")
        dialog.key_file.set_path(key_path)
        dialog.cert_file.set_path(cert_path)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        assert "key-mismatch" in dialog.findings.codes()
        severities = {v.code: v.severity for v in dialog.findings.verdicts}
        assert severities["key-mismatch"] == "error"
        assert not dialog.ok_button.isEnabled()
        dialog.reject()

    window, before = run_other_dialog(qtbot, env, fill)
    assert snapshot(window) == before


def test_warnings_need_acknowledgement(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = no_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=350)
    # 20 days left: the expires-soon warning (DESIGN §4) must be acknowledged.
    from datetime import timedelta

    from uikit import AT

    made = make_certificate(not_before=AT - timedelta(days=300), days=320)
    p12 = write_pkcs12(tmp_path / "soon.p12", made, None)

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        dialog.term.set_term(None)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        assert "expires-soon" in dialog.findings.codes()
        assert dialog.acknowledge.isVisible()
        assert not dialog.ok_button.isEnabled()
        dialog.acknowledge.setChecked(True)
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)
        # No on the confirmation returns to the window with everything entered kept.
        assert dialog.isVisible() and dialog.p12_file.path() == p12
        assert dialog.term.term_days() is None and dialog.acknowledge.isChecked()
        click(dialog.cancel_button)

    window, before = run_other_dialog(qtbot, env, fill)
    assert asked == ["Certificate"]  # the confirmation came, and No left everything as is
    assert snapshot(window) == before


def test_term_not_above_sync_period(qtbot: QtBot, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300, mobile_devices=4, sync_hours=72)
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.after_days.setChecked(True)
        dialog.term.days.setValue(3)  # equal to the 72-hour period: not greater
        errors = [v for v in dialog.issues.verdicts if v.severity == "error"]
        assert [v.code for v in errors] == ["term-not-above-sync"]
        assert "3 days" in errors[0].message and "Phones" in errors[0].message
        assert not dialog.ok_button.isEnabled()
        dialog.term.days.setValue(4)
        assert dialog.ok_button.isEnabled()
        codes = [v.code for v in dialog.issues.verdicts]
        assert "term-below-recommended" in codes  # < 30 days: a warning, not a block
        dialog.term.days.setValue(2)
        assert not dialog.ok_button.isEnabled()
        key(dialog, Qt.Key.Key_Escape)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert snapshot(window) == before


@pytest.mark.parametrize("address", ["bad..example.com", "-lead.example.com", ""])
def test_invalid_address(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         address: str) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300)
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        dialog.change.setChecked(True)
        dialog.address.setText(address)
        assert not dialog.address_error.isHidden()
        assert dialog.address_error.text()
        assert not dialog.ok_button.isEnabled()
        dialog.accept()  # even a forced accept is refused
        assert dialog.isVisible()
        dialog.address.setText("good.example.com")
        assert dialog.address_error.isHidden()
        assert dialog.ok_button.isEnabled()
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert snapshot(window) == before


def test_syntax_validator_rejects_spaces(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path)
    window = open_window(qtbot, env)
    dialog = ReissueDialog(window.console, window)
    qtbot.addWidget(dialog)
    dialog.change.setChecked(True)
    dialog.address.setFocus()
    type_text(dialog.address, "a b!c")
    assert dialog.address.text() == "abc"


# --- Cancel / No at each step ----------------------------------------------------------------


def test_cancel_reissue_window(qtbot: QtBot, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300, mobile_devices=2)
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.immediately.setChecked(True)
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert snapshot(window) == before


@pytest.mark.parametrize("term", [None, 30])
def test_no_in_reissue_confirmation(qtbot: QtBot, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, term: int | None) -> None:
    asked = no_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300, mobile_devices=2)
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)

    kept: list[tuple[bool, int | None]] = []

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.set_term(term)
        click(dialog.ok_button)
        # No returns to the Reissue certificate window with everything entered kept.
        kept.append((dialog.isVisible(), dialog.term.term_days()))
        click(dialog.cancel_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert asked == ["Reissue certificate"]
    assert kept == [(True, term)]
    assert not page.busy
    assert snapshot(window) == before


def test_cancel_certificate_window(qtbot: QtBot, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    never_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300)
    p12 = write_pkcs12(tmp_path / "ok.p12", make_certificate(), None)

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        assert dialog.ok_button.isEnabled()
        key(dialog, Qt.Key.Key_Escape)

    window, before = run_other_dialog(qtbot, env, fill)
    assert snapshot(window) == before


def test_no_in_certificate_confirmation(qtbot: QtBot, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = no_confirm(monkeypatch)
    env = make_env(tmp_path, main_age_days=300, mobile_devices=1)
    p12 = write_pkcs12(tmp_path / "ok.p12", make_certificate(), None)

    seen: dict[str, object] = {}

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        dialog.p12_password.setText("")
        dialog.term.set_term(None)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        click(dialog.ok_button)
        # No: back in the Certificate window with the file and the term kept (it used to
        # close the whole window and lose them).
        seen["kept"] = (dialog.isVisible(), dialog.p12_file.path(), dialog.term.term_days())
        click(dialog.cancel_button)

    window, before = run_other_dialog(qtbot, env, fill)
    assert asked == ["Certificate"]
    assert seen["kept"] == (True, p12, None)
    assert snapshot(window) == before


def test_real_message_box_no_click(qtbot: QtBot, tmp_path: Path) -> None:
    """The confirmation window itself: Yes/No, default No for Immediately with devices."""
    env = make_env(tmp_path, main_age_days=300, mobile_devices=7)
    window = open_window(qtbot, env)
    before = snapshot(window)
    _props, page = open_certificates(qtbot, window)
    seen: dict[str, object] = {}

    def fill(dialog: ReissueDialog) -> None:
        dialog.term.immediately.setChecked(True)
        ModalDriver(QMessageBox, answer_no)
        click(dialog.ok_button)
        # No: back in the Reissue certificate window, Immediately still chosen.
        seen["kept"] = dialog.isVisible() and dialog.term.immediately.isChecked()
        click(dialog.cancel_button)

    def answer_no(box: QMessageBox) -> None:
        assert box.objectName() == ids.MESSAGE_CONFIRM
        seen["title"] = box.windowTitle()
        seen["buttons"] = sorted(b.text().replace("&", "") for b in box.buttons())
        default = box.defaultButton()
        seen["default"] = default.text().replace("&", "") if default else None
        no = box.button(QMessageBox.StandardButton.No)
        assert no is not None
        click(no)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    assert seen == {"title": "Reissue certificate", "buttons": ["No", "Yes"], "default": "No",
                    "kept": True}
    assert snapshot(window) == before


def test_close_properties_changes_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    env = make_env(tmp_path, main_age_days=300)
    window = open_window(qtbot, env)
    before = snapshot(window)
    props, _page = open_certificates(qtbot, window)
    key(props, Qt.Key.Key_Escape)
    assert not props.isVisible()
    assert snapshot(window) == before


def test_unused_env_is_closed(tmp_path: Path) -> None:
    """make_env leaves the store closed, so a second process could open it for changes."""
    env: Env = make_env(tmp_path, main=False)
    with env.server() as server:
        assert server.status().state == "no-certificate"
