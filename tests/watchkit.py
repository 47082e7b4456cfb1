"""Real parts for the watch and metrics tests (DESIGN §13), on top of :mod:`tlskit`.

Certificates built now for ``openssl s_server`` (expiring in 10 days, expired...),
``kscert serve`` on a store, behaviours for hostile TCP servers (garbage, silence, a
handshake that never ends) and the ``kscert`` command in a subprocess. Every server
listens on 127.0.0.1 on a port the OS just handed out; every wait is bounded; everything
started is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certkit import compliant_certificate
from cryptography.hazmat.primitives.asymmetric import ec
from tlskit import WAIT, free_port, serve_cmd, serving, write_pair


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
    return write_pair(folder, name, key, [cert])


def expiring_in(folder: Path, name: str, days: int) -> tuple[Path, Path]:
    """A certificate issued 20 days ago that expires ``days`` days from now."""
    now = datetime.now(UTC).replace(microsecond=0)
    return cert_files(folder, name, not_before=now - timedelta(days=20), days=20 + days)


@contextlib.contextmanager
def kscert_serve(home: Path, passfile: Path, tmp: Path) -> Iterator[int]:
    """``kscert serve`` on the store in ``home``; yields the server's mobile port."""
    port = free_port()
    with serving(serve_cmd(home, passfile, port), tmp / f"serve-{port}.log"):
        yield port


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
