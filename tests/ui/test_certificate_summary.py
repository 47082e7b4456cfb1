"""The summary line of the Certificate window (Other certificate) over its findings: it
says that warnings are listed when any are (it said "meets the requirements." over a
warning row), and a reason joined after "The file cannot be used:" reads on in lower case
("… used: The file is …" read as two sentences)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from uikit import (
    ADDRESS,
    click,
    in_other_certificate_window,
    make_certificate,
    make_env,
    open_certificates,
    open_window,
    write_pkcs12,
)

from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.properties.certificates import CertificatesPage

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def _summary_of(qtbot: QtBot, page: CertificatesPage, p12: Path) -> dict[str, object]:
    """Browse… on the Certificates page, the file in the Certificate window, its summary."""
    seen: dict[str, object] = {}

    def fill(dialog: OtherCertificateDialog) -> None:
        dialog.p12_file.set_path(p12)
        qtbot.waitUntil(lambda: dialog.is_idle() and dialog.check is not None,
                        timeout=60_000)
        seen["codes"] = dialog.findings.codes()
        seen["severities"] = [v.severity for v in dialog.findings.verdicts]
        seen["status"] = dialog.status_label.text()
        seen["ok"] = dialog.ok_button.isEnabled()
        click(dialog.cancel_button)

    in_other_certificate_window(qtbot, page, fill)
    return seen


def test_a_warning_row_is_counted_in_the_summary(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=350))
    _props, page = open_certificates(qtbot, window)
    # A good certificate for another name than the one devices connect to: one warning.
    seen = _summary_of(qtbot, page, write_pkcs12(
        tmp_path / "elsewhere.p12", make_certificate("mdm.elsewhere.example"), None))
    assert seen["codes"] == ["address-change"]
    assert seen["severities"] == ["warning"]
    status = str(seen["status"])
    assert status == ("CN=mdm.elsewhere.example: meets the requirements, with 1 warning "
                      "(listed below)."), status
    assert seen["ok"] is True


def test_no_warning_keeps_the_plain_summary(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=350))
    _props, page = open_certificates(qtbot, window)
    seen = _summary_of(qtbot, page, write_pkcs12(
        tmp_path / "same.p12", make_certificate(ADDRESS), None))
    assert seen["codes"] == []
    assert seen["status"] == f"CN={ADDRESS}: meets the requirements."


def test_the_reason_a_file_cannot_be_used_reads_on_after_the_colon(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(qtbot, make_env(tmp_path, main_age_days=350))
    _props, page = open_certificates(qtbot, window)
    damaged = tmp_path / "damaged.p12"
    damaged.write_bytes(b"this is not a PKCS #12 container")
    seen = _summary_of(qtbot, page, damaged)
    assert seen["codes"] == ["unreadable"]
    status = str(seen["status"])
    assert status.startswith("The file cannot be used: the file is not a PKCS #12 container"), (
        status)
    assert seen["ok"] is False


@pytest.mark.parametrize(("reason", "joined"), [
    ("The file is empty.", "the file is empty."),
    ("A password is needed.", "a password is needed."),
    ("PKCS #12 data is damaged.", "PKCS #12 data is damaged."),
    ("X.509 data is damaged.", "X.509 data is damaged."),
    ("no certificate was found.", "no certificate was found."),
])
def test_after_colon_keeps_names_and_abbreviations(reason: str, joined: str) -> None:
    from kscert_gui.ui import text

    assert text.after_colon(reason) == joined
