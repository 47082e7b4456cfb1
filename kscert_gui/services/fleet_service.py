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
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kscert_gui.model.clock import ensure_utc, iso
from kscert_gui.model.connection import (
    DEVICE_STATES,
    STALE_PERIODS,
    GatewayScope,
    Situation,
    build_timeline,
    epoch,
    from_epoch,
    last_sync_after,
    nearest_gateways,
    next_sync_s,
    read_fleet,
)
from kscert_gui.model.errors import NotFoundError, RefusedError, ValidationError
from kscert_gui.model.fleet import (
    DEFAULT_SYNC_HOURS,
    MOBILE_PLATFORMS,
    PLATFORMS,
    STATE_TEXT,
    Group,
    ReserveWindow,
    canonical_platform,
    check_sync_hours,
    effective_sync_hours,
    group_path,
    period_seconds,
    stays_offline,
)
from kscert_gui.model.schedule import EXPIRY_WATCH_DAYS, EffectiveState
from kscert_gui.services import device_csv
from kscert_gui.services.base import Part, slot_record, state_of
from kscert_gui.services.device_csv import ROOT_GROUP
from kscert_gui.services.store import insert_columns
from kscert_gui.services.views import (
    DeviceImportReport,
    DeviceView,
    FleetSummary,
    GroupSettings,
    ReinstallReport,
    SimulationReport,
)
from kscert_gui.services.views import DeviceTable as DeviceTable  # re-export

if TYPE_CHECKING:
    from kscert_gui.services.store import CertificateRow, DeviceUpdate, NewDevice

#: The longest simulated step: a little more than the longest activation term.
MAX_SIMULATION = timedelta(days=400)
#: From this many new devices on, an import rebuilds the device indexes at the end.
BULK_ROWS = 10_000
#: How many device names a warning lists before it says "and N more".
WARNING_NAMES = 5


# --- results ------------------------------------------------------------------------------


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


# --- the part ---------------------------------------------------------------------


class Fleet(Part):
    """Managed devices and groups, the §6.1 reading, and the simulation (``server.fleet``)."""

    # --- groups ---------------------------------------------------------------------------

    def groups(self, conn: sqlite3.Connection | None = None) -> dict[int, Group]:
        """Every group by id."""
        return self.store.groups.all(conn)

    def group_settings(self, group: int | str | None = None) -> list[GroupSettings]:
        """One group's settings (by id or path), or with None every group's, by path."""
        groups = self.groups()
        counts = self.store.devices.count_by_group()
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
        return lookup_group(self.groups(conn), text)

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
            self.store.groups.set_sync_hours(conn, found.id, hours)
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
        groups = self.store.groups
        if not path:
            found = groups.find_root(ROOT_GROUP, conn)
            if found is None:
                gid = groups.add(conn, ROOT_GROUP, None)
                created.append(ROOT_GROUP)
            else:
                gid = found
        else:
            parent = self._ensure_group(conn, path[:-1], cache, created)
            found = groups.find_child(parent, path[-1], conn)
            if found is None:
                gid = groups.add(conn, path[-1], parent)
                created.append("/".join((ROOT_GROUP, *path)))
            else:
                gid = found
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
        else:
            # The agent enrolled now and received the current certificates (DESIGN §6.1).
            last_sync = at.replace(microsecond=0)
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
            existing = self.store.devices.existing_name(name, conn)
            if existing is not None:
                raise RefusedError(f"A device named '{existing}' already exists.")
            device_id = self.store.devices.add(
                conn, name, gid, canonical, iso(last_sync) if last_sync else None
            )
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
        devices = self.store.devices
        updates: list[DeviceUpdate] = []
        names: Sequence[str]
        groups: Sequence[int]
        platforms: Sequence[str]
        lasts: Sequence[str | None]
        if devices.is_empty(conn):
            # A first import: every row is new, and goes to SQLite from the columns.
            names, groups, platforms, lasts = (
                parsed.names, gids, parsed.platforms, parsed.last_syncs)
        else:
            existing = {row[1].casefold(): row for row in devices.records(conn)}
            new: list[NewDevice] = []
            for name, gid, platform, last in zip(
                parsed.names, gids, parsed.platforms, parsed.last_syncs, strict=True
            ):
                old = existing.get(name.casefold())
                if old is not None and old[4] is not None and (last is None or last < old[4]):
                    # An older export cannot undo a newer synchronization: what a device
                    # holds follows from its latest one (DESIGN §6.1).
                    last = old[4]
                if old is None:
                    new.append((name, gid, platform, last))
                elif (old[1], old[2], old[3], old[4]) != (name, gid, platform, last):
                    updates.append((name, gid, platform, last, old[0]))
            # As columns.
            names = [row[0] for row in new]
            groups = [row[1] for row in new]
            platforms = [row[2] for row in new]
            lasts = [row[3] for row in new]
        added = len(names)
        # A large import builds the secondary indexes once at the end instead of row by
        # row (three times faster for 100 000 devices). The column insert is named here,
        # in this module, so that a test can make it fail halfway.
        devices.add_columns(conn, names, groups, platforms, lasts,
                            rebuild_indexes=added >= BULK_ROWS, insert=insert_columns)
        devices.update_many(conn, updates)
        return added, len(parsed) - added

    def _keep_delivering_syncs(
        self, conn: sqlite3.Connection, rows: Sequence[CertificateRow], at: datetime
    ) -> None:
        """Copy each last_sync that delivered the current reserve into device_syncs.

        Called before last_sync values are replaced, so that the delivery is not forgotten.
        """
        window = self._window_of(rows, state_of(rows, at))
        if window is None:
            return
        self.store.device_syncs.keep_last_syncs(
            conn, window.created_at, min(window.switch_at, at)
        )

    # --- forecast -------------------------------------------------------------------------

    def _window_of(
        self, rows: Sequence[CertificateRow], eff: EffectiveState
    ) -> ReserveWindow | None:
        """The delivery window of the pending reserve, if one is pending."""
        if eff.reserve_id is None or eff.switch_at is None:
            return None
        created = next(r.created_at for r in rows if r.id == eff.reserve_id)
        return ReserveWindow(eff.reserve_id, created, eff.switch_at)

    def reserve_window(self, at: datetime | None = None) -> ReserveWindow | None:
        when = ensure_utc(at) if at is not None else self.now()
        rows = self.store.list_certificates()
        return self._window_of(rows, state_of(rows, when))

    def _gateway_scopes(self, conn: sqlite3.Connection | None) -> tuple[GatewayScope, ...]:
        """Every connection gateway with its scope and the certificate it was given."""
        version = self.core.server_version()
        return tuple(
            GatewayScope(host, scope, held, version)
            for host, scope, held in self.store.distribution_points.gateway_scopes(conn)
        )

    def device_table(
        self, at: datetime | None = None, *, conn: sqlite3.Connection | None = None,
        rows: Sequence[CertificateRow] | None = None,
    ) -> DeviceTable:
        """Every device with its §6.1 verdict at ``at`` (default now), ordered by name."""
        when = ensure_utc(at) if at is not None else self.now()
        if rows is None:
            rows = self.store.list_certificates(conn)
        until = max(when, self.now())
        timeline = build_timeline([slot_record(r) for r in rows], until)
        groups = self.groups(conn)
        paths = {gid: group_path(groups, gid) for gid in groups}
        periods = {gid: period_seconds(effective_sync_hours(groups, gid)) for gid in groups}
        scopes = self._gateway_scopes(conn)
        nearest = nearest_gateways({g.id: g.parent_id for g in groups.values()}, scopes)
        devices = self.store.devices.table_rows(conn)
        # Column by column in Python loops, not zip(*devices): that is one C call over
        # 100 000 rows during which the GUI thread cannot take the interpreter lock.
        ids = tuple([row[0] for row in devices])
        names = tuple([row[1] for row in devices])
        gids = tuple([row[2] for row in devices])
        platforms = tuple([row[3] for row in devices])
        lasts = tuple([row[4] for row in devices])
        last_s = tuple([row[5] for row in devices])
        period_s = tuple(map(periods.__getitem__, gids))
        gateway = tuple(map(nearest.__getitem__, gids))
        mobile_set = frozenset(MOBILE_PLATFORMS)
        mobile = tuple(map(mobile_set.__contains__, platforms))
        situation = Situation.at(timeline, epoch(when), scopes, sum(mobile))
        reading = read_fleet(situation, zip(last_s, period_s, gateway, mobile, strict=True))
        # "all N devices lose the connection": N counts those that can still lose it.
        lose = reading.counts.devices - reading.counts.lost
        reading = replace(reading, situation=replace(situation, mobile_devices=lose))
        window = self._window_of(rows, state_of(rows, when))
        received_s: tuple[int | None, ...] = ()
        if window is not None:
            received = self.store.device_syncs.first_in_window(
                window.created_at, window.switch_at, conn
            )
            received_s = tuple(map(received.get, ids))
        return DeviceTable(
            at=when,
            ids=ids,
            names=names,
            group_ids=gids,
            platforms=platforms,
            last_sync=lasts,
            last_s=last_s,
            period_s=period_s,
            gateway=gateway,
            groups=groups,
            paths=paths,
            reading=reading,
            window=window,
            received_s=received_s,
        )

    def devices(self, state: str | None = None, at: datetime | None = None) -> list[DeviceView]:
        """Devices (all, or those in one connection state or forecast), ordered by name."""
        if state is not None and state not in DEVICE_STATES:
            raise ValidationError(
                f"Unknown device state '{state}'; use one of {', '.join(DEVICE_STATES)}."
            )
        table = self.device_table(at)
        return [table.view(i) for i in table.rows_in_state(state)]

    def fleet_summary(
        self, rows: Sequence[CertificateRow] | None = None, eff: EffectiveState | None = None,
        at: datetime | None = None, table: DeviceTable | None = None,
    ) -> FleetSummary:
        """The §6.1 counts at ``at`` (or for ``eff``, which status() has already)."""
        if rows is None:
            rows = self.store.list_certificates()
        if eff is None:
            eff = state_of(rows, ensure_utc(at) if at is not None else self.now())
        if table is None:
            table = self.device_table(eff.at, rows=rows)
        return summarize(table)

    @staticmethod
    def fleet_warnings(summary: FleetSummary) -> list[tuple[str, str]]:
        """(code, message) warnings of §6.1: devices lost, blocked, at risk at the cut-over."""
        return fleet_warnings(summary)

    # --- simulation (training stores) -----------------------------------------------------

    def _require_training(self, what: str) -> None:
        self.store.require_writable()
        if not self.core.training:
            raise RefusedError(
                f"{what} is for training stores only; this store models a real server, "
                "whose devices synchronize by themselves (import their new synchronization "
                "times from a CSV export)."
            )

    def simulate_advance(self, delta: timedelta) -> SimulationReport:
        """Move a training store's clock on; devices synchronize by their periods.

        A deterministic share of devices stays offline (see ``model.fleet.stays_offline``),
        as do devices already stale; blocked and lost devices do not synchronize (§6.1),
        and the reserve switches when its time comes.
        """
        self._require_training("The simulation clock")
        if delta < timedelta(hours=1) or delta > MAX_SIMULATION:
            raise ValidationError(
                f"Advance the clock by 1 hour to {MAX_SIMULATION.days} days at a time."
            )
        with self.store.transaction() as conn:
            # Devices synchronize from the simulated instant last written: the real time
            # that passed since (the clock runs with it) is caught up here too.
            start = self.core.simulated_until()
            end = self.now() + delta
            rows = self.store.list_certificates(conn)
            self._keep_delivering_syncs(conn, rows, start)
            eff_end = state_of(rows, end)
            timeline = build_timeline([slot_record(r) for r in rows], end)
            table = self.device_table(start, conn=conn, rows=rows)
            scopes = table.situation.gateways
            start_s, end_s = epoch(start), epoch(end)
            created = {r.id: epoch(r.created_at) for r in rows}
            reserves = {
                era.reserve_id: (created[era.reserve_id], era.reserve_switch_s)
                for era in timeline.eras
                if era.reserve_id is not None and era.reserve_switch_s is not None
                and era.reserve_switch_s > start_s
            }
            updates: list[tuple[str, int]] = []
            deliveries: list[tuple[int, str]] = []
            for row, device_id in enumerate(table.ids):
                last_s = table.last_s[row]
                period = table.period_s[row]
                if last_s is None or stays_offline(table.names[row]) or \
                        start_s - last_s > STALE_PERIODS * period:
                    continue
                mobile = table.platforms[row] in MOBILE_PLATFORMS
                if mobile:
                    gw = table.gateway[row]
                    new_last = last_sync_after(timeline, scopes[gw] if gw is not None else None,
                                               last_s, period, start_s, end_s)
                else:
                    first = next_sync_s(last_s, period, start_s)
                    new_last = first + (end_s - first) // period * period \
                        if first <= end_s else None
                if new_last is None:
                    continue
                updates.append((iso(from_epoch(new_last)), device_id))
                if not mobile:
                    continue
                held = timeline.era_at(last_s).reserve_id
                for reserve_id, (created_s, switch_s) in reserves.items():
                    if reserve_id == held:
                        continue
                    got = next_sync_s(last_s, period, max(created_s, start_s + 1))
                    if got <= min(new_last, switch_s):
                        deliveries.append((device_id, iso(from_epoch(got))))
            self.store.devices.set_last_syncs(conn, updates)
            self.store.device_syncs.add_many(conn, deliveries)
            self.core.set_simulated(conn, end)
            self.core.record_switches_in(conn, rows, eff_end)
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
                    "newly_delivered": len(deliveries),
                    "switched_at": iso(switched) if switched else None,
                },
            )
        summary = self.fleet_summary()
        return SimulationReport(start, end, len(updates), len(deliveries), switched, summary)

    def reinstall_agent(
        self, names: Sequence[str] = (), *, lost: bool = False
    ) -> ReinstallReport:
        """Re-enroll devices (training stores): they synchronize at this instant (§6.1).

        ``names`` picks devices by name (any case); ``lost`` takes every device whose
        connection is lost now. Unknown names and non-mobile devices are refused and
        nothing changes.
        """
        self._require_training("Reinstalling the agent")
        if not names and not lost:
            raise ValidationError("Name the devices to re-enroll, or choose all lost devices.")
        at = self.now()
        with self.store.transaction() as conn:
            rows = self.store.list_certificates(conn)
            table = self.device_table(at, conn=conn, rows=rows)
            by_name = {n.casefold(): i for i, n in enumerate(table.names)}
            chosen: list[int] = []
            unknown = [n for n in names if n.strip().casefold() not in by_name]
            if unknown:
                raise NotFoundError(
                    "There is no device " + ", ".join(f"'{n.strip()}'" for n in unknown[:5])
                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "") + "."
                )
            for n in names:
                i = by_name[n.strip().casefold()]
                if table.platforms[i] not in MOBILE_PLATFORMS:
                    raise ValidationError(
                        f"{table.names[i]} is not a managed mobile device ({table.platforms[i]}): "
                        "it does not hold the mobile certificate."
                    )
                chosen.append(i)
            if lost:
                chosen.extend(table.rows_in_state("lost"))
            picked = sorted(set(chosen))
            if not picked:
                return ReinstallReport(at, ())
            if state_of(rows, at).main_id is None:
                raise RefusedError(
                    "There is no main certificate: specify one before reinstalling the agent."
                )
            self._keep_delivering_syncs(conn, rows, at)
            stamp = iso(at)
            self.store.devices.set_last_syncs(conn, [(stamp, table.ids[i]) for i in picked])
            done = tuple(table.names[i] for i in picked)
            self.store.audit(conn, at, "reinstall-agent",
                             {"devices": len(done), "names": list(done[:100])})
        return ReinstallReport(at, done)


def lookup_group(groups: Mapping[int, Group], text: str) -> Group:
    """The one rule for naming a group (devices, synchronization settings, distribution
    point scopes): its path with or without "Managed devices/", any case, spaces around
    the parts ignored, or its name when only one group has it.

    Raises:
        NotFoundError: no group matches (the message lists the groups).
        ValidationError: the name is ambiguous (the message lists the paths).
    """
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


def summarize(table: DeviceTable) -> FleetSummary:
    """The numbers and names of one device table (status, Certificates page, warnings)."""
    c = table.counts
    situation = table.situation
    cut = situation.cutover_s
    return FleetSummary(
        at=table.at,
        counts=c,
        cutover_at=from_epoch(cut) if cut is not None else None,
        cutover=situation.cutover,
        reserve_pending=situation.reserve_id is not None,
        at_risk_names=table.names_in_state("at-risk") if c.at_risk else (),
        lost_names=table.names_in_state("lost") if c.lost else (),
        blocked_now=dict(table.reading.blocked_now),
        blocked_at_cutover=dict(table.reading.blocked_at_cutover),
    )


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:WARNING_NAMES])
    more = len(names) - WARNING_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def _devices(n: int) -> str:
    return f"{n} device" + ("s" if n != 1 else "")


def fleet_warnings(summary: FleetSummary) -> list[tuple[str, str]]:
    """(code, message) warnings of §6.1: devices lost, blocked, at risk at the cut-over."""
    out: list[tuple[str, str]] = []
    c = summary.counts
    if c.lost:
        out.append((
            "devices-lost",
            f"{_devices(c.lost)} of {c.devices} lost the connection: "
            f"{_listing(summary.lost_names)}. Only reinstalling the endpoint agent on each "
            "reconnects them.",
        ))
    for host, n in sorted(summary.blocked_now.items()):
        out.append((
            "devices-blocked",
            f"{_devices(n)} in the scope of connection gateway {host} cannot connect: the "
            "gateway serves another certificate. Reconnect it.",
        ))
    cut = summary.cutover_at
    if cut is not None and c.at_risk:
        when = iso(cut)
        lose = summary.lose_at_cutover
        if not summary.reserve_pending:
            soon = cut - summary.at <= timedelta(days=EXPIRY_WATCH_DAYS)
            if soon:
                # What to do is the "expiring" warning's advice, which always comes with
                # this one (the same EXPIRY_WATCH_DAYS): said once, not twice.
                out.append((
                    "devices-at-risk",
                    f"No reserve certificate is specified: all {_devices(lose)} lose the "
                    f"connection when the main certificate expires at {when}.",
                ))
        else:
            out.append((
                "devices-at-risk",
                f"{_devices(c.at_risk)} may not receive the reserve certificate before the "
                f"switch at {when} (not seen for more than three synchronization periods, "
                f"next synchronization after the switch, or blocked): "
                f"{_listing(summary.at_risk_names)}. {_devices(lose)} lose the connection at "
                f"{when} unless they synchronize before.",
            ))
    if cut is not None:
        for host, n in sorted(summary.blocked_at_cutover.items()):
            out.append((
                "gateway-blocks-at-cutover",
                f"Connection gateway {host} will still serve the previous certificate after "
                f"the switch at {iso(cut)}: {_devices(n)} in its scope that hold the reserve "
                "certificate are blocked until it is reconnected.",
            ))
    return out


def state_label(state: str | None) -> str:
    """The display text of a state code ('at-risk' → 'at risk'); '—' for none."""
    return STATE_TEXT.get(state, "—") if state else "—"
