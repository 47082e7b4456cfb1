"""Real parts for the watch and metrics tests (DESIGN §13): TLS servers on 127.0.0.1.

``openssl s_server`` with a certificate built now (expiring in 10 days, expired...),
``kscert serve`` on a store, hostile TCP servers (garbage, silence, a handshake that
never ends) and the ``kscert`` command in a subprocess. Every server listens on
127.0.0.1 on a port the OS just handed out; every wait is bounded; everything started is
stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certkit import compliant_certificate
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

WAIT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def write_passfile(path: Path, passphrase: bytes = b"a store passphrase for watch tests") -> Path:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.write(fd, passphrase + b"\n")
    os.close(fd)
    return path


def kscert(home: Path, passfile: Path, *args: str, timeout: float = 120,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    """``kscert --home HOME --passphrase-file FILE ARGS`` in a subprocess (no traceback)."""
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "--home", str(home),
         "--passphrase-file", str(passfile), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def cert_files(folder: Path, name: str, *, cn: str = "127.0.0.1", not_before: datetime,
               days: int) -> tuple[Path, Path]:
    """A self-signed certificate (EC P-256: quick handshakes) and its key as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = compliant_certificate(key, cn, not_before, days)  # type: ignore[arg-type]
    cert_path = folder / f"{name}.pem"
    key_path = folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    os.close(fd)
    return cert_path, key_path


def expiring_in(folder: Path, name: str, days: int) -> tuple[Path, Path]:
    """A certificate issued 20 days ago that expires ``days`` days from now."""
    now = datetime.now(UTC).replace(microsecond=0)
    return cert_files(folder, name, not_before=now - timedelta(days=20), days=20 + days)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def process(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[
    subprocess.Popen[bytes]
]:
    """``cmd`` in its own process group, output to ``log``; killed (the group) at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=WAIT)


@contextlib.contextmanager
def s_server(tmp: Path, cert: Path, key: Path) -> Iterator[int]:
    """``openssl s_server`` serving ``cert`` on 127.0.0.1; yields its port."""
    port = free_port()
    log = tmp / f"s_server-{port}.log"
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
           "-key", str(key), "-quiet", "-naccept", "1000"]
    with process(cmd, log) as proc:
        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"openssl s_server exited: {log.read_text()}")
            return _listening(port)

        wait_until(up, f"openssl s_server on {port}")
        yield port


@contextlib.contextmanager
def kscert_serve(home: Path, passfile: Path, tmp: Path) -> Iterator[int]:
    """``kscert serve`` on the store in ``home``; yields the server's mobile port."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    cmd = [sys.executable, "-m", "kscert_gui.cli", "--home", str(home), "--passphrase-file",
           str(passfile), "serve", "--server-port", str(port)]
    with process(cmd, log) as proc:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"kscert serve exited: {log.read_text()}")
            return "Ready;" in log.read_text()

        wait_until(ready, "kscert serve ready")
        yield port


@contextlib.contextmanager
def raw_server(behaviour: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 whose every connection gets ``behaviour`` (in a thread)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    port = int(listener.getsockname()[1])
    stop = threading.Event()
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            behaviour(conn)

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=WAIT)
        listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()


def trickle(stop: threading.Event) -> Callable[[socket.socket], None]:
    """A handshake that never ends: a TLS record header, then one byte now and then."""

    def behaviour(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record, announced
        while not stop.wait(0.2):
            conn.sendall(b"\x02")

    return behaviour


def silence(stop: threading.Event) -> Callable[[socket.socket], None]:
    def behaviour(conn: socket.socket) -> None:
        stop.wait(WAIT)

    return behaviour


def garbage(conn: socket.socket) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\x00\xff" * 200)
