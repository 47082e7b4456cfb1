"""One immutable reading of everything a console window shows (STYLE "Composition").

After every change, on F5 and on the periodic refresh, the GUI reads one
:class:`Snapshot` in a worker and hands it to every open view: the status bar and
summary, Properties → Certificates, Managed devices, the delivery and at-risk window
and Distribution points. Each view renders it; none reads the store itself, so they
cannot disagree, and the GUI thread never waits on the store.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import (
    DeviceTable,
    DistributionPointView,
    ScopeGroup,
    ServerStatus,
    TermContext,
)


@dataclass(frozen=True)
class GroupCounts:
    """§6.1 counts of the mobile devices of one group and its subgroups."""

    devices: int = 0
    connected: int = 0
    blocked: int = 0
    lost: int = 0
    at_risk: int = 0
    delivered: int = 0
    expected: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The certificates, the §6.1 reading of every device, the gateways, the warnings."""

    status: ServerStatus
    devices: DeviceTable
    points: tuple[DistributionPointView, ...]
    groups: tuple[ScopeGroup, ...]
    #: What the Reissue certificate and Certificate windows validate against.
    term: TermContext
    #: Worked out here, in the worker, so that no view walks 100 000 devices on the GUI
    #: thread: device rows in name order (any case), the delivery curve, and the counts
    #: of every group with its subgroups.
    name_order: tuple[int, ...] = ()
    curve: tuple[tuple[datetime, int], ...] = ()
    group_counts: Mapping[int, GroupCounts] | None = None
    #: The rows at risk and lost, in name order (the delivery window shows them without a
    #: pass over every device on the GUI thread).
    state_order: Mapping[str, tuple[int, ...]] | None = None

    @property
    def at(self) -> datetime:
        return self.status.at


def read_snapshot(server: AdministrationServer) -> Snapshot:
    """Read everything once, at one instant (call it from a worker)."""
    devices = server.fleet.device_table()
    status = server.status(table=devices)
    keys = [name.casefold() for name in devices.names]
    order = name_order(keys)
    return Snapshot(
        status=status,
        devices=devices,
        points=server.points.distribution_points(devices.at),
        groups=server.points.scope_groups(),
        term=server.term_context(table=devices),
        name_order=order,
        state_order=state_order(devices, order),
        curve=tuple(devices.curve()),
        group_counts=group_counts(devices),
    )


def name_order(keys: list[str]) -> tuple[int, ...]:
    """Row numbers in the order of ``keys``. The store lists devices by name already, which
    is usually this order too: then no sort runs (a sort of 100 000 keys is one C call
    that keeps the GUI thread from the interpreter lock for ~30 ms)."""
    if all(a <= b for a, b in itertools.pairwise(keys)):
        return tuple(range(len(keys)))
    return tuple(sorted(range(len(keys)), key=keys.__getitem__))


def state_order(table: DeviceTable, order: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """The rows at risk and the rows lost, in ``order``: what the delivery window shows on
    every refresh (other state filters are a person's choice, worked out when chosen)."""
    forecast, connection = table.reading.forecast, table.reading.connection
    return {
        "at-risk": tuple([i for i in order if forecast[i] == "at-risk"]),
        "lost": tuple([i for i in order if connection[i] == "lost"]),
    }


def group_counts(table: DeviceTable) -> dict[int, GroupCounts]:
    """Each group's §6.1 counts, its subgroups' devices included."""
    width = len(fields(GroupCounts))
    own: dict[int, list[int]] = {gid: [0] * width for gid in table.groups}
    index = {"connected": 1, "blocked": 2, "lost": 3}
    outlook = {"at-risk": 4, "delivered": 5, "expected": 6}
    forecast = table.reading.forecast
    for row, (gid, conn) in enumerate(zip(table.group_ids, table.reading.connection,
                                          strict=True)):
        if conn is None:
            continue
        counts = own[gid]
        counts[0] += 1
        counts[index[conn]] += 1
        state = forecast[row]
        if state is not None:
            counts[outlook[state]] += 1
    total: dict[int, list[int]] = {gid: [0] * width for gid in table.groups}
    for gid, counts in own.items():
        seen: set[int] = set()
        current: int | None = gid
        while current is not None and current not in seen and current in total:
            seen.add(current)
            total[current] = [a + b for a, b in zip(total[current], counts, strict=True)]
            current = table.groups[current].parent_id
    return {gid: GroupCounts(*c) for gid, c in total.items()}
