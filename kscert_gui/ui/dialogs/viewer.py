"""The certificate viewer: General, Details, Certification path; and Export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtNetwork import QSsl, QSslCertificate
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.errors import KscertError
from kscert_gui.services.fsutil import write_private_file
from kscert_gui.services.server import AdministrationServer, Which
from kscert_gui.services.views import CertView
from kscert_gui.ui import ids, messages, resources, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.dialogs.export import ExportDialog, ExportRequest


def detail_rows(view: CertView, der: bytes | None) -> list[tuple[str, str]]:
    """Every field and extension as (name, value) rows for the Details tab."""
    info = view.info
    rows: list[tuple[str, str]] = [
        ("Subject", info.subject),
        ("Issuer", info.issuer),
        ("Serial number", info.serial),
        ("Valid from", text.instant(info.not_before)),
        ("Valid to", text.instant(info.not_after)),
        ("Public key", info.key),
        ("Signature algorithm", info.signature),
        ("Subject alternative names", ", ".join(info.san) or "(none)"),
        ("Certificate authority", "Yes" if info.is_ca else "No"),
        ("Self-signed", "Yes" if info.self_signed else "No"),
        ("Intended purposes", ", ".join(info.purposes) or "(none)"),
        ("SHA-256 thumbprint", info.sha256),
        ("Connection address", view.address),
        ("Source", "Issued through Administration Server" if view.source == "issued"
         else "Other certificate"),
        ("Activation term", "Immediately" if view.term_days is None
         else f"After {text.days(view.term_days)}"),
        ("Created", text.instant(view.created_at)),
    ]
    cert = _qt_certificate(der)
    if cert is not None:
        rows.insert(0, ("Version", f"V{bytes(cert.version().data()).decode('ascii', 'replace')}"))
        for ext in cert.extensions():
            value = ext.value()
            shown = _extension_text(value)
            critical = " (critical)" if ext.isCritical() else ""
            rows.append((f"Extension {ext.name()} [{ext.oid()}]{critical}", shown))
    return rows


def _qt_certificate(der: bytes | None) -> QSslCertificate | None:
    if not der:
        return None
    cert = QSslCertificate(QByteArray(der), QSsl.EncodingFormat.Der)
    return None if cert.isNull() else cert


def _extension_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_extension_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_extension_text(v) for v in value)
    if isinstance(value, QByteArray):
        return bytes(value.data()).hex(":")
    return str(value)


@dataclass(frozen=True)
class ViewerData:
    """What the viewer shows of one certificate, read in a worker before it opens."""

    which: Which
    view: CertView
    der: bytes | None
    key_available: bool


def read_viewer_data(server: AdministrationServer, which: Which) -> ViewerData:
    """Read the certificate ``which`` for the viewer (call from a worker)."""
    view = server.certificate_view(which)
    try:
        der: bytes | None = server.export(which, "der")
    except KscertError:
        der = None
    return ViewerData(which, view, der, server.private_key_available(which))


class CertificateViewer(QDialog):
    """Read-only view of one certificate record (main or reserve)."""

    def __init__(self, console: Console, data: ViewerData, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._console = console
        self._which: Which = data.which
        self.view = data.view
        self._der: bytes | None = data.der
        self.key_available = data.key_available
        self.export_task: tasks.Task[Path] | None = None
        info = self.view.info
        self.setObjectName(ids.VIEWER_DIALOG)
        title = "Reserve certificate" if data.which == "reserve" else "Certificate"
        self.setWindowTitle(f"{title}: {info.common_name or info.subject}")
        self.setAccessibleName(title)
        self.setWindowIcon(resources.icon("certificate"))

        self.tabs = QTabWidget()
        self.tabs.setObjectName(ids.VIEWER_TABS)
        self.tabs.setAccessibleName("Certificate tabs")
        self.tabs.addTab(self._general(info), "&General")
        self.tabs.addTab(self._details(), "&Details")
        self.tabs.addTab(self._path(), "Certification &path")

        self.export_button = QPushButton("&Export…")
        self.export_button.setObjectName(ids.BUTTON_EXPORT)
        self.export_button.setAccessibleName("Export certificate")
        self.export_button.setAutoDefault(False)
        self.export_button.clicked.connect(self._export)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.setObjectName(ids.DIALOG_BUTTONS)
        self.buttons.rejected.connect(self.reject)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setAccessibleName("Close")
        bottom = QHBoxLayout()
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(bottom)
        self.resize(720, 560)

    # --- tabs -----------------------------------------------------------------------------

    def _general(self, info: CertificateInfo) -> QWidget:
        page = QWidget()
        page.setObjectName(ids.VIEWER_GENERAL)
        form = QFormLayout(page)
        values = [
            ("Issued to:", info.subject),
            ("Issued by:", info.issuer),
            ("Valid from:", text.instant(info.not_before)),
            ("Valid to:", text.instant(info.not_after)),
            ("Intended purposes:", ", ".join(info.purposes) or "(none stated)"),
            ("Subject alternative names:", ", ".join(info.san) or "(none)"),
        ]
        for caption, value in values:
            label = QLabel(value)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(caption.rstrip(":"))
            form.addRow(caption, label)
        key = QLabel(
            "You have a private key that corresponds to this certificate."
            if self.key_available
            else "No private key corresponds to this certificate in the store."
        )
        key.setWordWrap(True)
        key.setAccessibleName("Private key")
        form.addRow("Private key:", key)
        return page

    def _details(self) -> QWidget:
        page = QWidget()
        page.setObjectName(ids.VIEWER_DETAILS)
        self.details_table = QTableWidget(0, 2)
        self.details_table.setObjectName(ids.VIEWER_DETAILS_TABLE)
        self.details_table.setAccessibleName("Certificate fields")
        self.details_table.setHorizontalHeaderLabels(["Field", "Value"])
        self.details_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.details_table.verticalHeader().setVisible(False)
        self.details_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.details_table.horizontalHeader().setStretchLastSection(True)
        self.details_table.setWordWrap(True)
        rows = detail_rows(self.view, self._der)
        self.details_table.setRowCount(len(rows))
        for row, (name, value) in enumerate(rows):
            self.details_table.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.details_table.setItem(row, 1, item)
        self.details_table.resizeRowsToContents()
        self.details_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        from kscert_gui.ui.widgets.list_tools import ListTools

        # Ctrl+C copies the selected fields; the list's context menu (Shift+F10 too).
        self.details_tools = ListTools(self.details_table, title="Certificate fields")

        cert = _qt_certificate(self._der)
        self.details_text = QPlainTextEdit()
        self.details_text.setObjectName(ids.VIEWER_DETAILS_TEXT)
        self.details_text.setAccessibleName("Certificate as text")
        self.details_text.setReadOnly(True)
        self.details_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        full = cert.toText() if cert is not None else ""
        self.details_text.setPlainText(full or "\n".join(f"{n}: {v}" for n, v in rows))

        copy = QPushButton("&Copy to clipboard")
        copy.setObjectName(ids.BUTTON_COPY_DETAILS)
        copy.setAccessibleName("Copy details to clipboard")
        copy.setAutoDefault(False)
        copy.clicked.connect(self._copy)

        layout = QVBoxLayout(page)
        layout.addWidget(self.details_table, 3)
        layout.addWidget(self.details_text, 2)
        layout.addWidget(copy, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _copy(self) -> None:
        rows = detail_rows(self.view, self._der)
        clipboard = QGuiApplication.clipboard()
        clipboard.setText("\n".join(f"{name}: {value}" for name, value in rows))

    def _path(self) -> QWidget:
        page = QWidget()
        page.setObjectName(ids.VIEWER_PATH)
        self.path_tree = QTreeWidget()
        self.path_tree.setObjectName(ids.VIEWER_PATH_TREE)
        self.path_tree.setAccessibleName("Certification path")
        self.path_tree.setHeaderLabels(["Certificate", "Valid to"])
        path = chain_order(self.view.info, self.view.chain)
        parent: QTreeWidgetItem | None = None
        for index, info in enumerate(path):
            name = info.common_name or info.subject
            if index == 0 and not info.self_signed:
                name += " (issuer not in the store)"
            item = QTreeWidgetItem([name, text.date(info.not_after)])
            item.setToolTip(0, info.subject)
            if parent is None:
                self.path_tree.addTopLevelItem(item)
            else:
                parent.addChild(item)
            parent = item
        self.path_tree.expandAll()
        # The names in full ("mdm.trai…" was cut off): the first column as wide as they are.
        self.path_tree.resizeColumnToContents(0)
        self.path_tree.header().setStretchLastSection(True)
        if parent is not None:
            self.path_tree.setCurrentItem(parent)
        status = QLabel(
            "The chain ends at a self-signed certificate."
            if path and path[0].self_signed
            else "The chain is incomplete: devices must already trust its issuer."
        )
        status.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self.path_tree)
        layout.addWidget(status)
        return page

    # --- export ---------------------------------------------------------------------------

    def _export(self) -> None:
        request = ExportDialog.ask(
            self,
            key_available=self.key_available,
            default_name=self.view.info.common_name or "certificate",
        )
        if request is None:
            return
        self.start_export(request)

    def start_export(self, request: ExportRequest) -> tasks.Task[Path]:
        """Write the export in the background; tests call this with a built request."""
        console, which = self._console, self._which

        def work() -> Path:
            data = console.server.export(
                which, request.fmt, password=request.password, legacy=request.legacy
            )
            try:
                write_private_file(request.path, data)
            except OSError as err:
                raise KscertError(
                    f"The file {request.path} cannot be written: {err.strerror or err}."
                ) from None
            return request.path

        self.export_button.setEnabled(False)

        def done(path: Path) -> None:
            self.export_button.setEnabled(True)
            messages.show_info(self, "Export certificate", f"The certificate was saved to {path}.")

        def failed(err: BaseException) -> None:
            self.export_button.setEnabled(True)
            messages.show_error(self, err)

        self.export_task = tasks.run_in_background(self, work, done, failed)
        return self.export_task

    @classmethod
    def show_for(
        cls, parent: QWidget | None, console: Console, which: Which
    ) -> tasks.Task[ViewerData]:
        """Read the certificate in a worker (the busy bar shows), then open the viewer."""
        server = console.server

        def opened(data: ViewerData) -> None:
            dialog = cls(console, data, parent)
            try:
                dialog.exec()
            finally:
                dialog.deleteLater()

        return tasks.run_in_background(
            parent, lambda: read_viewer_data(server, which), opened, passive=True
        )


def chain_order(leaf: CertificateInfo, chain: tuple[CertificateInfo, ...]) -> list[CertificateInfo]:
    """Root first, leaf last: follow issuer → subject through the certificates at hand."""
    by_subject = {c.subject: c for c in chain}
    path = [leaf]
    seen = {leaf.sha256}
    current = leaf
    while not current.self_signed and current.issuer in by_subject:
        issuer = by_subject[current.issuer]
        if issuer.sha256 in seen:
            break
        path.append(issuer)
        seen.add(issuer.sha256)
        current = issuer
    return list(reversed(path))
