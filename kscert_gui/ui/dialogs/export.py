"""The export window of the certificate viewer: PEM, DER, or PKCS #12 with a password."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.services.server import ExportFormat
from kscert_gui.ui import ids, text
from kscert_gui.ui.widgets import file_dialogs
from kscert_gui.ui.widgets.file_field import FileField
from kscert_gui.ui.widgets.request_dialog import RequestDialog

SUFFIXES: dict[str, str] = {"pem": ".pem", "der": ".cer", "p12": ".p12"}
FILTERS: dict[str, str] = {
    "pem": "PEM certificate (*.pem *.crt)",
    "der": "DER certificate (*.cer *.der)",
    "p12": "PKCS #12 (*.p12 *.pfx)",
}


@dataclass(frozen=True)
class ExportRequest:
    """What to write where. ``password`` only for PKCS #12; never shown in repr."""

    fmt: ExportFormat
    path: Path
    legacy: bool = False
    password: bytes | None = field(default=None, repr=False)


class ExportDialog(RequestDialog[ExportRequest]):
    """Format choice, PKCS #12 encryption and password (typed twice), target file."""

    def __init__(
        self, parent: QWidget | None = None, *, key_available: bool, default_name: str
    ) -> None:
        super().__init__(parent)
        self._default_name = default_name
        self.setObjectName(ids.EXPORT_DIALOG)
        self.setWindowTitle("Export certificate")
        self.setAccessibleName("Export certificate")

        group = QGroupBox("Format")
        self.pem = QRadioButton("&PEM (Base64 certificate)")
        self.pem.setObjectName(ids.RADIO_EXPORT_PEM)
        self.pem.setAccessibleName("PEM")
        self.der = QRadioButton("&DER (binary certificate)")
        self.der.setObjectName(ids.RADIO_EXPORT_DER)
        self.der.setAccessibleName("DER")
        self.p12 = QRadioButton("PKCS #&12 (certificate with private key)")
        self.p12.setObjectName(ids.RADIO_EXPORT_P12)
        self.p12.setAccessibleName("PKCS #12")
        self.p12.setEnabled(key_available)
        buttons = QButtonGroup(self)
        for radio in (self.pem, self.der, self.p12):
            buttons.addButton(radio)
        self.pem.setChecked(True)
        group_layout = QVBoxLayout(group)
        for radio in (self.pem, self.der, self.p12):
            group_layout.addWidget(radio)

        self.encryption = QComboBox()
        self.encryption.setObjectName(ids.COMBO_P12_ENCRYPTION)
        self.encryption.setAccessibleName("PKCS #12 encryption")
        self.encryption.addItem("AES-256 (modern)", False)
        self.encryption.addItem("3DES (legacy, for older systems)", True)
        self.password = self._secret(ids.EDIT_EXPORT_PASSWORD, "Password")
        self.password_again = self._secret(ids.EDIT_EXPORT_PASSWORD_AGAIN, "Confirm password")
        self.file = FileField(
            edit_name=ids.EDIT_EXPORT_FILE, button_name=ids.BUTTON_EXPORT_BROWSE,
            accessible="Export file", dialog_title="Export certificate",
            name_filter=FILTERS["pem"], save=True,
        )
        form = QFormLayout()
        self._row(form, "&Encryption:", self.encryption)
        self._row(form, "Pass&word:", self.password)
        self._row(form, "C&onfirm password:", self.password_again)
        file_label = QLabel("&File:")
        file_label.setBuddy(self.file.edit)
        form.addRow(file_label, self.file)

        self.error = QLabel()
        self.error.setObjectName(ids.LABEL_EXPORT_ERROR)
        self.error.setAccessibleName("Export problem")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {text.ALERT_COLOR}")

        self._make_buttons()

        layout = QVBoxLayout(self)
        layout.addWidget(group)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

        for radio in (self.pem, self.der, self.p12):
            radio.toggled.connect(self._on_changed)
        for edit in (self.password, self.password_again, self.file.edit):
            edit.textChanged.connect(self._on_changed)
        # In the folder used last (DESIGN §8), under the certificate's name.
        self.file.set_path(file_dialogs.last_folder() / f"{default_name}{SUFFIXES['pem']}")
        self._on_changed()
        self._fit_path()

    def _fit_path(self) -> None:
        """Wide enough to show the suggested path in full (as far as the screen allows): at
        its own size the window showed "aining.example.pem", not where the file goes."""
        edit = self.file.edit
        text_width = edit.fontMetrics().horizontalAdvance(edit.text())
        # Beside the field: the captions, Browse, the margins; in it, the clear button.
        around = self.sizeHint().width() - edit.sizeHint().width()
        wanted = around + text_width + 2 * edit.sizeHint().height()
        screen = self.screen()
        if screen is not None:
            wanted = min(wanted, screen.availableGeometry().width() - 80)
        hint = self.sizeHint()
        self.resize(max(wanted, hint.width()), hint.height())

    @staticmethod
    def _secret(name: str, accessible: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
        )
        return edit

    @staticmethod
    def _row(form: QFormLayout, caption: str, widget: QWidget) -> None:
        label = QLabel(caption)
        label.setBuddy(widget)
        form.addRow(label, widget)

    def fmt(self) -> ExportFormat:
        if self.p12.isChecked():
            return "p12"
        return "der" if self.der.isChecked() else "pem"

    def _on_changed(self) -> None:
        fmt = self.fmt()
        p12 = fmt == "p12"
        for widget in (self.encryption, self.password, self.password_again):
            widget.setEnabled(p12)
        self.file.set_filter(FILTERS[fmt])  # Browse offers the matching extension
        path = self.file.path()
        if path is not None and path.suffix.lower() in SUFFIXES.values():
            wanted = SUFFIXES[fmt]
            if path.suffix.lower() != wanted:
                self.file.edit.blockSignals(True)
                self.file.set_path(path.with_suffix(wanted))
                self.file.edit.blockSignals(False)
        problem = self._problem()
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.ok_button.setEnabled(problem is None)

    def _problem(self) -> str | None:
        if self.file.path() is None:
            return "Choose the file to write."
        if self.fmt() == "p12":
            if not self.password.text():
                return "A PKCS #12 file needs a password to protect the private key."
            if self.password.text() != self.password_again.text():
                return "The two passwords do not match."
        return None

    def accept(self) -> None:
        if self._problem() is not None:
            return
        path = self.file.path()
        assert path is not None
        fmt = self.fmt()
        self._result = ExportRequest(
            fmt=fmt,
            path=path,
            legacy=bool(self.encryption.currentData()) if fmt == "p12" else False,
            password=self.password.text().encode("utf-8") if fmt == "p12" else None,
        )
        super().accept()

    @classmethod
    def ask(
        cls, parent: QWidget | None, *, key_available: bool, default_name: str
    ) -> ExportRequest | None:
        return cls(parent, key_available=key_available, default_name=default_name).run()
