"""Responsiveness probe: the longest GUI event-loop stall while a 4096-bit reissue runs
through ``run_in_background`` (aim: ≤ 50 ms).

A 5 ms QTimer records the gap between its ticks; the longest gap minus the interval is the
stall. Usage: python bench/responsiveness.py [--bits 4096] [--repeat 3]

Python threads share one interpreter lock, so a worker that stays inside a C call holding it
stalls the GUI thread all the same. Key generation releases it; cryptography's RSA key check
(primality tests, ~0.25 s for a 4096-bit key) does not: that was the 250 ms stall measured in
2026-11, when each reissue opened the previous key to verify the store passphrase.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import (
    AdministrationServer,
    CertView,
    ReissueRequest,
)
from kscert_gui.ui import tasks
from kscert_gui.ui.console import Console

INTERVAL_MS = 5


def probe(app: QApplication, console: Console, bits: int) -> tuple[float, float]:
    """(longest stall in ms, reissue duration in s) for one background reissue."""
    host = QWidget()
    host.show()
    gaps: list[float] = []
    last = time.perf_counter()

    def tick() -> None:
        nonlocal last
        now = time.perf_counter()
        gaps.append(now - last)
        last = now

    timer = QTimer()
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(tick)
    started = time.perf_counter()
    finished: list[float] = []

    def done(_view: CertView) -> None:
        finished.append(time.perf_counter() - started)
        timer.stop()
        app.quit()

    errors: list[BaseException] = []

    def failed(err: BaseException) -> None:
        errors.append(err)
        timer.stop()
        app.quit()

    timer.start()
    last = time.perf_counter()
    tasks.run_in_background(
        host, lambda: console.reissue(ReissueRequest(None, 30, key_size=bits)), done, failed
    )
    app.exec()
    host.close()
    if errors:
        raise SystemExit(f"reissue failed: {errors[0]}")
    reserve = console.status().reserve
    if reserve is None or reserve.info.key != f"RSA {bits}":
        raise SystemExit(f"expected an RSA {bits} reserve, got {reserve and reserve.info.key}")
    stall = max(gaps) * 1000 - INTERVAL_MS if gaps else 0.0
    return max(stall, 0.0), finished[0] if finished else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bits", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="kscert-resp-") as tmp:
        server = AdministrationServer.open(Path(tmp) / "store", MemorySecretStore())
        console = Console(server)
        try:
            console.call(lambda s: s.reissue(ReissueRequest("bench.example", None),
                                             confirmed=True))
            results = [probe(app, console, args.bits) for _ in range(args.repeat)]
        finally:
            console.close()
    for stall, duration in results:
        print(f"{args.bits}-bit reissue: {duration:.2f} s, longest event-loop stall "
              f"{stall:.1f} ms")
    worst = max(s for s, _ in results)
    print(f"worst stall over {len(results)} runs: {worst:.1f} ms")
    # The bench/run protocol (bench/run_all.py): one machine-readable line per figure.
    print(f"RESULT name=gui-stall-during-{args.bits}-bit-reissue value={worst:.1f} unit=ms "
          f"baseline=- ratio=- aim=value<=50 (longest event-loop stall over {len(results)} "
          "background reissues)")
    median = sorted(d for _, d in results)[len(results) // 2]
    print(f"RESULT name={args.bits}-bit-reissue-duration value={median:.2f} unit=s "
          "baseline=- ratio=- aim=- (median; key generation dominates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
