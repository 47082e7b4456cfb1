"""The frozen result types the GUI and the CLI render (STYLE "Composition").

Plain data with ``to_json`` where a command prints them; no store access. The
services build them, the snapshot carries them, the views render them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kscert_gui.model.address import normalize_address
from kscert_gui.model.certinfo import CertificateInfo, Finding
from kscert_gui.model.clock import iso
from kscert_gui.model.connection import (
    CONNECTION_STATES,
    Connection,
    Cutover,
    FleetCounts,
    FleetReading,
    ForecastState,
    Situation,
    epoch,
    from_epoch,
)
from kscert_gui.model.errors import ValidationError
from kscert_gui.model.fleet import MOBILE_PLATFORMS, Group, ReserveWindow, delivery_curve
from kscert_gui.model.schedule import SlotRecord, SyncPeriod, TermIssue, check_term, switch_time
from kscert_gui.services.device_csv import RowError

if TYPE_CHECKING:
    # Only in annotations: showing the console imports no cryptography (bench/startup.py).
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from kscert_gui.services import tls

#: Which certificate a served leaf is.
Match = Literal["main", "reserve"]


@dataclass(frozen=True)
class ReissueRequest:
    """Reissue through the Administration Server. ``address`` None: use old address."""

    address: str | None
    term_days: int | None  # None: Immediately
    key_size: int = 2048


@dataclass(frozen=True)
class ImportRequest:
    """Other certificate: a PKCS #12 container, or an X.509 private key + public key."""

    kind: Literal["pkcs12", "x509"]
    term_days: int | None
    pkcs12: Path | None = None
    key: Path | None = None
    cert: Path | None = None
    password: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "pkcs12" and self.pkcs12 is None:
            raise ValidationError("Choose the certificate file (PKCS #12 container).")
        if self.kind == "x509" and (self.key is None or self.cert is None):
            raise ValidationError(
                "Choose both the private key (.prk, .pem) and the public key (.cer) files."
            )


@dataclass(frozen=True)
class CertView:
    """One certificate record as the console shows it (public data only)."""

    id: int
    source: str
    info: CertificateInfo
    chain: tuple[CertificateInfo, ...]
    address: str
    created_at: datetime
    term_days: int | None
    state: str

    def to_json(self, at: datetime) -> dict[str, Any]:
        data = self.info.to_json()
        data.update(
            {
                "id": self.id,
                "source": self.source,
                "days_left": self.info.days_left(at),
                "state": self.state,
                "address": self.address,
                "created_at": iso(self.created_at),
                "activation_term": (
                    "immediately" if self.term_days is None else f"{self.term_days} days"
                ),
            }
        )
        return data


@dataclass(frozen=True)
class StatusWarning:
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class GatewayView:
    host: str
    port: int
    agent_port: int
    sha256: str | None
    matches_main: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "agent_port": self.agent_port,
            "sha256": self.sha256,
            "matches_main": self.matches_main,
        }


@dataclass(frozen=True)
class ServerStatus:
    at: datetime
    state: str
    main: CertView | None
    reserve: CertView | None
    switch_at: datetime | None
    delivered: int
    devices: int
    history: tuple[CertView, ...]
    gateways: tuple[GatewayView, ...]
    warnings: tuple[StatusWarning, ...]
    fleet: FleetSummary
    name: str
    training: bool
    read_only: bool

    @property
    def main_days_left(self) -> int | None:
        return self.main.info.days_left(self.at) if self.main else None

    def to_json(self) -> dict[str, Any]:
        reserve: dict[str, Any] | None = None
        if self.reserve is not None:
            reserve = self.reserve.to_json(self.at)
            reserve.update(
                {
                    "switch_at": iso(self.switch_at) if self.switch_at else None,
                    "delivered": self.delivered,
                    "devices": self.devices,
                }
            )
        return {
            "at": iso(self.at),
            "state": self.state,
            "main": self.main.to_json(self.at) if self.main else None,
            "reserve": reserve,
            "history": [c.to_json(self.at) for c in self.history],
            "gateways": [g.to_json() for g in self.gateways],
            "fleet": self.fleet.to_json(),
            "warnings": [w.to_json() for w in self.warnings],
        }


@dataclass(frozen=True)
class ReissuePlan:
    address: str
    issues: tuple[TermIssue, ...]
    switch_at: datetime | None
    needs_confirmation: tuple[str, ...]

    @property
    def blocked(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


@dataclass(frozen=True)
class TermContext:
    """What the activation-term rules (DESIGN §5) need about the store, read once.

    Its methods are pure: the Reissue certificate and Certificate windows validate every
    edit with the context the snapshot carries, never with a store read of their own.
    """

    at: datetime
    old_address: str
    main: SlotRecord | None
    reserve_pending: bool
    sync: SyncPeriod
    mobile_devices: int
    #: The real clock's instant when the store's clock read ``at`` (None: a training
    #: store's clock that stands still): what :meth:`as_of` moves on from.
    real_at: datetime | None = None

    def as_of(self, real_now: datetime) -> TermContext:
        """This context at the real clock's ``real_now``: a store's clock that runs with real
        time has moved on since the reading by as much (one that stands still has not).
        A window open for a minute plans from the instant OK is pressed, not from when the
        snapshot was read."""
        if self.real_at is None or real_now <= self.real_at:
            return self
        return replace(self, at=self.at + (real_now - self.real_at), real_at=real_now)

    def issues(self, term_days: int | None) -> tuple[TermIssue, ...]:
        return tuple(check_term(
            term_days,
            at=self.at,
            sync=self.sync,
            mobile_devices=self.mobile_devices if self.main is not None else 0,
            main_not_after=self.main.not_after if self.main is not None else None,
        ))

    def planned_switch(self, term_days: int | None) -> datetime | None:
        """When a new reserve created now would become main (None: it would be main at once)."""
        if term_days is None or self.main is None:
            return None
        probe = SlotRecord(-1, self.at, term_days, self.at, self.at)
        return switch_time(probe, self.main)

    def confirmations(self, term_days: int | None) -> tuple[str, ...]:
        needs: list[str] = []
        if self.main is not None and term_days is None and self.mobile_devices > 0:
            needs.append("immediate-with-devices")
        if self.main is not None and self.reserve_pending:
            # Immediately drops the pending reserve too; a new reserve replaces it.
            needs.append("replace-reserve")
        return tuple(needs)

    def plan_reissue(self, request: ReissueRequest) -> ReissuePlan:
        address = (self.old_address if request.address is None
                   else normalize_address(request.address))
        return ReissuePlan(
            address=address,
            issues=self.issues(request.term_days),
            switch_at=self.planned_switch(request.term_days),
            needs_confirmation=self.confirmations(request.term_days),
        )


@dataclass(frozen=True)
class ImportCheck:
    """The §4 findings of a custom certificate plus the activation-term verdicts."""

    certificate: CertificateInfo | None
    chain: tuple[CertificateInfo, ...]
    findings: tuple[Finding, ...]
    issues: tuple[TermIssue, ...]
    switch_at: datetime | None
    needs_confirmation: tuple[str, ...]
    #: What the reading of the files says that is no finding (``Material.notes``: a
    #: password given for a container that has none).
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def blocked(self) -> bool:
        return bool(self.errors) or any(i.severity == "error" for i in self.issues)


@dataclass(frozen=True)
class GroupSettings:
    """A group as its Properties window shows it."""

    id: int
    name: str
    path: str
    parent_id: int | None
    sync_hours: float | None  # own period; None: inherited
    effective_hours: float
    inherited_hours: float  # what it would inherit from its parent (or the default)
    devices: int  # devices directly in the group

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "sync_hours": self.sync_hours,
            "effective_sync_hours": self.effective_hours,
            "inherited": self.sync_hours is None,
            "devices": self.devices,
        }


@dataclass(frozen=True)
class DeviceView:
    """One device with its §6.1 connection state and forecast (None for hosts)."""

    id: int
    name: str
    group: str
    platform: str
    last_sync: datetime | None
    connection: Connection | None
    forecast: ForecastState | None
    reason: str
    sync_hours: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "platform": self.platform,
            "last_sync": iso(self.last_sync) if self.last_sync else None,
            "connection": self.connection,
            "forecast": self.forecast,
            "reason": self.reason,
            "sync_hours": self.sync_hours,
        }


@dataclass(frozen=True)
class DeviceTable:
    """Every device with its §6.1 verdict, column by column (100 000 stay cheap to hold).

    Row ``i`` of each column belongs to the same device; rows are ordered by name. The
    verdicts come from one :func:`model.connection.read_fleet` over the whole fleet.
    """

    at: datetime
    ids: tuple[int, ...]
    names: tuple[str, ...]
    group_ids: tuple[int, ...]
    platforms: tuple[str, ...]
    last_sync: tuple[str | None, ...]  # ISO 8601 UTC text, sortable as it is
    last_s: tuple[int | None, ...]
    period_s: tuple[int, ...]
    gateway: tuple[int | None, ...]  # index into reading.situation.gateways
    groups: Mapping[int, Group]
    paths: Mapping[int, str]
    reading: FleetReading
    #: The pending reserve's delivery window (None when no reserve is pending).
    window: ReserveWindow | None
    #: Per device: its first recorded synchronization in that window, if any.
    received_s: tuple[int | None, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def counts(self) -> FleetCounts:
        return self.reading.counts

    @property
    def situation(self) -> Situation:
        return self.reading.situation

    def connection(self, row: int) -> Connection | None:
        return self.reading.connection[row]

    def forecast(self, row: int) -> ForecastState | None:
        return self.reading.forecast[row]

    def state(self, row: int) -> str | None:
        """The state a list shows: the forecast, else the connection ('lost')."""
        return self.reading.forecast[row] or self.reading.connection[row]

    def reason(self, row: int) -> str:
        """Why the device has its state, in words (the at-risk list's last column)."""
        if self.platforms[row] not in MOBILE_PLATFORMS:
            return "not a mobile device"
        return self.situation.judge(self.last_s[row], self.period_s[row],
                                    self.gateway[row]).reason

    def view(self, row: int) -> DeviceView:
        last = self.last_s[row]
        return DeviceView(
            id=self.ids[row],
            name=self.names[row],
            group=self.paths[self.group_ids[row]],
            platform=self.platforms[row],
            last_sync=from_epoch(last) if last is not None else None,
            connection=self.connection(row),
            forecast=self.forecast(row),
            reason=self.reason(row) if self.platforms[row] in MOBILE_PLATFORMS else "",
            sync_hours=self.period_s[row] / 3600,
        )

    def rows_in_state(self, state: str | None) -> Iterator[int]:
        """Rows of one connection state or forecast (``None``: every row)."""
        if state is None:
            yield from range(len(self))
            return
        column = self.reading.connection if state in CONNECTION_STATES else \
            self.reading.forecast
        yield from (i for i, value in enumerate(column) if value == state)

    def names_in_state(self, state: str) -> tuple[str, ...]:
        return tuple(self.names[i] for i in self.rows_in_state(state))

    def delivery_s(self) -> list[int | None]:
        """When each device got (or, if expected, will get) the pending reserve.

        Written out with local names: it runs over every device in the snapshot's worker.
        """
        window = self.window
        out: list[int | None] = []
        if window is None:
            return out
        t = epoch(self.at)
        created = window.created_s
        add = out.append
        for fc, last, got, period in zip(self.reading.forecast, self.last_s,
                                         self.received_s, self.period_s, strict=True):
            if fc == "delivered":
                if last is not None and created <= last and (got is None or last < got):
                    got = last
                add(got)
            elif fc == "expected" and last is not None:
                k = -(-(t - last) // period)
                add(last + (k if k > 1 else 1) * period)  # connection.next_sync_s
            else:
                add(None)
        return out

    def curve(self, points: int = 120) -> list[tuple[datetime, int]]:
        if self.window is None:
            return []
        return delivery_curve(self.delivery_s(), self.window, points)


@dataclass(frozen=True)
class FleetSummary:
    """The §6.1 counts for status() and the Certificates page, with the warnings' names."""

    at: datetime
    counts: FleetCounts
    cutover_at: datetime | None
    cutover: Cutover | None
    reserve_pending: bool
    at_risk_names: tuple[str, ...]
    lost_names: tuple[str, ...]
    blocked_now: Mapping[str, int]
    blocked_at_cutover: Mapping[str, int]

    @property
    def devices(self) -> int:
        return self.counts.devices

    @property
    def delivered(self) -> int:
        return self.counts.delivered

    @property
    def at_risk(self) -> int:
        return self.counts.at_risk

    @property
    def lost(self) -> int:
        return self.counts.lost

    @property
    def blocked(self) -> int:
        return self.counts.blocked

    @property
    def lose_at_cutover(self) -> int:
        """How many devices lose the connection at the cut-over (all not delivered)."""
        c = self.counts
        return c.devices - c.lost - c.delivered

    def to_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "devices": c.devices,
            "connected": c.connected,
            "blocked": c.blocked,
            "lost": c.lost,
            "cutover_at": iso(self.cutover_at) if self.cutover_at else None,
            "cutover": self.cutover,
            "delivered": c.delivered,
            "expected": c.expected,
            "at_risk": c.at_risk,
        }


@dataclass(frozen=True)
class DeviceImportReport:
    """What ``devices import`` did (or, with errors, would have done: nothing)."""

    path: str
    rows: int  # good rows
    added: int
    updated: int
    groups_created: int
    errors: tuple[RowError, ...]
    error_count: int
    committed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "imported": self.committed,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "groups_created": self.groups_created,
            "skipped_rows": self.error_count if self.committed else 0,
            "error_count": self.error_count,
            "errors": [e.to_json() for e in self.errors],
        }


@dataclass(frozen=True)
class SimulationReport:
    start: datetime
    end: datetime
    synchronized: int  # devices that synchronized at least once
    newly_delivered: int  # devices that received the reserve during the advance
    switched_at: datetime | None  # a switch that fell inside the advance
    summary: FleetSummary = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": iso(self.start),
            "to": iso(self.end),
            "synchronized": self.synchronized,
            "newly_delivered": self.newly_delivered,
            "switched_at": iso(self.switched_at) if self.switched_at else None,
            "devices": self.summary.devices,
            "fleet": self.summary.to_json(),
        }


@dataclass(frozen=True)
class ReinstallReport:
    """What ``simulate reinstall`` did: the devices re-enrolled at ``at``."""

    at: datetime
    names: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "reinstalled": len(self.names), "devices": list(self.names)}


@dataclass(frozen=True)
class HeldCertificate:
    """The mobile certificate a connection gateway holds (public data only)."""

    id: int
    info: CertificateInfo


@dataclass(frozen=True)
class DistributionPointView:
    """One distribution point as the console shows it, judged at ``at``."""

    device_id: int
    host: str
    platform: str
    group: str
    scope_group_id: int
    scope: str
    gateway: bool
    agent_port: int
    mobile_port: int
    held: HeldCertificate | None
    main_sha256: str | None
    connected_at: datetime | None
    at: datetime

    @property
    def sha256(self) -> str | None:
        return self.held.info.sha256 if self.held is not None else None

    @property
    def matches_main(self) -> bool:
        return self.sha256 is not None and self.sha256 == self.main_sha256

    @property
    def stale(self) -> bool:
        """A connection gateway that serves a certificate other than the main one."""
        return self.gateway and self.main_sha256 is not None and not self.matches_main

    def to_json(self) -> dict[str, Any]:
        held = self.held.info if self.held is not None else None
        return {
            "host": self.host,
            "platform": self.platform,
            "scope": self.scope,
            "gateway": self.gateway,
            "agent_port": self.agent_port,
            "mobile_port": self.mobile_port,
            "port": self.mobile_port,
            "sha256": held.sha256 if held else None,
            "held_subject": held.subject if held else None,
            "held_valid_to": iso(held.not_after) if held else None,
            "matches_main": self.matches_main,
            "connected_at": iso(self.connected_at) if self.connected_at else None,
        }


@dataclass(frozen=True)
class HostDevice:
    """A Windows, Linux or macOS host that can act as a distribution point."""

    id: int
    name: str
    group_id: int
    platform: str
    is_distribution_point: bool


@dataclass(frozen=True)
class ScopeGroup:
    """A group of "Managed devices", for the scope picker and the device picker."""

    id: int
    name: str
    parent_id: int | None
    path: str


@dataclass(frozen=True)
class EndpointCert:
    """The certificate an endpoint serves now, and the one it will serve from ``next_at``."""

    cert_id: int
    sha256: str
    next_id: int | None = None
    next_sha256: str | None = None
    next_at: datetime | None = None


@dataclass(frozen=True)
class GatewayEndpoint:
    """One connection gateway: its host name, port for mobile devices and certificate."""

    host: str
    port: int
    cert: EndpointCert | None


@dataclass(frozen=True)
class EndpointPlan:
    """Which certificate each endpoint serves at ``at`` (no key material)."""

    at: datetime
    server: EndpointCert | None
    gateways: tuple[GatewayEndpoint, ...]


@dataclass(frozen=True)
class ServedMaterial:
    """A certificate with its chain and decrypted private key, ready for a TLS context.

    The key never appears in ``repr``; hold this object only as long as it takes to
    build the context.
    """

    cert_id: int
    sha256: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKeyTypes = field(repr=False)


@dataclass(frozen=True)
class CheckReport:
    """A probe of an endpoint and how its leaf compares with the store's certificates."""

    probe: tls.ProbeResult
    matches: Match | None
    main_sha256: str | None
    reserve_sha256: str | None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = self.probe.to_json(self.matches)
        return data
