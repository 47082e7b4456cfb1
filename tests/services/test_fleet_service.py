"""Managed devices through the facade: groups, CSV import, forecast, simulation (DESIGN §6)."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kscert_gui.model.clock import FixedClock, iso
from kscert_gui.model.errors import (
    InputFileError,
    NotFoundError,
    RefusedError,
    StoreError,
    ValidationError,
)
from kscert_gui.model.fleet import MOBILE_PLATFORMS
from kscert_gui.services import fleet_service
from kscert_gui.services.demo import create_demo_store
from kscert_gui.services.fleet_service import BULK_ROWS, DeviceImportError
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.store import insert_columns
from kscert_gui.services.views import ReissueRequest

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
HEADER = "name,group,platform,last synchronization\n"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[AdministrationServer]:
    secrets = MemorySecretStore()
    create_demo_store(tmp_path / "demo", secrets, FixedClock(T0), pin_clock=True)
    with AdministrationServer.open(tmp_path / "demo", secrets) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AdministrationServer]:
    with AdministrationServer.open(tmp_path / "real", MemorySecretStore(),
                                   clock=FixedClock(T0)) as srv:
        srv.reissue(ReissueRequest("mdm.example.com", None), confirmed=True)
        yield srv


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def device_count(server: AdministrationServer) -> int:
    return int(server.store.connection.execute("SELECT COUNT(*) FROM devices").fetchone()[0])


# --- acceptance 2: the drill on the demo store ----------------------------------------------


def test_drill_lost_devices_are_exactly_those_that_never_synchronized(
    demo: AdministrationServer,
) -> None:
    before = {v.name: v for v in demo.fleet.devices()}
    created = demo.now()
    demo.reissue(ReissueRequest(None, 30), confirmed=True)
    pending = demo.status()
    assert pending.reserve is not None and pending.delivered == 0
    assert pending.devices == 1250
    assert any(w.code == "devices-at-risk" for w in pending.warnings)

    report = demo.fleet.simulate_advance(timedelta(days=31))
    assert report.end == created + timedelta(days=31) == demo.now()
    # The demo main certificate expires in 20 days: that is the switch.
    assert report.switched_at == created + timedelta(days=20)

    after = {v.name: v for v in demo.fleet.devices()}
    mobile = {n for n, v in after.items() if v.platform in MOBILE_PLATFORMS}
    lost = {n for n in mobile if after[n].connection == "lost"}
    never = {n for n in mobile if (last := after[n].last_sync) is None or last < created}
    unchanged = {n for n in mobile if after[n].last_sync == before[n].last_sync}
    assert lost == never == unchanged
    assert 0 < len(lost) < 150
    # The others hold the new main certificate; on this 14.2 server the gateway of their
    # scope still serves the previous one, so they are blocked until it is reconnected.
    assert {n for n in mobile if after[n].connection == "blocked"} == mobile - lost
    # Stale devices and the deterministic offline share are among the lost.
    assert all(after[n].connection == "lost" for n in mobile if before[n].last_sync is None)
    demo.points.reconnect_gateway("gw-dmz-01")
    again = {v.name: v for v in demo.fleet.devices()}
    assert {n for n in mobile if again[n].connection == "connected"} == mobile - lost

    st = demo.status()
    assert st.reserve is None and st.main is not None
    assert st.main.info.sha256 != pending.main.info.sha256 if pending.main else True
    assert [w for w in st.warnings if w.code == "devices-lost"]
    actions = [e.action for e in demo.store.audit_entries()]
    assert "simulate-advance" in actions and "switch-observed" in actions
    assert report.newly_delivered == len(mobile) - len(lost)


def test_simulation_moves_the_clock_by_hours_and_delivers_gradually(
    demo: AdministrationServer,
) -> None:
    demo.reissue(ReissueRequest(None, 30), confirmed=True)
    start = demo.now()
    first = demo.fleet.simulate_advance(timedelta(hours=6))
    assert demo.now() == start + timedelta(hours=6)
    mid = demo.status()
    assert 0 < first.newly_delivered == mid.delivered < 1250
    demo.fleet.simulate_advance(timedelta(hours=18))
    assert demo.status().delivered > mid.delivered  # the 12 h and 24 h groups catch up
    entries = [e for e in demo.store.audit_entries() if e.action == "simulate-advance"]
    assert [e.detail["from"] for e in entries] == [iso(start), iso(start + timedelta(hours=6))]


def test_simulation_is_refused_on_a_real_store(server: AdministrationServer) -> None:
    with pytest.raises(RefusedError, match="training stores only"):
        server.fleet.simulate_advance(timedelta(days=1))
    assert server.now() == T0


def test_simulation_step_is_bounded(demo: AdministrationServer) -> None:
    for bad in (timedelta(0), timedelta(hours=-1), timedelta(days=401)):
        with pytest.raises(ValidationError):
            demo.fleet.simulate_advance(bad)


# --- groups and the activation-term rule ----------------------------------------------------


def test_set_sync_changes_the_period_the_term_rule_and_the_audit(
    demo: AdministrationServer,
) -> None:
    settings = demo.fleet.set_group_sync("Field staff", 720)
    assert settings.path == "Managed devices/Field staff" and settings.effective_hours == 720
    plan = demo.plan_reissue(ReissueRequest(None, 30))
    errors = [i for i in plan.issues if i.severity == "error"]
    assert len(errors) == 1 and "Managed devices/Field staff" in errors[0].message
    entry = demo.store.audit_entries()[-1]
    assert entry.action == "group-sync"
    assert entry.detail["previous_hours"] == 12.0 and entry.detail["hours"] == 720
    inherited = demo.fleet.set_group_sync("Managed devices/Field staff", None)
    assert inherited.sync_hours is None and inherited.effective_hours == 6.0


def test_set_sync_refuses_unknown_groups_and_bad_periods(demo: AdministrationServer) -> None:
    with pytest.raises(NotFoundError, match=r"no group 'Nowhere'.*Head office"):
        demo.fleet.set_group_sync("Nowhere", 4)
    for bad in (0, -1, 721, float("nan")):
        with pytest.raises(ValidationError):
            demo.fleet.set_group_sync("Head office", bad)
    assert demo.fleet.group_settings("Head office")[0].sync_hours is None


def test_group_override_changes_the_forecast(demo: AdministrationServer) -> None:
    demo.reissue(ReissueRequest(None, 30), confirmed=True)
    at_risk = demo.fleet.fleet_summary().at_risk
    demo.fleet.set_group_sync("Warehouse scanners", 1)  # devices not seen for 3 h are now at risk
    assert demo.fleet.fleet_summary().at_risk > at_risk


# --- devices by hand --------------------------------------------------------------------------


def test_add_device(server: AdministrationServer) -> None:
    with pytest.raises(NotFoundError):
        server.fleet.add_device("phone-1", "Phones", "iOS")
    view = server.fleet.add_device("phone-1", "Phones", "ios", T0 - timedelta(hours=1),
                             create_group=True)
    assert (view.group, view.platform, view.last_sync) == (
        "Managed devices/Phones", "iOS", T0 - timedelta(hours=1))
    with pytest.raises(RefusedError, match="already exists"):
        server.fleet.add_device("PHONE-1", "Phones", "Android")
    with pytest.raises(ValidationError, match="Unknown platform"):
        server.fleet.add_device("phone-2", "Phones", "Symbian")
    with pytest.raises(ValidationError, match="future"):
        server.fleet.add_device("phone-2", "Phones", "Android", T0 + timedelta(days=1))
    assert device_count(server) == 1
    assert server.store.audit_entries()[-1].action == "device-add"


# --- CSV import (acceptance 3) ----------------------------------------------------------------


def test_import_iso_export_format_bom_semicolons_and_empty_lines(
    server: AdministrationServer, tmp_path: Path
) -> None:
    content = (
        "\ufeffName;Group;Platform;Last synchronization\r\n"
        "\r\n"
        "and-1;Managed devices/Field staff/North;android;26.11.2026 08:00:00\r\n"
        ";;;\r\n"
        "iph-2;Head office;iOS;2026-11-26T07:30:00Z\r\n"
        "win-3;Head office;Windows;\r\n"
        "iph-4;;iOS;2026-11-26 06:00:00+01:00\r\n"
    )
    report = server.fleet.import_devices(write(tmp_path, "export.csv", content))
    assert (report.rows, report.added, report.updated, report.error_count) == (4, 4, 0, 0)
    assert report.groups_created == 4  # root, Field staff, North, Head office
    got = {v.name: v for v in server.fleet.devices()}
    assert got["and-1"].group == "Managed devices/Field staff/North"
    assert got["and-1"].last_sync == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert got["iph-4"].last_sync == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert got["iph-4"].group == "Managed devices"
    assert got["win-3"].last_sync is None and got["win-3"].platform == "Windows"
    assert server.status().devices == 3  # Windows is not a mobile device
    entry = server.store.audit_entries()[-1]
    assert entry.action == "devices-import" and entry.detail["added"] == 4


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    server: AdministrationServer, tmp_path: Path
) -> None:
    content = (
        HEADER
        + "ok-1,Phones,Android,2026-11-26T08:00:00Z\n"
        + "bad-date,Phones,Android,31.02.2026 10:00:00\n"
        + "\n"
        + "bad-platform,Phones,Symbian,2026-11-26T08:00:00Z\n"
        + "junk-date,Phones,iOS,yesterday\n"
        + "ok-1,Phones,iOS,\n"
        + "too,many,fields,here,x\n"
        + ",Phones,iOS,\n"
        + "future,Phones,iOS,2027-01-01T00:00:00Z\n"
    )
    path = write(tmp_path, "devices.csv", content)
    audit_before = len(server.store.audit_entries())
    with pytest.raises(DeviceImportError) as caught:
        server.fleet.import_devices(path)
    errors = {e.line: e.message for e in caught.value.report.errors}
    assert sorted(errors) == [3, 5, 6, 7, 8, 9, 10]
    assert "31.02.2026 10:00:00" in errors[3] and "DD.MM.YYYY" in errors[3]
    assert "Symbian" in errors[5] and "Android" in errors[5]
    assert "yesterday" in errors[6]
    assert "already appears on line 2" in errors[7]
    assert "5 field(s)" in errors[8]
    assert "empty" in errors[9]
    assert "future" in errors[10]
    assert "nothing was imported" in str(caught.value)
    assert device_count(server) == 0
    assert len(server.store.audit_entries()) == audit_before
    assert server.fleet.groups() == {}

    report = server.fleet.import_devices(path, skip_bad_rows=True)
    assert report.committed and report.rows == 1 and report.error_count == 7
    assert [v.name for v in server.fleet.devices()] == ["ok-1"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("device;os;when\nx;y;z\n", "line 1: the header row must name the columns"),
        ("", "empty"),
        ("name,group,platform,last synchronization\n".encode("utf-16"), "binary data"),
        ("name,group,platform,last synchronization\nPhöne,G,iOS,\n".encode("latin-1"),
         "line 2: the file is not UTF-8"),
    ],
)
def test_files_that_are_not_device_lists(
    server: AdministrationServer, tmp_path: Path, content: str | bytes, expected: str
) -> None:
    with pytest.raises(InputFileError, match=expected) as caught:
        server.fleet.import_devices(write(tmp_path, "x.csv", content))
    assert caught.value.exit_code == 2
    assert device_count(server) == 0


@pytest.mark.parametrize("kind", ["random", "one-line", "text-lines"])
def test_ten_megabytes_of_junk_is_refused_quickly(
    server: AdministrationServer, tmp_path: Path, kind: str
) -> None:
    size = 10 * 1024 * 1024
    if kind == "random":
        data = os.urandom(size)
    elif kind == "one-line":
        data = b"A" * size
    else:
        data = b"lorem ipsum dolor sit amet\n" * (size // 27)
    path = write(tmp_path, "junk.csv", data)
    started = time.perf_counter()
    with pytest.raises(InputFileError, match="not a device list"):
        server.fleet.import_devices(path)
    assert time.perf_counter() - started < 2.0
    assert device_count(server) == 0


def test_missing_file_and_directory(server: AdministrationServer, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="does not exist"):
        server.fleet.import_devices(tmp_path / "none.csv")
    with pytest.raises(InputFileError, match="directory"):
        server.fleet.import_devices(tmp_path)


def test_reimport_keeps_the_synchronization_that_delivered_the_reserve(
    server: AdministrationServer, tmp_path: Path
) -> None:
    server.fleet.import_devices(write(tmp_path, "a.csv", HEADER + "p-1,Phones,iOS,"
                                + iso(T0 - timedelta(hours=1)) + "\n"))
    server.reissue(ReissueRequest(None, 30), confirmed=True)
    clock = FixedClock(T0 + timedelta(hours=2))
    server.core._clock = clock
    # The device synchronized after the reserve was created: it holds it.
    server.fleet.import_devices(write(tmp_path, "b.csv", HEADER + "p-1,Phones,iOS,"
                                + iso(T0 + timedelta(hours=1)) + "\n"))
    assert server.fleet.fleet_summary().delivered == 1
    # An older export imported later must not take the certificate away.
    server.fleet.import_devices(write(tmp_path, "c.csv", HEADER + "p-1,Phones,iOS,"
                                + iso(T0 - timedelta(days=2)) + "\n"))
    assert [v.forecast for v in server.fleet.devices()] == ["delivered"]
    assert server.status().delivered == 1


# --- large imports: many rows a statement, indexes rebuilt, one transaction ------------------

LARGE = BULK_ROWS + 7


def large_csv(names: range, group: str = "Field staff/{half}", *, bad_row: int | None = None,
              export_times: bool = False) -> str:
    lines = []
    for i in names:
        when = T0 - timedelta(minutes=i)
        shown = f"{when:%d.%m.%Y %H:%M:%S}" if export_times else iso(when)
        half = "North" if i % 2 else "South"
        lines.append(f"dev-{i:06d},{group.format(half=half)},{'iOS' if i % 3 else 'Android'},"
                     + ("" if i % 50 == 0 else shown))
    if bad_row is not None:
        lines[bad_row] = "bad,Phones,Symbian,"
    return HEADER + "\n".join(lines) + "\n"


def device_indexes(server: AdministrationServer) -> list[str]:
    return sorted(row[0] for row in server.store.connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices' "
        "AND sql IS NOT NULL"))


def cache_size(server: AdministrationServer) -> int:
    return int(server.store.connection.execute("PRAGMA cache_size").fetchone()[0])


@pytest.mark.parametrize("export_times", [False, True])
def test_a_large_import_keeps_every_row_in_order_with_its_indexes(
    server: AdministrationServer, tmp_path: Path, export_times: bool
) -> None:
    indexes, cache = device_indexes(server), cache_size(server)
    assert len(indexes) == 3
    report = server.fleet.import_devices(
        write(tmp_path, "large.csv", large_csv(range(LARGE), export_times=export_times)))
    assert (report.rows, report.added, report.updated, report.groups_created) == (
        LARGE, LARGE, 0, 4)
    rows = server.store.connection.execute(
        "SELECT d.id, d.name, g.name, d.platform, d.last_sync FROM devices d "
        "JOIN groups g ON g.id = d.group_id ORDER BY d.id").fetchall()
    assert [r[0] for r in rows] == list(range(1, LARGE + 1))  # the file's order
    assert rows[0] == (1, "dev-000000", "South", "Android", None)
    assert rows[7] == (8, "dev-000007", "North", "iOS", iso(T0 - timedelta(minutes=7)))
    assert rows[-1][1] == f"dev-{LARGE - 1:06d}"
    assert device_indexes(server) == indexes and cache_size(server) == cache
    assert server.store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    entry = server.store.audit_entries()[-1]
    assert entry.action == "devices-import" and entry.detail["added"] == LARGE
    assert entry.detail["groups_created"] == [
        "Managed devices", "Managed devices/Field staff", "Managed devices/Field staff/South",
        "Managed devices/Field staff/North"]


@pytest.mark.parametrize("where", ["inserting", "auditing"])
def test_a_large_import_that_fails_while_writing_leaves_nothing(
    server: AdministrationServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    indexes, cache = device_indexes(server), cache_size(server)

    def half_then_fail(conn: sqlite3.Connection, table: str,
                       columns: dict[str, list[object]]) -> int:
        # Half the rows are in, and the indexes are dropped, when the disk fails.
        insert_columns(conn, table, {k: v[: len(v) // 2] for k, v in columns.items()})
        raise sqlite3.OperationalError("disk I/O error")

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    if where == "inserting":
        monkeypatch.setattr(fleet_service, "insert_columns", half_then_fail)
    else:
        monkeypatch.setattr(server.store, "audit", broken_audit)
    with pytest.raises(StoreError, match="could not be saved"):
        server.fleet.import_devices(write(tmp_path, "large.csv", large_csv(range(LARGE))))
    monkeypatch.undo()
    assert device_count(server) == 0 and server.fleet.groups() == {}
    # The indexes dropped for the bulk insert came back with the rollback.
    assert device_indexes(server) == indexes and cache_size(server) == cache


def test_a_large_file_with_one_bad_row_imports_nothing_unless_told(
    server: AdministrationServer, tmp_path: Path
) -> None:
    path = write(tmp_path, "large.csv", large_csv(range(LARGE), bad_row=LARGE - 3))
    with pytest.raises(DeviceImportError) as caught:
        server.fleet.import_devices(path)
    assert [str(e) for e in caught.value.report.errors] == [
        f"line {LARGE - 1}: unknown platform 'Symbian' for device 'bad'; use one of "
        "Android, iOS, Windows, Linux, macOS"]
    assert device_count(server) == 0
    report = server.fleet.import_devices(path, skip_bad_rows=True)
    assert (report.added, report.error_count) == (LARGE - 1, 1)
    assert device_count(server) == LARGE - 1


def test_a_large_reimport_updates_known_devices_and_adds_new_ones(
    server: AdministrationServer, tmp_path: Path
) -> None:
    server.fleet.import_devices(write(tmp_path, "a.csv", large_csv(range(LARGE))))
    ids = dict(server.store.connection.execute("SELECT name, id FROM devices").fetchall())
    # Half of the known devices move to another group, and as many new ones come.
    half = LARGE // 2
    report = server.fleet.import_devices(write(tmp_path, "b.csv", large_csv(
        range(half, half + LARGE), group="Warehouse")))
    assert (report.added, report.updated) == (half, LARGE - half)
    assert device_count(server) == LARGE + half
    moved = server.store.connection.execute(
        "SELECT d.id, g.name FROM devices d JOIN groups g ON g.id = d.group_id "
        "WHERE d.name = ?", (f"dev-{half + 1:06d}",)).fetchone()
    assert moved == (ids[f"dev-{half + 1:06d}"], "Warehouse")
    assert len(device_indexes(server)) == 3
    assert server.store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_device_list_filters_by_state(demo: AdministrationServer) -> None:
    # No reserve: every device that can still connect loses the connection at the expiry.
    mobile = [v for v in demo.fleet.devices() if v.platform in MOBILE_PLATFORMS]
    alive = [v for v in mobile if v.connection != "lost"]
    assert alive and all(v.forecast == "at-risk" for v in alive)
    assert all(f"no reserve certificate is specified: all {len(alive)} devices" in v.reason
               for v in alive)
    assert all(v.forecast is None for v in mobile if v.connection == "lost")
    demo.reissue(ReissueRequest(None, 30), confirmed=True)
    at_risk = demo.fleet.devices("at-risk")
    assert at_risk and all(v.forecast == "at-risk" for v in at_risk)
    assert len(at_risk) < len(alive)
    with pytest.raises(ValidationError, match="Unknown device state"):
        demo.fleet.devices("gone")
    # What-if: a week later, without a simulated synchronization, more are at risk.
    later = demo.fleet.devices("at-risk", at=demo.now() + timedelta(days=7))
    assert len(later) > len(at_risk)


def test_the_term_context_from_the_device_table_equals_the_one_read_from_the_store(
    demo: AdministrationServer,
) -> None:
    """The snapshot's shortcut (counts and periods from its device table) gives the same
    activation-term verdicts as reading the store."""
    demo.fleet.set_group_sync("Warehouse scanners", 30.0)
    table = demo.fleet.device_table()
    assert demo.term_context(table=table) == demo.term_context(table.at)
