"""What every list of the console offers (DESIGN §8): copy, a context menu, Save as CSV.

:class:`ListTools` is installed on a table or tree view:

- **Ctrl+C** (and **Copy** in the menu) puts the selected rows on the clipboard as
  tab-separated text, a header row first, the columns as the view shows them (order,
  hidden ones left out);
- the context menu opens with the right mouse button, the Menu key and **Shift+F10**
  (the keys at the current row); the owner's own entries come first;
- **Save as CSV…** (where the list offers it) writes every row the view shows, in its
  order, to a file chosen in a file dialog that starts in the last folder used; the
  file is written in a worker, mode 0600 and atomically
  (:func:`kscert_gui.services.table_export.save_csv`); a failure is a plain message.

A cell is copied as it is shown; where the view shortens a value (an elided SHA-256 with
the whole of it in its accessible text) the whole value is copied. A model with many rows
gives its cells through :class:`TextTable`, worked out in a worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableView,
    QTreeView,
    QWidget,
)

from kscert_gui.ui import messages, tasks, text
from kscert_gui.ui.widgets import file_dialogs
from kscert_gui.ui.widgets.menu_keys import add_menu_key, exec_menu

CSV_FILTER = "CSV files (*.csv);;All files (*)"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: An owner's menu entries: actions, None for a separator.
MenuEntries = Callable[[], Sequence[QAction | None]]


@runtime_checkable
class TextTable(Protocol):
    """A model that can give its cells off the GUI thread (100 000 rows): the function
    returned works from immutable data only."""

    def text_rows(
        self, view_rows: Sequence[int], columns: Sequence[int]
    ) -> Callable[[], list[list[str]]]: ...


def one_line(value: str) -> str:
    """A cell's text for a tab-separated or CSV line: no tab, line break or control
    character (each becomes a space)."""
    return _CONTROL.sub(" ", value).strip()


def _header(view: QAbstractItemView) -> QHeaderView | None:
    if isinstance(view, QTableView):
        return view.horizontalHeader()
    if isinstance(view, QTreeView):
        return view.header()
    return None


def columns(view: QAbstractItemView) -> list[int]:
    """The model columns the view shows, in the order shown."""
    model = view.model()
    if model is None:
        return []
    header = _header(view)
    if header is None:
        return list(range(model.columnCount()))
    logical = (header.logicalIndex(v) for v in range(header.count()))
    return [c for c in logical if c >= 0 and not header.isSectionHidden(c)]


def header_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    out = []
    for column in columns(view):
        label = model.headerData(column, Qt.Orientation.Horizontal,
                                 Qt.ItemDataRole.DisplayRole)
        out.append(one_line(str(label)) if label is not None else "")
    return out


def _clean_rows(rows: list[list[str]]) -> list[list[str]]:
    """Cells without tabs, line breaks or control characters (one scan of all of them,
    cleaning only where one is found)."""
    out = []
    for row in rows:
        if _CONTROL.search("".join(row)):
            row = [one_line(v) for v in row]
        out.append(row)
    return out


def rows_work(view: QAbstractItemView, rows: Sequence[int]) -> Callable[[], list[list[str]]]:
    """The cells of the view rows ``rows`` (top-level rows), as shown, by the function
    returned: a :class:`TextTable` works them out when it is called (a worker may call
    it); any other model is read here, on the GUI thread (short lists)."""
    model = view.model()
    if model is None:
        return list
    shown = columns(view)
    if isinstance(model, TextTable):
        work = model.text_rows(rows, shown)
        return lambda: _clean_rows(work())
    out = []
    for r in rows:
        line = []
        for c in shown:
            index = model.index(r, c)
            # A shortened value keeps its whole text here (the list of distribution points).
            full = index.data(Qt.ItemDataRole.AccessibleTextRole)
            value = full if full else index.data(Qt.ItemDataRole.DisplayRole)
            line.append(str(value) if value is not None else "")
        out.append(line)
    cleaned = _clean_rows(out)
    return lambda: cleaned


def rows_text(view: QAbstractItemView, rows: Sequence[int]) -> list[list[str]]:
    """The cells of the view rows ``rows``, as shown (on this thread)."""
    return rows_work(view, rows)()


def selected_rows(view: QAbstractItemView) -> list[int]:
    """The selected rows, top to bottom (from the selection's ranges: quick with 100 000)."""
    selection = view.selectionModel()
    if selection is None:
        return []
    rows: set[int] = set()
    ranges = selection.selection()
    for i in range(ranges.count()):
        rng = ranges.at(i)
        if not rng.parent().isValid():
            rows.update(range(rng.top(), rng.bottom() + 1))
    return sorted(rows)


def tab_separated(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["\t".join(header), *("\t".join(row) for row in rows)]
    return "\n".join(lines) + "\n"


#: More selected rows than this are copied by a worker (the GUI stays responsive).
COPY_IN_WORKER = 5_000


def copy_selection(view: QAbstractItemView) -> int:
    """Put the selected rows on the clipboard; returns how many are copied."""
    rows = selected_rows(view)
    if not rows:
        return 0
    header = header_texts(view)
    work = rows_work(view, rows)

    def to_clipboard(cells: list[list[str]]) -> None:
        QGuiApplication.clipboard().setText(tab_separated(header, cells))

    if len(rows) > COPY_IN_WORKER:
        tasks.run_in_background(view, work, to_clipboard, passive=True)
    else:
        to_clipboard(work())
    return len(rows)


class ListTools(QObject):
    """Copy, context menu and (``csv_name``) Save as CSV for ``view``.

    Args:
        view: a QTableView or QTreeView (QTableWidget, QTreeWidget).
        title: what the list is, for the file dialog and messages ("Devices").
        csv_name: the file name suggested by Save as CSV (without ``.csv``); None: the
            list has no Save as CSV.
        entries: the owner's entries, shown first in the context menu (row actions).
    """

    #: The CSV file was written (its path).
    sig_saved = Signal(object)

    def __init__(
        self,
        view: QAbstractItemView,
        *,
        title: str,
        csv_name: str | None = None,
        entries: MenuEntries | None = None,
    ) -> None:
        super().__init__(view)
        self.view = view
        self.title = title
        self.csv_name = csv_name
        self._entries = entries
        self.save_task: tasks.Task[Path] | None = None

        self.action_copy = QAction("&Copy", view)
        self.action_copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.action_copy.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action_copy.triggered.connect(lambda: copy_selection(view))
        self.action_select_all = QAction("Select &all", view)
        self.action_select_all.setShortcut(QKeySequence(QKeySequence.StandardKey.SelectAll))
        self.action_select_all.setShortcutContext(
            Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action_select_all.triggered.connect(view.selectAll)
        view.addAction(self.action_copy)
        view.addAction(self.action_select_all)
        self.action_save_csv: QAction | None = None
        if csv_name is not None:
            self.action_save_csv = QAction("Save as CS&V…", view)
            # clicked/triggered(bool) must not reach an argument.
            self.action_save_csv.triggered.connect(lambda: self.save_csv())
        self._menu_key = add_menu_key(view)

        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self.open_menu)
        # An item view answers Ctrl+C itself (the current cell only) before any shortcut.
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            copy_selection(self.view)
            return True
        return super().eventFilter(watched, event)

    @property
    def multi(self) -> bool:
        return self.view.selectionMode() in (
            QAbstractItemView.SelectionMode.ExtendedSelection,
            QAbstractItemView.SelectionMode.MultiSelection,
        )

    def menu_actions(self) -> list[QAction | None]:
        """The context menu's entries as it would show them now (None: a separator)."""
        out: list[QAction | None] = []
        if self._entries is not None:
            out += list(self._entries())
            if out:
                out.append(None)
        self.action_copy.setEnabled(bool(selected_rows(self.view)))
        out.append(self.action_copy)
        if self.multi:
            out.append(self.action_select_all)
        if self.action_save_csv is not None:
            model = self.view.model()
            self.action_save_csv.setEnabled(model is not None and model.rowCount() > 0)
            out.append(self.action_save_csv)
        return out

    def open_menu(self, pos: QPoint) -> None:
        """The context menu at ``pos`` (viewport coordinates); a right click on a row not
        selected selects it first, as file managers do."""
        view = self.view
        index = view.indexAt(pos)
        selection = view.selectionModel()
        if index.isValid() and selection is not None and not selection.isRowSelected(
            index.row(), index.parent()
        ):
            view.setCurrentIndex(index)
            if isinstance(view, QTableView):
                view.selectRow(index.row())
        menu = QMenu(view)
        menu.setObjectName("listContextMenu")
        menu.setAccessibleName(f"{self.title}: context menu")
        for action in self.menu_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        exec_menu(menu, view, pos)
        menu.deleteLater()

    # --- Save as CSV ----------------------------------------------------------------------

    def save_csv(self, path: Path | None = None) -> tasks.Task[Path] | None:
        """Ask for a file (``path``: given) and write every row shown to it in a worker."""
        from kscert_gui.services.table_export import save_csv

        view = self.view
        model = view.model()
        if model is None:
            return None
        if path is None:
            path = file_dialogs.save_file(
                view, f"Save {self.title.lower()} as CSV", CSV_FILTER,
                name=f"{self.csv_name or 'list'}.csv",
            )
            if path is None:
                return None
            if not path.suffix:
                path = path.with_suffix(".csv")
        target: Path = path
        header = header_texts(view)
        count = model.rowCount()
        work = rows_work(view, range(count))
        parent: QWidget = view.window()

        def saved(where: Path) -> None:
            self.sig_saved.emit(where)
            messages.show_info(parent, "Save as CSV",
                               f"{text.thousands(count)} row{'' if count == 1 else 's'} "
                               f"saved to {where}.")

        self.save_task = tasks.run_in_background(
            view, lambda: save_csv(target, header, work()), saved,
            lambda err: messages.show_error(parent, err),
        )
        return self.save_task
