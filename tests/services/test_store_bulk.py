"""Large changes to the store: many rows a statement, and a page cache for one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kscert_gui.services import store as store_module
from kscert_gui.services.store import Store, insert_columns


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store", writable=True) as opened:
        yield opened


def table(rows: int) -> tuple[sqlite3.Connection, dict[str, list[object]]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER, "
                 "note TEXT NULL)")
    return conn, {"name": [f"row-{i}" for i in range(rows)], "n": list(range(rows)),
                  "note": [None if i % 3 else f"note {i}" for i in range(rows)]}


@pytest.mark.parametrize("rows", [0, 1, 265, 266, 267, 532, 1001])
def test_insert_columns_gives_what_one_row_at_a_time_gives(rows: int) -> None:
    # 3 columns: 266 rows a statement (800 parameters); around and across that boundary.
    conn, columns = table(rows)
    assert insert_columns(conn, "t", columns) == rows
    one_by_one, _ = table(rows)
    one_by_one.executemany("INSERT INTO t(name, n, note) VALUES (?, ?, ?)",
                           zip(*columns.values(), strict=True))
    query = "SELECT id, name, n, note FROM t ORDER BY id"
    assert conn.execute(query).fetchall() == one_by_one.execute(query).fetchall()


def test_insert_columns_follows_the_parameter_limit() -> None:
    conn, columns = table(50)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # two rows a statement
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    insert_columns(conn, "t", columns)
    assert len(statements) == 25
    assert [r[0] for r in conn.execute("SELECT n FROM t ORDER BY id")] == list(range(50))


def test_insert_columns_refuses_ragged_columns_and_stops_at_a_conflict() -> None:
    conn, columns = table(10)
    with pytest.raises(ValueError, match="differ in length"):
        insert_columns(conn, "t", {**columns, "n": [1, 2]})
    columns["name"][9] = "row-0"
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError):
        insert_columns(conn, "t", columns)
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0


def cache_size(store: Store) -> int:
    return int(store.connection.execute("PRAGMA cache_size").fetchone()[0])


def test_bulk_transaction_enlarges_the_cache_for_its_duration(store: Store) -> None:
    before = cache_size(store)
    with store.bulk_transaction() as conn:
        assert conn.in_transaction
        assert cache_size(store) == -store_module.BULK_CACHE_KIB
        conn.execute("INSERT INTO meta(key, value) VALUES ('bulk', 'yes')")
    assert cache_size(store) == before
    assert store.get_meta("bulk") == "yes"
    assert store.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_bulk_transaction_rolls_back_and_restores_the_cache(store: Store) -> None:
    before = cache_size(store)
    with pytest.raises(RuntimeError), store.bulk_transaction() as conn:
        conn.execute("INSERT INTO meta(key, value) VALUES ('bulk', 'yes')")
        raise RuntimeError("stop")
    assert cache_size(store) == before
    assert store.get_meta("bulk") is None
