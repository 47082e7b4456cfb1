"""The device rows a refresh reads are kept while the database is unchanged, and never
outlive a change: by this connection, by another one, or a rolled-back one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kscert_gui.services.store import DB_NAME, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "s", writable=True)
    with store.transaction() as conn:
        gid = store.groups.add(conn, "Managed devices", None)
        store.devices.add(conn, "phone-1", gid, "iOS", "2026-11-01T10:00:00Z")
        store.devices.add(conn, "phone-2", gid, "Android", None)
    return store


def names_and_syncs(store: Store) -> list[tuple[str, str | None]]:
    return [(row[1], row[4]) for row in store.devices.table_rows()]


def test_unchanged_database_gives_the_same_answer_without_reading(store: Store) -> None:
    first = store.devices.table_rows()
    assert store.devices.table_rows() is first
    assert [r[1] for r in first] == ["phone-1", "phone-2"]


def test_a_change_by_this_connection_is_seen(store: Store) -> None:
    first = store.devices.table_rows()
    with store.transaction() as conn:
        store.devices.set_last_syncs(conn, [("2026-11-02T10:00:00Z", first[1][0])])
    assert names_and_syncs(store) == [("phone-1", "2026-11-01T10:00:00Z"),
                                      ("phone-2", "2026-11-02T10:00:00Z")]


def test_a_change_by_another_connection_is_seen(store: Store, tmp_path: Path) -> None:
    store.devices.table_rows()
    other = sqlite3.connect(tmp_path / "s" / DB_NAME)
    try:
        with other:
            other.execute("UPDATE devices SET name = 'phone-0' WHERE name = 'phone-1'")
    finally:
        other.close()
    assert [n for n, _ in names_and_syncs(store)] == ["phone-0", "phone-2"]


def test_a_rolled_back_change_leaves_the_answer_of_the_database(store: Store) -> None:
    before = names_and_syncs(store)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.devices.set_last_syncs(conn, [("2026-11-05T10:00:00Z", 1)])
        # Read inside the transaction: what it has written so far, not kept.
        assert ("phone-1", "2026-11-05T10:00:00Z") in [
            (r[1], r[4]) for r in store.devices.table_rows(conn)]
        raise RuntimeError("the change fails halfway")
    assert names_and_syncs(store) == before
