"""Slow work off the GUI thread (STYLE habit 2).

``run_in_background(parent, fn, on_success, on_failure)`` runs ``fn`` on the
global QThreadPool. ``fn`` never touches a widget; its result or its exception
comes back, as a value, to the GUI thread through a signal. While it runs, the
window of ``parent`` shows a busy cursor and its busy bar (a QProgressBar named
``ids.BUSY_BAR``, if it has one) in busy mode.

A *passive* task only reads (the status refresh, ui/status_feed.py): it shows the busy
state like any other, but change buttons need not wait for it, so it is left out of
``working_tasks()``.

Tests wait for a task with ``qtbot.waitSignal(task.sig_finished)``, or for every
task with ``qtbot.waitUntil(lambda: not tasks.active_tasks())``.
"""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QWidget

from kscert_gui.ui import ids

T = TypeVar("T")

_active: set[Task[Any]] = set()
_busy_windows: dict[int, int] = {}


class _Bridge(QObject):
    """Lives in the GUI thread; the worker emits on it, Qt queues the call over."""

    #: The worker finished; its ``result`` / ``error`` are set. The signal carries no
    #: Python objects: passing them through a queued connection across threads is where
    #: a rare crash of the interpreter was seen (in Task._done, under a full test run).
    sig_done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.result: object = None
        self.error: BaseException | None = None


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], bridge: _Bridge) -> None:
        super().__init__()
        self._fn = fn
        self._bridge = bridge

    def run(self) -> None:
        try:
            self._bridge.result = self._fn()
        except BaseException as err:
            self._bridge.error = err
        self._bridge.sig_done.emit()


class Task(QObject, Generic[T]):
    """One background call. ``sig_finished(result, error)`` fires after the callbacks ran."""

    sig_finished = Signal(object, object)

    def __init__(
        self,
        parent: QWidget | None,
        fn: Callable[[], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[BaseException], None] | None,
        *,
        passive: bool = False,
    ) -> None:
        super().__init__()
        self._parent = parent
        self.passive = passive
        self._on_success = on_success
        self._on_failure = on_failure
        self._bridge = _Bridge()
        self._bridge.sig_done.connect(self._done, Qt.ConnectionType.QueuedConnection)
        self._runnable = _Runnable(fn, self._bridge)
        self._runnable.setAutoDelete(False)
        self.running = False
        self.dropped = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        _active.add(self)
        self.running = True
        _set_busy(self._parent, True)
        QThreadPool.globalInstance().start(self._runnable)

    def _done(self) -> None:
        result: object = self._bridge.result
        error: object = self._bridge.error
        self.running = False
        _active.discard(self)
        valid = self._parent is None or shiboken6.isValid(self._parent)
        if valid:
            _set_busy(self._parent, False)
        alive = valid and not self.dropped
        try:
            if isinstance(error, BaseException):
                self.error = error
                if alive:
                    if self._on_failure is not None:
                        self._on_failure(error)
                    else:
                        from kscert_gui.ui import messages

                        messages.show_error(self._parent, error)
            else:
                self.result = result  # type: ignore[assignment]
                if alive:
                    self._on_success(result)  # type: ignore[arg-type]
        finally:
            self.sig_finished.emit(result, error)
            self._release()

    def _release(self) -> None:
        """Break the reference cycles through this task's own signals (a slot that holds
        the task, the bridge's slot that is this task's method), so that reference counting
        frees it here on the GUI thread and the cyclic collector never does so on a
        worker thread: a QObject freed off its thread crashes Qt later."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal in (self.sig_finished, self._bridge.sig_done):
                with contextlib.suppress(RuntimeError, TypeError):
                    signal.disconnect()
        self._bridge.result = None
        self._bridge.error = None


def run_in_background(
    parent: QWidget | None,
    fn: Callable[[], T],
    on_success: Callable[[T], None],
    on_failure: Callable[[BaseException], None] | None = None,
    *,
    passive: bool = False,
) -> Task[T]:
    """Run ``fn()`` on the thread pool; call back on the GUI thread.

    Args:
        parent: the widget whose window shows the busy state; callbacks are
            skipped if it has been destroyed meanwhile.
        fn: the work; must not touch widgets.
        on_success: called with the result.
        on_failure: called with the exception; default ``messages.show_error``.
        passive: a read that other work need not wait for (see the module docstring).

    Returns:
        The started task (kept alive until it finishes).
    """
    _collect_on_this_thread()
    task = Task(parent, fn, on_success, on_failure, passive=passive)
    task.start()
    return task


_collector: QTimer | None = None
#: How often the GUI thread collects reference cycles once workers are in use.
COLLECT_MS = 5_000
#: Every this many collections (10 minutes), one also looks at what was set aside.
FULL_EVERY = 120
_collections = 0


def set_aside() -> None:
    """Take every object alive now out of the collector's sight (``gc.freeze``).

    A new snapshot of 100 000 devices holds tuples of 100 000 items that the collector
    traverses at its next pass on the GUI thread: 20-50 ms without a frame (bench/
    responsiveness.py saw 80-108 ms stalls when the pass met a refresh). Objects set aside
    are still freed by reference counting as usual (the disposer frees the snapshots);
    only reference cycles among them wait for the next full pass, every ``FULL_EVERY``
    collections. Any thread may call it: it frees nothing.
    """
    gc.freeze()


def _collect() -> None:
    global _collections
    _collections += 1
    if _collections % FULL_EVERY == 0:
        gc.unfreeze()  # the cycles set aside since the last full pass are collected too
    gc.collect()


def _collect_on_this_thread() -> None:
    """Run the cyclic garbage collector only on the GUI thread (as Anki does).

    With it automatic, a worker's allocations can trigger a collection there that frees
    widgets or QObjects caught in cycles: deleting a QObject off its own thread corrupts
    Qt's state and crashes the program later. Called on the GUI thread, before the first
    worker starts; a timer collects from then on.
    """
    global _collector
    if _collector is not None:
        return
    gc.disable()
    _collector = QTimer()
    _collector.setInterval(COLLECT_MS)
    _collector.timeout.connect(_collect)
    _collector.start()


def collects_on_gui_thread() -> bool:
    """True once the GUI thread's collector runs (automatic collection is off)."""
    return _collector is not None


def active_tasks() -> tuple[Task[Any], ...]:
    return tuple(_active)


def working_tasks() -> tuple[Task[Any], ...]:
    """The running tasks other than passive reads (change buttons stay off while any runs)."""
    return tuple(t for t in _active if not t.passive)


def drop_results(window: QWidget) -> None:
    """Skip the callbacks of the running tasks of ``window`` and of the windows it owns.

    For a window that closes: its work still ends (see :func:`wait_for_all`), but nothing
    it would show, nor a read of the store closed meanwhile, happens afterwards.
    """
    for task in _active:
        widget = task._parent
        while widget is not None and widget is not window:
            widget = widget.parentWidget() if shiboken6.isValid(widget) else None
        if widget is not None:
            task.dropped = True


def wait_for_all(timeout_ms: int = 60_000) -> bool:
    """Block until the pool is idle (application exit only: results are then dropped)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)


def _set_busy(parent: QWidget | None, busy: bool) -> None:
    if parent is None:
        return
    window = parent.window()
    key = id(window)
    count = _busy_windows.get(key, 0) + (1 if busy else -1)
    if count > 0:
        _busy_windows[key] = count
    else:
        _busy_windows.pop(key, None)
        count = 0
    bar = window.findChild(QProgressBar, ids.BUSY_BAR)
    if count:
        window.setCursor(Qt.CursorShape.BusyCursor)
        if bar is not None:
            bar.setRange(0, 0)  # busy mode: an animated bar with no percentage
            bar.show()
    else:
        window.unsetCursor()
        if bar is not None:
            bar.hide()
