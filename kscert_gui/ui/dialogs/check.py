"""The **Check** window: connect to an endpoint with TLS and show what it serves.

Opened from the Certificates page (the Administration Server's port for mobile
devices) and for each connection gateway (:func:`check_gateway`). The probe runs
off the GUI thread; the window shows the served chain and a plain verdict: the
store's main certificate, its reserve certificate, the certificate the gateway
holds, or a mismatch — or why no TLS session came about.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.clock import iso
from kscert_gui.services.endpoint_service import DEFAULT_SERVER_PORT
from kscert_gui.services.views import CheckReport
from kscert_gui.ui import ids, tasks, text
from kscert_gui.ui.console import Console

CHAIN_HEADERS = ("Subject", "Subject alternative names", "Valid to", "SHA-256")
PROBE_TIMEOUT = 10.0


def verdict(report: CheckReport, expected_sha256: str | None = None,
            expected_label: str | None = None) -> tuple[str, str]:
    """(severity, sentence) for a check: ``ok``, ``warning`` (mismatch) or ``error``."""
    probe = report.probe
    if probe.error is not None:
        return "error", f"No TLS certificate was served: {probe.error}."
    leaf = probe.chain[0].sha256
    if expected_sha256 is not None:
        label = expected_label or "the expected certificate"
        if leaf == expected_sha256:
            if report.matches == "main":
                return "ok", f"The endpoint serves {label}, the main certificate."
            return "warning", (
                f"Mismatch: the endpoint serves {label}, which is not the main certificate: "
                "reconnect the gateway."
            )
        return "warning", f"Mismatch: the endpoint does not serve {label}."
    if report.matches == "main":
        return "ok", "The endpoint serves the main certificate of the Administration Server."
    if report.matches == "reserve":
        return "warning", (
            "The endpoint serves the reserve certificate, which is not the main certificate "
            "yet."
        )
    return "warning", (
        "Mismatch: the endpoint serves a certificate that is neither the main nor the reserve "
        "certificate of the Administration Server."
    )


class CheckDialog(QDialog):
    """Address, port and server name; **Check**; the verdict and the served chain."""

    def __init__(
        self,
        console: Console,
        host: str,
        port: int = DEFAULT_SERVER_PORT,
        parent: QWidget | None = None,
        *,
        title: str = "Check the Administration Server endpoint",
        expected_sha256: str | None = None,
        expected_label: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.console = console
        self.expected_sha256 = expected_sha256
        self.expected_label = expected_label
        self.task: tasks.Task[CheckReport] | None = None
        self._report: CheckReport | None = None
        self.setObjectName(ids.CHECK_DIALOG)
        self.setWindowTitle(title)
        self.setAccessibleName(title)

        self.host = QLineEdit(host)
        self.host.setObjectName(ids.EDIT_CHECK_HOST)
        self.host.setAccessibleName("Address")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(port)
        self.port.setObjectName(ids.SPIN_CHECK_PORT)
        self.port.setAccessibleName("Port")
        self.servername = QLineEdit()
        self.servername.setPlaceholderText("(the address)")
        self.servername.setObjectName(ids.EDIT_CHECK_SERVERNAME)
        self.servername.setAccessibleName("Server name (SNI)")
        self.check_button = QPushButton("&Check")
        self.check_button.setObjectName(ids.BUTTON_RUN_CHECK)
        self.check_button.setAccessibleName("Check")
        self.check_button.setAutoDefault(True)
        self.check_button.setDefault(True)

        form = QFormLayout()
        for label_text, field in (("&Address:", self.host), ("&Port:", self.port),
                                  ("&Server name (SNI):", self.servername)):
            label = QLabel(label_text)
            label.setBuddy(field)
            form.addRow(label, field)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.check_button)
        form.addRow(row)

        self.verdict = QLabel("Not checked yet.")
        self.verdict.setObjectName(ids.LABEL_CHECK_VERDICT)
        self.verdict.setAccessibleName("Verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.session = QLabel()
        self.session.setObjectName(ids.LABEL_CHECK_SESSION)
        self.session.setAccessibleName("Protocol and cipher")
        self.session.setTextFormat(Qt.TextFormat.PlainText)
        self.session.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chain = QTableWidget(0, len(CHAIN_HEADERS))
        self.chain.setObjectName(ids.CHECK_CHAIN_TABLE)
        self.chain.setAccessibleName("Served certificate chain")
        self.chain.setHorizontalHeaderLabels(list(CHAIN_HEADERS))
        self.chain.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.chain.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.chain.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.chain.horizontalHeader().setStretchLastSection(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.setObjectName(ids.DIALOG_BUTTONS)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addWidget(self.session)
        layout.addWidget(self.chain, 1)
        layout.addWidget(self.buttons)
        self.resize(820, 360)

        self.check_button.clicked.connect(self.run_check)

    # --- the check ------------------------------------------------------------------------

    def run_check(self) -> None:
        """Probe the endpoint in the background; the answer fills the window."""
        host = self.host.text().strip()
        if not host:
            self._set_verdict("error", "Enter the address to check.")
            return
        port = self.port.value()
        sni = self.servername.text().strip() or None
        self.check_button.setEnabled(False)
        self._set_verdict("", f"Connecting to {host}:{port}…")
        self.session.clear()
        self.chain.setRowCount(0)
        console = self.console
        self.task = tasks.run_in_background(
            self,
            lambda: console.server.endpoints.check_endpoint(
                host, port, servername=sni, timeout=PROBE_TIMEOUT
            ),
            self._show_report,
            self._failed,
        )

    def result_value(self) -> CheckReport | None:
        """The last check's report (None before one has finished)."""
        return self._report

    def _show_report(self, report: CheckReport) -> None:
        self._report = report
        self.check_button.setEnabled(True)
        severity, sentence = verdict(report, self.expected_sha256, self.expected_label)
        warned = report.probe.warnings
        if warned:
            # What kscert check prints as warnings: weak protocol or cipher, a client
            # certificate asked for, a served certificate expired or not yet valid.
            sentence += "\n" + "\n".join(
                f"Warning: {text.localize(w.message)}" for w in warned)
            if severity == "ok":
                severity = "warning"
        self._set_verdict(severity, sentence)
        probe = report.probe
        if probe.error is None:
            self.session.setText(f"{probe.protocol}, {probe.cipher}")
        self.chain.setRowCount(len(probe.chain))
        for row, cert in enumerate(probe.chain):
            values = (cert.subject, ", ".join(cert.san) or "(none)",
                      text.instant(cert.not_after), cert.sha256)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value if col != 2 else iso(cert.not_after))
                self.chain.setItem(row, col, item)

    def _failed(self, err: BaseException) -> None:
        from kscert_gui.ui import messages

        self.check_button.setEnabled(True)
        shown, _details = messages.describe(err)
        self._set_verdict("error", shown)
        if _details is not None:
            messages.show_error(self, err)

    def _set_verdict(self, severity: str, sentence: str) -> None:
        self.verdict.setText(sentence)
        self.verdict.setProperty("severity", severity)
        color = {"ok": text.OK_COLOR, "warning": text.ALERT_COLOR,
                 "error": text.ALERT_COLOR}.get(severity)
        self.verdict.setStyleSheet(f"color: {color}; font-weight: bold" if color else "")

    # --- entry points ---------------------------------------------------------------------

    @classmethod
    def show_for(
        cls,
        parent: QWidget | None,
        console: Console,
        host: str,
        port: int = DEFAULT_SERVER_PORT,
        *,
        title: str = "Check the Administration Server endpoint",
        expected_sha256: str | None = None,
        expected_label: str | None = None,
        start: bool = False,
    ) -> CheckReport | None:
        """Open the window (checking at once with ``start``); return the last report.

        By default the person first confirms the address and port: the console knows
        the connection address, not where the endpoint really listens.
        """
        dialog = cls(console, host, port, parent, title=title,
                     expected_sha256=expected_sha256, expected_label=expected_label)
        try:
            if start:
                dialog.run_check()
            dialog.exec()
            return dialog.result_value()
        finally:
            dialog.deleteLater()


def check_server(parent: QWidget | None, console: Console, address: str) -> CheckReport | None:
    """**Check** on the Certificates page: the main certificate's address (from the
    snapshot the page shows; empty when there is none: the person types it), port 13292."""
    return CheckDialog.show_for(parent, console, address, DEFAULT_SERVER_PORT)


def check_gateway(
    parent: QWidget | None,
    console: Console,
    host: str,
    port: int,
    held_sha256: str | None,
) -> CheckReport | None:
    """**Check** for a connection gateway: does it serve the certificate it holds?"""
    return CheckDialog.show_for(
        parent,
        console,
        host,
        port,
        title=f"Check connection gateway {host}",
        expected_sha256=held_sha256,
        expected_label=f"the certificate connection gateway {host} holds",
    )
