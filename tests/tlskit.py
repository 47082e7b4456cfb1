"""TLS parts shared by the serve, check and watch tests: real servers on loopback.

Free ports, waiting for a port or a condition, processes in their own group (``openssl
s_server``, ``kscert serve``), plain TCP servers with a chosen behaviour (garbage,
silence, a handshake that never ends), a client handshake, certificate and key files
for openssl, and ``services.tls.TlsServer`` run in this process. Every server listens on
loopback on a port the OS just handed out; every wait is bounded; everything started is
stopped in a ``finally``. (pytest puts this folder on ``sys.path``: ``tests/conftest.py``
lives here.)
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conftest import unavailable
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from kscert_gui.model.clock import Clock
from kscert_gui.services import tls
from kscert_gui.services.server import AdministrationServer

WAIT = 20.0


def require_openssl() -> None:
    """Skip (fail under CI=true) where the openssl command line is missing."""
    if shutil.which("openssl") is None:
        unavailable("the openssl command line is not installed")


# --- ports and waits ----------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS just handed out on ``host`` (a loopback address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], bool], what: str = "the condition",
               timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts a connection on ``host:port`` now."""
    try:
        socket.create_connection((host, port), 0.5).close()
    except OSError:
        return False
    return True


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path,
                   what: str = "the server") -> None:
    """Until ``proc`` listens on 127.0.0.1:``port``; fails at once when it exits."""

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited early ({proc.returncode}): "
                                 f"{log.read_text(errors='replace')}")
        return listening(port)

    wait_until(up, f"{what} listening on 127.0.0.1:{port}")


# --- processes ----------------------------------------------------------------------------


@contextlib.contextmanager
def process(cmd: list[str], log: Path, env: dict[str, str] | None = None, *,
            nofile: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` in its own process group, output to ``log``, at ``ulimit -n nofile`` if
    given; at the end its group gets SIGTERM, and SIGKILL if it is still there 5 s on."""

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                preexec_fn=limit if nofile is not None else None)
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
def s_server(tmp: Path, cert: Path, key: Path, *options: str) -> Iterator[int]:
    """``openssl s_server`` serving ``cert`` on a free 127.0.0.1 port with ``options``;
    yields the port."""
    port = free_port()
    log = tmp / f"s_server-{port}.log"
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert),
           "-key", str(key), "-quiet", *options]
    with process(cmd, log) as proc:
        wait_listening(port, proc, log, "openssl s_server")
        yield port


def serve_cmd(home: Path, passfile: Path, port: int, *extra: str,
              launcher: list[str] | None = None) -> list[str]:
    """``kscert serve`` on the store in ``home`` as ``python -m kscert_gui.cli``, or
    through ``launcher``."""
    return [*(launcher or [sys.executable, "-m", "kscert_gui.cli"]), "--home", str(home),
            "--passphrase-file", str(passfile), "serve", "--server-port", str(port), *extra]


def wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``kscert serve`` says "Ready;"; fails at once when it exits."""

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"kscert serve exited ({proc.returncode}): {log.read_text()}")
        return "Ready;" in log.read_text()

    wait_until(ready, "kscert serve ready")


@contextlib.contextmanager
def serving(cmd: list[str], log: Path, *, nofile: int | None = None,
            env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``kscert serve`` (``cmd``) running until "Ready;", at ``ulimit -n nofile`` if
    given."""
    with process(cmd, log, env, nofile=nofile) as proc:
        wait_ready(proc, log)
        yield proc


# --- clients and plain TCP servers --------------------------------------------------------


def client_context() -> ssl.SSLContext:
    """A TLS client that takes whatever certificate is served (a test looks at it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def handshake(port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> str:
    """A full TLS handshake with the endpoint: the protocol it agreed."""
    with socket.create_connection((host, port), timeout) as raw, \
            client_context().wrap_socket(raw) as t:
        return str(t.version())


@contextlib.contextmanager
def raw_server(behaviour: Callable[[socket.socket], None], *,
               conn_timeout: float | None = None) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that runs ``behaviour`` for each connection in a thread of
    its own (an OSError there ends it quietly); ``conn_timeout``: each connection's socket
    timeout. Yields the port. At the end the connections are closed, which ends every
    behaviour that still uses its socket; one waiting on something else (an event of the
    test's) is a daemon thread and is not waited for."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    done = threading.Event()
    conns: list[socket.socket] = []

    def serve_one(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            behaviour(conn)

    def run() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(conn_timeout)
            conns.append(conn)
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join(WAIT)
        listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.close()


# --- files for openssl --------------------------------------------------------------------


def write_pair(folder: Path, name: str, key: PrivateKeyTypes,
               certs: list[x509.Certificate]) -> tuple[Path, Path]:
    """``certs`` (leaf first) as ``NAME.pem`` and ``key`` as ``NAME.key`` (PKCS #8, not
    encrypted, mode 0600 from its creation): (certificate file, key file)."""
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    fd = os.open(key_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    finally:
        os.close(fd)
    return cert_path, key_path


# --- the endpoints in this process --------------------------------------------------------


def add_gateway(server: AdministrationServer, host: str, port: int, held: int | None) -> None:
    """A connection gateway ``host`` for mobile devices on ``port`` holding the certificate
    ``held`` (None: none yet), as the store records one."""
    with server.store.transaction() as conn:
        gid = conn.execute(
            "INSERT INTO groups(name, parent_id, sync_hours) VALUES (?, NULL, NULL)",
            (f"group-{host}",),
        ).lastrowid
        dev = conn.execute(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, "
            "'Linux', NULL)",
            (host, gid),
        ).lastrowid
        conn.execute(
            "INSERT INTO distribution_points(device_id, scope_group_id, gateway, "
            "agent_port, mobile_port, held_cert_id) VALUES (?, ?, 1, 13000, ?, ?)",
            (dev, gid, port, held),
        )


@contextlib.contextmanager
def tls_server(endpoints: tls.EndpointSource, clock: Clock, **kwargs: Any) -> Iterator[
    tls.TlsServer
]:
    """``TlsServer`` serving in a thread of this process (server port: a free one; the
    store polled every 0.05 s; its lines dropped, unless ``kwargs`` say otherwise)."""
    kwargs.setdefault("server_port", free_port())
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("say", lambda _line: None)
    srv = tls.TlsServer(endpoints, clock=clock, **kwargs)
    srv.start()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop()
        thread.join(timeout=WAIT)
        assert not thread.is_alive()
