"""Groups, synchronization periods and the reserve delivery forecast (DESIGN §6)."""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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

#: How a list names each §6.1 state (model.connection).
STATE_TEXT: Mapping[str, str] = {
    "connected": "connected",
    "blocked": "blocked",
    "lost": "lost",
    "delivered": "delivered",
    "expected": "expected",
    "at-risk": "at risk",
}
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


def delivery_curve(
    delivery_s: Iterable[int | None], window: ReserveWindow, points: int = 120
) -> list[tuple[datetime, int]]:
    """Devices holding the reserve over time, from its creation to the switch.

    The count at each of ``points`` evenly spaced instants (both ends included).
    """
    start, end = window.created_s, window.switch_s
    points = max(2, points)
    instants = [start + (end - start) * i // (points - 1) for i in range(points)]
    # A count per instant from one pass (a plain loop, not a sort of 100 000 values: a
    # sort is one C call that keeps the GUI thread from the interpreter lock meanwhile).
    first_at = [0] * points  # devices whose delivery first counts at instant i
    span = max(1, end - start)
    for t in delivery_s:
        if t is None or t > end:
            continue
        i = 0 if t <= start else min(points - 1, (t - start) * (points - 1) // span)
        while instants[i] < t:
            i += 1
        while i > 0 and instants[i - 1] >= t:
            i -= 1
        first_at[i] += 1
    out: list[tuple[datetime, int]] = []
    held = 0
    for when, n in zip(instants, first_at, strict=True):
        held += n
        out.append((from_epoch(when), held))
    return out


# --- the simulation clock of training stores (DESIGN §6, §11) -------------------------------

#: About one device in forty stays offline during a simulation (switched off, lost, out
#: of coverage). Which ones is a pure function of the name, so a drill is repeatable.
OFFLINE_PER_MILLE = 25


def stays_offline(name: str) -> bool:
    return zlib.crc32(name.encode("utf-8")) % 1000 < OFFLINE_PER_MILLE
