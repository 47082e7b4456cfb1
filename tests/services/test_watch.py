"""The watch list service (DESIGN §13): the list, checks, results kept, thresholds crossed.

Probes run against real sockets on 127.0.0.1 where the point is the network (hostile
endpoints, the time bound); a recorded probe stands in where the point is what the
service does with a result (states over time, thresholds, 100 kept results).
"""

from __future__ import annotations

import socket
import sqlite3
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from certkit import compliant_certificate
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tlskit import raw_server
from watchkit import garbage, silence, trickle

from kscert_gui.model.certificate import certificate_info
from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.clock import FixedClock
from kscert_gui.model.errors import NotFoundError, StoreError, UsageError
from kscert_gui.model.watch import KEEP_RESULTS
from kscert_gui.services import store as store_module
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import Store
from kscert_gui.services.tls import ProbeResult
from kscert_gui.services.views import ReissueRequest
from kscert_gui.services.watch import KnownCertificates, WatchList, watch_list

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def leaf(not_before: datetime, days: int, cn: str = "mdm.example.com") -> CertificateInfo:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = compliant_certificate(key, cn, not_before, days)  # type: ignore[arg-type]
    return certificate_info(cert)


class Recorded:
    """A probe that answers from a table: endpoint → certificate (or an error)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, int], CertificateInfo | str] = {}
        self.calls = 0
        self.running = 0
        self.most = 0
        self.delay = 0.0
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int, servername: str | None,
                 timeout: float) -> ProbeResult:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.delay:
                time.sleep(self.delay)
            answer = self.answers.get((host, port), "connection refused: nothing listens")
            if isinstance(answer, str):
                return ProbeResult(host, port, None, None, (), answer)
            return ProbeResult(host, port, "TLSv1.3", "TLS_AES_256_GCM_SHA384", (answer,),
                               None)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT)


@pytest.fixture
def server(tmp_path: Path, clock: FixedClock) -> Iterator[AdministrationServer]:
    with AdministrationServer.open(tmp_path / "store", MemorySecretStore(),
                                   clock=clock) as srv:
        yield srv


def recorded_list(server: AdministrationServer, probe: Recorded,
                  known: KnownCertificates | None = None) -> WatchList:
    return WatchList(server.store, server.now, lambda: known or KnownCertificates(), probe)


def audit_count(server: AdministrationServer) -> int:
    return len(server.store.audit_entries())


# --- the list -----------------------------------------------------------------------------


def test_add_list_remove(server: AdministrationServer) -> None:
    watch = watch_list(server)
    watch.add("MDM.Example.com:13292", name="Head office")
    watch.add("[::1]:14292", servername="gw.example.com")
    entries = watch.entries()
    assert [e.endpoint for e in entries] == ["mdm.example.com:13292", "[::1]:14292"]
    assert entries[0].name == "Head office" and entries[0].state is None
    assert entries[1].servername == "gw.example.com"
    assert entries[0].to_json() == {
        "endpoint": "mdm.example.com:13292", "name": "Head office", "servername": None,
        "state": None, "days_left": None, "not_after": None, "sha256": None,
        "matches": None, "checked_at": None, "error": None,
    }
    watch.remove("mdm.example.com:13292")
    assert [e.endpoint for e in watch.entries()] == ["[::1]:14292"]
    with pytest.raises(NotFoundError):
        watch.remove("mdm.example.com:13292")


@pytest.mark.parametrize(
    ("endpoint", "name", "servername", "words"),
    [
        ("mdm.example.com", None, None, "port is missing"),
        ("mdm.example.com:0", None, None, "out of range"),
        ("mdm.example.com:65536", None, None, "out of range"),
        ("mdm.example.com:http", None, None, "not a number"),
        ("https://mdm.example.com:443", None, None, "scheme"),
        ("::1:443", None, None, "brackets"),
        (":443", None, None, "host is missing"),
        ("mdm.example.com:443", "bad\x1b[31mred", None, "control characters"),
        ("mdm.example.com:443", "tab\there", None, "control characters"),
        ("mdm.example.com:443", "  ", None, "empty"),
        ("mdm.example.com:443", None, "10.0.0.1", "IP address"),
        ("mdm.example.com:443", None, "a b", "spaces"),
    ],
)
def test_bad_input_is_a_usage_error_and_changes_nothing(
    server: AdministrationServer, endpoint: str, name: str | None, servername: str | None,
    words: str,
) -> None:
    watch = watch_list(server)
    watch.add("mdm.example.com:13292")
    before = (watch.entries(), audit_count(server))
    with pytest.raises(UsageError, match=words):
        watch.add(endpoint, name=name, servername=servername)
    assert (watch.entries(), audit_count(server)) == before


def test_duplicate_in_any_case_is_refused(server: AdministrationServer) -> None:
    watch = watch_list(server)
    watch.add("mdm.example.com:13292", name="one")
    before = (watch.entries(), audit_count(server))
    watch.add("[::1]:13292")
    before = (watch.entries(), audit_count(server))
    for again in ("mdm.example.com:13292", "MDM.EXAMPLE.COM:13292", "mdm.example.com.:13292",
                  "[0:0:0::1]:13292", "[::0001]:13292"):
        with pytest.raises(UsageError, match="already watched"):
            watch.add(again, name="two")
    assert (watch.entries(), audit_count(server)) == before
    watch.add("mdm.example.com:13293")  # another port is another endpoint


def test_thresholds_and_interval(server: AdministrationServer) -> None:
    watch = watch_list(server)
    assert watch.thresholds() == (30, 14, 7, 1)
    assert watch.set_thresholds([7, 60, 1]) == (60, 7, 1)
    assert watch.thresholds() == (60, 7, 1)
    with pytest.raises(UsageError):
        watch.set_thresholds([0])
    assert watch.interval() == 3600
    assert watch.set_interval(600) == 600 and watch.interval() == 600
    with pytest.raises(UsageError):
        watch.set_interval(1)


# --- checks -------------------------------------------------------------------------------


def test_states_matches_and_recorded_time(server: AdministrationServer) -> None:
    main = leaf(AT - timedelta(days=100), 400)
    probe = Recorded()
    probe.answers = {
        ("ok.example.com", 1): main,
        ("soon.example.com", 1): leaf(AT - timedelta(days=80), 90),
        ("gone.example.com", 1): leaf(AT - timedelta(days=80), 30),
        ("early.example.com", 1): leaf(AT + timedelta(days=2), 90),
    }
    watch = recorded_list(server, probe, KnownCertificates(main=main.sha256))
    for host in ("ok", "soon", "gone", "early", "down"):
        watch.add(f"{host}.example.com:1")
    result = watch.check(timeout=2)
    states = {e.host.split(".")[0]: (e.state, e.days_left, e.matches) for e in result.results}
    assert states == {
        "ok": ("ok", 300, "main"),
        "soon": ("expiring", 10, None),
        "gone": ("expired", -50, None),
        "early": ("not-yet-valid", 92, None),
        "down": ("unreachable", None, None),
    }
    listed = {e.host.split(".")[0]: e for e in watch.entries()}
    assert listed["down"].error == "connection refused: nothing listens"
    assert all(e.checked_at == AT for e in listed.values())
    assert listed["soon"].to_json()["not_after"] == "2026-06-11T12:00:00Z"


def test_matches_the_store_main_and_reserve(server: AdministrationServer) -> None:
    main = server.reissue(ReissueRequest("mdm.example.com", None), confirmed=True)
    reserve = server.reissue(ReissueRequest("mdm.example.com", 30), confirmed=True)
    watch = watch_list(server)
    known = watch._known()
    assert known.main == main.info.sha256 and known.reserve == reserve.info.sha256
    assert known.match(reserve.info.sha256.upper()) == "reserve"
    assert known.match("00" * 32) is None


def test_at_most_16_probes_at_once(server: AdministrationServer) -> None:
    probe = Recorded()
    probe.delay = 0.05
    watch = recorded_list(server, probe)
    for n in range(40):
        watch.add(f"10.0.0.{n + 1}:443")
    result = watch.check()
    assert probe.calls == 40 and len(result.results) == 40
    assert probe.most == 16


def test_last_100_results_are_kept(server: AdministrationServer, clock: FixedClock) -> None:
    probe = Recorded()
    probe.answers = {("a.example.com", 1): leaf(AT - timedelta(days=1), 365)}
    watch = recorded_list(server, probe)
    watch.add("a.example.com:1")
    watch.add("b.example.com:1")
    for _ in range(KEEP_RESULTS + 5):
        clock.advance(timedelta(minutes=1))
        watch.check()
    for row in server.store.watch.endpoints():
        history = server.store.watch.history(row.id)
        assert len(history) == KEEP_RESULTS
        assert history[-1].checked_at == clock.at
        assert history[0].checked_at == clock.at - timedelta(minutes=KEEP_RESULTS - 1)
    watch.remove("a.example.com:1")
    remaining = server.store.connection.execute(
        "SELECT count(*) FROM watch_results").fetchone()[0]
    assert remaining == KEEP_RESULTS


def test_each_threshold_is_crossed_once(server: AdministrationServer, clock: FixedClock) -> None:
    probe = Recorded()
    cert = leaf(AT - timedelta(days=300), 340)  # 40 days left at AT
    probe.answers = {("mdm.example.com", 13292): cert}
    watch = recorded_list(server, probe)
    watch.add("mdm.example.com:13292", name="HQ")
    told: list[tuple[int, int]] = []
    for day in (0, 5, 11, 12, 20, 26, 27, 33, 38, 39, 41):
        clock.at = AT + timedelta(days=day)
        for c in watch.check().crossings:
            assert c.endpoint.days_left is not None
            told.append((c.threshold, c.endpoint.days_left))
    assert told == [(30, 29), (14, 14), (7, 7), (1, 1)]
    # An unreachable check in between neither tells nor forgets.
    probe.answers = {}
    clock.at = AT + timedelta(days=42)
    assert watch.check().crossings == ()


def test_first_check_tells_the_smallest_threshold_passed(server: AdministrationServer) -> None:
    probe = Recorded()
    probe.answers = {("mdm.example.com", 1): leaf(AT - timedelta(days=80), 90)}
    watch = recorded_list(server, probe)
    watch.add("mdm.example.com:1", name="HQ")
    crossings = watch.check().crossings
    assert [(c.threshold, c.endpoint.days_left) for c in crossings] == [(14, 10)]
    assert crossings[0].summary == "Certificate expires in 10 days: mdm.example.com:1 (HQ)"
    assert "2026-06-11T12:00:00Z" in crossings[0].message
    assert watch.check().crossings == ()


def test_a_probe_that_raises_does_not_stop_the_others(server: AdministrationServer) -> None:
    def probe(host: str, port: int, servername: str | None, timeout: float) -> ProbeResult:
        if host == "bad.example.com":
            raise RuntimeError("boom")
        return ProbeResult(host, port, None, None, (), "connection refused")

    watch = WatchList(server.store, server.now, KnownCertificates, probe)
    watch.add("bad.example.com:1")
    watch.add("good.example.com:1")
    result = watch.check()
    assert [e.error for e in result.results] == [
        "probe failed: unexpected error (RuntimeError)", "connection refused"]


def test_hostile_endpoints_cost_at_most_their_timeout(server: AdministrationServer) -> None:
    """Garbage, silence and a handshake that never ends, beside a closed port: each is over
    within the timeout and the check as a whole too (they run side by side)."""
    stop = threading.Event()
    try:
        with raw_server(trickle(stop)) as slow, raw_server(silence(stop)) as quiet, \
                raw_server(garbage) as junk:
            watch = watch_list(server)
            for port in (slow, quiet, junk):
                watch.add(f"127.0.0.1:{port}")
            watch.add("127.0.0.1:1")
            started = time.monotonic()
            result = watch.check(timeout=1.0)
            took = time.monotonic() - started
    finally:
        stop.set()
    assert took < 2.5, took
    errors = [e.error or "" for e in result.results]
    assert errors[0].startswith("timeout:") and errors[1].startswith("timeout:")
    assert errors[2].startswith(("not TLS", "connection closed", "handshake failed"))
    assert errors[3].startswith("connection refused")
    assert all(e.state == "unreachable" for e in result.results)


def test_a_huge_chain_costs_at_most_the_timeout(
    server: AdministrationServer, tmp_path: Path
) -> None:
    """A server that sends a chain of 400 certificates (about 200 KB): the probe reports
    it or refuses it, within its timeout, and the endpoint beside it is checked too."""
    key = ec.generate_private_key(ec.SECP256R1())
    certs = [
        compliant_certificate(key, f"c{n}.example.com", AT - timedelta(days=1), 30)  # type: ignore[arg-type]
        for n in range(400)
    ]
    chain = tmp_path / "huge.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    key_file = tmp_path / "huge.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key_file)

    def serve(conn: socket.socket) -> None:
        conn.settimeout(5)
        with ctx.wrap_socket(conn, server_side=True) as tls_conn:
            tls_conn.recv(1)

    with raw_server(serve) as port:
        watch = watch_list(server)
        watch.add(f"127.0.0.1:{port}")
        watch.add("127.0.0.1:1")
        started = time.monotonic()
        result = watch.check(timeout=2.0)
        took = time.monotonic() - started
    assert took < 3.0, took
    huge, closed = result.results
    # OpenSSL takes a chain up to 100 KiB: this one is refused, by name, not by a timeout.
    assert huge.state == "unreachable" and huge.error is not None
    assert huge.error.startswith("handshake failed") and "too large" in huge.error
    assert closed.state == "unreachable"


def test_a_read_only_store_refuses_to_record(tmp_path: Path, clock: FixedClock) -> None:
    home = tmp_path / "store"
    secrets = MemorySecretStore()
    with AdministrationServer.open(home, secrets, clock=clock) as writer:
        watch_list(writer).add("mdm.example.com:13292")
        with AdministrationServer.open(home, secrets, writable=False, clock=clock) as reader:
            watch = watch_list(reader)
            assert [e.endpoint for e in watch.entries()] == ["mdm.example.com:13292"]
            with pytest.raises(StoreError, match="read-only"):
                watch.check()


# --- a store written by the previous version (schema 1) ------------------------------------


def test_a_version_1_store_still_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "store"
    with monkeypatch.context() as m:
        m.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        Store.open(home, writable=True).close()
    raw = sqlite3.connect(home / store_module.DB_NAME)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    raw.close()
    secrets = MemorySecretStore()
    with AdministrationServer.open(home, secrets, writable=False) as reader:
        assert watch_list(reader).entries() == ()  # read-only: no table yet, an empty list
        assert reader.status().main is None
    with AdministrationServer.open(home, secrets) as writer:  # migrates to the newest
        watch_list(writer).add("mdm.example.com:13292")
        version = writer.store.connection.execute("PRAGMA user_version").fetchone()[0]
        assert version == store_module.schema_version() == 3
