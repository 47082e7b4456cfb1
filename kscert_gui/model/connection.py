"""What every device trusts and whether it can connect, now and at the next cut-over.

DESIGN §6.1 in one place. Everything here is a pure function of the certificate
records (as a :class:`Timeline`), the devices' last synchronizations, the
connection gateways and the instant; the status, the Certificates page, Managed
devices, the at-risk list and the CLI all read the one :class:`FleetReading` it
produces, so they cannot disagree.

The rules, in short:

- at a synchronization at ``s`` a mobile device receives the certificate that is main
  at ``s`` and, if one is pending at ``s``, the reserve; what it received at its *last*
  synchronization is what it holds;
- at ``t`` it trusts the newest certificate it holds whose activation time is ≤ ``t``
  (a received reserve from its switch time on, exactly as the server switches);
- what is served to it at ``t`` is what the connection gateway of the nearest scope
  holds, else the server's main certificate;
- ``lost`` when it trusts anything but the server's valid main certificate (only
  reinstalling the agent helps); else ``blocked`` when its gateway serves something
  else (reconnect the gateway); else ``connected``;
- the cut-over ``T`` is the pending reserve's switch time, else the main certificate's
  notAfter; at ``T`` every device that does not hold what is served after ``T`` is lost.

Times are whole seconds since the epoch (ints): a reading covers 100 000 devices and
datetime arithmetic per device would cost more than the whole budget. Devices that
synchronized before the store's first certificate record are taken to hold that
certificate: the first record of a store is the certificate the server already had
when its devices enrolled (a store built from an existing server's export).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from kscert_gui.model.gateways import held_certificate
from kscert_gui.model.schedule import SlotRecord, effective_state

Connection = Literal["connected", "blocked", "lost"]
ForecastState = Literal["delivered", "expected", "at-risk"]
Cutover = Literal["switch", "expiry"]
CONNECTION_STATES: tuple[Connection, ...] = ("connected", "blocked", "lost")
FORECAST_STATES: tuple[ForecastState, ...] = ("delivered", "expected", "at-risk")
#: Every state ``devices list --state`` accepts: a connection state or a forecast.
DEVICE_STATES: tuple[str, ...] = CONNECTION_STATES + FORECAST_STATES
#: A device not seen for more than this many periods is at risk (DESIGN §6.1).
STALE_PERIODS = 3
#: Before every record: the era in which the devices enrolled with the first certificate.
BEGINNING = -(2**62)


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def utc_text(seconds: int) -> str:
    return f"{from_epoch(seconds):%Y-%m-%d %H:%M:%S} UTC"


# --- the certificate timeline ---------------------------------------------------------------


@dataclass(frozen=True)
class CertSpan:
    """The validity of one certificate record, in epoch seconds."""

    id: int
    not_before_s: int
    not_after_s: int

    def valid_at(self, t: int) -> bool:
        return self.not_before_s <= t <= self.not_after_s


@dataclass(frozen=True)
class Era:
    """A stretch of time during which the main and the pending reserve do not change."""

    start_s: int
    main_id: int | None
    reserve_id: int | None
    #: When the pending reserve becomes main (also kept for a reserve later cancelled:
    #: a device that received it still switches to it then).
    reserve_switch_s: int | None


@dataclass(frozen=True)
class Timeline:
    """Which certificate was main and which pending, at every instant up to ``until``."""

    eras: tuple[Era, ...]
    certs: Mapping[int, CertSpan]
    until_s: int

    def era_index(self, s: int) -> int:
        return max(0, bisect.bisect_right(self._starts, s) - 1)

    def era_at(self, s: int) -> Era:
        return self.eras[self.era_index(s)]

    @property
    def _starts(self) -> list[int]:
        starts: list[int] | None = self.__dict__.get("_starts_cache")
        if starts is None:
            starts = [e.start_s for e in self.eras]
            object.__setattr__(self, "_starts_cache", starts)
        return starts

    def change_points(self) -> list[int]:
        """Every instant at which what a device holds or trusts may stop connecting."""
        points: set[int] = set()
        for era in self.eras:
            if era.start_s != BEGINNING:
                points.add(era.start_s)
            if era.reserve_switch_s is not None:
                points.add(era.reserve_switch_s)
        for span in self.certs.values():
            points.add(span.not_before_s)
            points.add(span.not_after_s + 1)
        return sorted(points)


def build_timeline(records: Sequence[SlotRecord], until: datetime) -> Timeline:
    """The eras of the records' history up to ``until`` (DESIGN §2 replayed)."""
    certs = {r.id: CertSpan(r.id, epoch(r.not_before), epoch(r.not_after)) for r in records}
    until_s = epoch(until)
    if not records:
        return Timeline((Era(BEGINNING, None, None, None),), certs, until_s)
    final = effective_state(records, until)
    instants: set[datetime] = {s.at for s in final.switches}
    for r in records:
        if r.created_at <= until:
            instants.add(r.created_at)
        if r.cancelled_at is not None and r.cancelled_at <= until:
            instants.add(r.cancelled_at)
    eras: list[Era] = []
    for when in sorted(instants):
        eff = effective_state(records, when)
        era = Era(
            epoch(when), eff.main_id, eff.reserve_id,
            epoch(eff.switch_at) if eff.switch_at is not None else None,
        )
        if eras and (eras[-1].main_id, eras[-1].reserve_id) == (era.main_id, era.reserve_id):
            continue
        if not eras:
            # Devices seen before the first record enrolled with its certificate.
            eras.append(Era(BEGINNING, era.main_id, None, None))
            if era.reserve_id is None:
                continue
        eras.append(era)
    return Timeline(tuple(eras), certs, until_s)


# --- gateways ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayScope:
    """A connection gateway as §6.1 needs it: its host, its scope and what it holds."""

    host: str
    scope_group_id: int
    #: The certificate delivered when it was (re)connected.
    held_id: int | None
    #: The server version setting, which decides whether a new main reaches it (§7).
    version: str

    def serves(self, main_id: int | None) -> int | None:
        """What it serves while ``main_id`` is the server's main certificate."""
        return held_certificate(self.version, self.held_id, main_id)


def nearest_gateways(
    parents: Mapping[int, int | None], gateways: Sequence[GatewayScope]
) -> dict[int, int | None]:
    """Group id → index into ``gateways`` of the gateway of the nearest scope, or None."""
    by_scope: dict[int, int] = {}
    for index, gw in enumerate(gateways):
        by_scope.setdefault(gw.scope_group_id, index)
    out: dict[int, int | None] = {}
    for gid in parents:
        seen: set[int] = set()
        current: int | None = gid
        found: int | None = None
        while current is not None and current not in seen:
            seen.add(current)
            if current in by_scope:
                found = by_scope[current]
                break
            current = parents.get(current)
        out[gid] = found
    return out


# --- one device -------------------------------------------------------------------------------


def next_sync_s(last_s: int, period_s: int, at_s: int) -> int:
    """The device's next scheduled synchronization after ``at`` (at least one period on)."""
    elapsed = at_s - last_s
    k = max(1, -(-elapsed // period_s))
    return last_s + k * period_s


def trusted(era: Era, t: int) -> int | None:
    """The certificate a device holding ``era``'s certificates trusts at ``t``."""
    if era.reserve_id is not None and era.reserve_switch_s is not None \
            and era.reserve_switch_s <= t:
        return era.reserve_id
    return era.main_id


def connection_at(
    timeline: Timeline, gateway: GatewayScope | None, held: Era, t: int
) -> tuple[Connection, str]:
    """§6.1 connection state at ``t`` of a mobile device holding ``held``'s certificates."""
    trusts = trusted(held, t)
    now = timeline.era_at(t)
    if now.main_id is None:
        return "lost", "no main certificate is specified: reinstall the agent once one is"
    if trusts is None:
        return "lost", "it holds no certificate: reinstall the agent"
    main = timeline.certs[now.main_id]
    if t > main.not_after_s:
        return "lost", (f"the main certificate expired at {utc_text(main.not_after_s)}: "
                        "specify a new certificate and reinstall the agent")
    if t < main.not_before_s:
        return "lost", (f"the main certificate is valid only from {utc_text(main.not_before_s)}"
                        ": devices cannot connect before then")
    if trusts != now.main_id:
        return "lost", ("it trusts a certificate the server no longer uses: reinstall the "
                        "agent")
    if gateway is not None and gateway.serves(now.main_id) != trusts:
        return "blocked", (f"connection gateway {gateway.host} serves another certificate: "
                           "reconnect it")
    return "connected", ""


@dataclass(frozen=True)
class Verdict:
    """§6.1 for one mobile device at one instant, with the reason in words."""

    connection: Connection
    forecast: ForecastState | None
    reason: str


#: The forecast part that does not depend on the device's timing, or "timing" when its
#: next synchronization decides between expected and at-risk.
_Base = tuple[Connection, str, ForecastState | Literal["timing"] | None, str, int]


@dataclass(frozen=True)
class Situation:
    """Everything about the instant ``at`` that is the same for every device."""

    timeline: Timeline
    at_s: int
    gateways: tuple[GatewayScope, ...]
    mobile_devices: int
    main_id: int | None
    reserve_id: int | None
    cutover_s: int | None
    cutover: Cutover | None

    @classmethod
    def at(cls, timeline: Timeline, at_s: int, gateways: Sequence[GatewayScope] = (),
           mobile_devices: int = 0) -> Situation:
        era = timeline.era_at(at_s)
        main = timeline.certs.get(era.main_id) if era.main_id is not None else None
        cutover_s: int | None = None
        cutover: Cutover | None = None
        if main is not None and main.valid_at(at_s):
            if era.reserve_id is not None and era.reserve_switch_s is not None:
                cutover_s, cutover = era.reserve_switch_s, "switch"
            else:
                cutover_s, cutover = main.not_after_s, "expiry"
        return cls(timeline, at_s, tuple(gateways), mobile_devices, era.main_id,
                   era.reserve_id, cutover_s, cutover)

    def base(self, held: Era, gateway: int | None) -> _Base:
        """The verdict for a device holding ``held``'s certificates, before its timing."""
        gw = self.gateways[gateway] if gateway is not None else None
        state, why = connection_at(self.timeline, gw, held, self.at_s)
        deadline = self.cutover_s if self.cutover_s is not None else self.at_s
        if state == "lost" or self.cutover_s is None:
            return state, why, None, "", deadline
        when = utc_text(self.cutover_s)
        if self.reserve_id is None:
            return state, why, "at-risk", (
                f"no reserve certificate is specified: all {self.mobile_devices} devices lose "
                f"the connection at {when}"), deadline
        if held.reserve_id == self.reserve_id:
            if gw is not None and gw.serves(self.reserve_id) != self.reserve_id:
                return state, why, "delivered", (
                    f"holds the reserve certificate, but is blocked at {when} until "
                    f"connection gateway {gw.host} is reconnected"), deadline
            return state, why, "delivered", "holds the reserve certificate", deadline
        if state == "blocked":
            return state, why, "at-risk", why, deadline
        old = held.reserve_switch_s
        if held.reserve_id is not None and old is not None and self.at_s < old < deadline:
            # It holds a reserve that was cancelled or replaced, and switches to it then.
            deadline = old
        return state, why, "timing", "", deadline

    def timing(self, last_s: int, period_s: int, deadline: int) -> tuple[ForecastState, str]:
        """Expected or at-risk by the device's next synchronization (DESIGN §6.1)."""
        t = self.at_s
        if t - last_s > STALE_PERIODS * period_s:
            days = (t - last_s) / 86400
            return "at-risk", (f"not seen for {days:.1f} days (more than {STALE_PERIODS} "
                               "synchronization periods)")
        upcoming = next_sync_s(last_s, period_s, t)
        if upcoming > deadline:
            what = ("the switch" if deadline == self.cutover_s
                    else "it switches to the cancelled reserve certificate it holds")
            return "at-risk", (f"next synchronization expected at {utc_text(upcoming)}, after "
                               f"{what} at {utc_text(deadline)}")
        return "expected", f"next synchronization at {utc_text(upcoming)}, before the switch"

    def judge(self, last_s: int | None, period_s: int, gateway: int | None) -> Verdict:
        """§6.1 for one mobile device, with its reason (the at-risk list's column)."""
        if last_s is None:
            return Verdict("lost", None, "never synchronized: it holds no certificate "
                           "(reinstall the agent)")
        state, why, fc, fc_why, deadline = self.base(self.timeline.era_at(last_s), gateway)
        if fc == "timing":
            fc, fc_why = self.timing(last_s, period_s, deadline)
        return Verdict(state, fc, why or fc_why)


# --- the whole fleet --------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetCounts:
    """The §6.1 counts of the mobile devices (DESIGN §9 ``fleet``)."""

    devices: int
    connected: int
    blocked: int
    lost: int
    delivered: int
    expected: int
    at_risk: int


@dataclass(frozen=True)
class FleetReading:
    """§6.1 for every device at one instant, column by column (None for hosts)."""

    situation: Situation
    connection: tuple[Connection | None, ...]
    forecast: tuple[ForecastState | None, ...]
    counts: FleetCounts
    #: Per gateway host: its devices blocked now.
    blocked_now: Mapping[str, int]
    #: Per gateway host: delivered devices it will block at the cut-over (14.2).
    blocked_at_cutover: Mapping[str, int]


def read_fleet(
    situation: Situation,
    devices: Iterable[tuple[int | None, int, int | None, bool]],
) -> FleetReading:
    """§6.1 for every device: ``(last_s, period_s, gateway_index, mobile)`` tuples.

    The verdicts are those of :meth:`Situation.judge`; the part that depends only on the
    era of the last synchronization and the gateway is worked out once per pair, so
    100 000 devices cost one pass (a test holds the two to the same result).
    """
    timeline = situation.timeline
    eras = timeline.eras
    starts = [e.start_s for e in eras]
    bisect_right = bisect.bisect_right
    cache: dict[tuple[int, int | None], _Base] = {}
    connection: list[Connection | None] = []
    forecast: list[ForecastState | None] = []
    add_c, add_f = connection.append, forecast.append
    tally = {"connected": 0, "blocked": 0, "lost": 0, "delivered": 0, "expected": 0,
             "at-risk": 0, "mobile": 0}
    blocked_now: dict[str, int] = {}
    blocked_later: dict[str, int] = {}
    at_s, stale_periods = situation.at_s, STALE_PERIODS
    for last_s, period_s, gateway, mobile in devices:
        if not mobile:
            add_c(None)
            add_f(None)
            continue
        tally["mobile"] += 1
        if last_s is None:
            add_c("lost")
            add_f(None)
            tally["lost"] += 1
            continue
        era = bisect_right(starts, last_s) - 1  # Timeline.era_index, inline
        key = (era if era > 0 else 0, gateway)
        base = cache.get(key)
        if base is None:
            base = cache[key] = situation.base(eras[key[0]], gateway)
        state, _why, fc, fc_why, deadline = base
        if fc == "timing":
            # Situation.timing without its reason text (a test holds the two equal).
            elapsed = at_s - last_s
            if elapsed > stale_periods * period_s:
                fc = "at-risk"
            else:
                k = -(-elapsed // period_s)
                fc = "at-risk" if last_s + (k if k > 1 else 1) * period_s > deadline \
                    else "expected"
        add_c(state)
        add_f(fc)
        tally[state] += 1
        if fc is not None:
            tally[fc] += 1
        if gateway is not None:
            if state == "blocked":
                host = situation.gateways[gateway].host
                blocked_now[host] = blocked_now.get(host, 0) + 1
            elif fc == "delivered" and fc_why != "holds the reserve certificate":
                host = situation.gateways[gateway].host
                blocked_later[host] = blocked_later.get(host, 0) + 1
    counts = FleetCounts(
        devices=tally["mobile"], connected=tally["connected"], blocked=tally["blocked"],
        lost=tally["lost"], delivered=tally["delivered"], expected=tally["expected"],
        at_risk=tally["at-risk"],
    )
    return FleetReading(situation, tuple(connection), tuple(forecast), counts,
                        blocked_now, blocked_later)


# --- the simulation ---------------------------------------------------------------------------


def last_sync_after(
    timeline: Timeline,
    gateway: GatewayScope | None,
    last_s: int | None,
    period_s: int,
    start_s: int,
    end_s: int,
) -> int | None:
    """A device's last successful synchronization in ``(start, end]``, or None.

    It synchronizes at ``last + k * period`` as long as it connects at that instant:
    blocked and lost devices do not synchronize (DESIGN §6.1). Between two change points
    of the timeline nothing it holds or trusts changes, so the walk jumps from one
    change point to the next instead of visiting every period.
    """
    if last_s is None:
        return None
    points = [p for p in timeline.change_points() if p > start_s]
    cur = last_s
    synced: int | None = None
    s = next_sync_s(cur, period_s, start_s)
    index = 0
    while s <= end_s:
        if connection_at(timeline, gateway, timeline.era_at(cur), s)[0] != "connected":
            break
        while index < len(points) and points[index] <= s:
            index += 1
        limit = end_s if index == len(points) else min(end_s, points[index] - 1)
        # Every synchronization up to the next change point connects as this one did.
        cur = synced = s + (limit - s) // period_s * period_s
        s = cur + period_s
    return synced
