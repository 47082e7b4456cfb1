"""The **Audit log** window: every recorded action, newest first (DESIGN §8).

Time (local, with the zone's offset; UTC in the tooltip), action and details of each
entry; never a secret (:mod:`kscert_gui.services.audit_service`). The log is read in a
worker when the window opens, on **Refresh** (F5) and whenever the console's snapshot
changes (a change made here or elsewhere), keeping the rows a person has selected.
Copy (Ctrl+C), the context menu and Save as CSV come from the list tools.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.services.audit_service import AuditReading, read_audit_log
from kscert_gui.ui import ids, tasks, text
from kscert_gui.ui.console import Console
from kscert_gui.ui.status_feed import StatusFeed, StatusReading
from kscert_gui.ui.widgets.list_tools import ListTools

HEADERS = ("Time", "Action", "Details")
ID_ROLE = Qt.ItemDataRole.UserRole
ROWS = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows


class AuditLogDialog(QDialog):
    """The audit log of the store, read off the GUI thread."""

    #: A reading was shown (tests wait for it).
    sig_loaded = Signal()

    def __init__(self, console: Console, feed: StatusFeed | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.reading: AuditReading | None = None
        self._task: tasks.Task[AuditReading] | None = None
        self._again = False
        self.setObjectName(ids.AUDIT_LOG_DIALOG)
        self.setWindowTitle("Audit log")
        self.setAccessibleName("Audit log")

        self.status = QLabel("Reading the audit log…")
        self.status.setObjectName(ids.LABEL_AUDIT_STATUS)
        self.status.setAccessibleName("Audit log entries")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName(ids.AUDIT_TABLE)
        self.table.setAccessibleName("Audit log")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
        self.table.setColumnWidth(1, 220)
        self.list_tools = ListTools(self.table, title="Audit log", csv_name="audit-log")

        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName(ids.BUSY_BAR)
        self.busy_bar.setAccessibleName("Working")
        self.busy_bar.setMaximumWidth(160)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setObjectName(ids.BUTTON_AUDIT_REFRESH)
        self.refresh_button.setAccessibleName("Read the audit log again")
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self._refresh_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self)
        self._refresh_key.activated.connect(lambda: self.refresh())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        close = self.buttons.button(QDialogButtonBox.StandardButton.Close)
        if close is not None:
            close.setAccessibleName("Close")
            close.setAutoDefault(False)

        bottom = QHBoxLayout()
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.busy_bar)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.resize(900, 520)

        if feed is not None:
            # A change anywhere in the console (or a periodic refresh) reads it again.
            feed.show_in(self._on_snapshot)
        self.refresh()

    def _on_snapshot(self, _reading: StatusReading) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> tasks.Task[AuditReading] | None:
        """Read the log in a worker (one read at a time; a request meanwhile reads again
        when it ends)."""
        if self._task is not None and self._task.running:
            self._again = True
            return None
        server = self.console.server
        self._task = tasks.run_in_background(
            self, lambda: read_audit_log(server, number=text.thousands), self._show,
            self._failed, passive=True)
        self._task.sig_finished.connect(self._finished)
        return self._task

    def _finished(self, *_args: object) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, err: BaseException) -> None:
        self.status.setText(f"The audit log could not be read: {err}")
        self.sig_loaded.emit()

    def selected_ids(self) -> set[int]:
        out = set()
        for index in self.table.selectionModel().selectedRows():
            item = self.table.item(index.row(), 0)
            if item is not None:
                out.add(int(item.data(ID_ROLE)))
        return out

    def _show(self, reading: AuditReading) -> None:
        keep = self.selected_ids()
        current = self.table.currentRow()
        current_item = self.table.item(current, 0) if current >= 0 else None
        current_id = int(current_item.data(ID_ROLE)) if current_item is not None else None
        self.reading = reading
        records = reading.records
        self.table.setUpdatesEnabled(False)
        try:
            self.table.clearSelection()
            self.table.setRowCount(len(records))
            selection = self.table.selectionModel()
            for row, record in enumerate(records):
                when = QTableWidgetItem(text.instant(record.at))
                when.setToolTip(text.instant_utc(record.at))
                when.setData(ID_ROLE, record.id)
                action = QTableWidgetItem(record.action)
                # Instants recorded in the details as ISO 8601 UTC, in the windows' style.
                shown = text.localize(record.details)
                details = QTableWidgetItem(shown)
                details.setToolTip(shown)
                for col, item in enumerate((when, action, details)):
                    self.table.setItem(row, col, item)
                if record.id == current_id:
                    self.table.setCurrentCell(row, 0, QItemSelectionModel.SelectionFlag.NoUpdate)
                if record.id in keep:
                    selection.select(self.table.model().index(row, 0), ROWS)
        finally:
            self.table.setUpdatesEnabled(True)
        n = len(records)
        if not n:
            self.status.setText("No action has been recorded yet.")
        elif reading.more:
            self.status.setText(f"The latest {text.thousands(n)} recorded actions, newest "
                                "first.")
        else:
            self.status.setText(f"{text.thousands(n)} recorded action"
                                + ("" if n == 1 else "s") + ", newest first.")
        self.sig_loaded.emit()

    @classmethod
    def open_for(cls, parent: QWidget | None, console: Console,
                 feed: StatusFeed | None) -> AuditLogDialog:
        dialog = cls(console, feed, parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog
