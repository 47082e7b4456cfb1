"""Distribution points and connection gateways (DESIGN §7).

The store keeps, per distribution point, the certificate delivered to it when
it was connected as a connection gateway (``held_cert_id``). What a gateway
holds *at an instant* follows :mod:`kscert_gui.model.gateways`: in 14.2 it is
that stored certificate until the gateway is reconnected; later versions deliver
every new main certificate automatically.

Every change is one store transaction with its audit entries; a reconnect writes
one entry per step of the seed (remove, add, tick Connection gateway).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from kscert_gui.model import gateways as rules
from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.clock import parse_instant
from kscert_gui.model.errors import (
    ConfirmationRequiredError,
    NotFoundError,
    RefusedError,
    ValidationError,
)
from kscert_gui.model.fleet import HOST_PLATFORMS, group_path
from kscert_gui.model.schedule import EffectiveState
from kscert_gui.services.base import Part, state_of
from kscert_gui.services.fleet_service import lookup_group
from kscert_gui.services.store.certificates import row_info
from kscert_gui.services.views import DistributionPointView, HeldCertificate, HostDevice, ScopeGroup

if TYPE_CHECKING:
    from kscert_gui.services.store import DeviceRef, PointRow

#: Group reference accepted by the facade: an id (GUI pickers) or a name / path (CLI).
GroupRef = int | str


class DistributionPoints(Part):
    """Distribution points and connection gateways (``server.points``, DESIGN §7)."""

    # --- reads ----------------------------------------------------------------------------

    def distribution_points(self, at: datetime | None = None) -> tuple[DistributionPointView, ...]:
        """Every distribution point by host name, with what each gateway holds at ``at``."""
        when = at if at is not None else self.now()
        rows = self.store.distribution_points.all()
        return self._point_views(rows, when)

    def distribution_point(self, device: str) -> DistributionPointView:
        """The distribution point ``device`` (NotFoundError when it is not one)."""
        row = self._point_row(None, self._device(None, device)[0])
        if row is None:
            raise NotFoundError(f"{device} is not a distribution point.")
        return self._point_views([row], self.now())[0]

    def gateways(self, at: datetime | None = None) -> tuple[DistributionPointView, ...]:
        """The distribution points that act as connection gateways."""
        return tuple(p for p in self.distribution_points(at) if p.gateway)

    def scope_groups(self) -> tuple[ScopeGroup, ...]:
        """Every group with its path, parents before children, names in order."""
        groups = self.store.groups.all()
        return tuple(
            sorted(
                (ScopeGroup(g.id, g.name, g.parent_id, group_path(groups, g.id))
                 for g in groups.values()),
                key=lambda g: g.path.lower(),
            )
        )

    def distribution_point_candidates(self) -> tuple[HostDevice, ...]:
        """The hosts (Windows, Linux, macOS) that can act as distribution points."""
        return tuple(
            HostDevice(r.id, r.name, r.group_id, r.platform, r.is_distribution_point)
            for r in self.store.distribution_points.candidates(HOST_PLATFORMS)
        )

    # --- changes --------------------------------------------------------------------------

    def add_distribution_point(
        self,
        device: str,
        scope: GroupRef,
        *,
        gateway: bool = False,
        agent_port: int = rules.DEFAULT_AGENT_PORT,
        mobile_port: int = rules.DEFAULT_MOBILE_PORT,
    ) -> DistributionPointView:
        """Add distribution point: the device, its scope group, and optionally the
        Connection gateway check box with its ports (then it receives the main certificate).
        """
        self.store.require_writable()
        rules.check_ports(agent_port, mobile_port)
        at = self.now()
        with self.store.transaction() as conn:
            eff = self._observe(conn, at)
            device_id, name, platform = self._device(conn, device)
            rules.check_host_platform(name, platform)
            scope_id = self._group(conn, scope)
            if self._point_row(conn, device_id) is not None:
                raise RefusedError(f"{name} is already a distribution point.")
            self._insert_point(conn, at, device_id, name, scope_id, agent_port, mobile_port,
                               reason="add")
            if gateway:
                self._connect(conn, at, device_id, name, agent_port, mobile_port, eff.main_id,
                              reason="add")
            row = self._point_row(conn, device_id)
        assert row is not None
        return self._point_views([row], at)[0]

    def add_gateway(
        self,
        device: str,
        scope: GroupRef,
        *,
        agent_port: int = rules.DEFAULT_AGENT_PORT,
        mobile_port: int = rules.DEFAULT_MOBILE_PORT,
    ) -> DistributionPointView:
        """A distribution point with the Connection gateway check box on (``gateways add``)."""
        return self.add_distribution_point(
            device, scope, gateway=True, agent_port=agent_port, mobile_port=mobile_port
        )

    def remove_distribution_point(
        self, device: str, *, confirmed: bool = False
    ) -> DistributionPointView:
        """Disable ``device`` as a distribution point; it leaves the list. Needs confirmation."""
        self.store.require_writable()
        at = self.now()
        with self.store.transaction() as conn:
            self._observe(conn, at)
            device_id, name, _platform = self._device(conn, device)
            row = self._point_row(conn, device_id)
            if row is None:
                raise NotFoundError(f"{name} is not a distribution point.")
            if not confirmed:
                what = "connection gateway and distribution point" if row.gateway else (
                    "distribution point")
                raise ConfirmationRequiredError(
                    f"Removing {name} disables it as a {what}; mobile devices that connect "
                    "through it lose that path until it is added again. Confirm to go on "
                    "(on the command line: --yes)."
                )
            view = self._point_views([row], at)[0]
            self._delete_point(conn, at, row, reason="remove")
        return view

    def set_connection_gateway(
        self,
        device: str,
        *,
        enabled: bool,
        agent_port: int = rules.DEFAULT_AGENT_PORT,
        mobile_port: int = rules.DEFAULT_MOBILE_PORT,
    ) -> DistributionPointView:
        """Host Properties → Connection gateway: the check box and the two ports.

        Turning the check box on connects the gateway, which receives the main
        certificate in effect now; changing only the ports of a connected gateway keeps
        the certificate it holds; turning it off disconnects it.
        """
        self.store.require_writable()
        rules.check_ports(agent_port, mobile_port)
        at = self.now()
        points = self.store.distribution_points
        with self.store.transaction() as conn:
            eff = self._observe(conn, at)
            device_id, name, _platform = self._device(conn, device)
            row = self._point_row(conn, device_id)
            if row is None:
                raise NotFoundError(
                    f"{name} is not a distribution point; add it as one first."
                )
            if enabled and not row.gateway:
                self._connect(conn, at, device_id, name, agent_port, mobile_port, eff.main_id,
                              reason="properties")
            elif enabled and (row.agent_port, row.mobile_port) != (agent_port, mobile_port):
                points.set_ports(conn, device_id, agent_port, mobile_port)
                self.store.audit(conn, at, "gateway-ports-changed", {
                    "device": name,
                    "agent_port": agent_port,
                    "mobile_port": mobile_port,
                    "previous_agent_port": row.agent_port,
                    "previous_mobile_port": row.mobile_port,
                })
            elif not enabled and row.gateway:
                points.disconnect(conn, device_id, agent_port, mobile_port)
                self.store.audit(conn, at, "gateway-disconnected", {
                    "device": name, "held_certificate_id": row.held_cert_id,
                })
            elif not enabled:
                points.set_ports(conn, device_id, agent_port, mobile_port)
            new_row = self._point_row(conn, device_id)
        assert new_row is not None
        return self._point_views([new_row], at)[0]

    def reconnect_gateway(self, device: str) -> DistributionPointView:
        """The seed's reconnect: remove the distribution point, add it again with the same
        scope, tick Connection gateway with the same ports. The gateway then holds the
        main certificate in effect now. One transaction, one audit entry per step.
        """
        self.store.require_writable()
        at = self.now()
        with self.store.transaction() as conn:
            eff = self._observe(conn, at)
            device_id, name, _platform = self._device(conn, device)
            row = self._point_row(conn, device_id)
            if row is None or not row.gateway:
                raise NotFoundError(f"{name} is not a connection gateway.")
            if eff.main_id is None:
                raise RefusedError(
                    "There is no main certificate to deliver: specify one first (reissue it "
                    "or install another certificate)."
                )
            self._delete_point(conn, at, row, reason="reconnect")
            self._insert_point(conn, at, device_id, name, row.scope_group_id, row.agent_port,
                               row.mobile_port, reason="reconnect")
            self._connect(conn, at, device_id, name, row.agent_port, row.mobile_port,
                          eff.main_id, reason="reconnect")
            new_row = self._point_row(conn, device_id)
        assert new_row is not None
        return self._point_views([new_row], at)[0]

    def set_server_version(self, version: str) -> str:
        """Set the server version ("14.2" or "15"); return the previous one.

        In a later version gateways follow the main certificate automatically; so
        leaving or entering it records, for each gateway that holds a certificate, the
        main certificate it holds at this instant (a version change never makes a
        gateway stale or current after the fact).
        """
        self.store.require_writable()
        value = rules.check_server_version(version)
        at = self.now()
        with self.store.transaction() as conn:
            eff = self._observe(conn, at)
            previous = self.core.server_version()
            if value == previous:
                return previous
            delivered: list[str] = []
            automatic = rules.delivers_automatically(previous) or rules.delivers_automatically(
                value
            )
            if automatic and eff.main_id is not None:
                points = self.store.distribution_points
                delivered = points.gateways_holding_a_certificate(conn)
                points.deliver_to_gateways_holding_one(conn, eff.main_id)
            self.store.set_meta(conn, "server_version", value)
            self.store.audit(conn, at, "server-version-set", {
                "version": value,
                "previous_version": previous,
                "gateways_holding_main": delivered,
                "main_certificate_id": eff.main_id,
            })
        return previous

    # --- steps (inside the caller's transaction) ------------------------------------------

    def _insert_point(
        self,
        conn: sqlite3.Connection,
        at: datetime,
        device_id: int,
        name: str,
        scope_id: int,
        agent_port: int,
        mobile_port: int,
        *,
        reason: str,
    ) -> None:
        self.store.distribution_points.add(conn, device_id, scope_id, agent_port, mobile_port)
        self.store.audit(conn, at, "distribution-point-added", {
            "device": name,
            "scope": group_path(self.store.groups.all(conn), scope_id),
            "reason": reason,
        })

    def _connect(
        self,
        conn: sqlite3.Connection,
        at: datetime,
        device_id: int,
        name: str,
        agent_port: int,
        mobile_port: int,
        main_id: int | None,
        *,
        reason: str,
    ) -> None:
        """Tick Connection gateway: the gateway receives the main certificate in effect now."""
        self.store.distribution_points.connect(
            conn, device_id, agent_port, mobile_port, main_id, at
        )
        sha = None
        if main_id is not None:
            sha = self.store.certificates.sha256_of(main_id, conn)
        self.store.audit(conn, at, "gateway-connected", {
            "device": name,
            "agent_port": agent_port,
            "mobile_port": mobile_port,
            "certificate_id": main_id,
            "sha256": sha,
            "reason": reason,
        })

    def _delete_point(
        self, conn: sqlite3.Connection, at: datetime, row: PointRow, *, reason: str
    ) -> None:
        self.store.distribution_points.remove(conn, row.device_id)
        self.store.audit(conn, at, "distribution-point-removed", {
            "device": row.host,
            "scope": group_path(self.store.groups.all(conn), row.scope_group_id),
            "was_gateway": row.gateway,
            "agent_port": row.agent_port,
            "mobile_port": row.mobile_port,
            "held_certificate_id": row.held_cert_id,
            "reason": reason,
        })

    # --- helpers --------------------------------------------------------------------------

    def _observe(self, conn: sqlite3.Connection, at: datetime) -> EffectiveState:
        """The effective state now; a switch seen for the first time is recorded first."""
        return self.core.observe(conn, at)[1]

    def _main_at(self, at: datetime) -> int | None:
        rows = self.store.list_certificates()
        return state_of(rows, at).main_id

    def _device(self, conn: sqlite3.Connection | None, device: str) -> DeviceRef:
        """The device ``device`` names (exactly, else in any case); NotFoundError if none."""
        found = self.store.devices.find(device.strip(), conn)
        if found is None:
            raise NotFoundError(f"There is no device '{device}' under Managed devices.")
        return found

    def _point_row(self, conn: sqlite3.Connection | None, device_id: int) -> PointRow | None:
        return self.store.distribution_points.get(device_id, conn)

    def _group(self, conn: sqlite3.Connection, ref: GroupRef) -> int:
        """A group by id, by path ("Managed devices/Head office") or by unique name."""
        groups = self.store.groups.all(conn)
        if isinstance(ref, int):
            if ref not in groups:
                raise NotFoundError(f"There is no group {ref}.")
            return ref
        if not ref.strip().strip("/"):
            raise ValidationError("Give the distribution point scope (a group).")
        return lookup_group(groups, ref).id

    def _point_views(
        self, rows: Sequence[PointRow], at: datetime
    ) -> tuple[DistributionPointView, ...]:
        version = self.core.server_version()
        main_id = self._main_at(at)
        groups = self.store.groups.all()
        held_ids = {
            rules.held_certificate(version, r.held_cert_id, main_id) for r in rows if r.gateway
        }
        infos = self._infos({i for i in held_ids if i is not None} | (
            {main_id} if main_id is not None else set()))
        main_sha = infos[main_id].sha256 if main_id is not None and main_id in infos else None
        views: list[DistributionPointView] = []
        for r in rows:
            held_id = rules.held_certificate(version, r.held_cert_id, main_id) if r.gateway \
                else None
            views.append(
                DistributionPointView(
                    device_id=r.device_id,
                    host=r.host,
                    platform=r.platform,
                    group=group_path(groups, r.device_group_id),
                    scope_group_id=r.scope_group_id,
                    scope=group_path(groups, r.scope_group_id),
                    gateway=r.gateway,
                    agent_port=r.agent_port,
                    mobile_port=r.mobile_port,
                    held=(HeldCertificate(held_id, infos[held_id])
                          if held_id is not None and held_id in infos else None),
                    main_sha256=main_sha,
                    connected_at=parse_instant(r.connected_at) if r.connected_at else None,
                    at=at,
                )
            )
        return tuple(views)

    def _infos(self, ids: set[int]) -> dict[int, CertificateInfo]:
        out: dict[int, CertificateInfo] = {}
        for cert_id in sorted(ids):
            row = self.store.get_certificate(cert_id)
            if row is not None:
                out[cert_id] = row_info(row)[0]
        return out

