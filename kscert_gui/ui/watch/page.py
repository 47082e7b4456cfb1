"""The Watched endpoints page (DESIGN §13): what the real servers and gateways serve.

The table (coloured by state, sortable by any column, rows copied with Ctrl+C or
**Copy**), **Add**, **Remove**, **Check now** and the check interval. Every call of the
watch list runs in a worker (ui/tasks.py): the GUI thread never waits on the network
or the store; the page's busy bar and the window's show a check in progress. A timer
checks every interval in the background.

When a check finds an endpoint past a reminder threshold (the service tells each
threshold once: services/watch.py), the page says so in its message line and sends a
desktop notification, from a worker, where the platform has a notification service;
where there is none nothing else happens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kscert_gui.model.errors import KscertError
from kscert_gui.services import notify
from kscert_gui.services.watch import Crossing, WatchCheck, WatchedEndpoint, WatchList
from kscert_gui.ui import ids, messages, tasks, text
from kscert_gui.ui.watch.add_endpoint import AddEndpointDialog
from kscert_gui.ui.watch.table_model import COLUMNS, SORT_ROLE, WatchTableModel, cell_text

Notifier = Callable[[str, str], bool]

MIN_MINUTES = 1
MAX_MINUTES = 7 * 24 * 60


def _desktop_notify(summary: str, body: str) -> bool:
    return notify.notify(summary, body)


class WatchPage(QWidget):
    """The page of the Watched endpoints node."""

    #: The entries were (re)read or checked.
    sig_updated = Signal()
    #: A check told these threshold crossings (the message line shows them).
    sig_crossed = Signal(list)
    #: A desktop notification was handed to the service (True) or there is none (False).
    sig_notified = Signal(bool)

    def __init__(self, watch: WatchList, parent: QWidget | None = None, *,
                 notifier: Notifier = _desktop_notify) -> None:
        super().__init__(parent)
        self.watch = watch
        self._notifier = notifier
        self._checking = False
        self._loaded = False
        self.setObjectName(ids.PAGE_WATCH)
        self.setAccessibleName("Watched endpoints")

        self.message = QLabel()
        self.message.setObjectName(ids.LABEL_WATCH_MESSAGE)
        self.message.setAccessibleName("Reminders")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet(f"color: {text.WARNING_COLOR}; font-weight: bold")
        self.message.hide()

        self.model = WatchTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName(ids.WATCH_TABLE)
        self.table.setAccessibleName("Watched endpoints")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the order they were added
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        from kscert_gui.ui.widgets.list_tools import ListTools

        # Ctrl+C copies the selected rows; the context menu (right button, the Menu key,
        # Shift+F10) has the row actions, then Copy (DESIGN §8: every list has one).
        self.action_check = QAction("Check &now", self.table)
        self.action_check.triggered.connect(lambda: self.check_now())
        self.action_remove = QAction("&Remove", self.table)
        self.action_remove.triggered.connect(lambda: self.remove_selected())
        self.list_tools = ListTools(self.table, title="Watched endpoints",
                                    entries=self._menu_entries)

        self.add_button = self._button("&Add…", ids.BUTTON_WATCH_ADD, "Add endpoint",
                                       self.add_endpoint)
        self.remove_button = self._button("&Remove", ids.BUTTON_WATCH_REMOVE,
                                          "Remove endpoint", self.remove_selected)
        self.check_button = self._button("Check &now", ids.BUTTON_WATCH_CHECK, "Check now",
                                         self.check_now)
        self.copy_button = self._button("Cop&y", ids.BUTTON_WATCH_COPY, "Copy rows",
                                        self.copy_rows)
        self.interval = QSpinBox()
        self.interval.setObjectName(ids.SPIN_WATCH_INTERVAL)
        self.interval.setAccessibleName("Check interval in minutes")
        self.interval.setRange(MIN_MINUTES, MAX_MINUTES)
        self.interval.setSuffix(" min")
        self.interval.setValue(60)
        self.interval.setKeyboardTracking(False)
        self.interval.valueChanged.connect(self._interval_changed)
        interval_label = QLabel("Check &every:")
        interval_label.setBuddy(self.interval)

        self.busy = QProgressBar()
        self.busy.setObjectName(ids.WATCH_BUSY)
        self.busy.setAccessibleName("Checking")
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = QLabel()
        self.status.setObjectName(ids.LABEL_WATCH_STATUS)
        self.status.setAccessibleName("Last check")
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        buttons = QHBoxLayout()
        for widget in (self.add_button, self.remove_button, self.check_button,
                       self.copy_button):
            buttons.addWidget(widget)
        buttons.addSpacing(16)
        buttons.addWidget(interval_label)
        buttons.addWidget(self.interval)
        buttons.addStretch(1)
        buttons.addWidget(self.busy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._periodic_check)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()
        self.reload()

    def _button(self, caption: str, name: str, accessible: str,
                slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(caption)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # --- state ---------------------------------------------------------------------------

    def selected_entries(self) -> list[WatchedEndpoint]:
        rows = sorted({self.proxy.mapToSource(i).row()
                       for i in self.table.selectionModel().selectedRows()})
        return [self.model.entry(r) for r in rows]

    @property
    def read_only(self) -> bool:
        """The store is open read-only: checks cannot be recorded, the list not changed."""
        return not self.watch.store.writable

    def _menu_entries(self) -> list[QAction | None]:
        """A row's entries of the context menu (the list's Copy follows them)."""
        self._update_buttons()
        return [self.action_check, self.action_remove]

    def _update_buttons(self) -> None:
        busy = self._checking
        change = not self.read_only
        self.check_button.setEnabled(change and not busy and bool(self.model.entries))
        self.remove_button.setEnabled(change and not busy and bool(self.selected_entries()))
        self.action_check.setEnabled(self.check_button.isEnabled())
        self.action_remove.setEnabled(self.remove_button.isEnabled())
        self.add_button.setEnabled(change and not busy)
        self.interval.setEnabled(change)
        self.copy_button.setEnabled(bool(self.model.entries))
        self.busy.setVisible(busy)

    def _show(self, entries: Sequence[WatchedEndpoint]) -> None:
        chosen = {e.endpoint for e in self.selected_entries()}
        self.model.set_rows(entries)
        selection = self.table.selectionModel()
        for row, entry in enumerate(entries):
            if entry.endpoint in chosen:
                index = self.proxy.mapFromSource(self.model.index(row, 0))
                selection.select(index, QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)
        self.table.resizeColumnsToContents()
        self._update_buttons()
        self.sig_updated.emit()

    # --- reading -------------------------------------------------------------------------

    def reload(self) -> tasks.Task[tuple[tuple[WatchedEndpoint, ...], int]]:
        """Read the list and the interval in a worker."""
        watch = self.watch

        def read() -> tuple[tuple[WatchedEndpoint, ...], int]:
            return watch.entries(), watch.interval()

        return tasks.run_in_background(self, read, self._loaded_list, self._read_failed,
                                       passive=True)

    def _loaded_list(self, loaded: tuple[tuple[WatchedEndpoint, ...], int]) -> None:
        entries, seconds = loaded
        if not self._loaded:
            self._loaded = True
            self.interval.blockSignals(True)
            self.interval.setValue(max(MIN_MINUTES, min(MAX_MINUTES, seconds // 60)))
            self.interval.blockSignals(False)
            self.timer.start(self.interval.value() * 60_000)
        self._show(entries)
        if self.read_only:
            self.status.setText("The store is open read-only: the last results are shown; "
                                "checks run where the store is open for changes.")

    def _read_failed(self, err: BaseException) -> None:
        self.status.setText(messages.describe(err)[0])
        self.sig_updated.emit()

    # --- actions -------------------------------------------------------------------------

    def add_endpoint(self) -> None:
        request = AddEndpointDialog.ask(self)
        if request is None:
            return
        watch = self.watch

        def add() -> tuple[WatchedEndpoint, ...]:
            watch.add(request.endpoint, request.name, request.servername)
            return watch.entries()

        tasks.run_in_background(self, add, self._show)

    def remove_selected(self) -> None:
        chosen = self.selected_entries()
        if not chosen:
            return
        names = ", ".join(e.title for e in chosen)
        if not messages.confirm(self, "Remove endpoint",
                                f"Stop watching {names}? Its recorded results are removed "
                                "too.", default_no=True):
            return
        watch = self.watch

        def remove() -> tuple[WatchedEndpoint, ...]:
            for entry in chosen:
                watch.remove(entry.endpoint)
            return watch.entries()

        tasks.run_in_background(self, remove, self._show)

    def check_now(self) -> tasks.Task[WatchCheck] | None:
        """Probe every endpoint in a worker (None when a check is already running)."""
        return self._start_check(manual=True)

    def _periodic_check(self) -> None:
        self._start_check(manual=False)

    def _start_check(self, *, manual: bool) -> tasks.Task[WatchCheck] | None:
        if self._checking or self.read_only or (not self.model.entries and not manual):
            return None
        self._checking = True
        self._update_buttons()
        self.status.setText("Checking…")

        def failed(err: BaseException) -> None:
            self._checking = False
            self._update_buttons()
            self.status.setText(f"The check failed: {messages.describe(err)[0]}")
            if manual:
                messages.show_error(self, err)
            self.sig_updated.emit()

        return tasks.run_in_background(self, self.watch.check, self._checked, failed)

    def _checked(self, result: WatchCheck) -> None:
        self._checking = False
        self._show(result.results)
        when = text.instant(result.at)
        self.status.setText(f"Checked {text.count(len(result.results), 'endpoint')} at {when} "
                            f"in {result.seconds:.1f} s; {text.thousands(result.unreachable)} "
                            "unreachable.")
        if result.crossings:
            self._tell(list(result.crossings))

    def _tell(self, crossings: list[Crossing]) -> None:
        """The message in the window, then a desktop notification from a worker."""
        lines = [c.message for c in crossings]
        self.message.setText("\n".join(lines))
        self.message.show()
        self.sig_crossed.emit(lines)
        if len(crossings) == 1:
            summary, body = crossings[0].summary, crossings[0].message
        else:
            summary = f"{len(crossings)} watched endpoints passed a reminder threshold"
            body = "\n".join(lines)
        notifier = self._notifier

        def send() -> bool:
            try:
                return notifier(summary, body)
            except (OSError, KscertError):
                return False

        tasks.run_in_background(self, send, self.sig_notified.emit,
                                lambda _err: self.sig_notified.emit(False), passive=True)

    def _interval_changed(self, minutes: int) -> None:
        self.timer.start(minutes * 60_000)
        watch = self.watch
        tasks.run_in_background(self, lambda: watch.set_interval(minutes * 60),
                                lambda _seconds: None, self._read_failed)

    def copy_rows(self) -> str:
        """The selected rows (else all) as tab-separated text on the clipboard."""
        chosen = self.selected_entries() or list(self.model.entries)
        lines = ["\t".join(COLUMNS)]
        lines += ["\t".join(cell_text(e, c) for c in range(len(COLUMNS))) for e in chosen]
        copied = "\n".join(lines)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(copied)
        return copied
