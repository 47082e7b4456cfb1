"""The watch list (DESIGN §13): what the *real* servers and gateways serve, checked often.

:class:`WatchList` is one part of the Administration Server, built with what it needs:
the store (its ``watch`` repository holds the endpoints and results), the clock, and a
way to read the SHA-256 of the main and reserve certificates for ``matches``. The
factory :func:`watch_list` builds it from an open server. The GUI runs its methods in a
worker; the CLI calls them directly.

A check probes every endpoint with the probe of ``kscert check`` (services/tls.py), at
most :data:`MAX_PARALLEL` at once, each within its timeout (the probe bounds the whole
handshake, so a hostile endpoint costs at most that), and records all results in one
transaction. The result types live here rather than in services/views.py, so that this
feature stays in its own modules.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from kscert_gui.model import watch as rules
from kscert_gui.model.clock import Clock, iso
from kscert_gui.model.errors import NotFoundError, UsageError
from kscert_gui.model.watch import WatchState
from kscert_gui.services import tls
from kscert_gui.services.store import Store, WatchEndpointRow, WatchResultRow

if TYPE_CHECKING:
    from kscert_gui.services.tls import ProbeResult

#: At most this many probes run at once (DESIGN §13).
MAX_PARALLEL = 16
DEFAULT_TIMEOUT = 5.0
#: ``watch run`` and the console check this often unless told otherwise (seconds).
DEFAULT_INTERVAL = 3600
MIN_INTERVAL = 10
MAX_INTERVAL = 7 * 24 * 3600
THRESHOLDS_KEY = "watch_thresholds"
INTERVAL_KEY = "watch_interval"

Probe = Callable[[str, int, "str | None", float], "ProbeResult"]


def _tls_probe(host: str, port: int, servername: str | None, timeout: float) -> ProbeResult:
    return tls.probe(host, port, servername=servername, timeout=timeout)


@dataclass(frozen=True)
class KnownCertificates:
    """The SHA-256 of the store's main and reserve certificates now (None: there is none)."""

    main: str | None = None
    reserve: str | None = None

    def match(self, sha256: str | None) -> rules.Match | None:
        if not sha256:
            return None
        value = sha256.lower()
        if value == self.main:
            return "main"
        if value == self.reserve:
            return "reserve"
        return None


@dataclass(frozen=True)
class WatchedEndpoint:
    """One endpoint of the watch list with its last result (None fields: never checked)."""

    host: str
    port: int
    name: str | None
    servername: str | None
    state: WatchState | None = None
    days_left: int | None = None
    subject: str | None = None
    common_name: str | None = None
    serial: str | None = None
    san: tuple[str, ...] = ()
    not_before: datetime | None = None
    not_after: datetime | None = None
    sha256: str | None = None
    matches: str | None = None
    checked_at: datetime | None = None
    error: str | None = None

    @property
    def endpoint(self) -> str:
        return rules.endpoint_text(self.host, self.port)

    @property
    def title(self) -> str:
        """The endpoint with its label, as a person reads it."""
        return f"{self.endpoint} ({self.name})" if self.name else self.endpoint

    @property
    def up(self) -> bool | None:
        """Whether the last check found a certificate served (None: never checked)."""
        return None if self.state is None else self.state != "unreachable"

    def to_json(self) -> dict[str, object]:
        """One entry of ``watch list --json`` (DESIGN §13; the shape is a contract)."""
        return {
            "endpoint": self.endpoint,
            "name": self.name,
            "servername": self.servername,
            "state": self.state,
            "days_left": self.days_left,
            "not_after": iso(self.not_after) if self.not_after else None,
            "sha256": self.sha256,
            "matches": self.matches,
            "checked_at": iso(self.checked_at) if self.checked_at else None,
            "error": self.error,
        }

    def detail_json(self) -> dict[str, object]:
        """:meth:`to_json` with the rest of the served leaf (``watch check --json``)."""
        data = self.to_json()
        data.update({
            "subject": self.subject,
            "san": list(self.san),
            "not_before": iso(self.not_before) if self.not_before else None,
        })
        return data


@dataclass(frozen=True)
class Crossing:
    """An endpoint went past a reminder threshold with this check (DESIGN §13)."""

    endpoint: WatchedEndpoint
    threshold: int

    @property
    def summary(self) -> str:
        if self.endpoint.state == "expired":
            return f"Certificate expired: {self.endpoint.title}"
        return f"Certificate expires in {self.endpoint.days_left} days: {self.endpoint.title}"

    @property
    def message(self) -> str:
        e = self.endpoint
        when = iso(e.not_after) if e.not_after else "?"
        subject = e.subject or "(no subject)"
        if e.state == "expired":
            return f"{e.title} serves a certificate that expired at {when} ({subject})."
        return (f"{e.title} serves a certificate that expires at {when}, in {e.days_left} "
                f"days ({subject}); reminder at {self.threshold} days.")


@dataclass(frozen=True)
class WatchCheck:
    """What one check found: every endpoint's new result and the thresholds crossed."""

    at: datetime
    results: tuple[WatchedEndpoint, ...]
    crossings: tuple[Crossing, ...]
    seconds: float

    @property
    def unreachable(self) -> int:
        return sum(1 for r in self.results if r.state == "unreachable")


class StoreAndClock(Protocol):
    """What :func:`watch_list` needs of the server: its store and its clock."""

    @property
    def store(self) -> Store: ...

    def now(self) -> datetime: ...


def watch_list(server: StoreAndClock) -> WatchList:
    """The watch list of an open server: its store, its clock, its main and reserve."""
    from kscert_gui.services.base import state_of

    store = server.store

    def known() -> KnownCertificates:
        rows = store.list_certificates()
        eff = state_of(rows, server.now())
        sha = {r.id: r.sha256.lower() for r in rows}
        return KnownCertificates(
            main=sha.get(eff.main_id) if eff.main_id is not None else None,
            reserve=sha.get(eff.reserve_id) if eff.reserve_id is not None else None,
        )

    return WatchList(store, server.now, known)


def parse_watch_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of the watch list: as ``kscert check`` takes it; a host name in
    lower case (names are the same in any case), an IP address in its shortest form.

    Raises:
        UsageError: not HOST:PORT, or a port outside 1-65535.
    """
    host, port = tls.parse_endpoint(text)
    try:
        return str(ipaddress.ip_address(host)), port  # [0:0::1] and [::1] are one endpoint
    except ValueError:
        return host.lower().rstrip(".") or host, port


def servername_problem(name: str) -> str | None:
    """Why ``name`` cannot be sent as SNI (the rule of ``kscert check --servername``)."""
    if not name.strip():
        return "the server name is empty"
    if ":" in name or "/" in name:
        return f"'{name}' is not a host name (no scheme, port or path)"
    problem = tls.host_problem(name)
    if problem is not None:
        return problem
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return None
    return f"'{name}' is an IP address; TLS sends only a host name as the server name"


def new_endpoint(
    text: str, name: str | None, servername: str | None
) -> tuple[str, int, str | None, str | None]:
    """What ``watch add`` is given, checked and cleaned: (host, port, label, server name).

    Raises:
        UsageError: a malformed endpoint, a port outside 1-65535, a label with control
            characters, a server name that is not a host name.
    """
    host, port = parse_watch_endpoint(text)
    if name is not None:
        problem = rules.label_problem(name)
        if problem is not None:
            raise UsageError(f"The label cannot be used: {problem}.")
        name = name.strip()
    if servername is not None:
        problem = servername_problem(servername.strip())
        if problem is not None:
            raise UsageError(f"The server name cannot be used: {problem}.")
        servername = servername.strip()
    return host, port, name, servername


class WatchList:
    """The watched endpoints of one store: add, remove, list, check (DESIGN §13)."""

    def __init__(
        self,
        store: Store,
        now: Clock,
        known: Callable[[], KnownCertificates],
        probe: Probe = _tls_probe,
    ) -> None:
        self.store = store
        self._now = now
        self._known = known
        self._probe = probe

    # --- settings ------------------------------------------------------------------------

    def thresholds(self) -> tuple[int, ...]:
        text = self.store.get_meta(THRESHOLDS_KEY)
        if not text:
            return rules.DEFAULT_THRESHOLDS
        try:
            return rules.parse_thresholds(text)
        except UsageError:
            return rules.DEFAULT_THRESHOLDS

    def set_thresholds(self, values: Sequence[int]) -> tuple[int, ...]:
        """Store the reminder thresholds (validated as ``parse_thresholds`` does)."""
        clean = rules.parse_thresholds(rules.format_thresholds(values))
        with self.store.transaction() as conn:
            self.store.set_meta(conn, THRESHOLDS_KEY, rules.format_thresholds(clean))
            self.store.audit(conn, self._now(), "watch-thresholds",
                             {"thresholds": list(clean)})
        return clean

    def interval(self) -> int:
        """Seconds between background checks (``watch run``, the console)."""
        text = self.store.get_meta(INTERVAL_KEY)
        if text and text.isdigit() and MIN_INTERVAL <= int(text) <= MAX_INTERVAL:
            return int(text)
        return DEFAULT_INTERVAL

    def set_interval(self, seconds: int) -> int:
        if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
            raise UsageError(
                f"The check interval {seconds} s is out of range: {MIN_INTERVAL} s to "
                f"{MAX_INTERVAL // 86400} days.")
        with self.store.transaction() as conn:
            self.store.set_meta(conn, INTERVAL_KEY, str(seconds))
        return seconds

    # --- the list ------------------------------------------------------------------------

    def add(
        self, text: str, name: str | None = None, servername: str | None = None
    ) -> WatchedEndpoint:
        """Watch ``HOST:PORT``.

        Raises:
            UsageError: a malformed endpoint, a port outside 1-65535, an endpoint already
                watched, a label with control characters, a server name that is not one.
        """
        host, port, name, servername = new_endpoint(text, name, servername)
        self.store.require_writable()
        where = rules.endpoint_text(host, port)
        with self.store.transaction() as conn:
            if self.store.watch.find(host, port, conn) is not None:
                raise UsageError(f"{where} is already watched.")
            self.store.watch.add(conn, host, port, name, servername, self._now())
            self.store.audit(conn, self._now(), "watch-add",
                             {"endpoint": where, "name": name, "servername": servername})
        return WatchedEndpoint(host=host, port=port, name=name, servername=servername)

    def remove(self, text: str) -> None:
        """Stop watching ``HOST:PORT`` (its results go too).

        Raises:
            UsageError: a malformed endpoint.
            NotFoundError: it is not watched.
        """
        host, port = parse_watch_endpoint(text)
        where = rules.endpoint_text(host, port)
        with self.store.transaction() as conn:
            row = self.store.watch.find(host, port, conn)
            if row is None:
                raise NotFoundError(f"{where} is not watched.")
            self.store.watch.remove(conn, row.id)
            self.store.audit(conn, self._now(), "watch-remove", {"endpoint": where})

    def entries(self) -> tuple[WatchedEndpoint, ...]:
        """Every watched endpoint with its last result, judged now."""
        now = self._now()
        thresholds = self.thresholds()
        latest = self.store.watch.latest()
        return tuple(
            _entry(row, latest.get(row.id), now, thresholds)
            for row in self.store.watch.endpoints()
        )

    # --- checks --------------------------------------------------------------------------

    def check(
        self, timeout: float = DEFAULT_TIMEOUT, parallel: int = MAX_PARALLEL
    ) -> WatchCheck:
        """Probe every endpoint now and record the results (one transaction).

        Raises:
            StoreError: the store is read-only (the results could not be recorded).
        """
        self.store.require_writable()
        started = time.monotonic()
        rows = self.store.watch.endpoints()
        known = self._known()
        thresholds = self.thresholds()
        probes = self._probe_all(rows, timeout, parallel)
        at = self._now()
        new = [_result_row(row, result, known, at, thresholds)
               for row, result in zip(rows, probes, strict=True)]
        with self.store.transaction() as conn:
            before = self.store.watch.latest_served(conn)
            self.store.watch.record(conn, new)
        results = tuple(_entry(row, res, at, thresholds)
                        for row, res in zip(rows, new, strict=True))
        crossings: list[Crossing] = []
        for row, entry in zip(rows, results, strict=True):
            prior = before.get(row.id)
            prior_days = (rules.days_left(prior.not_after, prior.checked_at)
                          if prior is not None and prior.not_after is not None else None)
            crossed = rules.crossed_threshold(prior_days, entry.days_left, thresholds)
            if crossed is not None:
                crossings.append(Crossing(entry, crossed))
        return WatchCheck(at=at, results=results, crossings=tuple(crossings),
                          seconds=time.monotonic() - started)

    def _probe_all(
        self, rows: Sequence[WatchEndpointRow], timeout: float, parallel: int
    ) -> list[ProbeResult]:
        if not rows:
            return []

        def one(row: WatchEndpointRow) -> ProbeResult:
            try:
                return self._probe(row.host, row.port, row.servername, timeout)
            except Exception as err:  # one endpoint's trouble never stops the others
                return tls.ProbeResult(row.host, row.port, None, None, (),
                                       f"probe failed: unexpected error ({type(err).__name__})")

        workers = max(1, min(parallel, MAX_PARALLEL, len(rows)))
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix="kscert-watch") as pool:
            return list(pool.map(one, rows))


def _result_row(
    row: WatchEndpointRow,
    result: ProbeResult,
    known: KnownCertificates,
    at: datetime,
    thresholds: Sequence[int],
) -> WatchResultRow:
    leaf = result.leaf if result.error is None else None
    if leaf is None:
        return WatchResultRow(
            endpoint_id=row.id, checked_at=at, state="unreachable",
            error=result.error or "no certificate was served", subject=None,
            common_name=None, serial=None, san=(), not_before=None, not_after=None,
            sha256=None, matches=None,
        )
    return WatchResultRow(
        endpoint_id=row.id,
        checked_at=at,
        state=rules.judge(leaf.not_before, leaf.not_after, at, thresholds),
        error=None,
        subject=leaf.subject,
        common_name=leaf.common_name,
        serial=leaf.serial,
        san=tuple(leaf.san),
        not_before=leaf.not_before,
        not_after=leaf.not_after,
        sha256=leaf.sha256.lower(),
        matches=known.match(leaf.sha256),
    )


def _entry(
    row: WatchEndpointRow,
    result: WatchResultRow | None,
    now: datetime,
    thresholds: Sequence[int],
) -> WatchedEndpoint:
    base = WatchedEndpoint(host=row.host, port=row.port, name=row.name,
                           servername=row.servername)
    if result is None:
        return base
    state: WatchState = "unreachable"
    days: int | None = None
    if result.not_after is not None:
        state = rules.judge(result.not_before, result.not_after, now, thresholds)
        days = rules.days_left(result.not_after, now)
    return replace(
        base,
        state=state,
        days_left=days,
        subject=result.subject,
        common_name=result.common_name,
        serial=result.serial,
        san=result.san,
        not_before=result.not_before,
        not_after=result.not_after,
        sha256=result.sha256,
        matches=result.matches,
        checked_at=result.checked_at,
        error=result.error,
    )
