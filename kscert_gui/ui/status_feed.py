"""One snapshot for every view of the console, read once per change and off the GUI thread.

A :class:`~kscert_gui.services.snapshot.Snapshot` holds the certificates, the §6.1
reading of every device, the distribution points and the warnings: about 200 ms to read
for 100 000 devices (bench/devices.py). Every view (status bar and summary, Properties →
Certificates, Managed devices, the delivery window, Distribution points) renders the one
reading a :class:`StatusFeed` hands out through ``sig_status``; none reads the store.

- :meth:`StatusFeed.request` reads in a worker (``tasks.run_in_background``, a passive
  task: the busy bar shows, change buttons stay on). One read at a time: a request while
  one runs is dropped, unless it follows a change (or F5): then one more read runs when
  the current one ends, since that one may have begun before the change.
- A change made in a worker reads the snapshot there too, right after the change
  (:meth:`StatusFeed.after`), and hands it to :meth:`StatusFeed.offer`.
- Views register with :meth:`StatusFeed.show_in` and render a reading one view per turn
  of the event loop, the repaints and due timers between them: a refresh of 100 000
  devices with every view open is about 20 ms of work on the GUI thread, which done at
  once stalls it for more than a frame. ``sig_status`` fires once every view has the reading.
- Each reading takes a ticket when it *starts*; a reading is applied only if its ticket is
  newer than the last applied one, so an older read that ends late never overwrites a newer
  state. After :meth:`StatusFeed.close` nothing is read or applied.

The worker reads the server exactly as the other background tasks do (reissue, import):
the store shares one connection between threads (services/store opens it with
``check_same_thread=False`` and serializes transactions with its lock).
"""

from __future__ import annotations

import dataclasses
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from kscert_gui.model.errors import KscertError
from kscert_gui.services import snapshot as snapshots
from kscert_gui.services.views import ServerStatus
from kscert_gui.ui import messages, tasks
from kscert_gui.ui.console import Console

T = TypeVar("T")

#: The feeds that are handing a reading to their views now (see :func:`rendering`).
_rendering: set[StatusFeed] = set()


class _Disposer:
    """Frees the readings no view shows any more, off the GUI thread and piece by piece.

    A snapshot of 100 000 devices holds a few dozen tuples of 100 000 items; freeing it at
    once is one C call of ~7 ms during which no other thread runs (bench/responsiveness.py
    measured it as most of the Certificates page's 8 ms, the view that happened to drop
    the last reference). Here every part is freed on its own, the interpreter lock given
    up between them, so neither the GUI thread nor a worker waits more than ~1 ms.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def dispose(self, obj: object) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kscert-disposer",
                                                daemon=True)
                self._thread.start()
        self._queue.put(obj)

    def _run(self) -> None:
        while True:
            obj = self._queue.get()
            parts: list[object] = []
            _take_apart(obj, parts, depth=4)
            del obj
            # Containers come before their parts (pre-order): dropping them first leaves
            # each part held by ``parts`` alone, so each is freed by its own assignment.
            for index in range(len(parts)):
                parts[index] = None
                time.sleep(0)  # let the GUI thread have the interpreter lock
            parts.clear()


def _take_apart(obj: object, parts: list[object], depth: int) -> None:
    """Collect the fields of frozen dataclasses (and the values of plain containers of
    them), so that each large tuple is freed on its own."""
    parts.append(obj)
    if depth <= 0:
        return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _take_apart(getattr(obj, f.name), parts, depth - 1)
    elif isinstance(obj, dict):
        for value in obj.values():
            if dataclasses.is_dataclass(value) or isinstance(value, tuple):
                _take_apart(value, parts, depth - 1)


_disposer = _Disposer()


def rendering() -> bool:
    """True while some feed has views still to render its last reading (tests wait).

    A feed deleted with its window in the middle of a round (its views went with it)
    no longer counts.
    """
    for feed in list(_rendering):
        if not shiboken6.isValid(feed) or feed._pending is None:
            _rendering.discard(feed)
    return bool(_rendering)


@dataclass(frozen=True)
class StatusReading:
    """One snapshot, or the error to show in its place."""

    ticket: int
    snapshot: snapshots.Snapshot | None
    error: KscertError | None = None

    @property
    def status(self) -> ServerStatus | None:
        return self.snapshot.status if self.snapshot is not None else None


class _View(QObject):
    """One registered view: a signal of its own, so Qt drops the connection when the
    view's object goes, and the feed can call the views one at a time."""

    sig = Signal(object)


class StatusFeed(QObject):
    """Reads the snapshot (once per refresh) and hands it to every view."""

    #: Every view has the reading (a :class:`StatusReading`, newer than any before it).
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
        self._rendered = 0  # the ticket of the last reading every view has
        self._again = False
        self._closed = False
        self.latest: StatusReading | None = None
        #: The background read running now (None when idle).
        self.task: tasks.Task[StatusReading] | None = None
        self._views: list[_View] = []
        #: Readings replaced by a newer one whose round is not over yet.
        self._retired: list[StatusReading] = []
        #: The reading being handed to the views, and the next view to get it.
        self._pending: StatusReading | None = None
        self._next_view = 0
        # A timer, not QTimer.singleShot(0, ...): Qt 6 runs that as a posted event, in the
        # same pass as the repaints and before any due timer, so nothing else would run.
        self._step = QTimer(self)
        self._step.setSingleShot(True)
        self._step.setInterval(0)
        self._step.timeout.connect(self._render)

    def show_in(self, slot: Callable[[StatusReading], None]) -> None:
        """Hand every applied reading to ``slot`` (a view's method), in the order views
        registered; the view goes from the list when its object is deleted."""
        view = _View(self)
        view.sig.connect(slot)
        owner = getattr(slot, "__self__", None)
        if isinstance(owner, QObject):
            owner.destroyed.connect(view.deleteLater)
        self._views.append(view)

    # --- reading (any thread) -------------------------------------------------------------

    def read(self) -> StatusReading:
        """Read the snapshot now, in the calling thread (a worker's)."""
        with self._ticket_lock:
            ticket = next(self._tickets)
        try:
            reading = StatusReading(ticket, snapshots.read_snapshot(self.console.server))
        except KscertError as err:
            return StatusReading(ticket, None, err)
        tasks.set_aside()  # its large tuples: not for the GUI thread's collector to walk
        return reading

    def after(self, fn: Callable[[], T]) -> Callable[[], tuple[T, StatusReading]]:
        """``fn`` followed, in the same worker, by the snapshot it leaves."""

        def work() -> tuple[T, StatusReading]:
            result = fn()
            return result, self.read()

        return work

    # --- applying (GUI thread) ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def has_reading(self) -> bool:
        """A reading (or its error) has reached every view at least once."""
        return self._rendered > 0

    def wait_for_first(self, timeout_ms: int = 120_000) -> bool:
        """Run a local event loop until the first reading is applied (test and start-up
        entry points only: the windows are not shown yet, nobody is kept waiting)."""
        if self.has_reading or self._closed:
            return self.has_reading
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        self.sig_status.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        if self.task is None:
            self.request()
        loop.exec()
        self.sig_status.disconnect(loop.quit)
        return self.has_reading

    def offer(self, reading: StatusReading) -> bool:
        """Apply ``reading`` unless a newer one was applied (or the feed is closed)."""
        if self._closed or reading.ticket <= self._applied:
            return False
        self._applied = reading.ticket
        if self.latest is not None and self.latest is not reading:
            # Kept until every view has the new one, then freed off the GUI thread.
            self._retired.append(self.latest)
        if reading.status is not None:
            self.latest = reading
        # A newer reading restarts the round: the views that had the older one get this.
        self._pending, self._next_view = reading, 0
        _rendering.add(self)
        self._render()
        return True

    def _render(self) -> None:
        """Hand the pending reading to the next view, then let the event loop repaint and
        run its timers before the one after (``_step``); the last one done, say so."""
        reading = self._pending
        if reading is None or self._closed:
            self._pending = None
            _rendering.discard(self)
            return
        self._views = [v for v in self._views if shiboken6.isValid(v)]
        if self._next_view < len(self._views):
            self._next_view += 1
            self._views[self._next_view - 1].sig.emit(reading)
            if self._pending is not reading:
                return  # a view offered a newer reading, whose round runs now
            if self._next_view < len(self._views):
                self._step.start()
                return
        self._pending = None
        _rendering.discard(self)
        self._rendered = reading.ticket
        self.sig_status.emit(reading)
        retired, self._retired = self._retired, []
        for old in retired:
            _disposer.dispose(old)  # the views hold the new reading now: ours is the last

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
        self._pending = None
        _rendering.discard(self)

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
