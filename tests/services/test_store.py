"""The SQLite store: schema, transactions, lock between processes, crash safety."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kscert_gui.model.clock import iso
from kscert_gui.model.errors import NotFoundError, StoreError, StoreLockedError
from kscert_gui.services import store as store_module
from kscert_gui.services.store import (
    DB_NAME,
    LOCK_NAME,
    OWNER_NAME,
    CertificateRow,
    Store,
    read_owner_pid,
)

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_BLOB = b"-----opaque encrypted pkcs8 blob-----"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "profiles" / "server"


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with Store.open(home, writable=True) as opened:
        yield opened


def add_certificate(store: Store, conn: sqlite3.Connection, *, state: Any = "main",
                    address: str = "mdm.example.test", term_days: int | None = None,
                    created_at: datetime = T0) -> int:
    return store.insert_certificate(
        conn,
        source="issued",
        cert_der=b"\x30\x82cert",
        chain_der=b"",
        key_enc=KEY_BLOB,
        sha256="ab" * 32,
        not_before=created_at,
        not_after=created_at + timedelta(days=397),
        address=address,
        created_at=created_at,
        term_days=term_days,
        state=state,
        activated_at=created_at if state == "main" else None,
    )


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )


def start_child(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a child; it must print 'ready' once it reached the point to test."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _out, err = proc.communicate(timeout=30)
        pytest.fail(f"child did not get ready: {line!r} {err}")
    return proc


def sigkill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# --- creation, files, schema ---------------------------------------------------------------


def test_first_open_creates_private_directory_and_files(home: Path) -> None:
    old = os.umask(0o022)  # a permissive umask must not leak into the store
    try:
        with Store.open(home, writable=True) as store:
            with store.transaction() as conn:
                add_certificate(store, conn)
            names = {p.name for p in home.iterdir()}
            assert {DB_NAME, LOCK_NAME, OWNER_NAME, f"{DB_NAME}-wal"} <= names
            for path in home.iterdir():
                assert mode(path) == 0o600, path
    finally:
        os.umask(old)
    assert mode(home) == 0o700
    assert mode(home.parent) == 0o700
    for path in home.iterdir():
        assert mode(path) == 0o600, path


def test_schema_version_and_pragmas(store: Store) -> None:
    conn = store.connection
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3 == store_module.schema_version()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta", "certificates", "audit", "observed_switches", "groups",
                      "devices", "device_syncs", "distribution_points", "watch_endpoints",
                      "watch_results", "certificate_info"}
    indexed = {r[0] for r in conn.execute(
        "SELECT tbl_name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    assert {"devices", "device_syncs"} <= indexed
    dev_index_cols = {
        conn.execute(f"PRAGMA index_info({name})").fetchone()[2]
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='devices' "
            "AND sql IS NOT NULL")
    }
    assert dev_index_cols == {"group_id", "platform", "last_sync"}
    assert uuid.UUID(store.store_id).version == 4
    assert store.get_meta("name") == "Administration Server"
    assert store.get_meta("kind") == "real"
    assert store.get_meta("server_version") == "14.2"
    assert store.get_meta("sim_now") is None
    assert store.writable
    assert store.path == store.home / DB_NAME


def test_schema_constraints_and_defaults(store: Store) -> None:
    with store.transaction() as conn:
        cert = add_certificate(store, conn)
        root = conn.execute("INSERT INTO groups(name) VALUES ('Managed devices')").lastrowid
        dev = conn.execute(
            "INSERT INTO devices(name, group_id, platform) VALUES ('gw1', ?, 'Linux')", (root,)
        ).lastrowid
        conn.execute("INSERT INTO device_syncs(device_id, at) VALUES (?, ?)", (dev, iso(T0)))
        conn.execute("INSERT INTO distribution_points(device_id, scope_group_id) VALUES (?, ?)",
                     (dev, root))
    row = store.connection.execute(
        "SELECT gateway, agent_port, mobile_port, held_cert_id, connected_at "
        "FROM distribution_points").fetchone()
    assert row == (0, 13000, 13292, None, None)
    chain = store.connection.execute(
        "SELECT chain_der FROM certificates WHERE id = ?", (cert,)).fetchone()[0]
    assert chain == b""
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("INSERT INTO devices(name, group_id, platform) VALUES ('x', 999, 'iOS')")
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        conn.execute("UPDATE certificates SET state = 'bogus'")
    with store.transaction() as conn:
        conn.execute("DELETE FROM distribution_points")
        conn.execute("DELETE FROM devices")
    count = store.connection.execute("SELECT COUNT(*) FROM device_syncs").fetchone()[0]
    assert count == 0  # ON DELETE CASCADE


def test_store_id_survives_reopen(home: Path) -> None:
    with Store.open(home, writable=True) as store:
        first = store.store_id
    with Store.open(home, writable=True) as store:
        assert store.store_id == first
    with Store.open(home, writable=False) as store:
        assert store.store_id == first


def test_create_false_refuses_a_missing_store(home: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Store.open(home, writable=True, create=False)
    assert not home.exists()


def test_read_only_open_of_a_missing_store_creates_nothing(home: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Store.open(home, writable=False)
    assert not home.exists()


# --- certificates --------------------------------------------------------------------------


def test_certificate_round_trip_and_state_updates(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 1, 14, 0, 0, tzinfo=plus2)  # 12:00Z
    with store.transaction() as conn:
        main = add_certificate(store, conn, created_at=local)
        reserve = add_certificate(store, conn, state="pending", term_days=30,
                                  created_at=T0 + timedelta(days=1))
    rows = store.list_certificates()
    assert [r.id for r in rows] == [main, reserve]
    first = store.get_certificate(main)
    assert isinstance(first, CertificateRow)
    assert first.created_at == T0 and first.created_at.tzinfo == UTC
    assert first.activated_at == T0
    assert first.not_after == T0 + timedelta(days=397)
    assert first.key_enc == KEY_BLOB
    assert first.term_days is None and first.state == "main" and first.ended_at is None
    raw = store.connection.execute(
        "SELECT created_at FROM certificates WHERE id = ?", (main,)).fetchone()[0]
    assert raw == "2026-03-01T12:00:00Z"
    assert "key_enc" not in repr(first) and repr(KEY_BLOB) not in repr(first)
    assert rows[1].term_days == 30 and rows[1].state == "pending"

    switch = T0 + timedelta(days=31)
    with store.transaction() as conn:
        store.update_certificate_state(conn, reserve, "main", activated_at=switch)
        store.update_certificate_state(conn, main, "retired", ended_at=switch)
    again = {r.id: r for r in store.list_certificates()}
    assert again[reserve].state == "main" and again[reserve].activated_at == switch
    assert again[main].state == "retired" and again[main].ended_at == switch
    assert again[main].activated_at == T0  # kept when not given
    assert store.get_certificate(999) is None
    with pytest.raises(NotFoundError), store.transaction() as conn:
        store.update_certificate_state(conn, 999, "cancelled")
    with pytest.raises(ValueError), store.transaction() as conn:
        store.update_certificate_state(conn, main, "bogus")
    with pytest.raises(ValueError), store.transaction() as conn:
        add_certificate(store, conn, state="expired")


def test_list_and_get_inside_a_transaction_see_uncommitted_rows(store: Store) -> None:
    with store.transaction() as conn:
        new = add_certificate(store, conn)
        assert [r.id for r in store.list_certificates(conn)] == [new]
        got = store.get_certificate(new, conn)
        assert got is not None and got.address == "mdm.example.test"


def test_record_switch_observed_only_the_first_time(store: Store) -> None:
    with store.transaction() as conn:
        reserve = add_certificate(store, conn, state="pending", term_days=7)
        assert store.record_switch_observed(conn, reserve, T0) is True
        assert store.record_switch_observed(conn, reserve, T0 + timedelta(hours=1)) is False
    with store.transaction() as conn:
        assert store.record_switch_observed(conn, reserve, T0) is False
    at = store.connection.execute("SELECT at FROM observed_switches").fetchall()
    assert at == [(iso(T0),)]
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
        store.record_switch_observed(conn, 12345, T0)  # foreign key


def test_meta_set_and_clear(store: Store) -> None:
    with store.transaction() as conn:
        store.set_meta(conn, "sim_now", iso(T0))
        store.set_meta(conn, "kind", "training")
    assert store.get_meta("sim_now") == "2026-03-01T12:00:00Z"
    assert store.get_meta("kind") == "training"
    with store.transaction() as conn:
        store.set_meta(conn, "sim_now", None)
    assert store.get_meta("sim_now") is None
    with pytest.raises(ValueError), store.transaction() as conn:
        store.set_meta(conn, "kind", "pretend")
    with pytest.raises(ValueError), store.transaction() as conn:
        store.set_meta(conn, "store_id", "other")
    assert store.get_meta("kind") == "training"


# --- audit ---------------------------------------------------------------------------------


def test_audit_entries(store: Store) -> None:
    with store.transaction() as conn:
        store.audit(conn, T0, "reissue", {"certificate_id": 1, "address": "a.test",
                                          "switched_at": T0 + timedelta(days=1),
                                          "activation_term": None})
    with store.transaction() as conn:
        store.audit(conn, T0 + timedelta(minutes=1), "cancel-reserve", {"certificate_id": 1})
    entries = store.audit_entries()
    assert [e.action for e in entries] == ["reissue", "cancel-reserve"]
    first = entries[0]
    assert first.at == T0 and first.pid == os.getpid()
    assert first.detail == {"certificate_id": 1, "address": "a.test",
                            "switched_at": "2026-03-02T12:00:00Z", "activation_term": None}
    raw = store.connection.execute("SELECT detail FROM audit ORDER BY id").fetchone()[0]
    assert json.loads(raw)["address"] == "a.test"
    assert [e.action for e in store.audit_entries(limit=1)] == ["cancel-reserve"]
    assert store.audit_entries(limit=0) == []


@pytest.mark.parametrize("detail", [
    {"password": "hunter2-secret"},
    {"passphrase": "hunter2-secret"},
    {"key": "hunter2-secret"},
    {"private_key": "hunter2-secret"},
    {"Private_Key": "hunter2-secret"},
    {"store_passphrase": "hunter2-secret"},
    {"pkcs12_password": "hunter2-secret"},
    {"nested": {"ok": 1, "password": "hunter2-secret"}},
    {"items": [{"key": "hunter2-secret"}]},
])
def test_audit_refuses_secret_keys(store: Store, detail: dict[str, object]) -> None:
    with pytest.raises(ValueError) as caught, store.transaction() as conn:
        store.audit(conn, T0, "before", {"certificate_id": 1})
        store.audit(conn, T0, "leak", detail)
    assert "hunter2" not in str(caught.value)
    assert "secret" in str(caught.value)
    assert store.audit_entries() == []  # the whole transaction rolled back


def test_audit_refuses_bytes_values(store: Store) -> None:
    with pytest.raises(TypeError), store.transaction() as conn:
        store.audit(conn, T0, "blob", {"der": b"\x30\x82"})
    assert store.audit_entries() == []


# --- transactions --------------------------------------------------------------------------


class BoomError(Exception):
    pass


def test_exception_between_two_statements_leaves_the_previous_state(store: Store) -> None:
    with store.transaction() as conn:
        kept = add_certificate(store, conn)
        store.set_meta(conn, "name", "Before")
    with pytest.raises(BoomError), store.transaction() as conn:
        add_certificate(store, conn, address="second.example.test")
        store.update_certificate_state(conn, kept, "retired", ended_at=T0)
        raise BoomError
    with pytest.raises(BoomError), store.transaction() as conn:
        store.set_meta(conn, "name", "After")
        raise BoomError
    rows = store.list_certificates()
    assert [(r.id, r.state, r.ended_at) for r in rows] == [(kept, "main", None)]
    assert store.get_meta("name") == "Before"
    assert not store.connection.in_transaction
    with store.transaction() as conn:  # the store stays usable
        add_certificate(store, conn)
    assert len(store.list_certificates()) == 2


def test_nested_transaction_commits_or_rolls_back_with_the_outer_one(store: Store) -> None:
    with pytest.raises(BoomError), store.transaction() as outer:
        add_certificate(store, outer)
        with store.transaction() as inner:
            add_certificate(store, inner)
        raise BoomError
    assert store.list_certificates() == []
    with store.transaction() as outer:
        add_certificate(store, outer)
        with pytest.raises(BoomError), store.transaction() as inner:
            add_certificate(store, inner)
            raise BoomError
    assert len(store.list_certificates()) == 1


def test_transaction_from_a_worker_thread(store: Store) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with store.transaction() as conn:
                add_certificate(store, conn)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_certificates()) == 4


def test_closed_store_refuses_use(home: Path) -> None:
    store = Store.open(home, writable=True)
    store.close()
    store.close()  # twice is fine
    assert store.closed
    with pytest.raises(StoreError, match="closed"):
        store.list_certificates()
    with pytest.raises(StoreError, match="closed"), store.transaction():
        pass
    assert "closed" in repr(store)
    assert not (home / OWNER_NAME).exists()


# --- read-only -----------------------------------------------------------------------------


def test_read_only_store_reads_and_refuses_changes(home: Path) -> None:
    with Store.open(home, writable=True) as store, store.transaction() as conn:
        add_certificate(store, conn)
    db_before = (home / DB_NAME).read_bytes()
    names_before = {p.name for p in home.iterdir()}
    with Store.open(home, writable=False) as ro:
        assert not ro.writable
        assert len(ro.list_certificates()) == 1
        with pytest.raises(StoreError, match="opened read-only"), ro.transaction():
            pass
        with pytest.raises(StoreError, match="opened read-only"):
            ro.require_writable()
        with pytest.raises(sqlite3.OperationalError):
            ro.connection.execute("DELETE FROM certificates")
    assert (home / DB_NAME).read_bytes() == db_before
    assert not (home / OWNER_NAME).exists()
    # SQLite may add its WAL index files (same 0600 mode as the database), nothing else.
    added = {p.name for p in home.iterdir()} - names_before
    assert added <= {f"{DB_NAME}-wal", f"{DB_NAME}-shm"}
    for path in home.iterdir():
        assert mode(path) == 0o600, path


def test_same_process_second_writable_open_is_refused(store: Store, home: Path) -> None:
    with pytest.raises(StoreLockedError) as caught:
        Store.open(home, writable=True)
    assert f"in use by process {os.getpid()}" in str(caught.value)
    assert caught.value.pid == os.getpid()
    with Store.open(home, writable=False) as ro:
        assert ro.store_id == store.store_id


# --- schema versions -----------------------------------------------------------------------


def test_newer_schema_is_refused_and_lock_released(home: Path) -> None:
    Store.open(home, writable=True).close()
    with sqlite3.connect(home / DB_NAME) as raw:
        raw.execute("PRAGMA user_version = 99")
    raw.close()
    for writable in (True, False):
        with pytest.raises(StoreError, match="newer version"):
            Store.open(home, writable=writable)
    assert not (home / OWNER_NAME).exists()
    with sqlite3.connect(home / DB_NAME) as raw:
        raw.execute(f"PRAGMA user_version = {store_module.schema_version()}")
    raw.close()
    Store.open(home, writable=True).close()  # the failed opens left no lock behind


def test_each_migration_is_one_transaction(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.open(home, writable=True) as store, store.transaction() as conn:
        add_certificate(store, conn)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        conn.execute("ALTER TABLE certificates ADD COLUMN note TEXT")
        raise BoomError("migration failed halfway")

    before = store_module.schema_version()
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, broken])
    with pytest.raises(BoomError):
        Store.open(home, writable=True)
    with pytest.raises(StoreError, match="not ready"):
        Store.open(home, writable=False)  # the file lacks the broken step the program expects
    raw = sqlite3.connect(f"{(home / DB_NAME).as_uri()}?mode=ro", uri=True)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == before
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
        columns = {r[1] for r in raw.execute("PRAGMA table_info(certificates)")}
        assert "note" not in columns
    finally:
        raw.close()

    def good(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE certificates ADD COLUMN note TEXT")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS[:before], good])
    with Store.open(home, writable=True) as store:
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == before + 1
        assert len(store.list_certificates()) == 1


def test_a_file_that_is_not_a_database(home: Path) -> None:
    home.mkdir(parents=True)
    (home / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    for writable in (True, False):
        with pytest.raises(StoreError, match="cannot be"):
            Store.open(home, writable=writable)
    assert not (home / OWNER_NAME).exists()


# --- other processes -----------------------------------------------------------------------

CHILD_TRY_OPEN = """
import json, sys
from pathlib import Path
from kscert_gui.model.errors import StoreError, StoreLockedError
from kscert_gui.services.store import Store
home = Path(sys.argv[1])
out = {}
try:
    Store.open(home, writable=True).close()
    out["writable"] = "opened"
except StoreLockedError as err:
    out["writable"] = "locked"
    out["message"] = str(err)
    out["pid"] = err.pid
with Store.open(home, writable=False) as ro:
    out["store_id"] = ro.store_id
    out["certificates"] = [r.address for r in ro.list_certificates()]
    try:
        with ro.transaction():
            pass
    except StoreError as err:
        out["ro_change"] = str(err)
print(json.dumps(out))
"""

CHILD_HOLD = """
import sys, time
from pathlib import Path
from kscert_gui.services.store import Store
store = Store.open(Path(sys.argv[1]), writable=True)
print("ready", flush=True)
time.sleep(600)
"""

CHILD_KILLED_MID_TRANSACTION = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from kscert_gui.services.store import Store
store = Store.open(Path(sys.argv[1]), writable=True)
at = datetime(2026, 3, 5, tzinfo=UTC)
with store.transaction() as conn:
    for n in range(50):
        store.insert_certificate(
            conn, source="custom", cert_der=b"c" * 5000, key_enc=b"k" * 2000, sha256="cd" * 32,
            not_before=at, not_after=at, address=f"half{n}.example.test", created_at=at,
            term_days=None, state="main")
    conn.execute("UPDATE certificates SET state = 'retired'")
    store.set_meta(conn, "name", "Half-written")
    store.audit(conn, at, "half", {"n": 50})
    print("ready", flush=True)
    time.sleep(600)
"""


def test_second_process_is_refused_with_our_pid_but_can_read(store: Store, home: Path) -> None:
    with store.transaction() as conn:
        add_certificate(store, conn, address="held.example.test")
    proc = run_child(CHILD_TRY_OPEN, str(home))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["writable"] == "locked"
    assert f"in use by process {os.getpid()}" in out["message"]
    assert out["pid"] == os.getpid()
    assert out["store_id"] == store.store_id
    assert out["certificates"] == ["held.example.test"]
    assert "opened read-only" in out["ro_change"]
    assert f"in use by process {os.getpid()}" in out["ro_change"]


def test_killed_holder_releases_the_lock(home: Path) -> None:
    Store.open(home, writable=True).close()
    proc = start_child(CHILD_HOLD, str(home))
    try:
        with pytest.raises(StoreLockedError) as caught:
            Store.open(home, writable=True)
        assert f"in use by process {proc.pid}" in str(caught.value)
        assert read_owner_pid(home) == proc.pid
    finally:
        sigkill(proc)
    # The owner file outlives the process, but names a dead one and does not block.
    assert (home / OWNER_NAME).read_text().strip() == str(proc.pid)
    assert read_owner_pid(home) is None
    with Store.open(home, writable=True) as store:
        assert (home / OWNER_NAME).read_text().strip() == str(os.getpid())
        assert store.store_id


def test_process_killed_mid_transaction_leaves_the_previous_state(home: Path) -> None:
    with Store.open(home, writable=True) as store, store.transaction() as conn:
        add_certificate(store, conn, address="before.example.test")
        store.set_meta(conn, "name", "Before")
        store.audit(conn, T0, "before", {"certificate_id": 1})
    proc = start_child(CHILD_KILLED_MID_TRANSACTION, str(home))
    sigkill(proc)
    with Store.open(home, writable=True) as store:
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = store.list_certificates()
        assert [(r.address, r.state) for r in rows] == [("before.example.test", "main")]
        assert store.get_meta("name") == "Before"
        assert [e.action for e in store.audit_entries()] == ["before"]
        with store.transaction() as conn:  # and the store takes changes again
            add_certificate(store, conn, address="after.example.test")
        assert len(store.list_certificates()) == 2


def test_owner_file_garbage_is_ignored(home: Path) -> None:
    home.mkdir(parents=True)
    (home / OWNER_NAME).write_text("not a pid\n")
    assert read_owner_pid(home) is None
    with Store.open(home, writable=True):
        assert read_owner_pid(home) == os.getpid()


def test_locked_error_without_owner_names_another_process(store: Store, home: Path) -> None:
    (home / OWNER_NAME).unlink()
    with pytest.raises(StoreLockedError, match="in use by another process") as caught:
        Store.open(home, writable=True)
    assert caught.value.pid is None
