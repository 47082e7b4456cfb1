"""One server status for every view of the console, read once and off the GUI thread.

``status()`` forecasts the delivery to every device: a few ms for the demo store, about
200 ms for 100 000 devices (bench/devices.py). The main window (status bar, summary) and
Properties → Certificates show the same status, so a :class:`StatusFeed` reads it once and
hands the one reading to each view through ``sig_status``.

- :meth:`StatusFeed.request` reads in a worker (``tasks.run_in_background``, a passive
  task: the busy bar shows, change buttons stay on). One read at a time: a request while
  one runs is dropped, unless it follows a change (or F5): then one more read runs when
  the current one ends, since that one may have begun before the change.
- :meth:`StatusFeed.refresh_now` reads on the GUI thread: when a window is built or
  reopened (cheap at start-up, and ``--quit-after-show`` then paints loaded data), tests.
- A change made in a worker reads the status there too, right after the change
  (:meth:`StatusFeed.after`), and hands it to :meth:`StatusFeed.offer`.
- Each reading takes a ticket when it *starts*; a reading is applied only if its ticket is
  newer than the last applied one, so an older read that ends late never overwrites a newer
  state. After :meth:`StatusFeed.close` nothing is read or applied.

The worker reads through the Console exactly as the other background tasks do (reissue,
device table): the store shares one connection between threads (services/store.py opens it
with ``check_same_thread=False`` and serializes transactions with its lock).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from kscert_gui.model.errors import KscertError
from kscert_gui.services.server import ServerStatus
from kscert_gui.ui import messages, tasks
from kscert_gui.ui.console import Console

T = TypeVar("T")


@dataclass(frozen=True)
class StatusReading:
    """One ``status()`` call: the state, or the error to show in its place."""

    ticket: int
    status: ServerStatus | None
    error: KscertError | None = None


class StatusFeed(QObject):
    """Reads the status (once per refresh) and hands it to every view."""

    #: A reading was applied (a :class:`StatusReading`, newer than any before it).
    sig_status = Signal(object)

    def __init__(self, console: Console, busy_parent: QWidget | None = None) -> None:
        """``busy_parent``: the widget whose window shows the busy state while a read runs;
        it is also the QObject parent, so the feed lives as long as that window."""
        super().__init__(busy_parent)
        self.console = console
        self._busy_parent = busy_parent
        self._tickets = itertools.count(1)
        self._ticket_lock = threading.Lock()
        self._applied = 0
        self._again = False
        self._closed = False
        self.latest: StatusReading | None = None
        #: The background read running now (None when idle).
        self.task: tasks.Task[StatusReading] | None = None

    # --- reading (any thread) -------------------------------------------------------------

    def read(self) -> StatusReading:
        """Read the status now, in the calling thread (a worker's, or the GUI's)."""
        with self._ticket_lock:
            ticket = next(self._tickets)
        try:
            return StatusReading(ticket, self.console.status())
        except KscertError as err:
            return StatusReading(ticket, None, err)

    def after(self, fn: Callable[[], T]) -> Callable[[], tuple[T, StatusReading]]:
        """``fn`` followed, in the same worker, by the status it leaves."""

        def work() -> tuple[T, StatusReading]:
            result = fn()
            return result, self.read()

        return work

    # --- applying (GUI thread) ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, reading: StatusReading) -> bool:
        """Apply ``reading`` unless a newer one was applied (or the feed is closed)."""
        if self._closed or reading.ticket <= self._applied:
            return False
        self._applied = reading.ticket
        if reading.status is not None:
            self.latest = reading
        self.sig_status.emit(reading)
        return True

    def refresh_now(self) -> StatusReading | None:
        """Read on the GUI thread and apply (None once closed)."""
        if self._closed:
            return None
        reading = self.read()
        self.offer(reading)
        return reading

    def request(self, *, again: bool = False) -> tasks.Task[StatusReading] | None:
        """Read in the background and apply; None if no read started now.

        Args:
            again: if a read is running, read once more when it ends (the store changed
                since it began, or the person asked for a refresh).
        """
        if self._closed:
            return None
        if self.task is not None:
            self._again = self._again or again
            return None
        self._again = False
        task = tasks.run_in_background(
            self._busy_parent, self.read, self._arrived, self._failed, passive=True
        )
        self.task = task
        # Also when the callbacks are skipped (busy_parent destroyed meanwhile).
        task.sig_finished.connect(lambda *_: self._ended(task))
        return task

    def close(self) -> None:
        """Read and apply nothing more (the window closes; its store is about to close)."""
        self._closed = True
        self._again = False

    def _arrived(self, reading: StatusReading) -> None:
        self.task = None
        self.offer(reading)
        if self._again:
            self.request()

    def _failed(self, err: BaseException) -> None:
        self.task = None
        if not self._closed:
            messages.show_error(self._busy_parent, err)

    def _ended(self, task: tasks.Task[StatusReading]) -> None:
        if self.task is task:
            self.task = None
