"""The metrics of DESIGN §13 in this process: names, labels, values; the HTTP endpoint."""

from __future__ import annotations

import http.client
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kscert_gui.model.clock import FixedClock
from kscert_gui.model.errors import StoreError
from kscert_gui.services import metrics
from kscert_gui.services.metrics import CertMetric, ListenError, MetricsReading
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import ReissueRequest

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def reading(at: datetime = AT) -> MetricsReading:
    return MetricsReading(
        at=at,
        certificates=(
            CertMetric("main", "", "mdm.example.com", "123", AT - timedelta(days=300),
                       AT + timedelta(days=20)),
            CertMetric("endpoint", "gw.example.com:13292", "gw.example.com", "77",
                       AT - timedelta(days=400), AT - timedelta(seconds=1)),
        ),
        devices=(("connected", 10), ("blocked", 1), ("lost", 2), ("at-risk", 3)),
        endpoints_up=(("gw.example.com:13292", True), ("down.example.com:1", False)),
        gateways_stale=(("gw-dmz-01", True),),
    )


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def test_names_labels_and_values() -> None:
    found = samples(metrics.exposition(reading))
    assert set(found) == {"x509_cert_not_after", "x509_cert_not_before", "x509_cert_expired",
                          "kscert_devices", "kscert_endpoint_up", "kscert_gateway_stale"}
    main_labels = {"source": "main", "endpoint": "", "subject_CN": "mdm.example.com",
                   "serial_number": "123"}
    assert (main_labels, (AT + timedelta(days=20)).timestamp()) in found["x509_cert_not_after"]
    expired = {labels["source"]: value for labels, value in found["x509_cert_expired"]}
    assert expired == {"main": 0.0, "endpoint": 1.0}
    assert dict((labels["state"], v) for labels, v in found["kscert_devices"]) == {
        "connected": 10.0, "blocked": 1.0, "lost": 2.0, "at-risk": 3.0}
    assert dict((labels["endpoint"], v) for labels, v in found["kscert_endpoint_up"]) == {
        "gw.example.com:13292": 1.0, "down.example.com:1": 0.0}
    assert found["kscert_gateway_stale"] == [({"host": "gw-dmz-01"}, 1.0)]


def test_read_from_the_store_on_each_scrape(tmp_path: Path) -> None:
    clock = FixedClock(AT)
    with AdministrationServer.open(tmp_path / "store", MemorySecretStore(),
                                   clock=clock) as server:
        def read() -> MetricsReading:
            return metrics.read_metrics(server)

        empty = samples(metrics.exposition(read))
        assert "x509_cert_not_after" not in empty  # no certificate yet
        main = server.reissue(ReissueRequest("mdm.example.com", None), confirmed=True)
        found = samples(metrics.exposition(read))
        (labels, value), = found["x509_cert_not_after"]
        assert labels["source"] == "main" and value == main.info.not_after.timestamp()
        assert labels["serial_number"] == str(int(main.info.serial, 16))
        reserve = server.reissue(ReissueRequest("mdm.example.com", 30), confirmed=True)
        sources = {lab["source"]: v for lab, v in samples(
            metrics.exposition(read))["x509_cert_not_after"]}
        assert sources == {"main": main.info.not_after.timestamp(),
                           "reserve": reserve.info.not_after.timestamp()}


def _get(port: int, path: str = "/metrics") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_failed_read_is_a_500_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> MetricsReading:
        raise StoreError("The store /x is closed.")

    with metrics.serving(broken, "127.0.0.1", 0) as endpoint:
        status, body = _get(endpoint.port)
        assert status == 500 and "The store /x is closed." in body
        # A client that goes away or stays silent past the timeout leaves nothing behind.
        with socket.create_connection(("127.0.0.1", endpoint.port), 5) as gone:
            gone.sendall(b"GET /metrics HTTP/1.1\r\n")
        assert _get(endpoint.port, "/nothing")[0] == 404
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_a_slow_client_is_dropped_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics._Handler, "timeout", 0.5)
    with metrics.serving(reading, "127.0.0.1", 0) as endpoint, \
            socket.create_connection(("127.0.0.1", endpoint.port), 5) as slow:
        slow.sendall(b"GET /metrics HTTP/1.1\r\n")
        started = time.monotonic()
        slow.settimeout(5)
        assert slow.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 3


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ListenError, match="in use by another program"):
            metrics.MetricsServer(reading, "127.0.0.1", port)



def test_control_characters_of_a_served_name_never_reach_the_terminal() -> None:
    hostile = MetricsReading(
        at=AT,
        certificates=(CertMetric("endpoint", "gw.example.com:1", "evil\x1b[2J\x07name", "1",
                                 AT - timedelta(days=1), AT + timedelta(days=1)),),
        devices=(), endpoints_up=(), gateways_stale=())
    text = metrics.exposition(lambda: hostile)
    assert "\x1b" not in text and "\x07" not in text
    assert 'subject_CN="evil\\\\x1b[2J\\\\x07name"' in text


def _agrees_with_status(server: AdministrationServer) -> None:
    found = metrics.read_metrics(server)
    status = server.status()
    c = status.fleet.counts
    assert dict(found.devices) == {"connected": c.connected, "blocked": c.blocked,
                                   "lost": c.lost, "at-risk": c.at_risk}
    assert dict(found.gateways_stale) == {
        g.host: status.main is not None and not g.matches_main for g in status.gateways}
    by_source = {m.source: m for m in found.certificates}
    for source, view in (("main", status.main), ("reserve", status.reserve)):
        if view is None:
            assert source not in by_source
        else:
            assert by_source[source].not_after == view.info.not_after
            assert by_source[source].common_name == view.info.common_name


def test_the_reading_agrees_with_status_through_a_switch(tmp_path: Path) -> None:
    """The demo store (a 14.2 gateway), with a reserve, then past the switch: the gateway
    is stale, and the metrics say what status() says at every step."""
    from kscert_gui.services.demo import create_demo_store

    secrets = MemorySecretStore()
    clock = FixedClock(datetime(2026, 11, 26, 9, 30, tzinfo=UTC))
    home = tmp_path / "demo"
    create_demo_store(home, secrets, clock, pin_clock=True)
    with AdministrationServer.open(home, secrets, clock=clock) as server:
        _agrees_with_status(server)
        server.reissue(ReissueRequest(None, 30), confirmed=True)
        _agrees_with_status(server)
        server.fleet.simulate_advance(timedelta(days=31))
        _agrees_with_status(server)
        assert dict(metrics.read_metrics(server).gateways_stale) == {"gw-dmz-01": True}
