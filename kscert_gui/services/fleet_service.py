"""Managed devices, groups, CSV import, forecast and simulation (DESIGN §6).

Which devices hold a reserve certificate follows from synchronization times: a device
holds it once it synchronized at or after the reserve was created and not after the
switch. ``devices.last_sync`` keeps the latest synchronization; whenever a later one
would replace a synchronization that delivered the current reserve (simulation, CSV
re-import), that delivering synchronization is kept in ``device_syncs`` first, so the
verdict never depends on how recently a device was last seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kscert_gui.model.clock import ensure_utc, iso
from kscert_gui.model.errors import NotFoundError, RefusedError, ValidationError
from kscert_gui.model.fleet import (
    DEFAULT_SYNC_HOURS,
    DEVICE_STATES,
    MOBILE_PLATFORMS,
    PLATFORMS,
    STATE_TEXT,
    DeviceState,
    Forecast,
    Group,
    ReserveWindow,
    canonical_platform,
    check_sync_hours,
    delivery_curve,
    effective_sync_hours,
    epoch,
    forecast,
    from_epoch,
    group_path,
    holds_s,
    period_seconds,
    risk_reason,
    simulate_device,
    stays_offline,
)
from kscert_gui.services import device_csv
from kscert_gui.services.base import ServerBase
from kscert_gui.services.device_csv import ROOT_GROUP, RowError
from kscert_gui.services.store import insert_columns

if TYPE_CHECKING:
    from kscert_gui.model.schedule import EffectiveState
    from kscert_gui.services.store import CertificateRow

#: The longest simulated step: a little more than the longest activation term.
MAX_SIMULATION = timedelta(days=400)
#: From this many new devices on, an import rebuilds the device indexes at the end.
BULK_ROWS = 10_000
#: How many device names a warning lists before it says "and N more".
WARNING_NAMES = 5


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSettings:
    """A group as its Properties window shows it."""

    id: int
    name: str
    path: str
    parent_id: int | None
    sync_hours: float | None  # own period; None: inherited
    effective_hours: float
    inherited_hours: float  # what it would inherit from its parent (or the default)
    devices: int  # devices directly in the group

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "sync_hours": self.sync_hours,
            "effective_sync_hours": self.effective_hours,
            "inherited": self.sync_hours is None,
            "devices": self.devices,
        }


@dataclass(frozen=True)
class DeviceView:
    """One device with its forecast state (None for hosts, or with no reserve to track)."""

    id: int
    name: str
    group: str
    platform: str
    last_sync: datetime | None
    state: DeviceState | None
    sync_hours: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "platform": self.platform,
            "last_sync": iso(self.last_sync) if self.last_sync else None,
            "sync_hours": self.sync_hours,
            "state": self.state,
        }


@dataclass(frozen=True)
class DeviceTable:
    """Every device, column by column (a 100 000-device fleet stays cheap to hold).

    Row ``i`` of each column belongs to the same device; rows are ordered by name.
    ``forecast`` is None when no reserve certificate is pending or has just switched.
    """

    at: datetime
    ids: tuple[int, ...]
    names: tuple[str, ...]
    group_ids: tuple[int, ...]
    platforms: tuple[str, ...]
    last_sync: tuple[str | None, ...]  # ISO 8601 UTC text, sortable as it is
    period_s: tuple[int, ...]
    groups: Mapping[int, Group]
    paths: Mapping[int, str]
    forecast: Forecast | None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def window(self) -> ReserveWindow | None:
        return self.forecast.window if self.forecast else None

    def state(self, row: int) -> DeviceState | None:
        return self.forecast.states[row] if self.forecast else None

    def view(self, row: int) -> DeviceView:
        last = self.last_sync[row]
        return DeviceView(
            id=self.ids[row],
            name=self.names[row],
            group=self.paths[self.group_ids[row]],
            platform=self.platforms[row],
            last_sync=device_csv.parse_time(last) if last else None,
            state=self.state(row),
            sync_hours=self.period_s[row] / 3600,
        )

    def rows_in_state(self, state: str | None) -> Iterator[int]:
        if state is None:
            yield from range(len(self))
        elif self.forecast is not None:
            states = self.forecast.states
            yield from (i for i in range(len(self)) if states[i] == state)

    def reason(self, row: int) -> str:
        """Why the device has its state, in words (the at-risk list's last column)."""
        state = self.state(row)
        window = self.window
        if state is None or window is None:
            return "" if self.platforms[row] in MOBILE_PLATFORMS else "not a mobile device"
        last = self.last_sync[row]
        last_dt = device_csv.parse_time(last) if last else None
        if state == "at-risk":
            return risk_reason(last_dt, timedelta(seconds=self.period_s[row]), window, self.at)
        if state == "lost":
            return "did not synchronize before the switch; reinstall the endpoint agent"
        if state == "expected":
            return "synchronizes before the switch"
        assert self.forecast is not None
        got = self.forecast.delivery_s[row]
        return f"received it at {from_epoch(got):%Y-%m-%d %H:%M:%S} UTC" if got else "received"

    def curve(self, points: int = 120) -> list[tuple[datetime, int]]:
        if self.forecast is None:
            return []
        return delivery_curve(self.forecast.delivery_s, self.forecast.window, points)


@dataclass(frozen=True)
class FleetSummary:
    """The forecast in numbers, for status() and the Certificates page."""

    window: ReserveWindow | None
    at: datetime
    devices: int
    counts: Mapping[str, int]
    at_risk_names: tuple[str, ...]
    lost_names: tuple[str, ...]

    @property
    def delivered(self) -> int:
        return self.counts.get("delivered", 0)

    @property
    def at_risk(self) -> int:
        return self.counts.get("at-risk", 0)

    @property
    def lost(self) -> int:
        return self.counts.get("lost", 0)

    @property
    def switched(self) -> bool:
        return self.window is not None and self.at >= self.window.switch_at


@dataclass(frozen=True)
class DeviceImportReport:
    """What ``devices import`` did (or, with errors, would have done: nothing)."""

    path: str
    rows: int  # good rows
    added: int
    updated: int
    groups_created: int
    errors: tuple[RowError, ...]
    error_count: int
    committed: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "imported": self.committed,
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "groups_created": self.groups_created,
            "skipped_rows": self.error_count if self.committed else 0,
            "error_count": self.error_count,
            "errors": [e.to_json() for e in self.errors],
        }


class DeviceImportError(RefusedError):
    """Rows of a CSV file are bad; nothing was imported. ``report.errors`` lists them."""

    def __init__(self, report: DeviceImportReport) -> None:
        self.report = report
        shown = "; ".join(str(e) for e in report.errors[:5])
        more = report.error_count - min(5, len(report.errors))
        super().__init__(
            f"{Path(report.path).name}: {report.error_count} bad row"
            + ("s" if report.error_count != 1 else "")
            + f", nothing was imported. {shown}"
            + (f"; and {more} more" if more > 0 else "")
            + ". Correct the file, or import the good rows only (--skip-bad-rows)."
        )


@dataclass(frozen=True)
class SimulationReport:
    start: datetime
    end: datetime
    synchronized: int  # devices that synchronized at least once
    newly_delivered: int  # devices that received the reserve during the advance
    switched_at: datetime | None  # a switch that fell inside the advance
    summary: FleetSummary = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": iso(self.start),
            "to": iso(self.end),
            "synchronized": self.synchronized,
            "newly_delivered": self.newly_delivered,
            "switched_at": iso(self.switched_at) if self.switched_at else None,
            "devices": self.summary.devices,
            "counts": dict(self.summary.counts) if self.summary.window else None,
        }


# --- the facade mixin ---------------------------------------------------------------------


class FleetOps(ServerBase):
    """Facade methods for this feature; AdministrationServer inherits them."""

    if TYPE_CHECKING:
        # Provided by AdministrationServer (server.py).
        @property
        def training(self) -> bool: ...

        def _state(self, rows: Sequence[CertificateRow], at: datetime) -> EffectiveState: ...

        def _record_switches_in(
            self, conn: Any, rows: Sequence[CertificateRow], eff: EffectiveState
        ) -> None: ...

    # --- groups ---------------------------------------------------------------------------

    def groups(self, conn: sqlite3.Connection | None = None) -> dict[int, Group]:
        """Every group by id."""
        rows = (conn or self.store.connection).execute(
            "SELECT id, name, parent_id, sync_hours FROM groups"
        ).fetchall()
        return {r[0]: Group(r[0], r[1], r[2], r[3]) for r in rows}

    def group_settings(self, group: int | str | None = None) -> list[GroupSettings]:
        """One group's settings (by id or path), or with None every group's, by path."""
        groups = self.groups()
        counts = dict(
            self.store.connection.execute(
                "SELECT group_id, COUNT(*) FROM devices GROUP BY group_id"
            ).fetchall()
        )
        if group is None:
            wanted = list(groups)
        else:
            wanted = [group if isinstance(group, int) else self.find_group(group).id]
            if wanted[0] not in groups:
                raise NotFoundError(f"There is no group {group}.")
        out = []
        for gid in wanted:
            g = groups[gid]
            parent = g.parent_id
            out.append(
                GroupSettings(
                    id=gid,
                    name=g.name,
                    path=group_path(groups, gid),
                    parent_id=parent,
                    sync_hours=g.sync_hours,
                    effective_hours=effective_sync_hours(groups, gid),
                    inherited_hours=(
                        effective_sync_hours(groups, parent) if parent in groups
                        else DEFAULT_SYNC_HOURS
                    ),
                    devices=int(counts.get(gid, 0)),
                )
            )
        return sorted(out, key=lambda s: s.path.casefold())

    def find_group(self, text: str, conn: sqlite3.Connection | None = None) -> Group:
        """A group by its path ('Managed devices/Field staff', 'Field staff') or its name.

        Raises:
            NotFoundError: no group matches (the message lists the groups).
            ValidationError: the name is ambiguous (the message lists the paths).
        """
        groups = self.groups(conn)
        paths = {gid: group_path(groups, gid) for gid in groups}
        wanted = "/".join(device_csv.group_path(text)).casefold()
        rooted = f"{ROOT_GROUP}/{wanted}".casefold() if wanted else ROOT_GROUP.casefold()
        for candidates in (
            [gid for gid, p in paths.items() if p.casefold() in (wanted, rooted)],
            [gid for gid, g in groups.items() if g.name.casefold() == text.strip().casefold()],
        ):
            if len(candidates) == 1:
                return groups[candidates[0]]
            if len(candidates) > 1:
                raise ValidationError(
                    f"More than one group is called '{text}': "
                    + ", ".join(sorted(paths[c] for c in candidates))
                    + ". Give the group's path."
                )
        known = sorted(paths.values(), key=str.casefold)
        listing = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20
                                           else "")
        raise NotFoundError(
            f"There is no group '{text.strip()}'. "
            + (f"Groups: {listing}." if known else "There are no groups yet.")
        )

    def set_group_sync(self, group: int | str, hours: float | None) -> GroupSettings:
        """Set a group's synchronization period in hours; None: inherit from the parent."""
        self.store.require_writable()
        if hours is not None:
            hours = check_sync_hours(hours)
        at = self.now()
        with self.store.transaction() as conn:
            if isinstance(group, int):
                found = self.groups(conn).get(group)
                if found is None:
                    raise NotFoundError(f"There is no group {group}.")
            else:
                found = self.find_group(group, conn)
            conn.execute("UPDATE groups SET sync_hours = ? WHERE id = ?", (hours, found.id))
            groups = self.groups(conn)
            self.store.audit(
                conn,
                at,
                "group-sync",
                {
                    "group": group_path(groups, found.id),
                    "previous_hours": found.sync_hours,
                    "hours": hours,
                    "effective_hours": effective_sync_hours(groups, found.id),
                },
            )
        return self.group_settings(found.id)[0]

    def _ensure_group(
        self, conn: sqlite3.Connection, path: tuple[str, ...], cache: dict[tuple[str, ...], int],
        created: list[str],
    ) -> int:
        """The id of the group at ``path`` under "Managed devices", creating what is missing."""
        key = tuple(p.casefold() for p in path)
        if key in cache:
            return cache[key]
        if not path:
            row = conn.execute(
                "SELECT id FROM groups WHERE parent_id IS NULL AND name = ?", (ROOT_GROUP,)
            ).fetchone()
            if row is None:
                gid = conn.execute(
                    "INSERT INTO groups(name, parent_id, sync_hours) VALUES (?, NULL, NULL)",
                    (ROOT_GROUP,),
                ).lastrowid
                assert gid is not None
                created.append(ROOT_GROUP)
            else:
                gid = int(row[0])
        else:
            parent = self._ensure_group(conn, path[:-1], cache, created)
            row = conn.execute(
                "SELECT id FROM groups WHERE parent_id = ? AND name = ? COLLATE NOCASE",
                (parent, path[-1]),
            ).fetchone()
            if row is None:
                gid = conn.execute(
                    "INSERT INTO groups(name, parent_id, sync_hours) VALUES (?, ?, NULL)",
                    (path[-1], parent),
                ).lastrowid
                assert gid is not None
                created.append("/".join((ROOT_GROUP, *path)))
            else:
                gid = int(row[0])
        cache[key] = gid
        return gid

    # --- devices --------------------------------------------------------------------------

    def add_device(
        self,
        name: str,
        group: str,
        platform: str,
        last_sync: datetime | None = None,
        *,
        create_group: bool = False,
    ) -> DeviceView:
        """Add one device by hand (DESIGN §6). ``group`` is a path or name."""
        self.store.require_writable()
        name = name.strip()
        problem = device_csv.check_name(name)
        if problem is not None:
            raise ValidationError(problem[0].upper() + problem[1:] + ".")
        canonical = canonical_platform(platform)
        if canonical is None:
            raise ValidationError(
                f"Unknown platform '{platform}'; use one of {', '.join(PLATFORMS)}."
            )
        at = self.now()
        if last_sync is not None:
            last_sync = ensure_utc(last_sync).replace(microsecond=0)
            if last_sync > at + device_csv.CLOCK_SKEW:
                raise ValidationError(
                    f"The last synchronization {iso(last_sync)} is in the future (now is "
                    f"{iso(at)})."
                )
        created: list[str] = []
        with self.store.transaction() as conn:
            try:
                gid = self.find_group(group, conn).id
            except NotFoundError:
                if not create_group:
                    raise
                problem = device_csv.check_group(group)
                if problem is not None:
                    raise ValidationError(problem[0].upper() + problem[1:] + ".") from None
                gid = self._ensure_group(conn, device_csv.group_path(group), {}, created)
            existing = conn.execute(
                "SELECT name FROM devices WHERE name = ? COLLATE NOCASE", (name,)
            ).fetchone()
            if existing is not None:
                raise RefusedError(f"A device named '{existing[0]}' already exists.")
            device_id = conn.execute(
                "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, ?, ?)",
                (name, gid, canonical, iso(last_sync) if last_sync else None),
            ).lastrowid
            assert device_id is not None
            groups = self.groups(conn)
            self.store.audit(
                conn,
                at,
                "device-add",
                {
                    "device": name,
                    "group": group_path(groups, gid),
                    "platform": canonical,
                    "last_sync": iso(last_sync) if last_sync else None,
                    "groups_created": created,
                },
            )
        table = self.device_table()
        return table.view(table.ids.index(device_id))

    def import_devices(self, path: Path, *, skip_bad_rows: bool = False) -> DeviceImportReport:
        """Import a CSV device list in one transaction (DESIGN §6).

        With bad rows nothing is imported (:class:`DeviceImportError` lists them by line)
        unless ``skip_bad_rows``: then the good rows are imported and the bad ones reported.

        Raises:
            InputFileError: the file is not a device list at all (exit code 2).
            DeviceImportError: bad rows and not ``skip_bad_rows``.
        """
        self.store.require_writable()
        at = self.now()
        parsed = device_csv.read_device_csv(Path(path), at)
        report = DeviceImportReport(
            path=str(path),
            rows=len(parsed),
            added=0,
            updated=0,
            groups_created=0,
            errors=tuple(parsed.errors),
            error_count=parsed.error_count,
            committed=False,
        )
        if parsed.error_count and not skip_bad_rows:
            raise DeviceImportError(report)
        if not parsed.names:
            if parsed.error_count:
                raise DeviceImportError(report)
            raise ValidationError(f"{Path(path).name} holds a header row but no devices.")
        created: list[str] = []
        bulk = len(parsed) >= BULK_ROWS
        with self.store.bulk_transaction() if bulk else self.store.transaction() as conn:
            rows = self.store.list_certificates(conn)
            self._keep_delivering_syncs(conn, rows, at)
            added, updated = self._write_devices(conn, parsed, created)
            self.store.audit(
                conn,
                at,
                "devices-import",
                {
                    "file": Path(path).name,
                    "rows": len(parsed),
                    "added": added,
                    "updated": updated,
                    "skipped_rows": parsed.error_count,
                    "skipped_lines": [e.line for e in parsed.errors[:100]],
                    "groups_created": created[:100],
                },
            )
        return DeviceImportReport(
            path=str(path),
            rows=len(parsed),
            added=added,
            updated=updated,
            groups_created=len(created),
            errors=tuple(parsed.errors),
            error_count=parsed.error_count,
            committed=True,
        )

    def _write_devices(
        self, conn: sqlite3.Connection, parsed: device_csv.ParsedCsv, created: list[str],
    ) -> tuple[int, int]:
        """Insert new devices and update known ones (by name, any case): (added, updated)."""
        cache: dict[tuple[str, ...], int] = {}
        # Groups are created in the order the file first names them.
        group_ids = {text: self._ensure_group(conn, path, cache, created)
                     for text, path in parsed.group_paths.items()}
        gids = list(map(group_ids.__getitem__, parsed.group_texts))
        updates: list[tuple[str, int, str, str | None, int]] = []
        if conn.execute("SELECT 1 FROM devices LIMIT 1").fetchone() is None:
            # A first import: every row is new, and goes to SQLite from the columns.
            inserts: Sequence[Sequence[object]] = (
                parsed.names, gids, parsed.platforms, parsed.last_syncs)
        else:
            existing = {
                row[1].casefold(): row for row in
                conn.execute("SELECT id, name, group_id, platform, last_sync FROM devices")
            }
            new: list[tuple[str, int, str, str | None]] = []
            for name, gid, platform, last in zip(
                parsed.names, gids, parsed.platforms, parsed.last_syncs, strict=True
            ):
                old = existing.get(name.casefold())
                if old is None:
                    new.append((name, gid, platform, last))
                elif (old[1], old[2], old[3], old[4]) != (name, gid, platform, last):
                    updates.append((name, gid, platform, last, old[0]))
            inserts = [[row[i] for row in new] for i in range(4)]  # as columns
        added = len(inserts[0])
        # A large import builds the secondary indexes once at the end instead of row by
        # row (three times faster for 100 000 devices); the transaction keeps it atomic.
        indexes: list[str] = []
        if added >= BULK_ROWS:
            for index_name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name = 'devices' AND sql IS NOT NULL"
            ).fetchall():
                conn.execute(f'DROP INDEX "{index_name}"')
                indexes.append(sql)
        insert_columns(conn, "devices", dict(zip(
            ("name", "group_id", "platform", "last_sync"), inserts, strict=True)))
        for sql in indexes:
            conn.execute(sql)
        conn.executemany(
            "UPDATE devices SET name = ?, group_id = ?, platform = ?, last_sync = ? "
            "WHERE id = ?",
            updates,
        )
        return added, len(parsed) - added

    def _keep_delivering_syncs(
        self, conn: sqlite3.Connection, rows: Sequence[CertificateRow], at: datetime
    ) -> None:
        """Copy each last_sync that delivered the current reserve into device_syncs.

        Called before last_sync values are replaced, so that the delivery is not forgotten.
        """
        window = self._window_of(rows, self._state(rows, at))
        if window is None:
            return
        until = iso(min(window.switch_at, at))
        conn.execute(
            "INSERT INTO device_syncs(device_id, at) SELECT d.id, d.last_sync FROM devices d "
            "WHERE d.last_sync >= ? AND d.last_sync <= ? AND NOT EXISTS (SELECT 1 FROM "
            "device_syncs s WHERE s.device_id = d.id AND s.at = d.last_sync)",
            (iso(window.created_at), until),
        )

    # --- forecast -------------------------------------------------------------------------

    def _window_of(
        self, rows: Sequence[CertificateRow], eff: EffectiveState
    ) -> ReserveWindow | None:
        """The reserve to forecast: the pending one, else the one that became main by a switch."""
        by_id = {r.id: r for r in rows}
        if eff.reserve_id is not None and eff.switch_at is not None:
            return ReserveWindow(eff.reserve_id, by_id[eff.reserve_id].created_at, eff.switch_at)
        for s in reversed(eff.switches):
            if s.reserve_id == eff.main_id:
                return ReserveWindow(s.reserve_id, by_id[s.reserve_id].created_at, s.at)
        return None

    def reserve_window(self, at: datetime | None = None) -> ReserveWindow | None:
        when = ensure_utc(at) if at is not None else self.now()
        rows = self.store.list_certificates()
        return self._window_of(rows, self._state(rows, when))

    def device_table(
        self, at: datetime | None = None, *, window: ReserveWindow | None = None,
        conn: sqlite3.Connection | None = None,
    ) -> DeviceTable:
        """Every device with its forecast at ``at`` (default now), ordered by name."""
        when = ensure_utc(at) if at is not None else self.now()
        if window is None:
            window = self.reserve_window(when)
        db = conn or self.store.connection
        groups = self.groups(db)
        paths = {gid: group_path(groups, gid) for gid in groups}
        periods = {gid: period_seconds(effective_sync_hours(groups, gid)) for gid in groups}
        rows = db.execute(
            "SELECT id, name, group_id, platform, last_sync, "
            "CAST(strftime('%s', last_sync) AS INTEGER) FROM devices ORDER BY name"
        ).fetchall()
        ids, names, gids, platforms, lasts, last_s = (
            tuple(col) for col in zip(*rows, strict=True)
        ) if rows else ((), (), (), (), (), ())
        period_s = tuple(map(periods.__getitem__, gids))
        fc: Forecast | None = None
        if window is not None:
            received = dict(
                db.execute(
                    "SELECT device_id, MIN(CAST(strftime('%s', at) AS INTEGER)) FROM "
                    "device_syncs WHERE at >= ? AND at <= ? GROUP BY device_id",
                    (iso(window.created_at), iso(window.switch_at)),
                ).fetchall()
            )
            mobile = frozenset(MOBILE_PLATFORMS)
            fc = forecast(
                zip(last_s, map(received.get, ids), period_s,
                    map(mobile.__contains__, platforms), strict=True),
                window,
                when,
            )
        return DeviceTable(
            at=when,
            ids=ids,
            names=names,
            group_ids=gids,
            platforms=platforms,
            last_sync=lasts,
            period_s=period_s,
            groups=groups,
            paths=paths,
            forecast=fc,
        )

    def devices(self, state: str | None = None, at: datetime | None = None) -> list[DeviceView]:
        """Devices (all, or those in one forecast state), ordered by name."""
        if state is not None and state not in DEVICE_STATES:
            raise ValidationError(
                f"Unknown device state '{state}'; use one of {', '.join(DEVICE_STATES)}."
            )
        table = self.device_table(at)
        return [table.view(i) for i in table.rows_in_state(state)]

    def fleet_summary(
        self, rows: Sequence[CertificateRow] | None = None, eff: EffectiveState | None = None,
        at: datetime | None = None,
    ) -> FleetSummary:
        """The forecast counts at ``at`` (or for ``eff``, which status() has already)."""
        if rows is None:
            rows = self.store.list_certificates()
        if eff is None:
            eff = self._state(rows, ensure_utc(at) if at is not None else self.now())
        window = self._window_of(rows, eff)
        table = self.device_table(eff.at, window=window) if window is not None else None
        if table is None or table.forecast is None:
            marks = ",".join("?" * len(MOBILE_PLATFORMS))
            count = self.store.connection.execute(
                f"SELECT COUNT(*) FROM devices WHERE platform IN ({marks})", MOBILE_PLATFORMS
            ).fetchone()[0]
            return FleetSummary(None, eff.at, int(count), {}, (), ())
        fc = table.forecast

        def names(state: str) -> tuple[str, ...]:
            return tuple(table.names[i] for i in table.rows_in_state(state))

        return FleetSummary(
            window=window,
            at=eff.at,
            devices=fc.devices,
            counts=dict(fc.counts),
            at_risk_names=names("at-risk") if fc.counts["at-risk"] else (),
            lost_names=names("lost") if fc.counts["lost"] else (),
        )

    @staticmethod
    def fleet_warnings(summary: FleetSummary) -> list[tuple[str, str]]:
        """(code, message) warnings of the forecast: devices at risk, devices lost."""
        out: list[tuple[str, str]] = []
        window = summary.window
        if window is None:
            return out

        def listing(names: Sequence[str]) -> str:
            shown = ", ".join(names[:WARNING_NAMES])
            more = len(names) - WARNING_NAMES
            return shown + (f" and {more} more" if more > 0 else "")

        if not summary.switched and summary.at_risk:
            n = summary.at_risk
            out.append((
                "devices-at-risk",
                f"{n} device{'s are' if n != 1 else ' is'} at risk of not receiving the reserve "
                f"certificate before the switch at {iso(window.switch_at)} (not seen for more "
                "than three synchronization periods, or next synchronization after the "
                f"switch): {listing(summary.at_risk_names)}. See the at-risk list "
                "(kscert devices list --state at-risk).",
            ))
        if summary.switched and summary.lost:
            n = summary.lost
            out.append((
                "devices-lost",
                f"{n} device{'s' if n != 1 else ''} did not receive the certificate before the "
                f"switch at {iso(window.switch_at)} and lost the connection: "
                f"{listing(summary.lost_names)}. Reinstall the endpoint agent on each "
                "(kscert devices list --state lost).",
            ))
        return out

    # --- simulation (training stores) -----------------------------------------------------

    def simulate_advance(self, delta: timedelta) -> SimulationReport:
        """Move a training store's clock on; devices synchronize by their periods.

        A deterministic share of devices stays offline (see ``model.fleet.stays_offline``),
        as do devices already stale; the reserve switches when its time comes, and devices
        that did not receive it are cut off from then on.
        """
        self.store.require_writable()
        if not self.training:
            raise RefusedError(
                "The simulation clock is for training stores only; this store uses real "
                "time and its clock cannot be moved."
            )
        if delta <= timedelta(0) or delta > MAX_SIMULATION:
            raise ValidationError(
                f"Advance the clock by 1 hour to {MAX_SIMULATION.days} days at a time."
            )
        with self.store.transaction() as conn:
            start = self.now()
            end = start + delta
            rows = self.store.list_certificates(conn)
            eff_end = self._state(rows, end)
            window = self._window_of(rows, eff_end)
            table = self.device_table(start, window=window, conn=conn)
            start_s, end_s = epoch(start), epoch(end)
            received: dict[int, int] = {}
            if window is not None:
                received = dict(
                    conn.execute(
                        "SELECT device_id, MIN(CAST(strftime('%s', at) AS INTEGER)) FROM "
                        "device_syncs WHERE at >= ? AND at <= ? GROUP BY device_id",
                        (iso(window.created_at), iso(window.switch_at)),
                    ).fetchall()
                )
            updates: list[tuple[str, int]] = []
            deliveries: list[tuple[int, str]] = []
            newly = 0
            for row, device_id in enumerate(table.ids):
                last = table.last_sync[row]
                last_s = epoch(device_csv.parse_time(last)) if last else None
                mobile = table.platforms[row] in MOBILE_PLATFORMS
                held: int | None = None
                cut_off: int | None = None
                if window is not None and mobile:
                    held = holds_s(received.get(device_id), last_s, window.created_s,
                                   window.switch_s, start_s)
                    if held is None:
                        cut_off = window.switch_s
                sim = simulate_device(
                    last_s, table.period_s[row], start_s, end_s,
                    offline=stays_offline(table.names[row]), cut_off_s=cut_off,
                )
                if not sim.synced or sim.last_s is None:
                    continue
                updates.append((iso(from_epoch(sim.last_s)), device_id))
                if window is None or not mobile:
                    continue
                if held is not None and device_id not in received:
                    deliveries.append((device_id, iso(from_epoch(held))))
                elif held is None and sim.first_s is not None and (
                    window.created_s <= sim.first_s <= window.switch_s
                ):
                    deliveries.append((device_id, iso(from_epoch(sim.first_s))))
                    newly += 1
            conn.executemany("UPDATE devices SET last_sync = ? WHERE id = ?", updates)
            conn.executemany("INSERT INTO device_syncs(device_id, at) VALUES (?, ?)", deliveries)
            self.store.set_meta(conn, "sim_now", iso(end))
            self._record_switches_in(conn, rows, eff_end)
            switched = next(
                (s.at for s in eff_end.switches if start < s.at <= end), None
            )
            self.store.audit(
                conn,
                end,
                "simulate-advance",
                {
                    "from": iso(start),
                    "to": iso(end),
                    "synchronized": len(updates),
                    "newly_delivered": newly,
                    "switched_at": iso(switched) if switched else None,
                },
            )
        summary = self.fleet_summary()
        return SimulationReport(start, end, len(updates), newly, switched, summary)


def state_label(state: str | None) -> str:
    """The display text of a state code ('at-risk' → 'at risk'); '—' for none."""
    return STATE_TEXT.get(state, "—") if state else "—"
