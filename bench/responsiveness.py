"""Responsiveness probes: the longest GUI event-loop stall (aim: ≤ 50 ms each)

- while a 4096-bit reissue runs through ``run_in_background``;
- during the console's periodic status refreshes (main window + Properties → Certificates
  open) on a store of 100 000 devices with a pending reserve, where ``status()`` forecasts
  the delivery to every device (~200 ms, bench/devices.py devices-status-with-forecast).
  Until 2026-11 each refresh read the status twice on the GUI thread (main window, then
  the page): a ~445 ms stall per minute. ui/status_feed.py now reads it once in a worker
  (a stall of ~7 ms from the worker alone, measured with no view rendering), and since
  2026-12-02 hands the snapshot to one view per turn of the event loop: all views at once
  were ~20 ms of GUI-thread work plus the repaints in one go (22-28 ms stalls); the
  Certificates page, ~8 ms, is now the largest single piece (8-11 ms stalls).

A 5 ms QTimer records the gap between its ticks; the longest gap minus the interval is the
stall. Usage: python bench/responsiveness.py [--bits 4096] [--repeat 10] [--devices 100000]
[--refreshes 5]

Python threads share one interpreter lock, so a worker that stays inside a C call holding it
stalls the GUI thread all the same. Key generation releases it; cryptography's RSA key check
(primality tests, ~0.25 s for a 4096-bit key) does not: that was the 250 ms stall measured in
2026-11, when each reissue opened the previous key to verify the store passphrase.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from kscert_gui.model.clock import FixedClock
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import (
    AdministrationServer,
    CertView,
    ReissueRequest,
)
from kscert_gui.ui import ids, tasks
from kscert_gui.ui.console import Console

INTERVAL_MS = 5


class StallMeter:
    """A 5 ms QTimer that records the gaps between its ticks."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self._timer.start()
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()

    def stall_ms(self) -> float:
        """The longest gap beyond the interval (0 without ticks)."""
        return max(max(self.gaps, default=0.0) * 1000 - INTERVAL_MS, 0.0)


def probe(app: QApplication, console: Console, bits: int) -> tuple[float, float]:
    """(longest stall in ms, reissue duration in s) for one background reissue."""
    host = QWidget()
    host.show()
    meter = StallMeter()
    started = time.perf_counter()
    finished: list[float] = []

    def done(_view: CertView) -> None:
        finished.append(time.perf_counter() - started)
        meter.stop()
        app.quit()

    errors: list[BaseException] = []

    def failed(err: BaseException) -> None:
        errors.append(err)
        meter.stop()
        app.quit()

    meter.start()
    tasks.run_in_background(
        host,
        lambda: console.server.reissue(ReissueRequest(None, 30, key_size=bits), confirmed=True),
        done,
        failed,
    )
    app.exec()
    host.close()
    if errors:
        raise SystemExit(f"reissue failed: {errors[0]}")
    reserve = console.server.status().reserve
    if reserve is None or reserve.info.key != f"RSA {bits}":
        raise SystemExit(f"expected an RSA {bits} reserve, got {reserve and reserve.info.key}")
    return meter.stall_ms(), finished[0] if finished else float("nan")


def fleet_store(work: Path, devices: int) -> tuple[Path, MemorySecretStore, FixedClock]:
    """A store of ``devices`` devices (bench/devices.py's CSV) with a main and a reserve."""
    from devices import NOW, make_csv  # bench/devices.py, beside this script

    csv_path = work / "devices.csv"
    make_csv(csv_path, devices)
    home = work / "store"
    secrets = MemorySecretStore()
    clock = FixedClock(NOW)
    with AdministrationServer.open(home, secrets, clock=clock) as server:
        report = server.fleet.import_devices(csv_path)
        assert report.added == devices, report
        server.reissue(ReissueRequest("mdm.bench.example", None), confirmed=True)
        clock.advance(timedelta(hours=1))
        server.reissue(ReissueRequest(None, 30), confirmed=True)
    return home, secrets, clock


def probe_status_refresh(
    app: QApplication, work: Path, devices: int, refreshes: int
) -> tuple[float, list[float]]:
    """(longest stall in ms, seconds from each trigger to the refreshed main window).

    The main window and Properties → Certificates are shown; the main window's periodic
    refresh slot (its 60 s timer's) is triggered ``refreshes`` times, each after the
    previous one has been applied.
    """
    from kscert_gui.app import open_console
    from kscert_gui.ui.main_window import MainWindow

    home, secrets, clock = fleet_store(work, devices)
    console = open_console(home, secrets, clock)
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(console, settings)
    window.show()
    window.status_feed.wait_for_first()
    # Every view that renders the snapshot is open: the status bar and summary, Managed
    # devices, the delivery and at-risk window, Properties → Certificates and (built, then
    # the Certificates section shown again) Distribution points.
    window.tree.setCurrentItem(window.devices_item)
    devices_page = window.devices_page
    assert devices_page is not None
    delivery = devices_page.open_delivery()
    props = window.open_properties()
    props.select_section(ids.SECTION_DISTRIBUTION_POINTS)
    props.select_section(ids.SECTION_CERTIFICATES)
    meter = StallMeter()
    durations: list[float] = []
    triggered: list[float] = []

    def trigger() -> None:
        if not triggered:
            meter.start()  # the refreshes only: not the windows' first paint
        triggered.append(time.perf_counter())
        window._periodic_refresh()

    def refreshed(_reading: object) -> None:
        if len(durations) >= len(triggered):
            return  # not one a trigger asked for
        durations.append(time.perf_counter() - triggered[-1])
        if len(durations) < refreshes:
            QTimer.singleShot(100, trigger)
        else:
            current.append(views_current())
            QTimer.singleShot(100, app.quit)  # (quit closes the windows, in Qt 6)

    current: list[tuple[bool, bool]] = []

    def views_current() -> tuple[bool, bool]:
        """(the devices page and the delivery window show the new snapshot's devices,
        Distribution points its points)."""
        snapshot = window.snapshot
        if snapshot is None:
            return False, False
        tables = (devices_page.table, devices_page.model.table, delivery.model.table)
        return (all(t is snapshot.devices for t in tables),
                props.distribution_points_page.points == snapshot.points)

    # Connected after every view: it runs once each has rendered the reading.
    window.status_feed.sig_status.connect(refreshed)
    QTimer.singleShot(300, trigger)  # the windows painted and settled first
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    meter.stop()
    window.status_feed.sig_status.disconnect(refreshed)
    shown = window.status
    page_status = props.certificates_page.status
    window.close()
    if current != [(True, True)]:
        raise SystemExit(f"a view does not show the refreshed snapshot: {current}")
    if len(durations) < refreshes:
        raise SystemExit(f"only {len(durations)} of {refreshes} refreshes were applied")
    if shown is None or shown.fleet.devices != devices or shown.reserve is None:
        raise SystemExit(f"the window shows no reserve for {devices} devices: {shown}")
    if page_status is None or page_status.at != shown.at or page_status.reserve != shown.reserve:
        raise SystemExit("the Certificates page does not show the refreshed status")
    return meter.stall_ms(), durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bits", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--refreshes", type=int, default=5)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="kscert-resp-") as tmp:
        server = AdministrationServer.open(Path(tmp) / "store", MemorySecretStore())
        console = Console(server)
        try:
            console.server.reissue(ReissueRequest("bench.example", None), confirmed=True)
            results = [probe(app, console, args.bits) for _ in range(args.repeat)]
        finally:
            console.close()
    with tempfile.TemporaryDirectory(prefix="kscert-resp-fleet-") as tmp:
        refresh_stall, refresh_s = probe_status_refresh(
            app, Path(tmp), args.devices, args.refreshes)
    for stall, duration in results:
        print(f"{args.bits}-bit reissue: {duration:.2f} s, longest event-loop stall "
              f"{stall:.1f} ms")
    worst = max(s for s, _ in results)
    print(f"worst stall over {len(results)} runs: {worst:.1f} ms")
    n = f"{args.devices:,}".replace(",", " ")
    print(f"periodic status refresh, {n} devices: longest event-loop stall "
          f"{refresh_stall:.1f} ms over {len(refresh_s)} refreshes; trigger to applied "
          + ", ".join(f"{s * 1000:.0f}" for s in refresh_s) + " ms")
    # The bench/run protocol (bench/run_all.py): one machine-readable line per figure.
    print(f"RESULT name=gui-stall-during-{args.bits}-bit-reissue value={worst:.1f} unit=ms "
          f"baseline=- ratio=- aim=value<=50 (longest event-loop stall over {len(results)} "
          "background reissues)")
    median = sorted(d for _, d in results)[len(results) // 2]
    print(f"RESULT name={args.bits}-bit-reissue-duration value={median:.2f} unit=s "
          "baseline=- ratio=- aim=- (median; key generation dominates)")
    size = f"{args.devices // 1000}k" if args.devices % 1000 == 0 else str(args.devices)
    print(f"RESULT name=gui-stall-during-status-refresh-{size} "
          f"value={refresh_stall:.1f} unit=ms baseline=- ratio=- aim=value<=16 (longest "
          f"event-loop stall over {len(refresh_s)} periodic refreshes with every view open: "
          f"status bar, Managed devices, delivery window, Properties → Certificates and "
          f"Distribution points; {n} devices with a pending reserve)")
    print(f"RESULT name=status-refresh-{size}-duration "
          f"value={statistics.median(refresh_s) * 1000:.0f} unit=ms baseline=- ratio=- "
          "aim=value<=300 (median, periodic refresh triggered to the snapshot shown in every "
          "view)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
