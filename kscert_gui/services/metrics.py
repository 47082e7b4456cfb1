"""Metrics for Prometheus (DESIGN §13), written with the official ``prometheus_client``.

:class:`KscertCollector` is a custom collector: every scrape calls its ``read``
function, which reads the store afresh (one :class:`MetricsReading`), so a scrape always
shows the store as it is. The names follow the widely used x509 certificate exporter:

- ``x509_cert_not_after``, ``x509_cert_not_before`` (seconds since the epoch) and
  ``x509_cert_expired`` (0/1), labelled ``source`` (``main``, ``reserve``,
  ``endpoint``), ``endpoint`` (empty for the store's certificates), ``subject_CN`` and
  ``serial_number`` (decimal, as that exporter writes it);
- ``kscert_devices{state}`` for ``connected``, ``blocked``, ``lost`` and ``at-risk``;
- ``kscert_endpoint_up{endpoint}`` (0/1, the last check; endpoints never checked are
  left out, so that adding one does not raise an "endpoint down" alert);
- ``kscert_gateway_stale{host}`` (0/1).

:func:`serve_metrics` serves them at ``/metrics`` (GET only, anything else 404 or 405)
from a thread per connection with a socket timeout, so a slow client or a huge header
never holds up the next scrape.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, generate_latest, make_wsgi_app
from prometheus_client.registry import CollectorRegistry

from kscert_gui.model.errors import KscertError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from kscert_gui.services.server import AdministrationServer

log = logging.getLogger(__name__)

CERT_LABELS = ("source", "endpoint", "subject_CN", "serial_number")
DEVICE_STATES = ("connected", "blocked", "lost", "at-risk")
METRICS_PATH = "/metrics"
#: A connection that sends nothing for this long is closed (slow clients).
CLIENT_TIMEOUT = 10.0
DEFAULT_LISTEN_PORT = 9808


@dataclass(frozen=True)
class CertMetric:
    source: str
    endpoint: str
    common_name: str
    serial_number: str
    not_before: datetime
    not_after: datetime

    def labels(self) -> list[str]:
        # A name a server sent may hold control characters; `kscert metrics` prints them.
        return [self.source, self.endpoint, _visible(self.common_name), self.serial_number]


@dataclass(frozen=True)
class MetricsReading:
    """Everything one scrape shows, read at one instant ``at``."""

    at: datetime
    certificates: tuple[CertMetric, ...]
    devices: tuple[tuple[str, int], ...]
    endpoints_up: tuple[tuple[str, bool], ...]
    gateways_stale: tuple[tuple[str, bool], ...]


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(text: str) -> str:
    """``text`` with control characters written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _decimal_serial(serial_hex: str | None) -> str:
    if not serial_hex:
        return ""
    try:
        return str(int(serial_hex, 16))
    except ValueError:
        return serial_hex


def read_metrics(server: AdministrationServer) -> MetricsReading:
    """One reading of the store: its certificates, the §6.1 counts, gateways, endpoints.

    Only what the metrics show is read: the effective main and reserve records, the
    §6.1 counts of the device table (not the names and warnings ``status()`` adds, a
    fifth of its time with 100 000 devices), each gateway's held certificate by the
    version's rule, and the watch list's last results.
    """
    from kscert_gui.model import gateways as gateway_rules
    from kscert_gui.services.base import state_of
    from kscert_gui.services.store.certificates import row_info
    from kscert_gui.services.watch import watch_list

    store = server.store
    at = server.now()
    rows = store.list_certificates()
    eff = state_of(rows, at)
    by_id = {r.id: r for r in rows}
    certs: list[CertMetric] = []
    for source, cert_id in (("main", eff.main_id), ("reserve", eff.reserve_id)):
        if cert_id is None:
            continue
        info, _chain = row_info(by_id[cert_id])  # the stored display record, no parser
        certs.append(CertMetric(source, "", info.common_name, _decimal_serial(info.serial),
                                info.not_before, info.not_after))
    up: list[tuple[str, bool]] = []
    for entry in watch_list(server).entries():
        if entry.state is not None:
            up.append((entry.endpoint, entry.state != "unreachable"))
        if entry.not_before is not None and entry.not_after is not None:
            certs.append(CertMetric("endpoint", entry.endpoint, entry.common_name or "",
                                    _decimal_serial(entry.serial), entry.not_before,
                                    entry.not_after))
    counts = server.fleet.device_table(at, rows=rows).counts
    devices = (("connected", counts.connected), ("blocked", counts.blocked),
               ("lost", counts.lost), ("at-risk", counts.at_risk))
    # The gateway-stale warning's one rule (model.gateways): what each gateway holds at the
    # instant, by the server version, judged against the main certificate.
    held = {host: held_id for host, _port, _agent_port, held_id, _sha
            in store.distribution_points.gateway_certificates()}
    stale = tuple((h.host, h.stale) for h in gateway_rules.holdings(
        server.server_version(), held, eff.main_id))
    return MetricsReading(at=at, certificates=tuple(certs), devices=devices,
                          endpoints_up=tuple(up), gateways_stale=stale)


class KscertCollector:
    """A ``prometheus_client`` collector that reads fresh on every scrape."""

    def __init__(self, read: Callable[[], MetricsReading]) -> None:
        self._read = read

    def describe(self) -> Iterable[Metric]:
        # Registering must not read the store: the families are known without it.
        return []

    def collect(self) -> Iterable[Metric]:
        reading = self._read()
        not_after = GaugeMetricFamily(
            "x509_cert_not_after", "Certificate not after timestamp (seconds since the epoch)",
            labels=CERT_LABELS)
        not_before = GaugeMetricFamily(
            "x509_cert_not_before",
            "Certificate not before timestamp (seconds since the epoch)", labels=CERT_LABELS)
        expired = GaugeMetricFamily(
            "x509_cert_expired", "1 when the certificate has expired, else 0",
            labels=CERT_LABELS)
        for cert in reading.certificates:
            labels = cert.labels()
            not_after.add_metric(labels, cert.not_after.timestamp())
            not_before.add_metric(labels, cert.not_before.timestamp())
            expired.add_metric(labels, 1.0 if reading.at > cert.not_after else 0.0)
        devices = GaugeMetricFamily(
            "kscert_devices", "Managed mobile devices by connection state (DESIGN 6.1)",
            labels=["state"])
        for state, count in reading.devices:
            devices.add_metric([state], float(count))
        up = GaugeMetricFamily(
            "kscert_endpoint_up",
            "1 when the last check of the watched endpoint found a certificate served",
            labels=["endpoint"])
        for endpoint, is_up in reading.endpoints_up:
            up.add_metric([endpoint], 1.0 if is_up else 0.0)
        stale = GaugeMetricFamily(
            "kscert_gateway_stale",
            "1 when the connection gateway does not hold the main certificate",
            labels=["host"])
        for host, is_stale in reading.gateways_stale:
            stale.add_metric([host], 1.0 if is_stale else 0.0)
        return [not_after, not_before, expired, devices, up, stale]


def registry_for(read: Callable[[], MetricsReading]) -> CollectorRegistry:
    """A registry holding only :class:`KscertCollector` (no process or platform metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KscertCollector(read))
    return registry


def exposition(read: Callable[[], MetricsReading]) -> str:
    """The Prometheus text exposition of one reading."""
    return generate_latest(registry_for(read)).decode("utf-8")


# --- the HTTP endpoint ----------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """One connection: a socket timeout ends slow clients; nothing is logged to stderr."""

    timeout = CLIENT_TIMEOUT

    def log_message(self, format: str, *args: object) -> None:
        pass


def _only_metrics(app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]) -> (
    Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
):
    def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found: the metrics are at /metrics\n"]
        if environ.get("REQUEST_METHOD") != "GET":
            start_response("405 Method Not Allowed",
                           [("Allow", "GET"), ("Content-Type", "text/plain; charset=utf-8")])
            return [b"Only GET\n"]
        try:
            return list(app(environ, start_response))
        except Exception as err:  # the store could not be read: a 500, never a traceback
            message = err.message if isinstance(err, KscertError) else (
                f"unexpected error ({type(err).__name__})")
            if not isinstance(err, KscertError):
                log.error("metrics scrape failed", exc_info=err)
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/plain; charset=utf-8")], sys.exc_info())
            return [f"The metrics could not be read: {message}\n".encode()]

    return guarded


class ListenError(KscertError):
    """The metrics endpoint cannot listen (the port is in use, no permission...)."""


class MetricsServer:
    """``/metrics`` on ``host:port`` (a thread per connection) until :meth:`stop`."""

    def __init__(self, read: Callable[[], MetricsReading], host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(ThreadingWSGIServer):
            address_family = family

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that went away mid-answer: nothing for the terminal.
                log.debug("metrics connection failed", exc_info=True)

        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self._httpd: WSGIServer = Server((host, port), _Handler)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise ListenError(
                    f"Cannot listen on {where}: the port is in use by another program. "
                    "Choose another port (--listen ADDR:PORT) or stop that program."
                ) from None
            if err.errno == errno.EACCES:
                raise ListenError(f"Cannot listen on {where}: permission denied "
                                  "(ports below 1024 need privileges).") from None
            reason = err.strerror or str(err)
            raise ListenError(f"Cannot listen on {where}: {reason}.") from None
        self._httpd.set_app(_only_metrics(make_wsgi_app(registry_for(read))))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        """Serve from a background thread (tests)."""
        self._thread = threading.Thread(target=self.serve_forever, name="kscert-metrics",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End :meth:`serve_forever` (from another thread or a signal handler's thread)."""
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()


@contextlib.contextmanager
def serving(read: Callable[[], MetricsReading], host: str, port: int) -> Iterator[MetricsServer]:
    server = MetricsServer(read, host, port)
    server.start()
    try:
        yield server
    finally:
        server.close()
