"""The **Certificate** window for *Other certificate* (DESIGN §4, §8).

Whenever the inputs change, the requirements check runs in the background (after
a short pause, so typing a password does not start a check per key) and its
findings are listed with severity, code, message and fix. Errors block OK;
warnings must be acknowledged with the check box before OK is enabled. What the
reading of the files notes besides (a password typed for a container that has none)
is a note under the summary.

The passwords typed here go into the request object only; they are never
logged, stored in settings or put in a message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.errors import KscertError
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ImportCheck, ImportRequest
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.console import Console, as_console
from kscert_gui.ui.widgets.file_field import FileField
from kscert_gui.ui.widgets.issues import FindingsTable, Verdict, VerdictLabels
from kscert_gui.ui.widgets.request_dialog import RequestDialog
from kscert_gui.ui.widgets.term import ActivationTermGroup

PKCS12_LABEL = "PKCS #12 container"
X509_LABEL = "X.509 certificate"
PKCS12_FILTER = "PKCS #12 (*.p12 *.pfx);;All files (*)"
KEY_FILTER = "Private key (*.prk *.pem *.key);;All files (*)"
CERT_FILTER = "Certificate (*.cer *.crt *.pem *.der);;All files (*)"
DEBOUNCE_MS = 250


def _password(edit: QLineEdit) -> bytes | None:
    value = edit.text()
    return value.encode("utf-8") if value else None


ConfirmImport = Callable[[ImportRequest, ImportCheck], bool]


def address_change(check: ImportCheck, current: str | None) -> str | None:
    """The certificate's address (first SAN, else CN, as the import records it) when it is
    not ``current``; None when they are the same or either is unknown."""
    info = check.certificate
    if info is None or not current:
        return None
    address = info.san[0] if info.san else info.common_name
    if not address or address.casefold() == current.casefold():
        return None
    return address


class OtherCertificateDialog(RequestDialog[ImportRequest]):
    """Certificate type, files, passwords, activation term and the live requirements check."""

    #: Emitted on the GUI thread each time a check result (or failure) has been shown.
    sig_checked = Signal()

    def __init__(
        self, console: Console | AdministrationServer, parent: QWidget | None = None,
        *,
        confirm: ConfirmImport | None = None,
        current_address: str | None = None,
    ) -> None:
        """``confirm``: asked on OK with the request and its check; False keeps the window
        open with everything entered (No on the confirmation returns here).
        ``current_address``: the address devices connect to now (the main certificate's),
        to say so when the new certificate names another one."""
        super().__init__(parent)
        self._console = as_console(console)
        self._confirm = confirm
        self._current_address = current_address
        self._check: ImportCheck | None = None
        self._checked_generation = -1
        self._generation = 0
        self._task: tasks.Task[ImportCheck] | None = None
        self.setObjectName(ids.CERTIFICATE_DIALOG)
        self.setWindowTitle("Certificate")
        self.setAccessibleName("Certificate")

        self.cert_type = QComboBox()
        self.cert_type.setObjectName(ids.COMBO_CERT_TYPE)
        self.cert_type.setAccessibleName("Certificate type")
        self.cert_type.addItem(PKCS12_LABEL, "pkcs12")
        self.cert_type.addItem(X509_LABEL, "x509")
        type_form = QFormLayout()
        type_label = QLabel("Certificate &type:")
        type_label.setBuddy(self.cert_type)
        type_form.addRow(type_label, self.cert_type)

        # PKCS #12 page
        self.p12_file = FileField(
            edit_name=ids.EDIT_P12_FILE, button_name=ids.BUTTON_P12_BROWSE,
            accessible="Certificate file", dialog_title="Certificate file",
            name_filter=PKCS12_FILTER,
        )
        self.p12_password = self._password_edit(ids.EDIT_P12_PASSWORD, "PKCS #12 password")
        p12_page = QWidget()
        p12_form = QFormLayout(p12_page)
        p12_form.setContentsMargins(0, 0, 0, 0)
        self._add_row(p12_form, "Certificate &file:", self.p12_file, self.p12_file.edit)
        self._add_row(p12_form, "&Password (if any):", self.p12_password, self.p12_password)

        # X.509 page
        self.key_file = FileField(
            edit_name=ids.EDIT_KEY_FILE, button_name=ids.BUTTON_KEY_BROWSE,
            accessible="Private key file", dialog_title="Private key (.prk, .pem)",
            name_filter=KEY_FILTER,
        )
        self.key_password = self._password_edit(ids.EDIT_KEY_PASSWORD, "Private key password")
        self.cert_file = FileField(
            edit_name=ids.EDIT_CERT_FILE, button_name=ids.BUTTON_CERT_BROWSE,
            accessible="Public key file", dialog_title="Public key (.cer)",
            name_filter=CERT_FILTER,
        )
        x509_page = QWidget()
        x509_form = QFormLayout(x509_page)
        x509_form.setContentsMargins(0, 0, 0, 0)
        self._add_row(x509_form, "Private &key (.prk, .pem):", self.key_file, self.key_file.edit)
        self._add_row(x509_form, "P&assword (if any):", self.key_password, self.key_password)
        self._add_row(x509_form, "P&ublic key (.cer):", self.cert_file, self.cert_file.edit)

        self.pages = QStackedWidget()
        self.pages.addWidget(p12_page)
        self.pages.addWidget(x509_page)

        self.term = ActivationTermGroup()

        self.status_label = QLabel()
        self.status_label.setObjectName(ids.LABEL_CHECK_STATUS)
        self.status_label.setAccessibleName("Requirements check status")
        self.status_label.setWordWrap(True)
        # What reading the files says that is no finding (a password that was not
        # needed): notes under the summary, never an error, not in the findings.
        self.notes = VerdictLabels(ids.CHECK_NOTES)
        self.notes.setAccessibleName("Notes")
        self.notes.hide()
        self.findings = FindingsTable(ids.FINDINGS_TABLE)
        self.findings.setMinimumHeight(140)
        self.acknowledge = QCheckBox(
            "I have read the &warnings above and want to use this certificate anyway"
        )
        self.acknowledge.setObjectName(ids.CHECK_ACKNOWLEDGE)
        self.acknowledge.setAccessibleName("Acknowledge the warnings")
        self.acknowledge.hide()

        self._make_buttons()

        layout = QVBoxLayout(self)
        layout.addLayout(type_form)
        layout.addWidget(self.pages)
        layout.addWidget(self.term)
        layout.addWidget(self.status_label)
        layout.addWidget(self.notes)
        layout.addWidget(self.findings, 1)
        layout.addWidget(self.acknowledge)
        layout.addWidget(self.buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start_check)

        self.cert_type.currentIndexChanged.connect(self._on_type_changed)
        for field in (self.p12_file, self.key_file, self.cert_file):
            field.sig_changed.connect(self._on_input_changed)
        for edit in (self.p12_password, self.key_password):
            edit.textChanged.connect(self._on_input_changed)
        self.term.sig_changed.connect(self._on_input_changed)
        self.acknowledge.toggled.connect(self._update_ok)
        self._update_tab_order()
        self.resize(760, 600)
        self._on_input_changed()

    # --- construction helpers -------------------------------------------------------------

    @staticmethod
    def _password_edit(name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        # Input methods and autocompletion must not see or remember the password.
        edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText
            | Qt.InputMethodHint.ImhNoPredictiveText
            | Qt.InputMethodHint.ImhSensitiveData
        )
        return edit

    @staticmethod
    def _add_row(form: QFormLayout, caption: str, field: QWidget, buddy: QWidget) -> None:
        label = QLabel(caption)
        label.setBuddy(buddy)
        form.addRow(label, field)

    def _update_tab_order(self) -> None:
        if self.kind() == "pkcs12":
            fields: list[QWidget] = [
                self.p12_file.edit, self.p12_file.browse, self.p12_password,
            ]
        else:
            fields = [
                self.key_file.edit, self.key_file.browse, self.key_password,
                self.cert_file.edit, self.cert_file.browse,
            ]
        chain: list[QWidget] = [
            self.cert_type, *fields, *self.term.focus_chain(), self.findings, self.acknowledge,
            self.ok_button, self.cancel_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    # --- API ------------------------------------------------------------------------------

    @property
    def check(self) -> ImportCheck | None:
        """The result of the last finished check for the current inputs."""
        return self._check if self._checked_generation == self._generation else None

    def kind(self) -> str:
        return str(self.cert_type.currentData())

    def set_kind(self, kind: str) -> None:
        self.cert_type.setCurrentIndex(0 if kind == "pkcs12" else 1)

    def is_idle(self) -> bool:
        """No check pending or running (tests wait for this)."""
        return not self._debounce.isActive() and self._task is None

    def request(self) -> ImportRequest:
        """The request for the current inputs. Raises ValidationError when files are missing."""
        if self.kind() == "pkcs12":
            return ImportRequest(
                kind="pkcs12",
                term_days=self.term.term_days(),
                pkcs12=self.p12_file.path(),
                password=_password(self.p12_password),
            )
        return ImportRequest(
            kind="x509",
            term_days=self.term.term_days(),
            key=self.key_file.path(),
            cert=self.cert_file.path(),
            password=_password(self.key_password),
        )

    @classmethod
    def ask(
        cls, parent: QWidget | None, console: Console | AdministrationServer,
        *, confirm: ConfirmImport | None = None, current_address: str | None = None,
    ) -> ImportRequest | None:
        return cls(console, parent, confirm=confirm, current_address=current_address).run()

    def accept(self) -> None:
        check = self.check
        if not self._acceptable() or check is None:
            return
        request = self.request()
        if self._confirm is not None and not self._confirm(request, check):
            return  # No: back to this window, files and passwords kept
        self._result = request
        super().accept()

    def address_change(self, check: ImportCheck) -> str | None:
        """The address the new certificate names when devices connect to another one now."""
        return address_change(check, self._current_address)

    def reject(self) -> None:
        self._debounce.stop()
        super().reject()

    # --- the live check -------------------------------------------------------------------

    def _on_type_changed(self) -> None:
        self.pages.setCurrentIndex(0 if self.kind() == "pkcs12" else 1)
        self._update_tab_order()
        self._on_input_changed()

    def _on_input_changed(self) -> None:
        self._generation += 1
        self._check = None
        self.acknowledge.setChecked(False)
        self.acknowledge.hide()
        self.ok_button.setEnabled(False)
        self.status_label.setStyleSheet("")
        self.notes.set_verdicts([])
        try:
            self.request()
        except KscertError as err:
            self._debounce.stop()
            self.findings.set_verdicts([])
            self.status_label.setText(str(err))
            return
        self.status_label.setText("Checking the certificate…")
        self._debounce.start()

    def _start_check(self) -> None:
        if self._task is not None:
            return  # _check_done starts the next check for the newest inputs
        try:
            request = self.request()
        except KscertError:
            return
        generation = self._generation
        console = self._console
        self._task = tasks.run_in_background(
            self,
            lambda: console.server.check_import(request),
            lambda check: self._check_done(generation, check, None),
            lambda err: self._check_done(generation, None, err),
        )

    def _check_done(
        self, generation: int, check: ImportCheck | None, err: BaseException | None
    ) -> None:
        self._task = None
        if generation != self._generation:
            # The inputs changed while this check ran: its verdict is stale.
            if not self._debounce.isActive():
                self._start_check()
            return
        self._checked_generation = generation
        self._check = check
        if err is not None:
            self.findings.set_verdicts([])
            text_, _details = messages.describe(err)
            self.status_label.setText(text_)
            self.status_label.setStyleSheet(f"color: {text.ALERT_COLOR}")
            if not isinstance(err, KscertError):
                messages.log.error("requirements check failed", exc_info=err)
        else:
            assert check is not None
            verdicts = [Verdict.of_finding(f) for f in check.findings]
            verdicts += [Verdict.of_issue(i) for i in check.issues]
            new_address = self.address_change(check)
            if new_address is not None:
                verdicts.append(Verdict(
                    "warning", "address-change",
                    f"Devices connect to {self._current_address} now; this certificate is for "
                    f"{new_address}: once it is the main certificate, devices are told to "
                    f"connect to {new_address}. Make sure that name reaches this server."))
            self.findings.set_verdicts(verdicts)
            self.notes.set_verdicts(
                [Verdict("notice", "note", text.localize(n)) for n in check.notes])
            self.status_label.setText(self._summary(check, verdicts))
            self.status_label.setStyleSheet(
                f"color: {text.ALERT_COLOR}" if check.blocked else ""
            )
            self.acknowledge.setVisible(bool(check.warnings) and not check.blocked)
        self._update_ok()
        self.sig_checked.emit()

    @staticmethod
    def _summary(check: ImportCheck, verdicts: Sequence[Verdict]) -> str:
        """One line over the findings; ``verdicts``: the rows listed under it."""
        if check.certificate is None:
            # Nothing could be read: say why (a wrong password is not "no certificate").
            first = check.errors[0].message if check.errors else "no certificate was found."
            return f"The file cannot be used: {text.after_colon(first)}"
        subject = check.certificate.subject
        errors = len(check.errors) + sum(1 for i in check.issues if i.severity == "error")
        if errors:
            return (f"{subject}: {errors} error" + ("s" if errors != 1 else "")
                    + " — this certificate cannot be used.")
        # Every warning row counts, not only the findings' (an activation term, another
        # connection address): "meets the requirements." over a warning read as all clear.
        warnings = sum(1 for v in verdicts if v.severity == "warning")
        if not warnings:
            return f"{subject}: meets the requirements."
        said = f"{subject}: meets the requirements, with {text.count(warnings, 'warning')}"
        if check.warnings:
            return f"{said} that you must acknowledge."
        return f"{said} (listed below)."

    def _acceptable(self) -> bool:
        check = self.check
        if check is None or check.blocked:
            return False
        return not check.warnings or self.acknowledge.isChecked()

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(self._acceptable())
