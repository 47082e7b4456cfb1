"""The audit log (``audit``): who changed what, when; never a secret (DESIGN §10)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from kscert_gui.model.clock import iso
from kscert_gui.services.store.repository import Repository, parse_time


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log; ``detail`` is the decoded JSON object."""

    id: int
    at: datetime
    pid: int | None
    action: str
    detail: Mapping[str, object]


# Keys of audit details that would hold a secret. The audit log is for people to
# read and export; DESIGN §10 keeps passwords and keys out of it.
_SECRET_KEY_WORDS = ("password", "passphrase", "passwd", "secret", "private", "pin")
_SECRET_KEY_NAMES = frozenset({"key", "key_enc", "pkcs8", "pwd"})


def names_secret(key: str) -> bool:
    """Whether an audit detail key names a secret (refused when written, skipped when
    read)."""
    name = key.lower()
    return (
        name in _SECRET_KEY_NAMES
        or name.endswith("_key")
        or any(word in name for word in _SECRET_KEY_WORDS)
    )


def _check_audit_keys(value: object, where: str = "") -> None:
    """Refuse detail keys that name a secret, at any depth (the value is never shown)."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit detail keys must be strings, not {type(key).__name__}")
            if names_secret(key):
                raise ValueError(
                    f"audit detail key '{where}{key}' names a secret; secrets never go to "
                    "the audit log"
                )
            _check_audit_keys(inner, f"{where}{key}.")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_audit_keys(item, where)
    elif isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("audit details hold text and numbers, not bytes")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"audit detail value of type {type(value).__name__} is not JSON")


class AuditLog(Repository):
    """``store.audit_log``: the audit entries, appended inside each change's transaction."""

    def append(
        self,
        conn: sqlite3.Connection,
        at: datetime,
        action: str,
        detail: Mapping[str, object],
    ) -> None:
        """Append an audit entry inside the caller's transaction.

        Raises:
            ValueError: a detail key names a secret (password, passphrase, key...).
            TypeError: a detail value is not JSON (bytes are refused outright).
        """
        if not action:
            raise ValueError("an audit entry needs an action")
        _check_audit_keys(detail)
        text = json.dumps(dict(detail), sort_keys=True, ensure_ascii=False,
                          default=_json_default)
        conn.execute(
            "INSERT INTO audit(at, pid, action, detail) VALUES (?, ?, ?, ?)",
            (iso(at), os.getpid(), action, text),
        )

    def entries(
        self, limit: int | None = None, conn: sqlite3.Connection | None = None
    ) -> list[AuditEntry]:
        """The audit log, oldest first; with ``limit``, only the latest ``limit`` entries."""
        sql = "SELECT id, at, pid, action, detail FROM audit ORDER BY id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            if limit < 0:
                raise ValueError("limit must not be negative")
            sql += " LIMIT ?"
            params = (limit,)
        with self._mutex:
            rows = self._db(conn).execute(sql, params).fetchall()
        return [
            AuditEntry(
                id=int(r[0]),
                at=parse_time(r[1]),
                pid=None if r[2] is None else int(r[2]),
                action=str(r[3]),
                detail=json.loads(r[4]),
            )
            for r in reversed(rows)
        ]
