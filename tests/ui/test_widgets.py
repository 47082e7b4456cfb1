"""Viewer and export, the timeline, messages, background tasks, keyboard and accessibility."""

from __future__ import annotations

import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QWidget,
)
from pytestqt.qtbot import QtBot
from uikit import AT, ModalDriver, click, key, make_env, open_certificates, open_window, refreshed

from kscert_gui.model.errors import RefusedError
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import ids, messages, tasks
from kscert_gui.ui.dialogs.export import ExportDialog, ExportRequest
from kscert_gui.ui.dialogs.other_certificate import OtherCertificateDialog
from kscert_gui.ui.dialogs.reissue import ReissueDialog
from kscert_gui.ui.dialogs.viewer import CertificateViewer, chain_order, read_viewer_data
from kscert_gui.ui.widgets.request_dialog import RequestDialog
from kscert_gui.ui.widgets.timeline import CertificateTimeline, TimelineData

# --- viewer and export ------------------------------------------------------------------------

# The offscreen platform cannot raise windows or propagate size hints; that is not a bug.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_viewer_tabs(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    viewer = CertificateViewer(
        window.console, read_viewer_data(window.console.server, "main"), window)
    qtbot.addWidget(viewer)
    tabs = [viewer.tabs.tabText(i).replace("&", "") for i in range(viewer.tabs.count())]
    assert tabs == ["General", "Details", "Certification path"]
    general = viewer.tabs.widget(0)
    assert general is not None
    texts = [w.text() for w in general.findChildren(QLabel)]
    assert "Server authentication" in " ".join(texts)
    assert any("private key that corresponds" in t for t in texts)
    table = viewer.details_table
    fields = {table.item(r, 0).text(): table.item(r, 1).text()  # type: ignore[union-attr]
              for r in range(table.rowCount())}
    assert fields["SHA-256 thumbprint"] == viewer.view.info.sha256
    assert any(k.startswith("Extension basicConstraints") and "(critical)" in k for k in fields)
    assert any(k.startswith("Extension subjectAltName") for k in fields)
    assert "Certificate:" in viewer.details_text.toPlainText()
    assert viewer.details_text.isReadOnly()
    assert viewer.path_tree.topLevelItemCount() == 1
    assert chain_order(viewer.view.info, ()) == [viewer.view.info]


def test_view_certificate_button_opens_viewer(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    _props, page = open_certificates(qtbot, window)
    seen: list[str] = []

    def look(viewer: CertificateViewer) -> None:
        seen.append(viewer.view.info.sha256)
        key(viewer, Qt.Key.Key_Escape)

    driver = ModalDriver(CertificateViewer, look)
    click(page.view_button)
    driver.check()
    assert seen == [page.sha256.toolTip()]


@pytest.mark.parametrize("fmt,legacy", [("pem", False), ("der", False), ("p12", False),
                                        ("p12", True)])
def test_export_writes_private_file(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, legacy: bool
) -> None:
    infos: list[str] = []
    monkeypatch.setattr(messages, "show_info", lambda p, t, m: infos.append(m))
    window = open_window(qtbot, make_env(tmp_path))
    viewer = CertificateViewer(
        window.console, read_viewer_data(window.console.server, "main"), window)
    qtbot.addWidget(viewer)
    target = tmp_path / f"out.{fmt}"
    password = "export pass 1"

    def fill(dialog: ExportDialog) -> None:
        {"pem": dialog.pem, "der": dialog.der, "p12": dialog.p12}[fmt].setChecked(True)
        dialog.encryption.setCurrentIndex(1 if legacy else 0)
        dialog.file.set_path(target)
        if fmt == "p12":
            dialog.password.setText(password)
            dialog.password_again.setText(password + "x")
            assert not dialog.ok_button.isEnabled()
            assert "do not match" in dialog.error.text()
            dialog.password_again.setText(password)
        assert dialog.ok_button.isEnabled()
        dialog.ok_button.click()

    driver = ModalDriver(ExportDialog, fill)
    click(viewer.export_button)
    driver.check()
    assert viewer.export_task is not None
    qtbot.waitUntil(lambda: not tasks.active_tasks(), timeout=60_000)
    assert infos and str(target) in infos[0]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    data = target.read_bytes()
    sha = viewer.view.info.sha256
    if fmt == "pem":
        cert = x509.load_pem_x509_certificate(data)
    elif fmt == "der":
        cert = x509.load_der_x509_certificate(data)
    else:
        loaded = pkcs12.load_pkcs12(data, password.encode())
        assert loaded.key is not None and loaded.cert is not None
        cert = loaded.cert.certificate
    from cryptography.hazmat.primitives import hashes

    assert cert.fingerprint(hashes.SHA256()).hex() == sha


def test_export_request_hides_password() -> None:
    request = ExportRequest("p12", Path("x.p12"), False, b"topsecret")
    assert "topsecret" not in repr(request)


# --- timeline ---------------------------------------------------------------------------------


def test_timeline_paints_bars_and_markers(qtbot: QtBot) -> None:
    widget = CertificateTimeline()
    qtbot.addWidget(widget)
    widget.resize(600, widget.sizeHint().height())
    data = TimelineData(
        today=AT,
        main=(AT - timedelta(days=370), AT + timedelta(days=27)),
        reserve=(AT, AT + timedelta(days=397)),
        switch_at=AT + timedelta(days=27),
        alert=False,
    )
    widget.set_data(data)
    image = widget.grab().toImage()
    assert not image.isNull()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)}
    assert len(colours) > 5  # bars, markers and text were drawn
    assert "Switch at" in widget.accessibleDescription()
    empty = CertificateTimeline()
    qtbot.addWidget(empty)
    empty.set_data(None)
    assert not empty.grab().isNull()


# --- messages ---------------------------------------------------------------------------------


def test_show_error_plain_and_unexpected(qtbot: QtBot) -> None:
    seen: list[tuple[str, str]] = []

    def grab(box: QMessageBox) -> None:
        seen.append((box.text(), box.detailedText()))
        box.accept()

    ModalDriver(QMessageBox, grab)
    messages.show_error(None, RefusedError("The certificate does not meet the requirements."))
    ModalDriver(QMessageBox, grab)
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError as err:
        messages.show_error(None, err)
    assert seen[0] == ("The certificate does not meet the requirements.", "")
    assert seen[1][0] == messages.UNEXPECTED
    assert "ZeroDivisionError: boom" in seen[1][1]


def test_confirm_defaults() -> None:
    box = messages.build_confirm(None, "T", "Q", default_no=True)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.No)
    box2 = messages.build_confirm(None, "T", "Q", default_no=False)
    assert box2.defaultButton() is box2.button(QMessageBox.StandardButton.Yes)


# --- tasks ------------------------------------------------------------------------------------


def test_run_in_background_success_failure_and_busy(qtbot: QtBot) -> None:
    host = QWidget()
    bar = QProgressBar(host)
    bar.setObjectName(ids.BUSY_BAR)
    bar.hide()
    qtbot.addWidget(host)
    gate = threading.Event()
    results: list[object] = []
    worker_threads: list[int] = []

    def work() -> int:
        worker_threads.append(threading.get_ident())
        gate.wait(30)
        return 42

    task = tasks.run_in_background(host, work, results.append, results.append)
    assert task in tasks.active_tasks()
    assert not bar.isHidden() and bar.maximum() == 0  # busy mode while it runs
    with qtbot.waitSignal(task.sig_finished, timeout=30_000):
        gate.set()
    assert results == [42] and task.result == 42
    assert worker_threads and worker_threads[0] != threading.get_ident()
    assert bar.isHidden()

    def fail() -> None:
        raise ValueError("as a value")

    failing = tasks.run_in_background(host, fail, results.append, results.append)
    with qtbot.waitSignal(failing.sig_finished, timeout=30_000):
        pass
    assert isinstance(results[-1], ValueError) and isinstance(failing.error, ValueError)


def test_failure_without_handler_goes_to_show_error(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[BaseException] = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err: shown.append(err))


    def fail() -> None:
        raise RefusedError("no")

    task = tasks.run_in_background(None, fail, lambda _r: None)
    with qtbot.waitSignal(task.sig_finished, timeout=30_000):
        pass
    assert [str(e) for e in shown] == ["no"]


# --- keyboard and accessibility --------------------------------------------------------------


INTERACTIVE = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox)


def unnamed(root: QWidget) -> list[str]:
    """Interactive widgets without an accessible name or visible text."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE):
            continue
        parent = widget.parentWidget()
        if isinstance(parent, QComboBox | QAbstractSpinBox):
            continue  # the editor inside a combo box or spin box
        if type(widget).__name__ in ("QTableCornerButton", "QToolButton", "QLineEdit") and \
                parent is not None and parent.inherits("QAbstractScrollArea"):
            continue
        if isinstance(widget, QAbstractButton) and widget.text().replace("&", "").strip():
            continue  # Qt names a button after its visible text
        if isinstance(parent, QLineEdit) or (parent is not None and parent.inherits("QTabBar")):
            continue  # a line edit's clear button, the tab bar's scroll arrows
        if widget.accessibleName() or widget.objectName().startswith("qt_"):
            continue  # named, or one of Qt's own helpers (menu bar extension, scroll arrows)
        missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_accessible_names_and_object_names(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path, mobile_devices=1))
    window.console.server.reissue(ReissueRequest(None, 40), confirmed=True)
    props, _page = open_certificates(qtbot, window)
    refreshed(qtbot, window)
    reissue = ReissueDialog(window.console, window)
    other = OtherCertificateDialog(window.console, window)
    viewer = CertificateViewer(
        window.console, read_viewer_data(window.console.server, "reserve"), window)
    export = ExportDialog(window, key_available=True, default_name="x")
    for widget in (reissue, other, viewer, export):
        qtbot.addWidget(widget)
    for root in (window, props, reissue, other, viewer, export):
        missing = unnamed(root)
        assert missing == [], f"{root.objectName()}: {missing}"
    for name in (ids.BUTTON_REISSUE, ids.BUTTON_BROWSE_OTHER, ids.RADIO_ISSUED, ids.RADIO_OTHER,
                 ids.BUTTON_VIEW_CERTIFICATE, ids.TIMELINE, ids.LABEL_VALID_TO):
        assert props.findChild(QWidget, name) is not None, name
    for name in (ids.RADIO_OLD_ADDRESS, ids.RADIO_NEW_ADDRESS, ids.EDIT_ADDRESS,
                 ids.RADIO_IMMEDIATELY, ids.RADIO_AFTER_DAYS, ids.SPIN_DAYS):
        assert reissue.findChild(QWidget, name) is not None, name
    for name in (ids.COMBO_CERT_TYPE, ids.EDIT_P12_FILE, ids.BUTTON_P12_BROWSE,
                 ids.EDIT_P12_PASSWORD, ids.EDIT_KEY_FILE, ids.EDIT_CERT_FILE,
                 ids.FINDINGS_TABLE, ids.CHECK_ACKNOWLEDGE):
        assert other.findChild(QWidget, name) is not None, name


def test_labels_have_mnemonic_buddies(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    other = OtherCertificateDialog(window.console, window)
    qtbot.addWidget(other)
    buddies = {lbl.text(): lbl.buddy() for lbl in other.findChildren(QLabel) if "&" in lbl.text()}
    assert buddies["Certificate &file:"] is other.p12_file.edit
    assert buddies["&Password (if any):"] is other.p12_password
    assert buddies["Private &key (.prk, .pem):"] is other.key_file.edit
    assert buddies["P&ublic key (.cer):"] is other.cert_file.edit
    assert other.p12_password.echoMode() == QLineEdit.EchoMode.Password
    assert other.key_password.echoMode() == QLineEdit.EchoMode.Password


def test_reissue_dialog_keyboard(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))
    dialog = ReissueDialog(window.console, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.term.days.value() == 30
    assert (dialog.term.days.minimum(), dialog.term.days.maximum()) == (1, 396)
    dialog.ok_button.setFocus()
    key(dialog.ok_button, Qt.Key.Key_Return)
    assert dialog.result_value() == ReissueRequest(address=None, term_days=30, key_size=2048)
    dialog2 = ReissueDialog(window.console, window)
    qtbot.addWidget(dialog2)
    dialog2.show()
    key(dialog2, Qt.Key.Key_Escape)
    assert dialog2.result_value() is None


def test_reissue_ask_returns_request(qtbot: QtBot, tmp_path: Path) -> None:
    window = open_window(qtbot, make_env(tmp_path))

    def fill(dialog: ReissueDialog) -> None:
        dialog.change.setChecked(True)
        dialog.address.setText("10.0.0.5")
        dialog.term.set_term(None)
        dialog.key_size.setCurrentIndex(dialog.key_size.findData(3072))
        dialog.ok_button.click()

    driver = ModalDriver(ReissueDialog, fill)
    request = ReissueDialog.ask(window, window.console)
    driver.check()
    assert request == ReissueRequest(address="10.0.0.5", term_days=None, key_size=3072)


def test_cancel_reserve_button(qtbot: QtBot, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[bool] = []

    def yes(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
        asked.append(default_no)
        return True

    monkeypatch.setattr(messages, "confirm", yes)
    window = open_window(qtbot, make_env(tmp_path, main_age_days=100))
    window.console.server.reissue(ReissueRequest(None, 30), confirmed=True)
    _props, page = open_certificates(qtbot, window)
    refreshed(qtbot, window)
    assert page.cancel_reserve_button.isEnabled()
    reserve = window.console.server.status().reserve
    assert reserve is not None
    with qtbot.waitSignal(page.sig_changed, timeout=30_000):
        click(page.cancel_reserve_button)
    assert asked == [True]  # destructive: default No
    st = window.console.server.status()
    assert st.reserve is None
    assert [c.state for c in st.history if c.info.sha256 == reserve.info.sha256] == ["cancelled"]
    assert not page.cancel_reserve_button.isEnabled()


def test_first_certificate_of_an_empty_store(qtbot: QtBot, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "confirm", lambda *a: True)
    window = open_window(qtbot, make_env(tmp_path, main=False))
    _props, page = open_certificates(qtbot, window)
    assert not page.view_button.isEnabled()

    def fill(dialog: ReissueDialog) -> None:
        dialog.change.setChecked(True)
        dialog.address.setText("first.example.com")
        click(dialog.ok_button)

    driver = ModalDriver(ReissueDialog, fill)
    with qtbot.waitSignal(page.sig_changed, timeout=60_000):
        click(page.reissue_button)
    driver.check()
    st = window.console.server.status()
    assert st.main is not None and st.main.address == "first.example.com"
    assert page.result_label.text().endswith("Administration Server certificate.")
    assert page.view_button.isEnabled()


# --- the OK/Cancel windows ------------------------------------------------------------------


class _Answer(RequestDialog[str]):
    """A window whose OK answers with the text typed (the shape of every request window)."""

    def __init__(self) -> None:
        super().__init__()
        self.edit = QLineEdit()
        self._make_buttons()

    def accept(self) -> None:
        if not self.edit.text():
            return  # nothing typed: OK does nothing, as in the real windows
        self._result = self.edit.text()
        super().accept()


def test_request_dialog_answers_on_ok_only(qtbot: QtBot) -> None:
    window = _Answer()
    qtbot.addWidget(window)
    assert window.buttons.objectName() == ids.DIALOG_BUTTONS
    assert (window.ok_button.accessibleName(), window.cancel_button.accessibleName()) == (
        "OK", "Cancel",
    )
    window.ok_button.click()  # refused by accept(): still open, no answer
    assert window.result_value() is None
    window.edit.setText("typed")
    window.ok_button.click()
    assert window.result_value() == "typed"

    again = _Answer()
    qtbot.addWidget(again)
    again.edit.setText("typed")
    again._result = "stale"  # an answer left from an earlier OK must not survive Cancel
    again.cancel_button.click()
    assert again.result_value() is None


def test_request_dialog_run_answers_and_deletes_itself(qtbot: QtBot) -> None:
    window = _Answer()
    window.edit.setText("from run")
    destroyed: list[bool] = []
    window.destroyed.connect(lambda *_: destroyed.append(True))
    driver = ModalDriver(_Answer, lambda w: w.ok_button.click())
    answer = window.run()
    driver.check()
    assert answer == "from run"
    qtbot.waitUntil(lambda: bool(destroyed), timeout=5000)
