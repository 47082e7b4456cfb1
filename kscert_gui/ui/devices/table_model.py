"""The device list as a QAbstractTableModel that stays quick with 100 000 devices.

The model holds the facade's column-wise :class:`DeviceTable` and a list of the row
numbers shown, in display order. Filtering and sorting rebuild that list with plain
list operations (one key list per column, built once), so a sort is one ``list.sort``
and the view asks ``data()`` only for the rows on screen. A QSortFilterProxyModel would
call back into Python for every comparison, which is what makes big lists sluggish.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from kscert_gui.model.connection import CONNECTION_STATES, DEVICE_STATES
from kscert_gui.model.fleet import STATE_TEXT
from kscert_gui.services.fleet_service import DeviceTable
from kscert_gui.ui import text

# Connection and the cut-over come first after the name: what a person looks for, in view
# without scrolling sideways at the window's default width.
COLUMNS = ("Name", "Connection", "At the cut-over", "Group", "Platform",
           "Last synchronization")
REASON_COLUMN = "Why"
COL_NAME, COL_CONNECTION, COL_STATE, COL_GROUP, COL_PLATFORM, COL_LAST, COL_REASON = range(7)
#: The table row of a view row, for tests and actions on the selection.
TABLE_ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_COLORS = {
    "connected": text.OK_COLOR,
    "blocked": text.WARNING_COLOR,
    "delivered": text.OK_COLOR,
    "expected": text.NOTICE_COLOR,
    "at-risk": text.WARNING_COLOR,
    "lost": text.ALERT_COLOR,
}
_STATE_ORDER = {s: i for i, s in enumerate(DEVICE_STATES)}

Index = QModelIndex | QPersistentModelIndex


def _when(epoch: int | None) -> str:
    """Local time with the offset, as every window writes it (text.instant's style), from
    the epoch seconds: time.localtime is quick enough for 100 000 rows of a CSV file."""
    if epoch is None:
        return "never"
    tm = time.localtime(epoch)
    offset = tm.tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset) // 60, 60)
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', tm)} {sign}{hours:02d}:{rest:02d}"


def _when_utc(epoch: int | None) -> str | None:
    """The tooltip's UTC time."""
    return text.instant_utc(datetime.fromtimestamp(epoch, UTC)) if epoch is not None else None


class DeviceTableModel(QAbstractTableModel):
    """Devices with their forecast state; own filter (name, groups, state) and sort."""

    sig_filtered = Signal(int)  # rows shown

    def __init__(self, *, with_reason: bool = False, parent: Any = None) -> None:
        super().__init__(parent)
        self._table: DeviceTable | None = None
        self._name_order: list[int] | None = None
        self._state_order: Mapping[str, Sequence[int]] | None = None
        self._rows: list[int] = []
        self._keys: dict[int, list[Any]] = {}
        self._with_reason = with_reason
        self._text = ""
        self._groups: frozenset[int] | None = None
        self._state: str | None = None
        self._sort_column = COL_NAME
        self._sort_order = Qt.SortOrder.AscendingOrder

    # --- data in --------------------------------------------------------------------------

    @property
    def table(self) -> DeviceTable | None:
        return self._table

    def set_table(
        self, table: DeviceTable, name_order: Sequence[int] = (),
        state_order: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """Show ``table``. ``name_order``: its rows by name in any case, if the caller has
        it (the snapshot's worker works it out), so the usual sort costs nothing here;
        ``state_order``: the rows of each state in that order, so that a state filter
        does not walk every device on the GUI thread either."""
        self.beginResetModel()
        self._table = table
        self._keys = {}
        self._name_order = list(name_order) if len(name_order) == len(table) else None
        self._state_order = state_order if self._name_order is not None else None
        self._rebuild()
        self.endResetModel()
        self.sig_filtered.emit(len(self._rows))

    def set_filter(
        self,
        *,
        text: str | None = None,
        groups: Collection[int] | bool | None = False,
        state: str | bool | None = False,
    ) -> None:
        """Change the filters given (``False``: keep); ``None`` clears a filter."""
        if text is not None:
            self._text = text.strip().casefold()
        if groups is not False:
            self._groups = None if groups is None or groups is True else frozenset(groups)
        if state is not False:
            self._state = None if state is None or state is True else str(state)
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()
        self.sig_filtered.emit(len(self._rows))

    def _key(self, column: int) -> list[Any]:
        keys = self._keys.get(column)
        if keys is not None:
            return keys
        t = self._table
        assert t is not None
        if column == COL_NAME:
            keys = [n.casefold() for n in t.names]
        elif column == COL_GROUP:
            paths = {gid: p.casefold() for gid, p in t.paths.items()}
            keys = [paths[g] for g in t.group_ids]
        elif column == COL_PLATFORM:
            keys = list(t.platforms)
        elif column == COL_LAST:
            keys = [v or "" for v in t.last_sync]
        elif column == COL_CONNECTION:
            keys = [_STATE_ORDER.get(s, -1) if s else -1 for s in t.reading.connection]
        elif column == COL_STATE:
            keys = [_STATE_ORDER.get(t.state(i) or "", -1) for i in range(len(t))]
        else:  # reason: by state, then by last synchronization
            order = self._key(COL_STATE)
            last = self._key(COL_LAST)
            keys = list(zip(order, last, strict=True))
        self._keys[column] = keys
        return keys

    def _filtered(self) -> list[int]:
        t = self._table
        if t is None:
            return []
        by_name = self._sort_column == COL_NAME and self._name_order is not None
        if by_name and self._state is not None and self._state_order is not None \
                and self._state in self._state_order:
            rows = list(self._state_order[self._state])
        elif by_name and self._name_order is not None:
            rows = list(self._name_order)
            if self._state is not None:
                states = t.reading.connection if self._state in CONNECTION_STATES else \
                    t.reading.forecast
                rows = [i for i in rows if states[i] == self._state]
        else:
            rows = list(range(len(t)))
            if self._state is not None:
                states = t.reading.connection if self._state in CONNECTION_STATES else \
                    t.reading.forecast
                rows = [i for i in rows if states[i] == self._state]
        if self._groups is not None:
            gids, allowed = t.group_ids, self._groups
            rows = [i for i in rows if gids[i] in allowed]
        if self._text:
            names, needle = self._key(COL_NAME), self._text
            rows = [i for i in rows if needle in names[i]]
        return rows

    def _rebuild(self) -> None:
        """Filter, then sort (by name: the filter already kept the name order)."""
        if self._sort_column == COL_NAME and self._name_order is not None:
            self._rows = self._filtered()
            if self._sort_order == Qt.SortOrder.DescendingOrder:
                self._rows.reverse()
            return
        self._rows = self._filtered()
        self._sort_rows()

    def _sort_rows(self) -> None:
        if self._table is None:
            return
        if self._sort_column == COL_NAME and self._name_order is not None:
            # The rows in name order, filtered; descending is the same list turned round.
            self._rows = self._filtered()
            if self._sort_order == Qt.SortOrder.DescendingOrder:
                self._rows.reverse()
            return
        keys = self._key(self._sort_column)
        get: Callable[[int], Any] = keys.__getitem__
        self._rows.sort(key=get, reverse=self._sort_order == Qt.SortOrder.DescendingOrder)

    # --- Qt model -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS) + (1 if self._with_reason else 0)

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if section < len(COLUMNS) else REASON_COLUMN
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        t = self._table
        if t is None or not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(t, row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column in (COL_CONNECTION, COL_STATE):
            state = t.connection(row) if column == COL_CONNECTION else t.state(row)
            return QColor(STATE_COLORS[state]) if state else None
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_LAST:
            return _when_utc(t.last_s[row])
        if role == Qt.ItemDataRole.ToolTipRole and column in (COL_CONNECTION, COL_STATE,
                                                               COL_REASON):
            return text.localize(t.reason(row)) or None
        if role == TABLE_ROW_ROLE:
            return row
        if role == STATE_ROLE:
            return t.state(row)
        return None

    @staticmethod
    def _display(t: DeviceTable, row: int, column: int) -> str:
        """The text of table row ``row`` in ``column``."""
        if column == COL_NAME:
            return t.names[row]
        if column == COL_GROUP:
            return t.paths[t.group_ids[row]]
        if column == COL_PLATFORM:
            return t.platforms[row]
        if column == COL_LAST:
            return _when(t.last_s[row])
        if column == COL_CONNECTION:
            conn = t.connection(row)
            return STATE_TEXT[conn] if conn else "—"
        if column == COL_STATE:
            state = t.state(row)
            return STATE_TEXT[state] if state else "—"
        return text.localize(t.reason(row))

    def cell_text(self, row: int, column: int) -> str:
        """What view row ``row`` shows in ``column``, without a Qt call."""
        t = self._table
        if t is None or not 0 <= row < len(self._rows):
            return ""
        return self._display(t, self._rows[row], column)

    def text_rows(
        self, view_rows: Sequence[int], columns: Sequence[int]
    ) -> Callable[[], list[list[str]]]:
        """The cells of ``view_rows`` in ``columns``, as shown, worked out by the function
        returned: it reads only the immutable device table and a copy of the rows, so a
        worker may call it (copy and CSV of 100 000 devices keep the GUI responsive)."""
        t = self._table
        shown = self._rows
        rows = [shown[v] for v in view_rows if 0 <= v < len(shown)]
        wanted = list(columns)
        column_text = DeviceTableModel._column_text  # no access to this QObject off its thread

        def work() -> list[list[str]]:
            if t is None:
                return []
            cols = [column_text(t, rows, c) for c in wanted]
            return [list(cells) for cells in zip(*cols, strict=True)] if cols else [
                [] for _ in rows]

        return work

    @classmethod
    def _column_text(cls, t: DeviceTable, rows: list[int], column: int) -> list[str]:
        """One column at a time: a list comprehension per column is quicker than a call
        per cell."""
        if column == COL_NAME:
            names = t.names
            return [names[r] for r in rows]
        if column == COL_GROUP:
            paths, gids = t.paths, t.group_ids
            return [paths[gids[r]] for r in rows]
        if column == COL_PLATFORM:
            platforms = t.platforms
            return [platforms[r] for r in rows]
        if column == COL_LAST:
            last = t.last_s
            return [_when(last[r]) for r in rows]
        return [cls._display(t, r, column) for r in rows]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = column
        self._sort_order = order
        if self._table is None:
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old = list(self._rows) if persistent else []
        self._sort_rows()
        if persistent:
            # Selections and the current cell follow their devices.
            where = {r: i for i, r in enumerate(self._rows)}
            self.changePersistentIndexList(
                persistent,
                [self.index(where[old[p.row()]], p.column()) for p in persistent],
            )
        self.layoutChanged.emit()

    # --- helpers --------------------------------------------------------------------------

    def table_row(self, view_row: int) -> int:
        return self._rows[view_row]

    def visible_names(self, limit: int | None = None) -> list[str]:
        t = self._table
        if t is None:
            return []
        rows = self._rows if limit is None else self._rows[:limit]
        return [t.names[r] for r in rows]
