"""The certificate records (``certificates``) and the switches seen (``observed_switches``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, cast, get_args

from kscert_gui.model.certinfo import CertificateInfo
from kscert_gui.model.clock import iso
from kscert_gui.model.errors import NotFoundError
from kscert_gui.services.store.repository import (
    Repository,
    optional_iso,
    parse_optional_time,
    parse_time,
)

CertSource = Literal["issued", "custom"]
CertState = Literal["pending", "main", "retired", "cancelled"]

SOURCES: frozenset[str] = frozenset(get_args(CertSource))
STATES: frozenset[str] = frozenset(get_args(CertState))


@dataclass(frozen=True)
class CertificateRow:
    """One row of ``certificates``; times are aware UTC datetimes."""

    id: int
    source: CertSource
    cert_der: bytes
    chain_der: bytes
    key_enc: bytes = field(repr=False)
    sha256: str
    not_before: datetime
    not_after: datetime
    address: str
    created_at: datetime
    term_days: int | None
    state: CertState
    activated_at: datetime | None
    ended_at: datetime | None
    #: What the console shows of the certificate and its chain, as JSON (table
    #: ``certificate_info``; :func:`row_info`), so that showing
    #: it needs no DER parser. None for a record written before schema version 3.
    info: str | None = None


_CERT_COLUMNS = (
    "c.id, c.source, c.cert_der, c.chain_der, c.key_enc, c.sha256, c.not_before, "
    "c.not_after, c.address, c.created_at, c.term_days, c.state, c.activated_at, c.ended_at"
)
_WITH_INFO = (
    f"SELECT {_CERT_COLUMNS}, i.info FROM certificates c "
    "LEFT JOIN certificate_info i ON i.cert_id = c.id"
)
_WITHOUT_INFO = f"SELECT {_CERT_COLUMNS}, NULL FROM certificates c"


def _row_to_certificate(row: Sequence[object]) -> CertificateRow:
    (cid, source, cert_der, chain_der, key_enc, sha256, not_before, not_after, address,
     created_at, term_days, state, activated_at, ended_at, info) = row
    return CertificateRow(
        id=cast(int, cid),
        source=cast(CertSource, source),
        cert_der=bytes(cast(bytes, cert_der)),
        chain_der=bytes(cast(bytes, chain_der)),
        key_enc=bytes(cast(bytes, key_enc)),
        sha256=cast(str, sha256),
        not_before=parse_time(cast(str, not_before)),
        not_after=parse_time(cast(str, not_after)),
        address=cast(str, address),
        created_at=parse_time(cast(str, created_at)),
        term_days=cast("int | None", term_days),
        state=cast(CertState, state),
        activated_at=parse_optional_time(cast("str | None", activated_at)),
        ended_at=parse_optional_time(cast("str | None", ended_at)),
        info=info if isinstance(info, str) else None,
    )


def info_record(info: CertificateInfo, chain: Sequence[CertificateInfo]) -> str:
    """The ``certificate_info`` document of a record: what the console shows of the
    certificate and its chain (:func:`row_info` reads it back)."""
    return json.dumps({"certificate": info.to_record(),
                       "chain": [c.to_record() for c in chain]}, sort_keys=True)


def row_info(row: CertificateRow) -> tuple[CertificateInfo, tuple[CertificateInfo, ...]]:
    """What the console shows of a stored certificate and its chain.

    From the record's ``info`` document when it has one (no parser: the first paint of
    the console imports no cryptography), else (a record older than schema version 3, or
    a damaged document) from its DER.
    """
    if row.info is not None:
        try:
            doc = json.loads(row.info)
            chain = doc["chain"]
            if not isinstance(chain, list):
                raise ValueError("no chain")
            return (CertificateInfo.from_record(doc["certificate"]),
                    tuple(CertificateInfo.from_record(c) for c in chain))
        except (ValueError, KeyError, TypeError):
            pass
    from cryptography import x509

    from kscert_gui.model import crypto
    from kscert_gui.model.certificate import certificate_info

    cert = x509.load_der_x509_certificate(row.cert_der)
    chain_certs = crypto.read_certificates(row.chain_der) if row.chain_der else []
    return (certificate_info(cert),
            tuple(certificate_info(c) for c in chain_certs))


def create_info_table(conn: sqlite3.Connection) -> None:
    """Schema version 3: ``certificate_info`` (a store read-only opened before its upgrade
    reads none, and the certificates are read from their DER)."""
    conn.execute(
        """CREATE TABLE certificate_info (
            cert_id INTEGER PRIMARY KEY REFERENCES certificates(id),
            info TEXT NOT NULL
        )"""
    )


class Certificates(Repository):
    """``store.certificates``: the certificate records and the switches seen."""

    def insert(
        self,
        conn: sqlite3.Connection,
        *,
        source: CertSource | str,
        cert_der: bytes,
        key_enc: bytes,
        sha256: str,
        not_before: datetime,
        not_after: datetime,
        address: str,
        created_at: datetime,
        term_days: int | None,
        state: CertState | str,
        chain_der: bytes = b"",
        activated_at: datetime | None = None,
        ended_at: datetime | None = None,
        info: str | None = None,
    ) -> int:
        """Insert a certificate record inside the caller's transaction; return its id.

        ``source`` and ``state`` are checked here (ValueError), so callers may pass a
        computed ``str``. ``info``: what the console shows of it (JSON, see
        :class:`CertificateRow`).
        """
        if source not in SOURCES:
            raise ValueError(f"certificate source must be one of {sorted(SOURCES)}")
        if state not in STATES:
            raise ValueError(f"certificate state must be one of {sorted(STATES)}")
        if term_days is not None and term_days < 0:
            raise ValueError("activation term must not be negative")
        cursor = conn.execute(
            "INSERT INTO certificates(source, cert_der, chain_der, key_enc, sha256, "
            "not_before, not_after, address, created_at, term_days, state, activated_at, "
            "ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source, bytes(cert_der), bytes(chain_der), bytes(key_enc), sha256,
                iso(not_before), iso(not_after), address, iso(created_at), term_days, state,
                optional_iso(activated_at), optional_iso(ended_at),
            ),
        )
        new_id = cursor.lastrowid
        assert new_id is not None
        if info is not None:
            self.set_info(conn, new_id, info)
        return new_id

    @staticmethod
    def set_info(conn: sqlite3.Connection, cert_id: int, info: str) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO certificate_info(cert_id, info) VALUES (?, ?)",
            (cert_id, info),
        )

    def _select(self, conn: sqlite3.Connection | None, where: str,
                args: tuple[object, ...]) -> list[Sequence[object]]:
        db = self._db(conn)
        try:
            return list(db.execute(f"{_WITH_INFO}{where}", args).fetchall())
        except sqlite3.OperationalError as err:
            if "certificate_info" not in str(err):
                raise
            # A store of schema version 2 opened read-only (it is upgraded when it is
            # next opened for changes).
            return list(db.execute(f"{_WITHOUT_INFO}{where}", args).fetchall())

    def all(self, conn: sqlite3.Connection | None = None) -> list[CertificateRow]:
        """Every certificate record, by id."""
        with self._mutex:
            rows = self._select(conn, " ORDER BY c.id", ())
        return [_row_to_certificate(r) for r in rows]

    def get(self, cert_id: int, conn: sqlite3.Connection | None = None) -> CertificateRow | None:
        with self._mutex:
            rows = self._select(conn, " WHERE c.id = ?", (cert_id,))
        return _row_to_certificate(rows[0]) if rows else None

    def sha256_of(self, cert_id: int, conn: sqlite3.Connection | None = None) -> str | None:
        """The SHA-256 fingerprint of record ``cert_id`` (None: there is no such record)."""
        with self._mutex:
            row = self._db(conn).execute(
                "SELECT sha256 FROM certificates WHERE id = ?", (cert_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def update_state(
        self,
        conn: sqlite3.Connection,
        cert_id: int,
        state: CertState | str,
        activated_at: datetime | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Set a record's state; the given times are set, the others kept.

        Raises:
            NotFoundError: there is no certificate ``cert_id``.
        """
        if state not in STATES:
            raise ValueError(f"certificate state must be one of {sorted(STATES)}")
        cursor = conn.execute(
            "UPDATE certificates SET state = ?, activated_at = COALESCE(?, activated_at), "
            "ended_at = COALESCE(?, ended_at) WHERE id = ?",
            (state, optional_iso(activated_at), optional_iso(ended_at), cert_id),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"There is no certificate {cert_id} in the store.")

    def record_switch_observed(
        self, conn: sqlite3.Connection, reserve_id: int, at: datetime
    ) -> bool:
        """Note that the switch to ``reserve_id`` was seen; True only the first time."""
        cursor = conn.execute(
            "INSERT OR IGNORE INTO observed_switches(reserve_id, at) VALUES (?, ?)",
            (reserve_id, iso(at)),
        )
        return cursor.rowcount == 1
