"""services/tls.py under pressure, in this process: which connection gives way.

A TlsServer whose descriptor budget is made small: past its endpoint's share the
connection idle longest is dropped (a client that makes progress counts as active),
and a new client is served at once. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tlskit import add_gateway, free_port, handshake, listening, tls_server, wait_until

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
    """The store's endpoints served in this process; yields the server endpoint's port."""
    with tls_server(server.endpoints, FixedClock(AT)) as srv:
        yield srv.addresses()[tls.SERVER_KEY][1]


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
            assert handshake(port, timeout=WAIT) in ("TLSv1.3", "TLSv1.2")
            assert dropped(b) and not dropped(d, 0.3) and not dropped(e, 0.3)
            for s in (d, e):
                s.close()
        finally:
            for s in (a, b, c):
                s.close()


def test_each_endpoint_has_its_own_share(server: AdministrationServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood on a gateway's port does not take the server endpoint's connections."""
    monkeypatch.setattr(tls, "_fd_budget", lambda: 4)  # two endpoints: a share of 2 each
    gw_port = free_port()
    add_gateway(server, "gw.example.test", gw_port, server.certificate_row("main").id)
    with serving(server) as port:
        # The gateway's listener comes up with the first store poll.
        wait_until(lambda: listening(gw_port), "the gateway endpoint listening", WAIT)
        mine = [connect(port) for _ in range(2)]
        flood = [connect(gw_port) for _ in range(6)]
        try:
            assert not any(dropped(s, 0.2) for s in mine)
            assert sum(dropped(s, 0.5) for s in flood) == 4  # the gateway keeps its 2
            assert handshake(port, timeout=WAIT) in ("TLSv1.3", "TLSv1.2")
        finally:
            for s in mine + flood:
                s.close()
