"""The four procedures of the seed, walked step by step through the real widgets.

1. Reissue through the Administration Server with delayed activation (reserve).
2. Other certificate with delayed activation, once per certificate type.
3. Reissue Immediately.
4. Other certificate Immediately.

``messages.confirm`` is replaced (STYLE habit 5) and records each question; one
test in test_refusals.py clicks the real QMessageBox instead.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QWidget
from pytestqt.qtbot import QtBot
from uikit import (
    ADDRESS,
    AT,
    Env,
    ModalDriver,
    click,
    make_certificate,
    make_env,
    open_window,
    wait_idle,
    write_key_and_cert,
    write_pkcs12,
)

from kscert_gui.ui import ids, messages
from kscert_gui.ui.dialogs.other_certificate import (
    PKCS12_LABEL,
    X509_LABEL,
    OtherCertificateDialog,
)
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.properties.certificates import CertificatesPage

PASSWORD = b"Corr3ct horse battery"

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class Confirmations:
    """Stands in for messages.confirm: records (title, text, default_no), answers ``answer``."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, bool]] = []

    def __call__(self, parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        self.asked.append((title, text, default_no))
        return self.answer


@pytest.fixture
def yes(monkeypatch: pytest.MonkeyPatch) -> Confirmations:
    confirmations = Confirmations(True)
    monkeypatch.setattr(messages, "confirm", confirmations)
    return confirmations


def select_properties_from_context_menu(qtbot: QtBot, window: MainWindow) -> None:
    """"In the console tree, in the context menu of the Administration Server, select
    Properties."""
    window.show()
    qtbot.waitExposed(window)
    tree = window.tree
    rect = tree.visualItemRect(window.server_item)
    assert window.server_item.text(0).startswith("Administration Server ")
    seen: list[str] = []

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(10, pick)
            return
        actions = [a for a in menu.actions() if not a.isSeparator()]
        seen.extend(a.text().replace("&", "") for a in actions)
        props = next(a for a in actions if a.text().replace("&", "") == "Properties")
        menu.close()
        props.trigger()

    QTimer.singleShot(0, pick)
    tree.customContextMenuRequested.emit(rect.center())
    assert seen == ["Properties"]
    assert window.properties_window is not None
    qtbot.waitExposed(window.properties_window)


def go_to_certificates(qtbot: QtBot, window: MainWindow) -> CertificatesPage:
    """"In the Administration Server properties window, select Administration server
    connection settings → Certificates."""
    props = window.properties_window
    assert props is not None
    connection = props.sections.topLevelItem(0)
    assert connection is not None
    assert connection.text(0) == "Administration server connection settings"
    certificates = connection.child(0)
    assert certificates is not None and certificates.text(0) == "Certificates"
    props.sections.setCurrentItem(certificates)
    page = props.pages.currentWidget()
    assert isinstance(page, CertificatesPage)
    assert page.auth_group.title() == "Administration Server authentication by mobile devices"
    return page


def main_sha(env: Env, window: MainWindow) -> str:
    st = window.console.server.status()
    assert st.main is not None
    return st.main.info.sha256


# --- 1. reissue with delayed activation -------------------------------------------------------


@pytest.mark.parametrize("change_address", [False, True], ids=["old-address", "new-address"])
def test_reissue_with_delayed_activation(
    qtbot: QtBot, tmp_path: Path, yes: Confirmations, change_address: bool
) -> None:
    env = make_env(tmp_path, main_age_days=350, mobile_devices=12)
    window = open_window(qtbot, env)
    before = main_sha(env, window)
    select_properties_from_context_menu(qtbot, window)
    page = go_to_certificates(qtbot, window)
    assert page.valid_to.toolTip().endswith("UTC")

    def fill(dialog: ReissueDialog) -> None:
        assert dialog.windowTitle() == "Reissue certificate"
        assert dialog.address_group.title() == "Connection address"
        if change_address:
            dialog.change.setChecked(True)
            dialog.address.setText("mdm2.example.com")
        else:
            dialog.use_old.setChecked(True)
        assert dialog.term.title() == "Activation term"
        dialog.term.after_days.setChecked(True)
        dialog.term.days.setValue(30)
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)

    page.radio_issued.setChecked(True)
    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)

    assert len(yes.asked) == 1
    title, question, default_no = yes.asked[0]
    assert title == "Reissue certificate" and not default_no
    assert "reserve certificate" in question

    st = window.console.server.status()
    assert st.main is not None and st.main.info.sha256 == before
    assert st.reserve is not None
    assert st.reserve.source == "issued" and st.reserve.term_days == 30
    expected_address = "mdm2.example.com" if change_address else ADDRESS
    assert st.reserve.address == expected_address
    assert expected_address in st.reserve.info.san
    # The main certificate expires in 47 days, after the 30-day term: the term decides.
    assert st.switch_at == AT + timedelta(days=30)
    assert page.reserve_subject.text() == st.reserve.info.subject
    assert "of 12 devices have the reserve certificate" in page.delivery.text()
    assert page.result_label.text() == "The certificate is reissued for use as the reserve " \
        "certificate."
    assert page.timeline.data is not None and page.timeline.data.reserve is not None


# --- 2. other certificate with delayed activation --------------------------------------------


def fill_other_certificate(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    dialog: OtherCertificateDialog,
    kind: str,
    files: dict[str, Path],
    password: bytes | None,
    term_days: int | None,
) -> None:
    """Fill the Certificate window the way the seed says, using the Browse buttons."""
    assert dialog.windowTitle() == "Certificate"
    label = PKCS12_LABEL if kind == "pkcs12" else X509_LABEL
    dialog.cert_type.setCurrentIndex(dialog.cert_type.findText(label))
    chosen: list[Path] = []

    def browse(button: QWidget, path: Path) -> None:
        chosen.append(path)
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *a, **k: (str(path), "")))
        click(button)

    pw = password.decode() if password else ""
    if kind == "pkcs12":
        browse(dialog.p12_file.browse, files["p12"])
        assert dialog.p12_file.path() == files["p12"]
        dialog.p12_password.setText(pw)
    else:
        browse(dialog.key_file.browse, files["key"])
        dialog.key_password.setText(pw)
        browse(dialog.cert_file.browse, files["cert"])
        assert dialog.cert_file.path() == files["cert"]
    dialog.term.set_term(term_days)
    qtbot.waitUntil(dialog.is_idle, timeout=60_000)


@pytest.mark.parametrize("kind", ["pkcs12", "x509"])
def test_other_certificate_with_delayed_activation(
    qtbot: QtBot, tmp_path: Path, yes: Confirmations, monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    env = make_env(tmp_path, main_age_days=350, mobile_devices=5)
    made = make_certificate()
    files: dict[str, Path] = {"p12": write_pkcs12(tmp_path / "server.p12", made, PASSWORD)}
    files["key"], files["cert"] = write_key_and_cert(tmp_path, made, PASSWORD)
    window = open_window(qtbot, env)
    before = main_sha(env, window)
    select_properties_from_context_menu(qtbot, window)
    page = go_to_certificates(qtbot, window)

    def fill(dialog: OtherCertificateDialog) -> None:
        fill_other_certificate(qtbot, monkeypatch, dialog, kind, files, PASSWORD, 45)
        check = dialog.check
        assert check is not None and not check.blocked, dialog.findings.codes()
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)

    page.radio_other.setChecked(True)
    assert page.browse_button.isEnabled() and not page.reissue_button.isEnabled()
    driver = ModalDriver(OtherCertificateDialog, fill)
    click(page.browse_button)
    driver.check()
    wait_idle(qtbot)

    assert [a[0] for a in yes.asked] == ["Certificate"]
    assert not yes.asked[0][2]
    st = window.console.server.status()
    assert st.main is not None and st.main.info.sha256 == before
    assert st.reserve is not None
    assert st.reserve.source == "custom"
    assert st.reserve.info.sha256 == made.sha256
    assert st.reserve.term_days == 45
    assert st.switch_at == AT + timedelta(days=45)
    assert page.result_label.text().endswith("reserve certificate.")


# --- 3. reissue Immediately ------------------------------------------------------------------


def test_reissue_immediately(qtbot: QtBot, tmp_path: Path, yes: Confirmations) -> None:
    env = make_env(tmp_path, main_age_days=100, mobile_devices=3)
    window = open_window(qtbot, env)
    before = main_sha(env, window)
    select_properties_from_context_menu(qtbot, window)
    page = go_to_certificates(qtbot, window)

    def fill(dialog: ReissueDialog) -> None:
        dialog.use_old.setChecked(True)
        dialog.term.immediately.setChecked(True)
        codes = [v.code for v in dialog.issues.verdicts]
        assert "immediate-with-devices" in codes  # the warning is shown inline
        assert dialog.ok_button.isEnabled()
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    click(page.reissue_button)
    driver.check()
    wait_idle(qtbot)

    (title, question, default_no), = yes.asked
    assert title == "Reissue certificate"
    assert default_no, "Immediately with managed devices must default to No"
    assert "connection with all 3 managed mobile devices will be lost" in question
    st = window.console.server.status()
    assert st.main is not None and st.main.info.sha256 != before
    assert st.main.term_days is None and st.main.source == "issued"
    assert st.main.info.not_before == AT
    assert st.reserve is None
    assert before in [c.info.sha256 for c in st.history if c.state == "retired"]
    assert page.sha256.toolTip() == st.main.info.sha256
    assert page.result_label.text() == (
        "The certificate is reissued for use as the Administration Server certificate."
    )


# --- 4. other certificate Immediately --------------------------------------------------------


@pytest.mark.parametrize("kind", ["pkcs12", "x509"])
def test_other_certificate_immediately(
    qtbot: QtBot, tmp_path: Path, yes: Confirmations, monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    env = make_env(tmp_path, main_age_days=10)
    made = make_certificate("203.0.113.7")
    files = {"p12": write_pkcs12(tmp_path / "server.pfx", made, None)}
    files["key"], files["cert"] = write_key_and_cert(tmp_path, made, None)
    window = open_window(qtbot, env)
    before = main_sha(env, window)
    select_properties_from_context_menu(qtbot, window)
    page = go_to_certificates(qtbot, window)


    def fill(dialog: OtherCertificateDialog) -> None:
        fill_other_certificate(qtbot, monkeypatch, dialog, kind, files, None, None)
        assert dialog.ok_button.isEnabled(), dialog.findings.codes()
        click(dialog.ok_button)

    page.radio_other.setChecked(True)
    driver = ModalDriver(OtherCertificateDialog, fill)
    click(page.browse_button)
    driver.check()
    wait_idle(qtbot)

    (title, _question, default_no), = yes.asked
    assert title == "Certificate"
    assert not default_no  # no managed devices: nothing is cut off
    st = window.console.server.status()
    assert st.main is not None
    assert st.main.info.sha256 == made.sha256 and st.main.source == "custom"
    assert st.main.address == "203.0.113.7"
    assert st.reserve is None
    assert before in [c.info.sha256 for c in st.history]
    assert page.radio_other.isChecked()
    assert window.valid_to_label.text().startswith("Valid to: ")
    assert ids.PAGE_CERTIFICATES == page.objectName()
