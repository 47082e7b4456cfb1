"""The GUI's handle on one Administration Server (a thin adapter over the facade).

Widgets call the facade only through this class. It adds what the GUI needs on
top of :class:`AdministrationServer`:

- nothing about threads: the store serializes its own connection (one statement
  or transaction at a time), and holding a lock here for a whole call would make
  the GUI thread wait for a background key generation;
- the fallback of DESIGN §10 when the keyring is unusable: the person gives the
  store passphrase, which is then kept in memory only;
- the few read helpers the facade does not offer yet (marked "facade request").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services.secrets import MemorySecretStore, SecretStore
from kscert_gui.services.server import AdministrationServer, ExportFormat, Which
from kscert_gui.services.views import (
    CertView,
    DeviceImportReport,
    DeviceTable,
    DeviceView,
    DistributionPointView,
    GroupSettings,
    HostDevice,
    ImportCheck,
    ImportRequest,
    ReissuePlan,
    ReissueRequest,
    ScopeGroup,
    ServerStatus,
    SimulationReport,
)

T = TypeVar("T")


@dataclass(frozen=True)
class GroupNode:
    """A group under "Managed devices", for the console tree."""

    id: int
    name: str
    parent_id: int | None
    sync_hours: float | None


def as_console(target: Console | AdministrationServer) -> Console:
    """Dialogs accept the facade itself or the GUI's Console around it."""
    return target if isinstance(target, Console) else Console(target)


class Console:
    """Serialized access to the facade plus the GUI-side helpers."""

    def __init__(self, server: AdministrationServer, *, read_only_reason: str | None = None):
        self.server = server
        self.read_only_reason = read_only_reason
        self._prompted = False
        self._closed = False

    # --- plumbing -------------------------------------------------------------------------

    def call(self, fn: Callable[[AdministrationServer], T]) -> T:
        """Run ``fn(server)`` (from any thread: see the module docstring)."""
        return fn(self.server)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.server.close()

    @property
    def name(self) -> str:
        return self.call(lambda s: s.name)

    @property
    def read_only(self) -> bool:
        return self.server.read_only

    @property
    def secrets(self) -> SecretStore:
        return self.server.secrets

    # --- secrets fallback -----------------------------------------------------------------

    @staticmethod
    def wants_passphrase(err: BaseException) -> bool:
        """True when ``err`` means the store passphrase is unavailable (keyring unusable)."""
        return isinstance(err, SecretStoreError)

    @property
    def passphrase_prompted(self) -> bool:
        return self._prompted

    def use_passphrase(self, passphrase: bytes) -> None:
        """Keep the store passphrase the person typed, in memory only (never on disk).

        It is checked where it is used (off the GUI thread): the facade refuses a
        passphrase that does not open the store's keys, and the prompt comes back.
        """
        memory = MemorySecretStore()
        memory.set_passphrase(self.server.store.store_id, passphrase)
        self.server.secrets = memory
        self._prompted = True

    # --- reads ----------------------------------------------------------------------------

    def status(self, at: datetime | None = None) -> ServerStatus:
        return self.call(lambda s: s.status(at))

    def plan_reissue(self, request: ReissueRequest) -> ReissuePlan:
        return self.call(lambda s: s.plan_reissue(request))

    def check_import(self, request: ImportRequest) -> ImportCheck:
        return self.call(lambda s: s.check_import(request))

    def certificate_view(self, which: Which) -> CertView:
        return self.call(lambda s: s.certificate_view(which))

    def certificate_der(self, which: Which) -> bytes:
        return self.call(lambda s: s.export(which, "der"))

    def private_key_available(self, which: Which) -> bool:
        return self.call(lambda s: s.private_key_available(which))

    def groups(self) -> list[GroupNode]:
        """Every group, parents before children, by name."""

        def read(s: AdministrationServer) -> list[GroupNode]:
            return [
                GroupNode(g.id, g.name, g.parent_id, g.sync_hours) for g in s.groups().values()
            ]

        return sorted(self.call(read), key=lambda g: (g.parent_id or 0, g.name.lower()))

    @property
    def training(self) -> bool:
        return self.call(lambda s: s.training)

    def now(self) -> datetime:
        return self.call(lambda s: s.now())

    def device_table(self, at: datetime | None = None) -> DeviceTable:
        """Every device with its forecast (slow for big fleets: call from run_in_background)."""
        return self.call(lambda s: s.device_table(at))

    def group_settings(self, group_id: int | None = None) -> list[GroupSettings]:
        return self.call(lambda s: s.group_settings(group_id))

    # --- changes (call these from run_in_background) -------------------------------------

    def reissue(self, request: ReissueRequest) -> CertView:
        return self.call(lambda s: s.reissue(request, confirmed=True))

    def import_certificate(self, request: ImportRequest) -> CertView:
        return self.call(
            lambda s: s.import_certificate(request, confirmed=True, acknowledge_warnings=True)
        )

    def set_group_sync(self, group_id: int, hours: float | None) -> GroupSettings:
        return self.call(lambda s: s.set_group_sync(group_id, hours))

    def add_device(self, name: str, group: str, platform: str) -> DeviceView:
        return self.call(lambda s: s.add_device(name, group, platform))

    def import_devices(self, path: Path, *, skip_bad_rows: bool) -> DeviceImportReport:
        return self.call(lambda s: s.import_devices(path, skip_bad_rows=skip_bad_rows))

    def simulate_advance(self, delta: timedelta) -> SimulationReport:
        return self.call(lambda s: s.simulate_advance(delta))

    def cancel_reserve(self) -> CertView:
        return self.call(lambda s: s.cancel_reserve())

    def export(
        self, which: Which, fmt: ExportFormat, *, password: bytes | None, legacy: bool
    ) -> bytes:
        return self.call(lambda s: s.export(which, fmt, password=password, legacy=legacy))

    # --- distribution points and connection gateways (DESIGN §7) --------------------------

    def distribution_points(self) -> tuple[DistributionPointView, ...]:
        return self.call(lambda s: s.distribution_points())

    def scope_groups(self) -> tuple[ScopeGroup, ...]:
        return self.call(lambda s: s.scope_groups())

    def distribution_point_candidates(self) -> tuple[HostDevice, ...]:
        return self.call(lambda s: s.distribution_point_candidates())

    def add_distribution_point(self, device: str, scope_group_id: int) -> DistributionPointView:
        return self.call(lambda s: s.add_distribution_point(device, scope_group_id))

    def remove_distribution_point(self, device: str) -> DistributionPointView:
        """Remove (the GUI has asked for the confirmation before calling this)."""
        return self.call(lambda s: s.remove_distribution_point(device, confirmed=True))

    def set_connection_gateway(
        self, device: str, *, enabled: bool, agent_port: int, mobile_port: int
    ) -> DistributionPointView:
        return self.call(
            lambda s: s.set_connection_gateway(
                device, enabled=enabled, agent_port=agent_port, mobile_port=mobile_port
            )
        )

    def reconnect_gateway(self, device: str) -> DistributionPointView:
        return self.call(lambda s: s.reconnect_gateway(device))
