"""The watch list (``watch_endpoints``) and the probes' results (``watch_results``).

DESIGN §13: endpoints ``HOST:PORT`` with an optional label and server name; each check
records one result with its time; the last :data:`~kscert_gui.model.watch.KEEP_RESULTS`
per endpoint are kept.

The tables came with schema version 2. A store of version 1 opened read-only (by a
reader while another process holds it, or by ``kscert serve``) has none: then this
repository reads an empty watch list instead of failing (see ``READABLE_WITHOUT`` in the
store core).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from kscert_gui.model.clock import iso
from kscert_gui.model.watch import KEEP_RESULTS
from kscert_gui.services.store.repository import (
    Repository,
    optional_iso,
    parse_optional_time,
    parse_time,
)

TABLES = ("watch_endpoints", "watch_results")

SCHEMA = (
    """CREATE TABLE watch_endpoints (
        id INTEGER PRIMARY KEY,
        host TEXT NOT NULL,
        port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
        name TEXT NULL,
        servername TEXT NULL,
        added_at TEXT NOT NULL,
        UNIQUE (host, port)
    )""",
    """CREATE TABLE watch_results (
        id INTEGER PRIMARY KEY,
        endpoint_id INTEGER NOT NULL REFERENCES watch_endpoints(id) ON DELETE CASCADE,
        checked_at TEXT NOT NULL,
        state TEXT NOT NULL,
        error TEXT NULL,
        subject TEXT NULL,
        common_name TEXT NULL,
        serial TEXT NULL,
        san TEXT NULL,
        not_before TEXT NULL,
        not_after TEXT NULL,
        sha256 TEXT NULL,
        matches TEXT NULL
    )""",
    "CREATE INDEX watch_results_endpoint ON watch_results(endpoint_id, id)",
)


def create_tables(conn: sqlite3.Connection) -> None:
    """The watch tables (schema version 1 → 2)."""
    for statement in SCHEMA:
        conn.execute(statement)


@dataclass(frozen=True)
class WatchEndpointRow:
    id: int
    host: str
    port: int
    name: str | None
    servername: str | None
    added_at: datetime


@dataclass(frozen=True)
class WatchResultRow:
    """One probe's result: the served leaf, or the reason (``error``) there was none."""

    endpoint_id: int
    checked_at: datetime
    state: str
    error: str | None
    subject: str | None
    common_name: str | None
    serial: str | None
    san: tuple[str, ...]
    not_before: datetime | None
    not_after: datetime | None
    sha256: str | None
    matches: str | None


_ENDPOINT_COLUMNS = "id, host, port, name, servername, added_at"
_RESULT_COLUMNS = (
    "endpoint_id, checked_at, state, error, subject, common_name, serial, san, not_before, "
    "not_after, sha256, matches"
)


def _endpoint(row: Sequence[object]) -> WatchEndpointRow:
    eid, host, port, name, servername, added_at = row
    return WatchEndpointRow(
        id=cast(int, eid),
        host=cast(str, host),
        port=cast(int, port),
        name=cast("str | None", name),
        servername=cast("str | None", servername),
        added_at=parse_time(cast(str, added_at)),
    )


def _result(row: Sequence[object]) -> WatchResultRow:
    (eid, checked_at, state, error, subject, cn, serial, san, not_before, not_after, sha256,
     matches) = row
    names: list[str] = json.loads(cast(str, san)) if san else []
    return WatchResultRow(
        endpoint_id=cast(int, eid),
        checked_at=parse_time(cast(str, checked_at)),
        state=cast(str, state),
        error=cast("str | None", error),
        subject=cast("str | None", subject),
        common_name=cast("str | None", cn),
        serial=cast("str | None", serial),
        san=tuple(str(n) for n in names),
        not_before=parse_optional_time(cast("str | None", not_before)),
        not_after=parse_optional_time(cast("str | None", not_after)),
        sha256=cast("str | None", sha256),
        matches=cast("str | None", matches),
    )


class WatchRepository(Repository):
    """``store.watch``: the watched endpoints and their recent results."""

    _present = False

    def _has_tables(self, db: sqlite3.Connection) -> bool:
        if not self._present:
            found = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                TABLES,
            ).fetchone()[0]
            self._present = found == len(TABLES)
        return self._present

    # --- endpoints -----------------------------------------------------------------------

    def endpoints(self, conn: sqlite3.Connection | None = None) -> list[WatchEndpointRow]:
        """Every watched endpoint, in the order they were added."""
        with self._mutex:
            db = self._db(conn)
            if not self._has_tables(db):
                return []
            rows = db.execute(
                f"SELECT {_ENDPOINT_COLUMNS} FROM watch_endpoints ORDER BY id").fetchall()
        return [_endpoint(r) for r in rows]

    def find(
        self, host: str, port: int, conn: sqlite3.Connection | None = None
    ) -> WatchEndpointRow | None:
        """The endpoint ``host:port`` (the host in any case), or None."""
        with self._mutex:
            db = self._db(conn)
            if not self._has_tables(db):
                return None
            row = db.execute(
                f"SELECT {_ENDPOINT_COLUMNS} FROM watch_endpoints "
                "WHERE host = ? COLLATE NOCASE AND port = ?",
                (host, port),
            ).fetchone()
        return None if row is None else _endpoint(row)

    def add(
        self,
        conn: sqlite3.Connection,
        host: str,
        port: int,
        name: str | None,
        servername: str | None,
        at: datetime,
    ) -> int:
        cur = conn.execute(
            "INSERT INTO watch_endpoints(host, port, name, servername, added_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (host, port, name, servername, iso(at)),
        )
        return int(cur.lastrowid or 0)

    def remove(self, conn: sqlite3.Connection, endpoint_id: int) -> None:
        conn.execute("DELETE FROM watch_results WHERE endpoint_id = ?", (endpoint_id,))
        conn.execute("DELETE FROM watch_endpoints WHERE id = ?", (endpoint_id,))

    # --- results -------------------------------------------------------------------------

    def record(self, conn: sqlite3.Connection, results: Sequence[WatchResultRow]) -> None:
        """Append ``results`` and keep only the latest ``KEEP_RESULTS`` of each endpoint."""
        conn.executemany(
            f"INSERT INTO watch_results({_RESULT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.endpoint_id, iso(r.checked_at), r.state, r.error, r.subject,
                 r.common_name, r.serial, json.dumps(list(r.san)) if r.san else None,
                 optional_iso(r.not_before), optional_iso(r.not_after), r.sha256, r.matches)
                for r in results
            ],
        )
        # One statement for every endpoint (a check of 100 endpoints is one transaction).
        conn.execute(
            "DELETE FROM watch_results WHERE id IN (SELECT id FROM (SELECT id, row_number() "
            "OVER (PARTITION BY endpoint_id ORDER BY id DESC) AS n FROM watch_results) "
            "WHERE n > ?)",
            (KEEP_RESULTS,),
        )

    def latest(self, conn: sqlite3.Connection | None = None) -> dict[int, WatchResultRow]:
        """Each endpoint's last result (endpoints never checked are absent)."""
        with self._mutex:
            db = self._db(conn)
            if not self._has_tables(db):
                return {}
            rows = db.execute(
                f"SELECT {_RESULT_COLUMNS} FROM watch_results WHERE id IN ("
                "SELECT max(id) FROM watch_results GROUP BY endpoint_id)"
            ).fetchall()
        out = [_result(r) for r in rows]
        return {r.endpoint_id: r for r in out}

    def latest_served(
        self, conn: sqlite3.Connection | None = None
    ) -> dict[int, WatchResultRow]:
        """Each endpoint's last result that had a certificate (for threshold crossings)."""
        with self._mutex:
            db = self._db(conn)
            if not self._has_tables(db):
                return {}
            rows = db.execute(
                f"SELECT {_RESULT_COLUMNS} FROM watch_results WHERE id IN ("
                "SELECT max(id) FROM watch_results WHERE not_after IS NOT NULL "
                "GROUP BY endpoint_id)"
            ).fetchall()
        out = [_result(r) for r in rows]
        return {r.endpoint_id: r for r in out}

    def history(
        self, endpoint_id: int, conn: sqlite3.Connection | None = None
    ) -> list[WatchResultRow]:
        """The kept results of one endpoint, oldest first."""
        with self._mutex:
            db = self._db(conn)
            if not self._has_tables(db):
                return []
            rows = db.execute(
                f"SELECT {_RESULT_COLUMNS} FROM watch_results WHERE endpoint_id = ? "
                "ORDER BY id",
                (endpoint_id,),
            ).fetchall()
        return [_result(r) for r in rows]
