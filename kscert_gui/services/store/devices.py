"""Managed devices: ``groups``, ``devices`` and their delivering syncs (``device_syncs``).

A device's ``last_sync`` goes in and comes out as ISO 8601 UTC text, the column's own
form: device lists of 100 000 rows pass through here, and text needs no conversion.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from kscert_gui.model.clock import iso
from kscert_gui.model.fleet import Group
from kscert_gui.services.store.repository import Repository, insert_columns

#: (id, name, group_id, platform, last_sync) of one device.
DeviceRecord = tuple[int, str, int, str, str | None]
#: A :data:`DeviceRecord` and its last_sync in seconds since the epoch (None: never).
DeviceTableRow = tuple[int, str, int, str, str | None, int | None]
#: (name, group_id, platform, last_sync) of a device to add.
NewDevice = tuple[str, int, str, str | None]
#: (name, group_id, platform, last_sync, id) of a device to change.
DeviceUpdate = tuple[str, int, str, str | None, int]
#: How :meth:`Devices.add_columns` writes the rows: :func:`insert_columns` or a stand-in.
ColumnInsert = Callable[[sqlite3.Connection, str, Mapping[str, Sequence[object]]], int]


class DeviceRef(NamedTuple):
    """A device as a name finds it."""

    id: int
    name: str
    platform: str


class Groups(Repository):
    """``store.groups``: the group tree under "Managed devices"."""

    def all(self, conn: sqlite3.Connection | None = None) -> dict[int, Group]:
        """Every group by id."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT id, name, parent_id, sync_hours FROM groups"
            ).fetchall()
        return {r[0]: Group(r[0], r[1], r[2], r[3]) for r in rows}

    def find_root(self, name: str, conn: sqlite3.Connection | None = None) -> int | None:
        """The id of the top-level group ``name`` (exact name), if there is one."""
        with self._mutex:
            row = self._db(conn).execute(
                "SELECT id FROM groups WHERE parent_id IS NULL AND name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    def find_child(
        self, parent_id: int, name: str, conn: sqlite3.Connection | None = None
    ) -> int | None:
        """The id of the group ``name`` (any case) directly under ``parent_id``, if any."""
        with self._mutex:
            row = self._db(conn).execute(
                "SELECT id FROM groups WHERE parent_id = ? AND name = ? COLLATE NOCASE",
                (parent_id, name),
            ).fetchone()
        return None if row is None else int(row[0])

    def add(
        self,
        conn: sqlite3.Connection,
        name: str,
        parent_id: int | None,
        sync_hours: float | None = None,
    ) -> int:
        """Add a group (``parent_id`` None: a top-level group); return its id."""
        gid = conn.execute(
            "INSERT INTO groups(name, parent_id, sync_hours) VALUES (?, ?, ?)",
            (name, parent_id, sync_hours),
        ).lastrowid
        assert gid is not None
        return gid

    def set_sync_hours(
        self, conn: sqlite3.Connection, group_id: int, hours: float | None
    ) -> None:
        """Set a group's synchronization period (None: inherited from its parent)."""
        conn.execute("UPDATE groups SET sync_hours = ? WHERE id = ?", (hours, group_id))


class Devices(Repository):
    """``store.devices``: the managed devices."""

    def count_by_group(self, conn: sqlite3.Connection | None = None) -> dict[int, int]:
        """How many devices each group holds directly (groups without any are left out)."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT group_id, COUNT(*) FROM devices GROUP BY group_id"
            ).fetchall()
        return dict(rows)

    def is_empty(self, conn: sqlite3.Connection | None = None) -> bool:
        with self._mutex:
            row = self._db(conn).execute("SELECT 1 FROM devices LIMIT 1").fetchone()
        return row is None

    def existing_name(self, name: str, conn: sqlite3.Connection | None = None) -> str | None:
        """The stored name of the device called ``name`` in any case, if there is one."""
        with self._mutex:
            row = self._db(conn).execute(
                "SELECT name FROM devices WHERE name = ? COLLATE NOCASE", (name,)
            ).fetchone()
        return None if row is None else str(row[0])

    def find(self, name: str, conn: sqlite3.Connection | None = None) -> DeviceRef | None:
        """The device called ``name``: by its exact name, else by its name in any case."""
        with self._mutex:
            db = self._db(conn)
            row = db.execute(
                "SELECT id, name, platform FROM devices WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                row = db.execute(
                    "SELECT id, name, platform FROM devices WHERE lower(name) = lower(?)",
                    (name,),
                ).fetchone()
        return None if row is None else DeviceRef(int(row[0]), str(row[1]), str(row[2]))

    def records(self, conn: sqlite3.Connection | None = None) -> list[DeviceRecord]:
        """Every device, in no particular order."""
        with self._mutex:
            return self._db(conn).execute(
                "SELECT id, name, group_id, platform, last_sync FROM devices"
            ).fetchall()

    #: The last :meth:`table_rows` answer read outside a transaction, with the state of the
    #: database it was read in: (PRAGMA data_version, the connection's total_changes).
    _rows_cache: tuple[tuple[int, int], tuple[DeviceTableRow, ...]] | None = None

    def table_rows(
        self, conn: sqlite3.Connection | None = None
    ) -> tuple[DeviceTableRow, ...]:
        """Every device by name, with its last synchronization also in epoch seconds.

        Outside a transaction the answer is kept and given again while the database is
        unchanged: ``PRAGMA data_version`` changes when another connection commits, and
        ``total_changes`` when this one writes (it never goes back, so a rolled-back write
        also ends the cached answer). A refresh of 100 000 unchanged devices then skips
        the fetch, its largest part.
        """
        with self._mutex:
            db = self._db(conn)
            key: tuple[int, int] | None = None
            if not db.in_transaction:
                key = (int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes)
                cached = self._rows_cache
                if cached is not None and cached[0] == key:
                    return cached[1]
            cursor = db.execute(
                "SELECT id, name, group_id, platform, last_sync, "
                "CAST(strftime('%s', last_sync) AS INTEGER) FROM devices ORDER BY name"
            )
            # In chunks: one fetchall of 100 000 rows is a single C call that keeps the
            # GUI thread from the interpreter lock for tens of milliseconds.
            rows: list[DeviceTableRow] = []
            while chunk := cursor.fetchmany(2000):
                rows.extend(chunk)
            answer = tuple(rows)
            if key is not None and not db.in_transaction:
                self._rows_cache = (key, answer)
            return answer

    def add(
        self,
        conn: sqlite3.Connection,
        name: str,
        group_id: int,
        platform: str,
        last_sync: str | None,
    ) -> int:
        """Add one device; return its id."""
        device_id = conn.execute(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, ?, ?)",
            (name, group_id, platform, last_sync),
        ).lastrowid
        assert device_id is not None
        return device_id

    def add_many(self, conn: sqlite3.Connection, devices: Iterable[NewDevice]) -> None:
        """Add devices row by row (a few thousand; :meth:`add_columns` for a device list)."""
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, ?, ?)",
            devices,
        )

    def add_columns(
        self,
        conn: sqlite3.Connection,
        names: Sequence[str],
        group_ids: Sequence[int],
        platforms: Sequence[str],
        last_syncs: Sequence[str | None],
        *,
        rebuild_indexes: bool,
        insert: ColumnInsert = insert_columns,
    ) -> int:
        """Add devices given column by column (``insert``: :func:`insert_columns`); return
        how many.

        With ``rebuild_indexes`` the secondary indexes of ``devices`` are dropped first
        and built again at the end, once instead of row by row (three times faster for
        100 000 devices); the caller's transaction keeps it atomic.
        """
        indexes: list[str] = []
        if rebuild_indexes:
            for index_name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name = 'devices' AND sql IS NOT NULL"
            ).fetchall():
                conn.execute(f'DROP INDEX "{index_name}"')
                indexes.append(sql)
        count = insert(conn, "devices", {
            "name": names, "group_id": group_ids, "platform": platforms,
            "last_sync": last_syncs,
        })
        for sql in indexes:
            conn.execute(sql)
        return count

    def update_many(self, conn: sqlite3.Connection, updates: Iterable[DeviceUpdate]) -> None:
        """Change name, group, platform and last_sync of devices by id."""
        conn.executemany(
            "UPDATE devices SET name = ?, group_id = ?, platform = ?, last_sync = ? "
            "WHERE id = ?",
            updates,
        )

    def set_last_syncs(
        self, conn: sqlite3.Connection, updates: Iterable[tuple[str, int]]
    ) -> None:
        """Set devices' last synchronization: (last_sync, id) pairs."""
        conn.executemany("UPDATE devices SET last_sync = ? WHERE id = ?", updates)


class DeviceSyncs(Repository):
    """``store.device_syncs``: synchronizations kept because they delivered a reserve."""

    def keep_last_syncs(self, conn: sqlite3.Connection, since: datetime, until: datetime) -> None:
        """Keep each device's last_sync from ``since`` to ``until`` (not kept already)."""
        conn.execute(
            "INSERT INTO device_syncs(device_id, at) SELECT d.id, d.last_sync FROM devices d "
            "WHERE d.last_sync >= ? AND d.last_sync <= ? AND NOT EXISTS (SELECT 1 FROM "
            "device_syncs s WHERE s.device_id = d.id AND s.at = d.last_sync)",
            (iso(since), iso(until)),
        )

    def first_in_window(
        self, since: datetime, until: datetime, conn: sqlite3.Connection | None = None
    ) -> dict[int, int | None]:
        """Per device id: its first kept synchronization from ``since`` to ``until``
        (epoch seconds); devices without one are left out."""
        with self._mutex:
            rows = self._db(conn).execute(
                "SELECT device_id, MIN(CAST(strftime('%s', at) AS INTEGER)) FROM "
                "device_syncs WHERE at >= ? AND at <= ? GROUP BY device_id",
                (iso(since), iso(until)),
            ).fetchall()
        return dict(rows)

    def add_many(self, conn: sqlite3.Connection, syncs: Iterable[tuple[int, str]]) -> None:
        """Keep synchronizations: (device id, ISO 8601 UTC instant) pairs."""
        conn.executemany("INSERT INTO device_syncs(device_id, at) VALUES (?, ?)", syncs)
