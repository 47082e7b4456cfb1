"""Groups, synchronization periods and the reserve delivery forecast (DESIGN §6)."""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.errors import ValidationError
from kscert_gui.model.schedule import SyncPeriod

DEFAULT_SYNC_HOURS = 6.0
MOBILE_PLATFORMS = ("Android", "iOS")
HOST_PLATFORMS = ("Windows", "Linux", "macOS")
PLATFORMS = MOBILE_PLATFORMS + HOST_PLATFORMS


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    parent_id: int | None
    sync_hours: float | None  # None: inherited from the parent (root: DEFAULT_SYNC_HOURS)


def group_path(groups: Mapping[int, Group], group_id: int) -> str:
    """'Managed devices/Phones/Sales' style path of a group."""
    names: list[str] = []
    seen: set[int] = set()
    current: int | None = group_id
    while current is not None and current not in seen:
        seen.add(current)
        g = groups[current]
        names.append(g.name)
        current = g.parent_id
    return "/".join(reversed(names))


def effective_sync_hours(groups: Mapping[int, Group], group_id: int) -> float:
    """The group's own period, else the nearest ancestor's, else the default."""
    seen: set[int] = set()
    current: int | None = group_id
    while current is not None and current not in seen:
        seen.add(current)
        g = groups[current]
        if g.sync_hours is not None:
            return g.sync_hours
        current = g.parent_id
    return DEFAULT_SYNC_HOURS


def longest_sync_period(
    groups: Mapping[int, Group], groups_with_devices: Iterable[int]
) -> SyncPeriod:
    """The longest effective period among the groups that hold devices (DESIGN §5).

    With no devices at all, the default period applies and no group is named.
    """
    best: SyncPeriod | None = None
    for gid in sorted(set(groups_with_devices)):
        hours = effective_sync_hours(groups, gid)
        if best is None or timedelta(hours=hours) > best.period:
            best = SyncPeriod(timedelta(hours=hours), group_path(groups, gid))
    return best or SyncPeriod(timedelta(hours=DEFAULT_SYNC_HOURS), None)


# --- the reserve delivery forecast (DESIGN §6) ---------------------------------------------
#
# Times inside the forecast are whole seconds since the epoch (ints): the forecast runs
# over every device of a fleet (100 000 of them) and datetime arithmetic per device would
# cost more than the whole budget. The public helpers below convert at the edges.

DeviceState = Literal["delivered", "expected", "at-risk", "lost"]
DEVICE_STATES: tuple[DeviceState, ...] = ("delivered", "expected", "at-risk", "lost")
STATE_TEXT: Mapping[str, str] = {
    "delivered": "delivered",
    "expected": "expected",
    "at-risk": "at risk",
    "lost": "lost",
}
#: A device not seen for more than this many periods is at risk (DESIGN §6).
STALE_PERIODS = 3
MIN_SYNC_HOURS = 1 / 60
MAX_SYNC_HOURS = 720.0


def is_mobile(platform: str) -> bool:
    return platform in MOBILE_PLATFORMS


def canonical_platform(text: str) -> str | None:
    """The platform spelt as the product spells it ('ios' → 'iOS'), or None if unknown."""
    wanted = text.strip().casefold()
    for name in PLATFORMS:
        if name.casefold() == wanted:
            return name
    return None


def check_sync_hours(hours: float) -> float:
    """A synchronization period in hours, or ValidationError saying what is allowed.

    Periods are kept to whole seconds; more than 30 days would mean a device may go a
    whole recommended activation term without a single synchronization.
    """
    if not math.isfinite(hours) or not MIN_SYNC_HOURS <= hours <= MAX_SYNC_HOURS:
        raise ValidationError(
            f"The synchronization period must be from 1 minute to {MAX_SYNC_HOURS:g} hours "
            f"(30 days); {hours:g} hours is not."
        )
    return round(hours * 3600) / 3600


def period_seconds(hours: float) -> int:
    return max(1, round(hours * 3600))


def epoch(value: datetime) -> int:
    return int(ensure_utc(value).timestamp())


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


@dataclass(frozen=True)
class ReserveWindow:
    """The delivery window of one reserve certificate: from its creation to its switch.

    ``switched``: the switch already happened at the instant the forecast is for (the
    reserve is now the main certificate; devices without it are lost).
    """

    certificate_id: int
    created_at: datetime
    switch_at: datetime

    @property
    def created_s(self) -> int:
        return epoch(self.created_at)

    @property
    def switch_s(self) -> int:
        return epoch(self.switch_at)


def next_sync_s(last_s: int, period_s: int, at_s: int) -> int:
    """The device's next scheduled synchronization after ``at`` (at least one period on)."""
    elapsed = at_s - last_s
    k = max(1, -(-elapsed // period_s))
    return last_s + k * period_s


def holds_s(received_s: int | None, last_s: int | None, created_s: int, switch_s: int,
            at_s: int) -> int | None:
    """When the device received the reserve (seconds), or None if it does not hold it.

    A device holds the reserve once it synchronized at or after the reserve was created
    and not after the switch time; ``received_s`` is its first recorded synchronization at
    or after the creation, ``last_s`` its latest one.
    """
    until = min(switch_s, at_s)
    best: int | None = None
    for t in (received_s, last_s):
        if t is not None and created_s <= t <= until and (best is None or t < best):
            best = t
    return best


def state_s(received_s: int | None, last_s: int | None, period_s: int, created_s: int,
            switch_s: int, at_s: int) -> DeviceState:
    """The forecast for one mobile device at ``at`` (all times in epoch seconds)."""
    if holds_s(received_s, last_s, created_s, switch_s, at_s) is not None:
        return "delivered"
    if at_s >= switch_s:
        return "lost"
    if last_s is None or at_s - last_s > STALE_PERIODS * period_s:
        return "at-risk"
    if next_sync_s(last_s, period_s, at_s) > switch_s:
        return "at-risk"
    return "expected"


def device_state(
    *,
    last_sync: datetime | None,
    period: timedelta,
    window: ReserveWindow,
    at: datetime,
    received_at: datetime | None = None,
) -> DeviceState:
    """DESIGN §6 for one device: ``delivered``, ``expected``, ``at-risk``, or ``lost``.

    Args:
        last_sync: the device's latest synchronization (None: never synchronized).
        period: its group's effective synchronization period.
        window: the reserve certificate's creation and switch time.
        at: the instant of the forecast.
        received_at: its first synchronization at or after the reserve was created, if
            that is not ``last_sync`` (kept by the store when later ones replace it).
    """
    return state_s(
        None if received_at is None else epoch(received_at),
        None if last_sync is None else epoch(last_sync),
        max(1, int(period.total_seconds())),
        window.created_s,
        window.switch_s,
        epoch(at),
    )


def risk_reason(last_sync: datetime | None, period: timedelta, window: ReserveWindow,
                at: datetime) -> str:
    """Why a device is at risk, in words for the at-risk list."""
    if last_sync is None:
        return "never synchronized"
    period_s = max(1, int(period.total_seconds()))
    last_s, at_s = epoch(last_sync), epoch(at)
    if at_s - last_s > STALE_PERIODS * period_s:
        days = (at_s - last_s) / 86400
        return (f"not seen for {days:.1f} days (more than {STALE_PERIODS} synchronization "
                "periods)")
    nxt = from_epoch(next_sync_s(last_s, period_s, at_s))
    return f"next synchronization expected at {nxt:%Y-%m-%d %H:%M:%S} UTC, after the switch"


@dataclass(frozen=True)
class Forecast:
    """The forecast for a whole fleet: one state per device (None for hosts)."""

    window: ReserveWindow
    at: datetime
    states: tuple[DeviceState | None, ...]
    #: When each device got (or, if expected, will get) the reserve; None otherwise.
    delivery_s: tuple[int | None, ...]
    counts: Mapping[str, int]

    @property
    def switched(self) -> bool:
        return self.at >= self.window.switch_at

    @property
    def devices(self) -> int:
        return sum(self.counts.values())

    @property
    def delivered(self) -> int:
        return self.counts["delivered"]


def forecast(
    devices: Iterable[tuple[int | None, int | None, int, bool]],
    window: ReserveWindow,
    at: datetime,
) -> Forecast:
    """The forecast for every device: ``(last_s, received_s, period_s, mobile)`` tuples.

    Hosts (``mobile`` False) get no state: they do not hold the mobile certificate. The
    verdicts are those of :func:`state_s`, written out inline: this runs over 100 000
    devices within the forecast's time budget (a test holds the two to the same result).
    """
    created_s, switch_s, at_s = window.created_s, window.switch_s, epoch(at)
    until = min(switch_s, at_s)
    switched = at_s >= switch_s
    states: list[DeviceState | None] = []
    when: list[int | None] = []
    add_state, add_when = states.append, when.append
    delivered = expected = at_risk = lost = 0
    for last_s, received_s, period_s, mobile in devices:
        if not mobile:
            add_state(None)
            add_when(None)
            continue
        held = received_s if received_s is not None and created_s <= received_s <= until \
            else None
        if last_s is not None and created_s <= last_s <= until and (
            held is None or last_s < held
        ):
            held = last_s
        if held is not None:
            delivered += 1
            add_state("delivered")
            add_when(held)
        elif switched:
            lost += 1
            add_state("lost")
            add_when(None)
        elif last_s is None or at_s - last_s > STALE_PERIODS * period_s:
            at_risk += 1
            add_state("at-risk")
            add_when(None)
        else:
            k = -(-(at_s - last_s) // period_s)
            upcoming = last_s + (k if k > 1 else 1) * period_s
            if upcoming > switch_s:
                at_risk += 1
                add_state("at-risk")
                add_when(None)
            else:
                expected += 1
                add_state("expected")
                add_when(upcoming)
    counts = {"delivered": delivered, "expected": expected, "at-risk": at_risk, "lost": lost}
    return Forecast(window, at, tuple(states), tuple(when), counts)


def delivery_curve(
    delivery_s: Iterable[int | None], window: ReserveWindow, points: int = 120
) -> list[tuple[datetime, int]]:
    """Devices holding the reserve over time, from its creation to the switch.

    The count at each of ``points`` evenly spaced instants (both ends included).
    """
    times = sorted(t for t in delivery_s if t is not None)
    start, end = window.created_s, window.switch_s
    points = max(2, points)
    out: list[tuple[datetime, int]] = []
    for i in range(points):
        t = start + (end - start) * i // (points - 1)
        out.append((from_epoch(t), bisect.bisect_right(times, t)))
    return out


# --- the simulation clock of training stores (DESIGN §6, §11) -------------------------------

#: About one device in forty stays offline during a simulation (switched off, lost, out
#: of coverage). Which ones is a pure function of the name, so a drill is repeatable.
OFFLINE_PER_MILLE = 25


def stays_offline(name: str) -> bool:
    return zlib.crc32(name.encode("utf-8")) % 1000 < OFFLINE_PER_MILLE


@dataclass(frozen=True)
class SimulatedSync:
    """What one device did during a simulated advance (epoch seconds)."""

    last_s: int | None  # its new last synchronization (unchanged if it did not sync)
    first_s: int | None  # its first synchronization in the advance, if any
    synced: bool


def simulate_device(
    last_s: int | None, period_s: int, start_s: int, end_s: int, *, offline: bool,
    cut_off_s: int | None = None,
) -> SimulatedSync:
    """Synchronize one device by its period from ``start`` (excluded) to ``end``.

    A device synchronizes at ``last + k * period``. It does not synchronize if it never
    did, if it was already stale at the start (not seen for more than three periods), if
    it is one of the devices that stay offline, or, after ``cut_off`` (the switch to a
    certificate it does not hold), ever again: its connection is lost.
    """
    if offline or last_s is None or start_s - last_s > STALE_PERIODS * period_s:
        return SimulatedSync(last_s, None, False)
    stop = end_s if cut_off_s is None else min(end_s, cut_off_s)
    first = next_sync_s(last_s, period_s, start_s)
    if first <= start_s:  # pragma: no cover - next_sync_s always moves past start
        first += period_s
    if first > stop:
        return SimulatedSync(last_s, None, False)
    last = first + (stop - first) // period_s * period_s
    return SimulatedSync(last, first, True)
