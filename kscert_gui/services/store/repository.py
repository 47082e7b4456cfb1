"""What the store's repositories share: their connection, the store's lock, time columns.

Each table group has one small repository class (certificates, audit, meta, devices,
distribution points); an open :class:`~kscert_gui.services.store.Store` holds one of
each as an attribute (``store.devices``, ``store.groups``...). They are the only code
that runs SQL besides the store's own connection, transaction and migration core.

One way for every repository method:

- a method that changes the store takes the connection of the caller's transaction as
  its first argument (``with store.transaction() as conn: store.devices.add(conn, ...)``)
  and never commits: the transaction is the caller's, so a change is one transaction;
- a method that reads takes an optional ``conn`` last: inside a transaction pass its
  connection to read what it has written so far; without one the method reads through
  the store's connection, holding the store's lock for the statement.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from kscert_gui.model.clock import ensure_utc, iso


class Repository:
    """The base of a repository: the store's connection and the lock around its use."""

    def __init__(
        self, connection: Callable[[], sqlite3.Connection], mutex: threading.RLock
    ) -> None:
        self._connection = connection
        # The store's lock: one connection is shared by the threads of the process.
        self._mutex = mutex

    def _db(self, conn: sqlite3.Connection | None) -> sqlite3.Connection:
        """``conn`` (a transaction's), else the store's connection (StoreError if closed)."""
        return conn if conn is not None else self._connection()


def parse_time(text: str) -> datetime:
    """A stored ISO 8601 instant as an aware UTC datetime."""
    raw = text[:-1] + "+00:00" if text.endswith("Z") else text
    return ensure_utc(datetime.fromisoformat(raw))


def parse_optional_time(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def optional_iso(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


#: At most this many parameters in one statement of :func:`insert_columns` (SQLite's
#: limit was 999 before 3.32; the gain levels off well before).
INSERT_PARAMETERS = 800


def insert_columns(
    conn: sqlite3.Connection, table: str, columns: Mapping[str, Sequence[object]]
) -> int:
    """Insert rows given column by column (all of one length), many rows per statement.

    The same rows in the same order (and so with the same row ids) as ``executemany`` of
    a one-row INSERT, about twice as fast for 100 000 rows: the sqlite3 module has a
    fixed cost per statement execution, which a one-row INSERT pays for every row.
    Returns the number of rows.
    """
    width = len(columns)
    if not width:
        raise ValueError(f"no columns to insert into {table}")
    count = len(next(iter(columns.values())))
    if any(len(values) != count for values in columns.values()):
        raise ValueError(f"the columns for {table} differ in length")
    values: list[object] = [None] * (count * width)
    for i, column in enumerate(columns.values()):
        values[i::width] = column
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(INSERT_PARAMETERS, limit) // width)
    head = f"INSERT INTO {table}({', '.join(columns)}) VALUES "
    row = "(" + ", ".join("?" * width) + ")"
    step = per * width
    full = count // per * step
    if full:
        conn.executemany(head + ", ".join([row] * per),
                         (values[i:i + step] for i in range(0, full, step)))
    if full < len(values):
        conn.execute(head + ", ".join([row] * (count % per)), values[full:])
    return count
