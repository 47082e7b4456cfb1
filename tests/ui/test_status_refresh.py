"""The status refresh (ui/status_feed.py): one read, off the GUI thread, shown everywhere.

The window is opened read-only while a second, writable handle on the same store (as
``kscert`` in another process would) makes the changes the refresh must pick up.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from uikit import Env, make_env, open_certificates, open_window, refreshed, wait_idle

from kscert_gui.services import snapshot as snapshot_module
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.snapshot import Snapshot
from kscert_gui.services.views import ReissueRequest
from kscert_gui.ui import messages, status_feed, tasks
from kscert_gui.ui.console import Console
from kscert_gui.ui.main_window import MainWindow
from kscert_gui.ui.status_feed import StatusReading

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

WAIT_MS = 30_000
NO_RESERVE = "20 days left and no reserve certificate"
PENDING = "reserve certificate is pending"


class Reads:
    """Stands in for the feed's ``read_snapshot``: records each read's thread and can hold
    the next worker read.

    A held read has already read the store; it returns once ``release()`` is called.
    """

    def __init__(self, console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
        self._real = snapshot_module.read_snapshot
        self.threads: list[threading.Thread] = []
        self.in_worker = 0
        self.most_in_worker = 0
        self.entered = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._held = False
        self._lock = threading.Lock()
        monkeypatch.setattr(snapshot_module, "read_snapshot", self)

    def hold(self) -> None:
        """Hold the next read made in a worker."""
        self._go.clear()
        self.entered.clear()
        self._held = True

    def release(self) -> None:
        self._go.set()

    def __call__(self, server: AdministrationServer) -> Snapshot:
        worker = threading.current_thread() is not threading.main_thread()
        with self._lock:
            self.threads.append(threading.current_thread())
            held, self._held = self._held and worker, self._held and not worker
            if worker:
                self.in_worker += 1
                self.most_in_worker = max(self.most_in_worker, self.in_worker)
        try:
            snapshot = self._real(server)
            if held:
                self.entered.set()
                assert self._go.wait(WAIT_MS / 1000), "the held read was never released"
            return snapshot
        finally:
            if worker:
                with self._lock:
                    self.in_worker -= 1

    @property
    def on_gui_thread(self) -> int:
        return sum(t is threading.main_thread() for t in self.threads)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path, main_age_days=377)  # 20 days left, no reserve


@pytest.fixture
def other(env: Env) -> Iterator[AdministrationServer]:
    """A writable handle held beside the window (which therefore opens read-only)."""
    server = env.server()
    yield server
    server.close()


def opened(qtbot: QtBot, env: Env, other: AdministrationServer) -> MainWindow:
    window = open_window(qtbot, env)
    assert window.console.read_only  # the store is held by ``other``
    assert NO_RESERVE in window.valid_to_label.text()
    return window


def test_periodic_refresh_reads_once_in_a_worker_and_updates_both_views(
    qtbot: QtBot, env: Env, other: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = opened(qtbot, env, other)
    _props, page = open_certificates(qtbot, window)
    assert page.status is not None and page.status.reserve is None
    reads = Reads(window.console, monkeypatch)
    other.reissue(ReissueRequest(None, 15), confirmed=True)

    window._periodic_refresh()  # the 60 s timer's slot
    task = window.status_feed.task
    assert task is not None and task.running and task.passive
    # Nothing shown yet, the GUI thread did not wait, and the busy bar says work runs.
    assert NO_RESERVE in window.valid_to_label.text()
    assert not window.busy_bar.isHidden()
    # Every view has the reading once sig_status fires (they render one per turn).
    with qtbot.waitSignals([task.sig_finished, window.status_feed.sig_status],
                           timeout=WAIT_MS, raising=True):
        pass
    assert task.error is None
    assert len(reads.threads) == 1 and reads.on_gui_thread == 0  # one read for both views
    assert PENDING in window.valid_to_label.text()
    assert window.valid_to_label.property("alert") is False
    assert window.status is not None and window.status.reserve is not None
    assert page.status is window.status
    assert page.days_left.property("alert") is False
    assert page.reserve_subject.text() == window.status.reserve.info.subject
    assert window.busy_bar.isHidden()
    assert window.status_feed.task is None


def test_a_refresh_never_overlaps_another(
    qtbot: QtBot, env: Env, other: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = opened(qtbot, env, other)
    reads = Reads(window.console, monkeypatch)
    reads.hold()
    first = window.refresh_in_background()
    assert first is not None
    assert reads.entered.wait(WAIT_MS / 1000)
    other.reissue(ReissueRequest(None, 15), confirmed=True)  # after the running read's look
    window._periodic_refresh()  # other work runs: no refresh
    assert window.refresh_in_background() is None  # F5: queued behind the running read
    window._devices_changed()  # a device change: likewise
    assert window.status_feed.task is first
    assert len(reads.threads) == 1
    reads.release()
    with qtbot.waitSignal(first.sig_finished, timeout=WAIT_MS, raising=True):
        pass
    # One more read followed (the store changed since the first began), and only one.
    second = window.status_feed.task
    assert second is not None and second is not first
    with qtbot.waitSignal(second.sig_finished, timeout=WAIT_MS, raising=True):
        pass
    assert window.status_feed.task is None
    assert len(reads.threads) == 2 and reads.on_gui_thread == 0
    assert reads.most_in_worker == 1
    assert PENDING in window.valid_to_label.text()


def test_no_periodic_refresh_while_other_work_runs(
    qtbot: QtBot, env: Env, other: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = opened(qtbot, env, other)
    reads = Reads(window.console, monkeypatch)
    go = threading.Event()
    work = tasks.run_in_background(window, lambda: go.wait(WAIT_MS / 1000), lambda _r: None)
    window._periodic_refresh()
    assert window.status_feed.task is None
    go.set()
    with qtbot.waitSignal(work.sig_finished, timeout=WAIT_MS, raising=True):
        pass
    assert reads.threads == []


def test_an_older_reading_is_dropped(
    qtbot: QtBot, env: Env, other: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = opened(qtbot, env, other)
    _props, page = open_certificates(qtbot, window)
    reads = Reads(window.console, monkeypatch)
    reads.hold()
    window._periodic_refresh()
    task = window.status_feed.task
    assert task is not None
    assert reads.entered.wait(WAIT_MS / 1000)  # it has read: no reserve yet
    other.reissue(ReissueRequest(None, 15), confirmed=True)
    # A newer reading is shown first (as a change's worker hands its reading over).
    feed = window.status_feed
    with qtbot.waitSignal(feed.sig_status, timeout=WAIT_MS, raising=True):
        assert feed.offer(feed.read())
    assert PENDING in window.valid_to_label.text()
    shown = window.status
    assert shown is not None and shown.reserve is not None and page.status is shown
    reads.release()
    with qtbot.waitSignal(task.sig_finished, timeout=WAIT_MS, raising=True):
        pass
    assert task.result is not None and task.result.status is not None
    assert task.result.status.reserve is None  # what it read, which is not shown
    assert window.status is shown and page.status is shown
    assert PENDING in window.valid_to_label.text()


def test_nothing_is_applied_after_the_window_is_closed(
    qtbot: QtBot, env: Env, other: AdministrationServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = opened(qtbot, env, other)
    _props, page = open_certificates(qtbot, window)
    before = window.status
    reads = Reads(window.console, monkeypatch)
    reads.hold()
    window._periodic_refresh()
    task = window.status_feed.task
    assert task is not None
    assert reads.entered.wait(WAIT_MS / 1000)
    other.reissue(ReissueRequest(None, 15), confirmed=True)
    shown: list[QWidget] = []
    window.sig_refreshed.connect(lambda: shown.append(window))
    page.sig_refreshed.connect(lambda: shown.append(page))
    # Closing waits for the running read (its store is then closed): let it end meanwhile.
    threading.Timer(0.2, reads.release).start()
    window.close()
    with qtbot.waitSignal(task.sig_finished, timeout=WAIT_MS, raising=True):
        pass  # (delivered after the close)
    assert task.result is not None and task.result.status is not None
    assert shown == []
    assert window.status is before and page.status is before
    assert NO_RESERVE in window.valid_to_label.text()
    window._periodic_refresh()
    assert window.status_feed.task is None and window.refresh_in_background() is None
    assert len(reads.threads) == 1


def test_a_change_on_the_certificates_page_reads_its_status_in_the_worker(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(messages, "confirm", lambda *_a: True)
    window = open_window(qtbot, make_env(tmp_path, main_age_days=100))
    window.console.server.reissue(ReissueRequest(None, 30), confirmed=True)
    _props, page = open_certificates(qtbot, window)
    refreshed(qtbot, window)
    assert window.status is not None and window.status.reserve is not None
    reads = Reads(window.console, monkeypatch)
    with qtbot.waitSignal(page.sig_changed, timeout=WAIT_MS, raising=True):
        page.cancel_reserve_button.click()
    # Shown in both windows when the change is reported, from one read in the worker.
    assert len(reads.threads) == 1 and reads.on_gui_thread == 0
    assert page.status is not None and page.status.reserve is None
    assert window.status is page.status
    assert "Reserve certificate becomes main" not in window.summary.text()


def test_other_work_of_a_closed_window_is_not_called_back(
    qtbot: QtBot, env: Env, other: AdministrationServer
) -> None:
    """Closing waits for running work, then closes the store: its callbacks (which would
    show results, or read the closed store) are skipped, also for the Properties window's."""
    window = opened(qtbot, env, other)
    _props, page = open_certificates(qtbot, window)
    go = threading.Event()
    called: list[object] = []
    work = tasks.run_in_background(
        page, lambda: go.wait(WAIT_MS / 1000), called.append, called.append
    )
    threading.Timer(0.2, go.set).start()
    window.close()
    with qtbot.waitSignal(work.sig_finished, timeout=WAIT_MS, raising=True):
        pass
    assert work.result is True and work.dropped
    assert called == []


def test_a_device_change_keeps_the_server_node_selected(
    qtbot: QtBot, env: Env, other: AdministrationServer
) -> None:
    window = opened(qtbot, env, other)
    assert window.tree.currentItem() is window.server_item
    window._devices_changed()
    assert window.tree.currentItem() is window.server_item
    assert window.devices_page is None  # not built: the devices node was not selected
    task = window.status_feed.task
    assert task is not None
    with qtbot.waitSignal(task.sig_finished, timeout=WAIT_MS, raising=True):
        pass


class Probe(QWidget):
    """A view that records what it was handed and whether the event loop ran since the
    view before it."""

    def __init__(self, name: str, log: list[tuple[str, int, bool]]) -> None:
        super().__init__()
        self.name, self.log = name, log
        self.turned = False

    def show_reading(self, reading: StatusReading) -> None:
        self.log.append((self.name, reading.ticket, self.turned))
        self.turned = False


def test_views_render_one_per_turn_of_the_event_loop_then_sig_status(
    qtbot: QtBot, env: Env, other: AdministrationServer
) -> None:
    """A refresh hands the snapshot to one view per turn of the event loop (a repaint and
    the timers run between: no frame is lost to all of them at once); a view deleted
    meanwhile is skipped; a newer reading restarts the round; sig_status comes last."""
    window = opened(qtbot, env, other)
    feed = window.status_feed
    log: list[tuple[str, int, bool]] = []
    first, gone, second = Probe("first", log), Probe("gone", log), Probe("second", log)
    for probe in (first, gone, second):
        feed.show_in(probe.show_reading)
    gone.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(gone))

    def mark() -> None:
        second.turned = True

    first_slot = first.show_reading

    def first_then_mark(reading: StatusReading) -> None:
        first_slot(reading)
        QTimer.singleShot(0, mark)  # runs only if the event loop turns before `second`

    first.show_reading = first_then_mark  # type: ignore[method-assign]
    feed.show_in(first.show_reading)  # (registered again, now marking)
    done: list[int] = []
    feed.sig_status.connect(lambda r: done.append(r.ticket))
    reading = feed.read()
    with qtbot.waitSignal(feed.sig_status, timeout=WAIT_MS, raising=True):
        assert feed.offer(reading)
        assert not done and status_feed.rendering()  # not every view has it yet
    assert done == [reading.ticket] and not status_feed.rendering()
    names = [name for name, _t, _turned in log]
    assert "gone" not in names and names.count("second") == 1
    second_entry = next(e for e in log if e[0] == "second")
    assert second_entry == ("second", reading.ticket, True)

    # A newer reading offered while a round runs: the views still to render get only it.
    log.clear()
    older, newer = feed.read(), feed.read()
    assert feed.offer(older)
    assert feed.offer(newer)
    wait_idle(qtbot)
    assert {t for name, t, _ in log if name == "second"} == {newer.ticket}
    assert done[-1] == newer.ticket and older.ticket not in done


def test_a_window_closed_in_the_middle_of_a_round_is_not_waited_for(
    qtbot: QtBot, env: Env, other: AdministrationServer
) -> None:
    """A feed deleted in the middle of a round (as with its window, when a test ends) is
    not waited for by the next wait_idle."""
    window = opened(qtbot, env, other)
    feed = window.status_feed
    feed.show_in(Probe("late", []).show_reading)  # (deleted at once: a second view)
    reading = feed.read()
    assert feed.offer(reading) and status_feed.rendering()
    feed.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(feed), timeout=WAIT_MS)
    assert not status_feed.rendering()


def test_a_replaced_snapshot_is_freed_off_the_gui_thread(
    qtbot: QtBot, env: Env, other: AdministrationServer
) -> None:
    """Freeing a snapshot of 100 000 devices is ~7 ms the GUI thread must not spend: once
    every view has the newer reading, the older one is freed by the disposer thread."""
    window = opened(qtbot, env, other)
    feed = window.status_feed
    first = feed.read()
    with qtbot.waitSignal(feed.sig_status, timeout=WAIT_MS, raising=True):
        assert feed.offer(first)
    freed_in: list[str] = []
    weakref.finalize(first.snapshot, lambda: freed_in.append(threading.current_thread().name))
    del first
    with qtbot.waitSignal(feed.sig_status, timeout=WAIT_MS, raising=True):
        assert feed.offer(feed.read())
    qtbot.waitUntil(lambda: bool(freed_in), timeout=WAIT_MS)
    assert freed_in == ["kscert-disposer"]


def test_a_new_snapshot_is_set_aside_from_the_collector(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GUI thread's collector does not walk a new snapshot's large tuples (20-50 ms
    at 100 000 devices); every FULL_EVERY collections it looks at everything again."""
    import gc

    from uikit import demo_env

    window = open_window(qtbot, demo_env(tmp_path))  # 1 250 devices
    reading = window.status_feed.read()
    assert reading.snapshot is not None
    names = reading.snapshot.devices.names
    assert gc.is_tracked(names)  # a tuple of strings, until a pass untracks it
    assert not any(o is names for o in gc.get_objects())  # not in a generation it walks
    monkeypatch.setattr(tasks, "FULL_EVERY", 1)
    tasks._collect()  # the timer's slot: a full pass takes in what was set aside
    assert gc.get_freeze_count() == 0
