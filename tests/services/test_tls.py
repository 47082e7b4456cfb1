"""services/tls.py and endpoint_service.py: probe reasons, what is served, switches, key handling.

Everything listens on 127.0.0.1 only, on ports the OS picks; every socket wait is
bounded, and each in-process server is stopped in a ``finally``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from tlskit import add_gateway, client_context, free_port, raw_server, tls_server, wait_until

from kscert_gui.model import crypto
from kscert_gui.model.clock import FixedClock
from kscert_gui.model.errors import KscertError, NotFoundError, SecretStoreError, UsageError
from kscert_gui.services import tls
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest, ServedMaterial

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WAIT = 10.0


# --- helpers ------------------------------------------------------------------------------


@dataclass
class Env:
    home: Path
    secrets: MemorySecretStore
    clock: FixedClock
    server: AdministrationServer

    def add_gateway(self, host: str, port: int, held: int | None) -> None:
        add_gateway(self.server, host, port, held)

    def hold(self, host: str, cert_id: int) -> None:
        """What ``kscert gateways reconnect`` does to the store: the gateway gets ``cert_id``."""
        with self.server.store.transaction() as conn:
            conn.execute(
                "UPDATE distribution_points SET held_cert_id = ? WHERE device_id = "
                "(SELECT id FROM devices WHERE name = ?)",
                (cert_id, host),
            )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    secrets = MemorySecretStore()
    clock = FixedClock(AT)
    server = AdministrationServer.open(tmp_path / "store", secrets, clock=clock)
    try:
        server.reissue(ReissueRequest("mdm.example.test", None), confirmed=True)
        yield Env(tmp_path / "store", secrets, clock, server)
    finally:
        server.close()


def serving(env: Env, **kwargs: Any) -> contextlib.AbstractContextManager[tls.TlsServer]:
    """The endpoints of ``env``'s store served in this process, at ``env``'s clock."""
    return tls_server(env.server.endpoints, env.clock, **kwargs)


def served_sha(port: int) -> str | None:
    result = tls.probe("127.0.0.1", port, timeout=5)
    return result.chain[0].sha256 if result.chain else None


# --- HOST:PORT ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:13292", ("127.0.0.1", 13292)),
        ("gw-dmz-01:1", ("gw-dmz-01", 1)),
        ("[::1]:65535", ("::1", 65535)),
        (" localhost:443 ", ("localhost", 443)),
    ],
)
def test_parse_endpoint_accepts(text: str, expected: tuple[str, int]) -> None:
    assert tls.parse_endpoint(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("127.0.0.1", "port is missing"),
        ("127.0.0.1:0", "out of range"),
        ("127.0.0.1:65536", "out of range"),
        ("127.0.0.1:https", "not a number"),
        (":443", "host is missing"),
        ("::1:443", "brackets"),
        ("[::1]443", "IPv6"),
        ("[gw]:443", "not an IPv6 address"),
    ],
)
def test_parse_endpoint_refuses(text: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        tls.parse_endpoint(text)
    assert words in info.value.message


# --- what the endpoints serve -------------------------------------------------------------


def test_plan_names_main_reserve_switch_and_gateways(env: Env) -> None:
    main = env.server.certificate_row("main")
    env.add_gateway("gw-b", 14001, main.id)
    env.add_gateway("gw-a", 14000, None)
    reserve = env.server.reissue(ReissueRequest(None, 30), confirmed=True)
    plan = env.server.endpoints.endpoint_plan()
    assert plan.at == AT
    assert plan.server is not None
    assert (plan.server.cert_id, plan.server.sha256) == (main.id, main.sha256)
    assert plan.server.next_id == reserve.id
    assert plan.server.next_sha256 == reserve.info.sha256
    assert plan.server.next_at == AT + timedelta(days=30)
    assert [(g.host, g.port) for g in plan.gateways] == [("gw-a", 14000), ("gw-b", 14001)]
    assert plan.gateways[0].cert is None
    held = plan.gateways[1].cert
    assert held is not None and held.sha256 == main.sha256 and held.next_id is None

    later = env.server.endpoints.endpoint_plan(AT + timedelta(days=30))
    assert later.server is not None and later.server.sha256 == reserve.info.sha256
    assert later.server.next_id is None
    # 14.2: the gateway keeps the certificate it holds after the switch.
    gw = later.gateways[1].cert
    assert gw is not None and gw.sha256 == main.sha256


def test_plan_later_versions_deliver_to_gateways_automatically(env: Env) -> None:
    main = env.server.certificate_row("main")
    env.add_gateway("gw", 14000, main.id)
    with env.server.store.transaction() as conn:
        env.server.store.set_meta(conn, "server_version", "15")
    reserve = env.server.reissue(ReissueRequest(None, 30), confirmed=True)
    later = env.server.endpoints.endpoint_plan(AT + timedelta(days=31))
    gw = later.gateways[0].cert
    assert gw is not None and gw.sha256 == reserve.info.sha256


def main_material(server: AdministrationServer) -> ServedMaterial:
    """What the server's mobile port serves now: the main certificate, opened."""
    plan = server.endpoints.endpoint_plan()
    assert plan.server is not None
    return server.endpoints.served_material(plan.server.cert_id)


def test_served_material_opens_the_key_and_hides_it(env: Env) -> None:
    material = main_material(env.server)
    assert crypto.keys_match(material.certificate, material.private_key)
    assert material.sha256 == env.server.certificate_row("main").sha256
    assert material.chain == ()
    assert "private_key" not in repr(material)
    assert "BEGIN" not in repr(material)


def test_served_material_wrong_passphrase_is_a_plain_error(env: Env) -> None:
    other = MemorySecretStore()
    other.set_passphrase(env.server.store.store_id, b"not the passphrase")
    env.server.secrets = other
    with pytest.raises(SecretStoreError) as info:
        main_material(env.server)
    assert "not the passphrase" not in info.value.message
    env.server.secrets = MemorySecretStore()
    with pytest.raises(SecretStoreError):
        main_material(env.server)


def test_no_main_certificate_nothing_to_serve(tmp_path: Path) -> None:
    with AdministrationServer.open(tmp_path / "s", MemorySecretStore(),
                                   clock=FixedClock(AT)) as server:
        assert server.endpoints.endpoint_plan().server is None
        srv = tls.TlsServer(server.endpoints, server_port=free_port())
        try:
            with pytest.raises(NotFoundError):
                srv.start()
        finally:
            srv.close()


# --- key material on its way to OpenSSL ---------------------------------------------------


@pytest.mark.parametrize("use_memfd", [True, False])
def test_context_loading_leaves_nothing_on_disk(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_memfd: bool
) -> None:
    if use_memfd and not tls._memfd_available():
        pytest.skip("memfd is Linux-only")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen: list[tuple[str, int, int, bool]] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: Any, keyfile: Any = None,
            password: Any = None) -> None:
        key_path = Path(keyfile)
        folder_mode = stat.S_IMODE(os.stat(key_path.parent).st_mode)
        file_mode = stat.S_IMODE(os.stat(key_path).st_mode)
        encrypted = b"ENCRYPTED" in key_path.read_bytes()
        seen.append((str(key_path), folder_mode, file_mode, encrypted))
        original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    material = main_material(env.server)
    ctx = tls.server_context(material, use_memfd=use_memfd)
    assert isinstance(ctx, ssl.SSLContext)
    assert len(seen) == 1
    path, folder_mode, file_mode, encrypted = seen[0]
    if use_memfd:
        assert path.startswith("/proc/self/fd/")
        assert list(scratch.iterdir()) == []
    else:
        assert path.startswith(str(scratch))
        assert (folder_mode, file_mode) == (0o700, 0o600)
        assert encrypted  # a one-time password protects the key even there
        assert list(scratch.iterdir()) == []  # deleted right after loading


def test_context_serves_the_chain(env: Env, tmp_path: Path) -> None:
    material = main_material(env.server)
    extra = crypto.issue_certificate("intermediate.example.test", AT).certificate
    with_chain = ServedMaterial(material.cert_id, material.sha256, material.certificate,
                                (extra,), material.private_key)
    ctx = tls.server_context(with_chain)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = int(listener.getsockname()[1])
    result: list[tls.ProbeResult] = []
    thread = threading.Thread(
        target=lambda: result.append(tls.probe("127.0.0.1", port, timeout=5)), daemon=True
    )
    thread.start()
    try:
        listener.settimeout(WAIT)
        conn, _ = listener.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.settimeout(WAIT)
            with contextlib.suppress(OSError):
                tls_conn.recv(1)
        thread.join(WAIT)
    finally:
        listener.close()
    extra_sha = hashlib.sha256(extra.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert [c.sha256 for c in result[0].chain] == [material.sha256, extra_sha]
    assert result[0].error is None and result[0].protocol == "TLSv1.3"


# --- serving ------------------------------------------------------------------------------


def test_serves_main_then_reserve_at_the_switch_second_without_dropping(env: Env) -> None:
    main = env.server.certificate_row("main")
    reserve = env.server.reissue(ReissueRequest(None, 30), confirmed=True)
    switch = AT + timedelta(days=30)
    with serving(env, poll_interval=60) as srv:  # the exact switch, not the poll
        port = srv.addresses()[tls.SERVER_KEY][1]
        assert served_sha(port) == main.sha256
        # A session opened before the switch...
        early = client_context().wrap_socket(socket.create_connection(("127.0.0.1", port), WAIT))
        early.settimeout(0.3)
        try:
            env.clock.at = switch - timedelta(seconds=1)
            assert served_sha(port) == main.sha256
            env.clock.at = switch
            assert served_sha(port) == reserve.info.sha256
            assert srv.serving()[tls.SERVER_KEY] == reserve.info.sha256
            # ...is still open afterwards: it can send, and the server has not closed it.
            early.sendall(b"still here")
            with pytest.raises(TimeoutError):
                early.recv(1)
        finally:
            early.close()


def test_gateway_serves_what_it_holds_until_reconnected(env: Env) -> None:
    main = env.server.certificate_row("main")
    gw_port = free_port()
    env.add_gateway("gw-dmz-01", gw_port, main.id)
    reserve = env.server.reissue(ReissueRequest(None, 30), confirmed=True)
    with serving(env) as srv:
        assert srv.addresses()["gateway:gw-dmz-01"] == ("127.0.0.1", gw_port)
        assert served_sha(gw_port) == main.sha256
        env.clock.at = AT + timedelta(days=31)
        server_port = srv.addresses()[tls.SERVER_KEY][1]
        assert served_sha(server_port) == reserve.info.sha256
        time.sleep(0.3)  # several polls
        assert served_sha(gw_port) == main.sha256  # 14.2: not delivered automatically
        env.hold("gw-dmz-01", reserve.id)
        wait_until(lambda: served_sha(gw_port) == reserve.info.sha256)


def test_gateway_port_conflict_and_late_gateways(env: Env) -> None:
    main = env.server.certificate_row("main")
    port = free_port()
    lines: list[str] = []
    srv = tls.TlsServer(env.server.endpoints, server_port=port, clock=env.clock,
                        poll_interval=0.05,
                        say=lines.append)
    env.add_gateway("gw-same-port", port, main.id)
    srv.start()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        assert set(srv.addresses()) == {tls.SERVER_KEY}
        assert any("port " + str(port) + " is already used" in line for line in lines)
        late = free_port()
        env.add_gateway("gw-late", late, main.id)
        wait_until(lambda: served_sha(late) == main.sha256)
    finally:
        srv.stop()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert tls.probe("127.0.0.1", port, timeout=2).error is not None  # sockets closed


def test_server_port_in_use_is_a_clear_error(env: Env) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = int(busy.getsockname()[1])
        srv = tls.TlsServer(env.server.endpoints, server_port=port)
        try:
            with pytest.raises(KscertError) as info:
                srv.start()
        finally:
            srv.close()
    assert f"127.0.0.1:{port}" in info.value.message


def test_silent_and_idle_clients_do_not_block_others(env: Env) -> None:
    with serving(env) as srv:
        port = srv.addresses()[tls.SERVER_KEY][1]
        silent = [socket.create_connection(("127.0.0.1", port), WAIT) for _ in range(5)]
        try:
            start = time.monotonic()
            assert served_sha(port) == env.server.certificate_row("main").sha256
            assert time.monotonic() - start < 5
        finally:
            for s in silent:
                s.close()


# --- probe reasons ------------------------------------------------------------------------


def test_probe_closed_port() -> None:
    port = free_port()
    result = tls.probe("127.0.0.1", port, timeout=5)
    assert result.error == f"connection refused: nothing listens on 127.0.0.1:{port}"
    assert result.to_json(None) == {
        "host": "127.0.0.1", "port": port, "protocol": None, "cipher": None, "chain": [],
        "matches": None, "error": result.error, "warnings": [],
    }


def test_probe_silent_tcp_server_times_out() -> None:
    with raw_server(lambda conn: None) as port:
        start = time.monotonic()
        result = tls.probe("127.0.0.1", port, timeout=0.5)
    assert time.monotonic() - start < 5
    assert result.error is not None and result.error.startswith("timeout:")
    assert "no TLS answer" in result.error


def test_probe_tcp_server_that_closes() -> None:
    with raw_server(lambda conn: conn.close()) as port:
        result = tls.probe("127.0.0.1", port, timeout=5)
    assert result.error is not None and result.error.startswith("connection closed:")


@pytest.mark.parametrize(
    "garbage",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n", bytes(range(256)) * 4],
)
def test_probe_garbage_is_not_tls(garbage: bytes) -> None:
    def answer(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(garbage)

    with raw_server(answer) as port:
        result = tls.probe("127.0.0.1", port, timeout=5)
    assert result.error is not None and result.error.startswith("not TLS:"), result.error


def test_probe_names_the_alert(env: Env) -> None:
    ctx = tls.server_context(main_material(env.server))
    ctx.sni_callback = lambda sock, name, context: ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME

    def answer(conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True):
            pass

    with raw_server(answer) as port:
        result = tls.probe("127.0.0.1", port, servername="wrong.example.test", timeout=5)
    assert result.error == (
        "handshake alert: unrecognized name (the server refused the TLS handshake)"
    )


def test_probe_unresolvable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_name(address: tuple[str, int], timeout: float) -> socket.socket:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # No resolver is asked: tests stay on loopback.
    monkeypatch.setattr(socket, "create_connection", no_such_name)
    result = tls.probe("no-such-host.invalid", 443, timeout=5)
    assert result.error == "cannot resolve no-such-host.invalid: Name or service not known"
