"""Watch list and metrics benchmarks (DESIGN §13, issue 14).

1. ``watch check`` of 100 endpoints on loopback: one bench server process listens on
   100 ports (a thread per connection, an EC P-256 certificate). It waits ``--rtt`` (default 100 ms)
   before it reads a ClientHello, standing for the network's round trip: on loopback
   a probe is otherwise pure CPU, and two cores cannot run sixteen CPU-bound probes at
   once however well they are spread. Figures: the check of 100 (the WatchList call
   ``kscert watch check`` makes, median of 5; aim ≤ 3 s), one probe (median of 20), and
   the ratio of the check to (100 / 16) x one probe (aim ≤ 1.2). The same check without
   the round trip is reported too, without an aim.
2. One scrape with 100 watched endpoints and 100 000 devices (``kscert devices import``
   of a CSV, then the 100 endpoints checked): ``GET /metrics`` from ``kscert metrics
   --listen``'s server in this process, median of 7; aim ≤ 200 ms.

Usage: python bench/watch.py [--endpoints 100] [--devices 100000] [--rtt 0.1]
Prints ``RESULT`` lines for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import selectors
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

T = TypeVar("T")
START_TIMEOUT = 30.0
PASSPHRASE = b"bench store passphrase"


# --- the bench server (a child process) -------------------------------------------------------


def write_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=20))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "bench.pem", folder / "bench.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def _serve(cert: Path, key: Path, count: int, rtt: float, ports_file: Path) -> None:
    """``count`` listening ports; each connection in a thread of its own, which waits
    ``rtt`` and then does the handshake with the blocking ``ssl`` module (OpenSSL runs
    without the interpreter lock, so handshakes on two cores run side by side)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listeners = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        listeners.append(sock)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with contextlib.closing(conn):
            conn.setblocking(True)
            conn.settimeout(10)
            if rtt:
                time.sleep(rtt)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the client closes
            except (OSError, ssl.SSLError):
                pass

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = ports_file.with_suffix(".tmp")
    tmp.write_text("\n".join(str(s.getsockname()[1]) for s in listeners), encoding="ascii")
    tmp.rename(ports_file)
    with selectors.DefaultSelector() as selector:
        for sock in listeners:
            selector.register(sock, selectors.EVENT_READ)
        while not stop.is_set():
            for key_, _events in selector.select(0.2):
                listener = key_.fileobj
                assert isinstance(listener, socket.socket)
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    conn, _addr = listener.accept()
                    threading.Thread(target=handle, args=(conn,), daemon=True).start()
    for sock in listeners:
        sock.close()


@contextlib.contextmanager
def bench_server(work: Path, cert: Path, key: Path, count: int, rtt: float) -> Iterator[
    list[int]
]:
    ports_file = work / f"ports-{rtt}.txt"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(ports_file), "--cert", str(cert), "--key",
         str(key), "--endpoints", str(count), "--rtt", str(rtt)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ports_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bench server did not start")
            time.sleep(0.05)
        yield [int(p) for p in ports_file.read_text(encoding="ascii").split()]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --- measuring ---------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def probe_time(port: int) -> float:
    from kscert_gui.services import tls

    start = time.perf_counter()
    result = tls.probe("127.0.0.1", port, timeout=5)
    took = time.perf_counter() - start
    assert result.error is None, result.error
    return took


def kscert(home: Path, passfile: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
                    "--passphrase-file", str(passfile), *args],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   timeout=600)


def make_csv(path: Path, n: int) -> None:
    rng = random.Random(14)
    now = datetime.now(UTC).replace(microsecond=0)
    groups = ("Field staff", "Head office", "Field staff/North")
    lines = ["name,group,platform,last synchronization"]
    for i in range(n):
        platform = "iOS" if rng.random() < 0.35 else "Android"
        last = now - timedelta(seconds=rng.randrange(0, 6 * 3600))
        lines.append(f"dev-{i:06d},{groups[i % 3]},{platform},"
                     f"{last.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scrape(port: int) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    took = time.perf_counter() - start
    assert response.status == 200 and b"x509_cert_not_after" in body
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--rtt", type=float, default=0.1)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cert", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        _serve(args.cert, args.key, args.endpoints, args.rtt, args.serve)
        return 0

    from kscert_gui.services import metrics
    from kscert_gui.services.secrets import PassphraseFileSecretStore
    from kscert_gui.services.server import AdministrationServer
    from kscert_gui.services.watch import MAX_PARALLEL, watch_list

    n = args.endpoints
    with tempfile.TemporaryDirectory(prefix="kscert-bench-watch-") as tmp:
        work = Path(tmp)
        cert, key = write_certificate(work)
        passfile = work / "store.pass"
        fd = os.open(passfile, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.write(fd, PASSPHRASE + b"\n")
        os.close(fd)
        home = work / "store"
        kscert(home, passfile, "reissue", "--address", "127.0.0.1", "--immediately", "--yes")
        csv_path = work / "fleet.csv"
        make_csv(csv_path, args.devices)
        kscert(home, passfile, "devices", "import", str(csv_path))
        secrets = PassphraseFileSecretStore(passfile)

        results: dict[float, tuple[float, float]] = {}
        for rtt in (args.rtt, 0.0):
            with bench_server(work, cert, key, n, rtt) as ports, \
                    AdministrationServer.open(home, secrets) as server:
                watch = watch_list(server)
                for entry in watch.entries():
                    watch.remove(entry.endpoint)
                for port in ports:
                    watch.add(f"127.0.0.1:{port}")
                warm = watch.check()  # warm up (imports, first connections)
                problems = [e.error for e in warm.results if e.state != "expiring"]
                if problems:
                    raise SystemExit(f"the bench server does not serve: {problems[:3]}")
                one = statistics.median(probe_time(p) for p in ports[:20])
                runs = []
                for _ in range(5):
                    seconds, result = timed(watch.check)
                    assert sum(1 for e in result.results if e.state == "expiring") == n, [
                        e.error for e in result.results if e.state != "expiring"][:3]
                    runs.append(seconds)
                results[rtt] = (statistics.median(runs), one)
                print(f"rtt {rtt * 1000:.0f} ms: one probe {one * 1000:.1f} ms, check of {n} "
                      f"{statistics.median(runs) * 1000:.0f} ms (runs: "
                      f"{', '.join(f'{r * 1000:.0f}' for r in runs)})", flush=True)

        check, one = results[args.rtt]
        ideal = n / MAX_PARALLEL * one
        ratio = check / ideal
        print(f"RESULT name=watch-check-{n}-endpoints value={check:.3f} unit=s baseline=- "
              f"ratio=- aim=value<=3 (WatchList.check as kscert watch check runs it, one bench "
              f"server with {n} loopback ports answering after a {args.rtt * 1000:.0f} ms "
              f"round trip, median of 5)")
        print(f"RESULT name=watch-check-vs-one-probe value={check:.3f} unit=s "
              f"baseline={ideal:.3f} ratio={ratio:.2f} aim=ratio<=1.2 (baseline: ({n} / "
              f"{MAX_PARALLEL}) x one probe of {one * 1000:.0f} ms, median of 20)")
        check0, one0 = results[0.0]
        print(f"RESULT name=watch-check-{n}-endpoints-no-rtt value={check0:.3f} unit=s "
              f"baseline={n / MAX_PARALLEL * one0:.3f} ratio="
              f"{check0 / (n / MAX_PARALLEL * one0):.2f} aim=- (no round trip: CPU-bound "
              f"probes on 2 cores; one probe {one0 * 1000:.1f} ms)")

        # The scrape: 100 endpoints with their results, 100 000 devices.
        with AdministrationServer.open(home, secrets, writable=False) as server:
            assert len(watch_list(server).entries()) == n

            def read() -> metrics.MetricsReading:
                return metrics.read_metrics(server)

            with metrics.serving(read, "127.0.0.1", 0) as endpoint:
                scrape(endpoint.port)
                times = [scrape(endpoint.port) for _ in range(7)]
            in_process = statistics.median(timed(lambda: metrics.exposition(read))[0]
                                           for _ in range(5))
        took = statistics.median(times)
        print(f"scrape: median {took * 1000:.1f} ms (runs: "
              f"{', '.join(f'{t * 1000:.0f}' for t in times)}); exposition in process "
              f"{in_process * 1000:.1f} ms", flush=True)
        print(f"RESULT name=metrics-scrape-{n}-endpoints-{args.devices // 1000}k-devices "
              f"value={took * 1000:.1f} unit=ms baseline=- ratio=- aim=value<=200 (GET "
              f"/metrics of kscert metrics --listen's server, store read on the scrape, "
              f"median of 7)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
