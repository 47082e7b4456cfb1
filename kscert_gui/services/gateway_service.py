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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509

from kscert_gui.model import gateways as rules
from kscert_gui.model.certificate import CertificateInfo
from kscert_gui.model.clock import iso, parse_instant
from kscert_gui.model.errors import (
    ConfirmationRequiredError,
    NotFoundError,
    RefusedError,
    ValidationError,
)
from kscert_gui.model.fleet import HOST_PLATFORMS, Group, group_path
from kscert_gui.model.schedule import EffectiveState
from kscert_gui.services.base import ServerBase, state_of

if TYPE_CHECKING:
    from kscert_gui.services.store import CertificateRow

#: Group reference accepted by the facade: an id (GUI pickers) or a name / path (CLI).
GroupRef = int | str


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
class _PointRow:
    device_id: int
    host: str
    platform: str
    device_group_id: int
    scope_group_id: int
    gateway: bool
    agent_port: int
    mobile_port: int
    held_cert_id: int | None
    connected_at: str | None


_POINT_SQL = (
    "SELECT d.id, d.name, d.platform, d.group_id, dp.scope_group_id, dp.gateway, "
    "dp.agent_port, dp.mobile_port, dp.held_cert_id, dp.connected_at "
    "FROM distribution_points dp JOIN devices d ON d.id = dp.device_id"
)


def _point(row: Sequence[Any]) -> _PointRow:
    return _PointRow(
        device_id=int(row[0]),
        host=str(row[1]),
        platform=str(row[2]),
        device_group_id=int(row[3]),
        scope_group_id=int(row[4]),
        gateway=bool(row[5]),
        agent_port=int(row[6]),
        mobile_port=int(row[7]),
        held_cert_id=None if row[8] is None else int(row[8]),
        connected_at=None if row[9] is None else str(row[9]),
    )


class GatewayOps(ServerBase):
    """Facade methods for this feature; AdministrationServer inherits them."""

    if TYPE_CHECKING:
        # Provided by AdministrationServer (services/server.py).
        def _record_switches_in(
            self, conn: Any, rows: Sequence[CertificateRow], eff: EffectiveState
        ) -> None: ...

    # --- reads ----------------------------------------------------------------------------

    def distribution_points(self, at: datetime | None = None) -> tuple[DistributionPointView, ...]:
        """Every distribution point by host name, with what each gateway holds at ``at``."""
        when = at if at is not None else self.now()
        rows = [
            _point(r)
            for r in self.store.connection.execute(_POINT_SQL + " ORDER BY d.name").fetchall()
        ]
        return self._dp_point_views(rows, when)

    def distribution_point(self, device: str) -> DistributionPointView:
        """The distribution point ``device`` (NotFoundError when it is not one)."""
        conn = self.store.connection
        row = self._dp_point_row(conn, self._dp_device(conn, device)[0])
        if row is None:
            raise NotFoundError(f"{device} is not a distribution point.")
        return self._dp_point_views([row], self.now())[0]

    def gateways(self, at: datetime | None = None) -> tuple[DistributionPointView, ...]:
        """The distribution points that act as connection gateways."""
        return tuple(p for p in self.distribution_points(at) if p.gateway)

    def stale_gateways(self, at: datetime | None = None) -> tuple[DistributionPointView, ...]:
        return tuple(p for p in self.gateways(at) if p.stale)

    def scope_groups(self) -> tuple[ScopeGroup, ...]:
        """Every group with its path, parents before children, names in order."""
        groups = self._dp_group_map(self.store.connection)
        return tuple(
            sorted(
                (ScopeGroup(g.id, g.name, g.parent_id, group_path(groups, g.id))
                 for g in groups.values()),
                key=lambda g: g.path.lower(),
            )
        )

    def distribution_point_candidates(self) -> tuple[HostDevice, ...]:
        """The hosts (Windows, Linux, macOS) that can act as distribution points."""
        marks = ",".join("?" * len(HOST_PLATFORMS))
        rows = self.store.connection.execute(
            "SELECT d.id, d.name, d.group_id, d.platform, dp.device_id IS NOT NULL "
            "FROM devices d LEFT JOIN distribution_points dp ON dp.device_id = d.id "
            f"WHERE d.platform IN ({marks}) ORDER BY d.name",
            HOST_PLATFORMS,
        ).fetchall()
        return tuple(HostDevice(int(r[0]), str(r[1]), int(r[2]), str(r[3]), bool(r[4]))
                     for r in rows)

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
            eff = self._dp_observe(conn, at)
            device_id, name, platform = self._dp_device(conn, device)
            rules.check_host_platform(name, platform)
            scope_id = self._dp_group(conn, scope)
            if self._dp_point_row(conn, device_id) is not None:
                raise RefusedError(f"{name} is already a distribution point.")
            self._dp_insert_point(conn, at, device_id, name, scope_id, agent_port, mobile_port,
                               reason="add")
            if gateway:
                self._dp_connect(conn, at, device_id, name, agent_port, mobile_port, eff.main_id,
                              reason="add")
            row = self._dp_point_row(conn, device_id)
        assert row is not None
        return self._dp_point_views([row], at)[0]

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
            self._dp_observe(conn, at)
            device_id, name, _platform = self._dp_device(conn, device)
            row = self._dp_point_row(conn, device_id)
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
            view = self._dp_point_views([row], at)[0]
            self._dp_delete_point(conn, at, row, reason="remove")
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
        with self.store.transaction() as conn:
            eff = self._dp_observe(conn, at)
            device_id, name, _platform = self._dp_device(conn, device)
            row = self._dp_point_row(conn, device_id)
            if row is None:
                raise NotFoundError(
                    f"{name} is not a distribution point; add it as one first."
                )
            if enabled and not row.gateway:
                self._dp_connect(conn, at, device_id, name, agent_port, mobile_port, eff.main_id,
                              reason="properties")
            elif enabled and (row.agent_port, row.mobile_port) != (agent_port, mobile_port):
                conn.execute(
                    "UPDATE distribution_points SET agent_port = ?, mobile_port = ? "
                    "WHERE device_id = ?",
                    (agent_port, mobile_port, device_id),
                )
                self.store.audit(conn, at, "gateway-ports-changed", {
                    "device": name,
                    "agent_port": agent_port,
                    "mobile_port": mobile_port,
                    "previous_agent_port": row.agent_port,
                    "previous_mobile_port": row.mobile_port,
                })
            elif not enabled and row.gateway:
                conn.execute(
                    "UPDATE distribution_points SET gateway = 0, held_cert_id = NULL, "
                    "connected_at = NULL, agent_port = ?, mobile_port = ? WHERE device_id = ?",
                    (agent_port, mobile_port, device_id),
                )
                self.store.audit(conn, at, "gateway-disconnected", {
                    "device": name, "held_certificate_id": row.held_cert_id,
                })
            elif not enabled:
                conn.execute(
                    "UPDATE distribution_points SET agent_port = ?, mobile_port = ? "
                    "WHERE device_id = ?",
                    (agent_port, mobile_port, device_id),
                )
            new_row = self._dp_point_row(conn, device_id)
        assert new_row is not None
        return self._dp_point_views([new_row], at)[0]

    def reconnect_gateway(self, device: str) -> DistributionPointView:
        """The seed's reconnect: remove the distribution point, add it again with the same
        scope, tick Connection gateway with the same ports. The gateway then holds the
        main certificate in effect now. One transaction, one audit entry per step.
        """
        self.store.require_writable()
        at = self.now()
        with self.store.transaction() as conn:
            eff = self._dp_observe(conn, at)
            device_id, name, _platform = self._dp_device(conn, device)
            row = self._dp_point_row(conn, device_id)
            if row is None or not row.gateway:
                raise NotFoundError(f"{name} is not a connection gateway.")
            if eff.main_id is None:
                raise RefusedError(
                    "There is no main certificate to deliver: specify one first (reissue it "
                    "or install another certificate)."
                )
            self._dp_delete_point(conn, at, row, reason="reconnect")
            self._dp_insert_point(conn, at, device_id, name, row.scope_group_id, row.agent_port,
                               row.mobile_port, reason="reconnect")
            self._dp_connect(conn, at, device_id, name, row.agent_port, row.mobile_port,
                          eff.main_id, reason="reconnect")
            new_row = self._dp_point_row(conn, device_id)
        assert new_row is not None
        return self._dp_point_views([new_row], at)[0]

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
            eff = self._dp_observe(conn, at)
            previous = self.server_version()
            if value == previous:
                return previous
            delivered: list[str] = []
            automatic = rules.delivers_automatically(previous) or rules.delivers_automatically(
                value
            )
            if automatic and eff.main_id is not None:
                delivered = [
                    str(r[0])
                    for r in conn.execute(
                        "SELECT d.name FROM distribution_points dp JOIN devices d "
                        "ON d.id = dp.device_id WHERE dp.gateway = 1 "
                        "AND dp.held_cert_id IS NOT NULL ORDER BY d.name"
                    )
                ]
                conn.execute(
                    "UPDATE distribution_points SET held_cert_id = ? "
                    "WHERE gateway = 1 AND held_cert_id IS NOT NULL",
                    (eff.main_id,),
                )
            self.store.set_meta(conn, "server_version", value)
            self.store.audit(conn, at, "server-version-set", {
                "version": value,
                "previous_version": previous,
                "gateways_holding_main": delivered,
                "main_certificate_id": eff.main_id,
            })
        return previous

    # --- steps (inside the caller's transaction) ------------------------------------------

    def _dp_insert_point(
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
        conn.execute(
            "INSERT INTO distribution_points(device_id, scope_group_id, gateway, agent_port, "
            "mobile_port, held_cert_id, connected_at) VALUES (?, ?, 0, ?, ?, NULL, NULL)",
            (device_id, scope_id, agent_port, mobile_port),
        )
        self.store.audit(conn, at, "distribution-point-added", {
            "device": name,
            "scope": group_path(self._dp_group_map(conn), scope_id),
            "reason": reason,
        })

    def _dp_connect(
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
        conn.execute(
            "UPDATE distribution_points SET gateway = 1, agent_port = ?, mobile_port = ?, "
            "held_cert_id = ?, connected_at = ? WHERE device_id = ?",
            (agent_port, mobile_port, main_id, iso(at), device_id),
        )
        sha = None
        if main_id is not None:
            found = conn.execute(
                "SELECT sha256 FROM certificates WHERE id = ?", (main_id,)
            ).fetchone()
            sha = None if found is None else str(found[0])
        self.store.audit(conn, at, "gateway-connected", {
            "device": name,
            "agent_port": agent_port,
            "mobile_port": mobile_port,
            "certificate_id": main_id,
            "sha256": sha,
            "reason": reason,
        })

    def _dp_delete_point(
        self, conn: sqlite3.Connection, at: datetime, row: _PointRow, *, reason: str
    ) -> None:
        conn.execute("DELETE FROM distribution_points WHERE device_id = ?", (row.device_id,))
        self.store.audit(conn, at, "distribution-point-removed", {
            "device": row.host,
            "scope": group_path(self._dp_group_map(conn), row.scope_group_id),
            "was_gateway": row.gateway,
            "agent_port": row.agent_port,
            "mobile_port": row.mobile_port,
            "held_certificate_id": row.held_cert_id,
            "reason": reason,
        })

    # --- helpers --------------------------------------------------------------------------

    def _dp_observe(self, conn: sqlite3.Connection, at: datetime) -> EffectiveState:
        """The effective state now; a switch seen for the first time is recorded first."""
        rows = self.store.list_certificates(conn)
        eff = state_of(rows, at)
        self._record_switches_in(conn, rows, eff)
        return eff

    def _dp_main_at(self, at: datetime) -> int | None:
        rows = self.store.list_certificates()
        return state_of(rows, at).main_id

    @staticmethod
    def _dp_device(conn: sqlite3.Connection, device: str) -> tuple[int, str, str]:
        name = device.strip()
        row = conn.execute(
            "SELECT id, name, platform FROM devices WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT id, name, platform FROM devices WHERE lower(name) = lower(?)", (name,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"There is no device '{device}' under Managed devices.")
        return int(row[0]), str(row[1]), str(row[2])

    @staticmethod
    def _dp_point_row(conn: sqlite3.Connection, device_id: int) -> _PointRow | None:
        row = conn.execute(_POINT_SQL + " WHERE dp.device_id = ?", (device_id,)).fetchone()
        return None if row is None else _point(row)

    @staticmethod
    def _dp_group_map(conn: sqlite3.Connection) -> dict[int, Group]:
        return {
            int(r[0]): Group(int(r[0]), str(r[1]), r[2], r[3])
            for r in conn.execute("SELECT id, name, parent_id, sync_hours FROM groups")
        }

    def _dp_group(self, conn: sqlite3.Connection, ref: GroupRef) -> int:
        """A group by id, by path ("Managed devices/Head office") or by unique name."""
        groups = self._dp_group_map(conn)
        if isinstance(ref, int):
            if ref not in groups:
                raise NotFoundError(f"There is no group {ref}.")
            return ref
        wanted = ref.strip().strip("/").lower()
        if not wanted:
            raise ValidationError("Give the distribution point scope (a group).")
        paths = {gid: group_path(groups, gid) for gid in groups}
        by_path = [gid for gid, path in paths.items() if path.lower() == wanted]
        if by_path:
            return by_path[0]
        # A path given without the root "Managed devices/".
        by_tail = [gid for gid, path in paths.items()
                   if path.lower().partition("/")[2] == wanted]
        if len(by_tail) == 1:
            return by_tail[0]
        by_name = [gid for gid, g in groups.items() if g.name.lower() == wanted]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise ValidationError(
                f"More than one group is called '{ref}': "
                + ", ".join(sorted(paths[g] for g in by_name))
                + ". Give the path of the one you mean."
            )
        raise NotFoundError(f"There is no group '{ref}' under Managed devices.")

    def _dp_point_views(
        self, rows: Sequence[_PointRow], at: datetime
    ) -> tuple[DistributionPointView, ...]:
        version = self.server_version()
        main_id = self._dp_main_at(at)
        groups = self._dp_group_map(self.store.connection)
        held_ids = {
            rules.held_certificate(version, r.held_cert_id, main_id) for r in rows if r.gateway
        }
        infos = self._dp_infos({i for i in held_ids if i is not None} | (
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

    def _dp_infos(self, ids: set[int]) -> dict[int, CertificateInfo]:
        out: dict[int, CertificateInfo] = {}
        for cert_id in sorted(ids):
            row = self.store.get_certificate(cert_id)
            if row is not None:
                out[cert_id] = CertificateInfo.from_x509(
                    x509.load_der_x509_certificate(row.cert_der)
                )
        return out

