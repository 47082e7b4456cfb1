"""Groups, synchronization periods and the reserve delivery forecast (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

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
