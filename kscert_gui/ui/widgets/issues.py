"""Inline verdicts: activation-term issues and §4 findings shown under a form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.certinfo import Finding
from kscert_gui.model.schedule import TermIssue
from kscert_gui.ui import text


@dataclass(frozen=True)
class Verdict:
    """One line shown to the person: a term issue or a requirements finding."""

    severity: str  # error | warning | notice
    code: str
    message: str
    fix: str = ""

    @classmethod
    def of_issue(cls, issue: TermIssue) -> Verdict:
        # The model writes instants for the command line (UTC); windows show local time.
        return cls(issue.severity, issue.code, text.localize(issue.message))

    @classmethod
    def of_finding(cls, finding: Finding) -> Verdict:
        return cls(finding.severity, finding.code, text.localize(finding.message),
                   text.localize(finding.fix))

    def line(self) -> str:
        caption = {"error": "Error", "warning": "Warning", "notice": "Note"}.get(
            self.severity, self.severity.capitalize()
        )
        return f"{caption}: {self.message}" + (f" {self.fix}" if self.fix else "")


class VerdictLabels(QWidget):
    """A column of word-wrapped, coloured labels (short lists: the Reissue window)."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setAccessibleName("Messages")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._verdicts: tuple[Verdict, ...] = ()

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return self._verdicts

    def set_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        self._verdicts = tuple(verdicts)
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                # Hidden at once: the deletion waits for the event loop, and until then the
                # old label would still paint under the new ones.
                widget.hide()
                widget.deleteLater()
        for verdict in self._verdicts:
            label = QLabel(verdict.line())
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setStyleSheet(f"color: {text.SEVERITY_COLORS.get(verdict.severity, '')}")
            label.setProperty("severity", verdict.severity)
            label.setProperty("code", verdict.code)
            self._layout.addWidget(label)
        self.setVisible(bool(self._verdicts))


class FindingsTable(QTableWidget):
    """Severity, code, message and fix of each verdict, read-only and copyable."""

    HEADERS = ("Severity", "Code", "Message", "How to fix")

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.setObjectName(object_name)
        self.setAccessibleName("Requirements check results")
        self.setHorizontalHeaderLabels(list(self.HEADERS))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self._verdicts: tuple[Verdict, ...] = ()
        # Ctrl+C and a context menu (Shift+F10, the Menu key), as every list has; imported
        # here, as the Certificates page imports this module at start-up.
        from kscert_gui.ui.widgets.list_tools import ListTools

        self.list_tools = ListTools(self, title="Requirements check results")

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        return self._verdicts

    def codes(self) -> list[str]:
        return [v.code for v in self._verdicts]

    def set_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        self._verdicts = tuple(verdicts)
        self.setRowCount(len(self._verdicts))
        for row, verdict in enumerate(self._verdicts):
            values = (verdict.severity, verdict.code, verdict.message, verdict.fix)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                color = text.SEVERITY_COLORS.get(verdict.severity)
                if col == 0 and color:
                    item.setForeground(QColor(color))
                item.setToolTip(value)
                self.setItem(row, col, item)
        self.resizeRowsToContents()
