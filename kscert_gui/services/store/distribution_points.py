"""Distribution points and connection gateways (``distribution_points``, DESIGN §7).

``held_cert_id`` is the certificate delivered to a connection gateway when it was
connected (or, in versions that deliver automatically, the one delivered since).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from kscert_gui.model.clock import iso
from kscert_gui.services.store.repository import Repository


@dataclass(frozen=True)
class PointRow:
    """One distribution point with its device."""

    device_id: int
    host: str
    platform: str
    device_group_id: int
    scope_group_id: int
    gateway: bool
    agent_port: int
    mobile_port: int
    held_cert_id: int | None
    connected_at: str | None  # ISO 8601 UTC text


class HostRow(NamedTuple):
    """A host device that can act as a distribution point."""

    id: int
    name: str
    group_id: int
    platform: str
    is_distribution_point: bool


class GatewayCertificate(NamedTuple):
    """A connection gateway, its ports and the certificate it was given (with its SHA-256)."""

    host: str
    mobile_port: int
    agent_port: int
    held_cert_id: int | None
    held_sha256: str | None


class GatewayScopeRow(NamedTuple):
    """A connection gateway, its scope group and the certificate it was given."""

    host: str
    scope_group_id: int
    held_cert_id: int | None


class GatewayPort(NamedTuple):
    """A connection gateway, its port for mobile devices and the certificate it was given."""

    host: str
    mobile_port: int
    held_cert_id: int | None


_POINT_SQL = (
    "SELECT d.id, d.name, d.platform, d.group_id, dp.scope_group_id, dp.gateway, "
    "dp.agent_port, dp.mobile_port, dp.held_cert_id, dp.connected_at "
    "FROM distribution_points dp JOIN devices d ON d.id = dp.device_id"
)

_GATEWAYS_BY_NAME = "WHERE dp.gateway = 1 ORDER BY d.name"


#: A row of :data:`_POINT_SQL`, in its column order.
_PointTuple = tuple[int, str, str, int, int, int, int, int, int | None, str | None]


def _point(row: _PointTuple) -> PointRow:
    device_id, host, platform, group_id, scope_id, gateway, agent, mobile, held, at = row
    return PointRow(
        device_id=int(device_id),
        host=str(host),
        platform=str(platform),
        device_group_id=int(group_id),
        scope_group_id=int(scope_id),
        gateway=bool(gateway),
        agent_port=int(agent),
        mobile_port=int(mobile),
        held_cert_id=None if held is None else int(held),
        connected_at=None if at is None else str(at),
    )


class DistributionPoints(Repository):
    """``store.distribution_points``: the distribution points and connection gateways."""

    # --- reads ----------------------------------------------------------------------------

    def all(self, conn: sqlite3.Connection | None = None) -> list[PointRow]:
        """Every distribution point, by host name."""
        with self._mutex:
            rows = self._db(conn).execute(_POINT_SQL + " ORDER BY d.name").fetchall()
        return [_point(r) for r in rows]

    def get(self, device_id: int, conn: sqlite3.Connection | None = None) -> PointRow | None:
        """The distribution point on device ``device_id`` (None: that device is not one)."""
        with self._mutex:
            row = self._db(conn).execute(
                _POINT_SQL + " WHERE dp.device_id = ?", (device_id,)
            ).fetchone()
        return None if row is None else _point(row)

    def candidates(
        self, platforms: Sequence[str], conn: sqlite3.Connection | None = None
    ) -> list[HostRow]:
        """The devices running one of ``platforms`` by name, each marked if it is a point."""
        marks = ",".join("?" * len(platforms))
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT d.id, d.name, d.group_id, d.platform, dp.device_id IS NOT NULL "
                "FROM devices d LEFT JOIN distribution_points dp ON dp.device_id = d.id "
                f"WHERE d.platform IN ({marks}) ORDER BY d.name",
                tuple(platforms),
            ).fetchall()
        return [HostRow(int(r[0]), str(r[1]), int(r[2]), str(r[3]), bool(r[4])) for r in rows]

    def gateway_certificates(
        self, conn: sqlite3.Connection | None = None
    ) -> list[GatewayCertificate]:
        """Every connection gateway by host name, with the certificate it was given."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT d.name, dp.mobile_port, dp.agent_port, dp.held_cert_id, c.sha256 "
                "FROM distribution_points dp JOIN devices d ON d.id = dp.device_id "
                "LEFT JOIN certificates c ON c.id = dp.held_cert_id "
                "WHERE dp.gateway = 1 ORDER BY d.name"
            ).fetchall()
        return [GatewayCertificate(*r) for r in rows]

    def gateway_scopes(self, conn: sqlite3.Connection | None = None) -> list[GatewayScopeRow]:
        """Every connection gateway by host name, with its scope group."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT d.name, dp.scope_group_id, dp.held_cert_id FROM distribution_points dp "
                "JOIN devices d ON d.id = dp.device_id " + _GATEWAYS_BY_NAME
            ).fetchall()
        return [GatewayScopeRow(*r) for r in rows]

    def gateway_ports(self, conn: sqlite3.Connection | None = None) -> list[GatewayPort]:
        """Every connection gateway by host name, with its port for mobile devices."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT d.name, dp.mobile_port, dp.held_cert_id FROM distribution_points dp "
                "JOIN devices d ON d.id = dp.device_id " + _GATEWAYS_BY_NAME
            ).fetchall()
        return [GatewayPort(*r) for r in rows]

    def gateways_holding_a_certificate(self, conn: sqlite3.Connection | None = None) -> list[str]:
        """The host names of the connection gateways that hold a certificate, by name."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT d.name FROM distribution_points dp JOIN devices d "
                "ON d.id = dp.device_id WHERE dp.gateway = 1 "
                "AND dp.held_cert_id IS NOT NULL ORDER BY d.name"
            ).fetchall()
        return [str(r[0]) for r in rows]

    # --- changes --------------------------------------------------------------------------

    def add(
        self,
        conn: sqlite3.Connection,
        device_id: int,
        scope_group_id: int,
        agent_port: int,
        mobile_port: int,
    ) -> None:
        """Make a device a distribution point (not a connection gateway)."""
        conn.execute(
            "INSERT INTO distribution_points(device_id, scope_group_id, gateway, agent_port, "
            "mobile_port, held_cert_id, connected_at) VALUES (?, ?, 0, ?, ?, NULL, NULL)",
            (device_id, scope_group_id, agent_port, mobile_port),
        )

    def add_connected(
        self,
        conn: sqlite3.Connection,
        device_id: int,
        scope_group_id: int,
        agent_port: int,
        mobile_port: int,
        held_cert_id: int | None,
        connected_at: datetime,
    ) -> None:
        """Make a device a connection gateway at once, holding ``held_cert_id``."""
        conn.execute(
            "INSERT INTO distribution_points(device_id, scope_group_id, gateway, agent_port, "
            "mobile_port, held_cert_id, connected_at) VALUES (?, ?, 1, ?, ?, ?, ?)",
            (device_id, scope_group_id, agent_port, mobile_port, held_cert_id,
             iso(connected_at)),
        )

    def remove(self, conn: sqlite3.Connection, device_id: int) -> None:
        conn.execute("DELETE FROM distribution_points WHERE device_id = ?", (device_id,))

    def connect(
        self,
        conn: sqlite3.Connection,
        device_id: int,
        agent_port: int,
        mobile_port: int,
        held_cert_id: int | None,
        at: datetime,
    ) -> None:
        """Tick Connection gateway: the point becomes a gateway holding ``held_cert_id``."""
        conn.execute(
            "UPDATE distribution_points SET gateway = 1, agent_port = ?, mobile_port = ?, "
            "held_cert_id = ?, connected_at = ? WHERE device_id = ?",
            (agent_port, mobile_port, held_cert_id, iso(at), device_id),
        )

    def disconnect(
        self, conn: sqlite3.Connection, device_id: int, agent_port: int, mobile_port: int
    ) -> None:
        """Clear Connection gateway: the point holds no certificate any more."""
        conn.execute(
            "UPDATE distribution_points SET gateway = 0, held_cert_id = NULL, "
            "connected_at = NULL, agent_port = ?, mobile_port = ? WHERE device_id = ?",
            (agent_port, mobile_port, device_id),
        )

    def set_ports(
        self, conn: sqlite3.Connection, device_id: int, agent_port: int, mobile_port: int
    ) -> None:
        conn.execute(
            "UPDATE distribution_points SET agent_port = ?, mobile_port = ? "
            "WHERE device_id = ?",
            (agent_port, mobile_port, device_id),
        )

    def deliver_to_all_gateways(self, conn: sqlite3.Connection, cert_id: int) -> None:
        """Every connection gateway now holds ``cert_id``."""
        conn.execute(
            "UPDATE distribution_points SET held_cert_id = ? WHERE gateway = 1",
            (cert_id,),
        )

    def deliver_to_gateways_holding_one(self, conn: sqlite3.Connection, cert_id: int) -> None:
        """Every connection gateway that holds a certificate now holds ``cert_id``."""
        conn.execute(
            "UPDATE distribution_points SET held_cert_id = ? "
            "WHERE gateway = 1 AND held_cert_id IS NOT NULL",
            (cert_id,),
        )

    def deliver_to_gateways_holding_none(self, conn: sqlite3.Connection, cert_id: int) -> None:
        """Every connection gateway that holds no certificate now holds ``cert_id``."""
        conn.execute(
            "UPDATE distribution_points SET held_cert_id = ? WHERE gateway = 1 "
            "AND held_cert_id IS NULL",
            (cert_id,),
        )
