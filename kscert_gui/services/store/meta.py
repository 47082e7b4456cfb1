"""The store's settings (``meta``): identifier, name, kind, server version, clock."""

from __future__ import annotations

import sqlite3
from typing import Literal, cast, get_args

from kscert_gui.services.store.repository import Repository

StoreKind = Literal["real", "training"]

KINDS: frozenset[str] = frozenset(get_args(StoreKind))


class Meta(Repository):
    """``store.meta``: one text value per key."""

    def get(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        with self._mutex:
            row = self._db(conn).execute(
                "SELECT value FROM meta WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else cast(str, row[0])

    def set(self, conn: sqlite3.Connection, key: str, value: str | None) -> None:
        """Set (or with None, remove) a meta value inside the caller's transaction."""
        if key == "store_id":
            raise ValueError("the store identifier never changes")
        if key == "kind" and value not in KINDS:
            raise ValueError(f"store kind must be one of {sorted(KINDS)}")
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
