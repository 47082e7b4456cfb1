"""services/tls.py under pressure, in this process: which connection gives way.

A TlsServer whose descriptor budget is made small: past its endpoint's share the
connection idle longest is dropped (a client that makes progress counts as active),
and a new client is served at once. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kscert_gui.model.clock import FixedClock
from kscert_gui.services import tls
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WAIT = 10.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AdministrationServer]:
    srv = AdministrationServer.open(tmp_path / "store", MemorySecretStore(),
                                    clock=FixedClock(AT))
    try:
        srv.reissue(ReissueRequest("mdm.example.test", None), confirmed=True)
        yield srv
    finally:
        srv.close()


@contextlib.contextmanager
def serving(server: AdministrationServer) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = tls.TlsServer(server.endpoints, server_port=port, clock=FixedClock(AT),
                        poll_interval=0.05, say=lambda _line: None)
    srv.start()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        srv.stop()
        thread.join(timeout=WAIT)
        assert not thread.is_alive()


def connect(port: int) -> socket.socket:
    """A client that sent the first byte of a ClientHello (so the server accepts it)."""
    s = socket.create_connection(("127.0.0.1", port), WAIT)
    s.sendall(b"\x16")
    time.sleep(0.15)  # accepted, and in the order connected
    return s


def dropped(sock: socket.socket, within: float = 2.0) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def handshake(port: int) -> str:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), WAIT) as raw, \
            ctx.wrap_socket(raw) as t:
        return str(t.version())


def test_the_connection_idle_longest_gives_way(server: AdministrationServer,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls, "_fd_budget", lambda: 3)
    with serving(server) as port:
        a, b, c = connect(port), connect(port), connect(port)
        try:
            b.sendall(b"\x03")  # b makes progress: now c is idle longer than b
            time.sleep(0.15)
            d = connect(port)
            assert dropped(a) and not dropped(b, 0.3) and not dropped(c, 0.3)
            e = connect(port)
            assert dropped(c) and not dropped(b, 0.3) and not dropped(d, 0.3)
            # A client that completes its handshake is served; b, whose last progress
            # came before d and e connected, gives way to it.
            assert handshake(port) in ("TLSv1.3", "TLSv1.2")
            assert dropped(b) and not dropped(d, 0.3) and not dropped(e, 0.3)
            for s in (d, e):
                s.close()
        finally:
            for s in (a, b, c):
                s.close()


def add_gateway(server: AdministrationServer, host: str, port: int) -> None:
    """A connection gateway holding the main certificate, as the store records one."""
    main = server.certificate_row("main")
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
            (dev, gid, port, main.id),
        )


def test_each_endpoint_has_its_own_share(server: AdministrationServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood on a gateway's port does not take the server endpoint's connections."""
    monkeypatch.setattr(tls, "_fd_budget", lambda: 4)  # two endpoints: a share of 2 each
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        gw_port = int(s.getsockname()[1])
    add_gateway(server, "gw.example.test", gw_port)
    with serving(server) as port:
        deadline = time.monotonic() + WAIT
        while True:  # the gateway's listener comes up with the first store poll
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", gw_port), 1).close()
                break
            assert time.monotonic() < deadline, "the gateway endpoint does not listen"
            time.sleep(0.05)
        mine = [connect(port) for _ in range(2)]
        flood = [connect(gw_port) for _ in range(6)]
        try:
            assert not any(dropped(s, 0.2) for s in mine)
            assert sum(dropped(s, 0.5) for s in flood) == 4  # the gateway keeps its 2
            assert handshake(port) in ("TLSv1.3", "TLSv1.2")
        finally:
            for s in mine + flood:
                s.close()
