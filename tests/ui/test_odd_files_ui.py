"""The Certificate window on files made elsewhere (issue 13): a certificate with a
duplicate extension is shown as an unreadable file that names the extension, OK stays
disabled, and no "unexpected error" appears; a password typed for a PKCS #12 container
that has none is said as a note under the summary, not as an error."""

from __future__ import annotations

from pathlib import Path

import derkit
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from menukit import FileDialogDriver
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
    write_key_and_cert,
    write_pkcs12,
)

from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_certificate_window_names_the_duplicate_extension(
    qtbot: QtBot, tmp_path: Path
) -> None:
    env = make_env(tmp_path, main_age_days=350)
    made = make_certificate()
    key_path, cert_path = write_key_and_cert(tmp_path, made, None)
    der = derkit.with_duplicate_extension(
        made.cert.public_bytes(serialization.Encoding.DER), "2.5.29.19")
    assert x509.load_der_x509_certificate(der)  # cryptography loads it; reading it fails
    cert_path.write_bytes(der)
    seen: dict[str, object] = {}

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.set_kind("x509")
        dialog.key_file.set_path(key_path)
        dialog.cert_file.set_path(cert_path)
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        seen["codes"] = dialog.findings.codes()
        seen["messages"] = [v.message for v in dialog.findings.verdicts]
        seen["status"] = dialog.status_label.text()
        seen["ok"] = dialog.ok_button.isEnabled()
        dialog.reject()

    window = open_window(qtbot, env)
    _props, page = open_certificates(qtbot, window)
    page.radio_other.setChecked(True)
    driver = ModalDriver(OtherCertificateDialog, fill)
    click(page.browse_button)
    driver.check()
    wait_idle(qtbot)
    assert seen["codes"] == ["unreadable"]
    messages = seen["messages"]
    assert isinstance(messages, list)
    assert "basicConstraints extension appears twice" in messages[0]
    assert seen["ok"] is False
    assert "unexpected" not in str(seen["status"]).lower()


def test_a_password_not_needed_is_a_note_in_the_summary(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=350))
    _props, page = open_certificates(qtbot, window)
    # For the address devices connect to now: no warning row, so the summary is the plain
    # one (another address is a warning, and the summary counts it).
    p12 = write_pkcs12(tmp_path / "unprotected.p12", make_certificate(ADDRESS), None)
    seen: dict[str, object] = {}

    def fill(dialog: OtherCertificateDialog) -> None:
        chooser = FileDialogDriver(p12)
        click(dialog.p12_file.browse)
        chooser.check()
        type_text(dialog.p12_password, "not needed")
        qtbot.waitUntil(dialog.is_idle, timeout=60_000)
        seen["notes"] = [(v.severity, v.line()) for v in dialog.notes.verdicts]
        seen["visible"] = dialog.notes.isVisible()
        seen["codes"] = dialog.findings.codes()
        seen["status"] = dialog.status_label.text()
        seen["ok"] = dialog.ok_button.isEnabled()
        click(dialog.cancel_button)

    in_other_certificate_window(qtbot, page, fill)
    assert seen["notes"] == [(
        "notice",
        "Note: The PKCS #12 container is not protected by a password: the password given "
        "was not needed.",
    )]
    assert seen["visible"] is True
    # A note, not an error or a warning: the container opens and the certificate can be
    # used.
    assert seen["codes"] == []
    assert str(seen["status"]).endswith("meets the requirements."), seen["status"]
    assert seen["ok"] is True
