"""The watched endpoints as a table: coloured by state, sortable, copyable."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from kscert_gui.services.watch import WatchedEndpoint
from kscert_gui.ui import text

COLUMNS = ("Endpoint", "Name", "State", "Days left", "Valid to", "Certificate", "Checked",
           "Reason")
(COL_ENDPOINT, COL_NAME, COL_STATE, COL_DAYS, COL_VALID_TO, COL_MATCHES, COL_CHECKED,
 COL_ERROR) = range(len(COLUMNS))
#: The value a column sorts by (numbers for days and times, state by severity).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The state of the row ("ok", "expiring"... or "" when never checked), for tests.
STATE_ROLE = Qt.ItemDataRole.UserRole + 2

STATE_TEXT = {
    "ok": "OK",
    "expiring": "Expiring",
    "expired": "Expired",
    "not-yet-valid": "Not yet valid",
    "unreachable": "Unreachable",
}
STATE_COLORS = {
    "ok": text.OK_COLOR,
    "expiring": text.WARNING_COLOR,
    "expired": text.ALERT_COLOR,
    "not-yet-valid": text.ALERT_COLOR,
    "unreachable": text.ALERT_COLOR,
}
#: Worst first when sorted by state.
_SEVERITY = {"expired": 0, "unreachable": 1, "not-yet-valid": 2, "expiring": 3, "ok": 4}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Index = QModelIndex | QPersistentModelIndex


def clean(value: str) -> str:
    """What a server sent, without control characters (a subject, a reason)."""
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", value)


def matches_text(entry: WatchedEndpoint) -> str:
    if entry.matches == "main":
        return "Main certificate"
    if entry.matches == "reserve":
        return "Reserve certificate"
    if entry.sha256 is not None:
        return "Neither main nor reserve"
    return ""


def cell_text(entry: WatchedEndpoint, column: int) -> str:
    if column == COL_ENDPOINT:
        return entry.endpoint
    if column == COL_NAME:
        return clean(entry.name or "")
    if column == COL_STATE:
        return STATE_TEXT.get(entry.state or "", "Not checked yet")
    if column == COL_DAYS:
        return "" if entry.days_left is None else str(entry.days_left)
    if column == COL_VALID_TO:
        return text.instant(entry.not_after) if entry.not_after else ""
    if column == COL_MATCHES:
        return matches_text(entry)
    if column == COL_CHECKED:
        return text.instant(entry.checked_at) if entry.checked_at else ""
    if column == COL_ERROR:
        return clean(entry.error or "")
    return ""


def _sort_key(entry: WatchedEndpoint, column: int) -> object:
    if column == COL_STATE:
        return _SEVERITY.get(entry.state or "", 9)
    if column == COL_DAYS:
        return entry.days_left if entry.days_left is not None else 1 << 40
    if column == COL_VALID_TO:
        return entry.not_after.timestamp() if entry.not_after else float("inf")
    if column == COL_CHECKED:
        return entry.checked_at.timestamp() if entry.checked_at else 0.0
    return cell_text(entry, column).casefold()


class WatchTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[WatchedEndpoint, ...] = ()

    def set_rows(self, rows: Sequence[WatchedEndpoint]) -> None:
        self.beginResetModel()
        self._rows = tuple(rows)
        self.endResetModel()

    def entry(self, row: int) -> WatchedEndpoint:
        return self._rows[row]

    @property
    def entries(self) -> tuple[WatchedEndpoint, ...]:
        return self._rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(entry, column)
        if role == SORT_ROLE:
            return _sort_key(entry, column)
        if role == STATE_ROLE:
            return entry.state or ""
        if role == Qt.ItemDataRole.ForegroundRole and column in (COL_STATE, COL_DAYS):
            color = STATE_COLORS.get(entry.state or "")
            return QBrush(QColor(color)) if color else None
        if role == Qt.ItemDataRole.FontRole and column == COL_STATE and entry.state not in (
                None, "ok"):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_ENDPOINT and entry.subject:
                return clean(f"{entry.subject}\nSHA-256: {entry.sha256}")
            if column == COL_ERROR and entry.error:
                return clean(entry.error)
        return None
