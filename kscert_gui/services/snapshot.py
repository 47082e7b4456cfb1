"""One immutable reading of everything a console window shows (STYLE "Composition").

After every change, on F5 and on the periodic refresh, the GUI reads one
:class:`Snapshot` in a worker and hands it to every open view: the status bar and
summary, Properties → Certificates, Managed devices, the delivery and at-risk window
and Distribution points. Each view renders it; none reads the store itself, so they
cannot disagree, and the GUI thread never waits on the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kscert_gui.services.fleet_service import DeviceTable
from kscert_gui.services.gateway_service import DistributionPointView, ScopeGroup
from kscert_gui.services.server import AdministrationServer, ServerStatus, TermContext


@dataclass(frozen=True)
class Snapshot:
    """The certificates, the §6.1 reading of every device, the gateways, the warnings."""

    status: ServerStatus
    devices: DeviceTable
    points: tuple[DistributionPointView, ...]
    groups: tuple[ScopeGroup, ...]
    #: What the Reissue certificate and Certificate windows validate against.
    term: TermContext

    @property
    def at(self) -> datetime:
        return self.status.at


def read_snapshot(server: AdministrationServer) -> Snapshot:
    """Read everything once, at one instant (call it from a worker)."""
    devices = server.device_table()
    status = server.status(table=devices)
    return Snapshot(
        status=status,
        devices=devices,
        points=server.distribution_points(devices.at),
        groups=server.scope_groups(),
        term=server.term_context(devices.at),
    )
