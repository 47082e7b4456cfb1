"""The SQLite store of one Administration Server profile (DESIGN §10).

A store is a directory::

    store.sqlite3   records, devices, groups, distribution points, audit log (WAL)
    store.lock      the OS file lock a process holds while it may change the store
    store.owner     the PID of that process, so others can name it

Every change is one transaction (:meth:`Store.transaction`). A writable store holds
an exclusive ``flock``/``LockFileEx`` lock for its whole life; the kernel drops it if
the process dies, so a stale ``store.owner`` never blocks anyone. A read-only store
opens the database with ``mode=ro`` and writes nothing.

This package is the only code that runs SQL. This module is its core: opening and
closing, the lock, transactions and the schema migrations. The rows live in one small
repository per table group, each an attribute of an open :class:`Store`:

- ``store.certificates`` (:mod:`.certificates`): certificate records, switches seen;
- ``store.audit_log`` (:mod:`.audit`): the audit log;
- ``store.meta`` (:mod:`.meta`): the store's settings;
- ``store.groups``, ``store.devices``, ``store.device_syncs`` (:mod:`.devices`);
- ``store.distribution_points`` (:mod:`.distribution_points`);
- ``store.watch`` (:mod:`.watch`): the watched endpoints and their results (DESIGN §13).

A repository method that changes the store takes the connection of the caller's
transaction first; one that reads takes an optional ``conn`` last (see
:mod:`.repository`). The record helpers of :class:`Store` (``list_certificates``,
``audit``, ``get_meta``...) are shortcuts to the certificate, audit and meta ones.

The core is this module itself rather than a submodule, so that the names it reads
while opening a store (``MIGRATIONS``, ``ensure_private_dir``...) are the package's own:
replacing ``kscert_gui.services.store.MIGRATIONS`` changes what an open migrates.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol

from kscert_gui.model.errors import (
    StoreError,
    StoreLockedError,
    StoreNotWritableError,
)
from kscert_gui.services.fsutil import chmod_private, ensure_private_dir, write_private_file
from kscert_gui.services.store.audit import AuditEntry, AuditLog
from kscert_gui.services.store.certificates import (
    SOURCES,
    STATES,
    CertificateRow,
    Certificates,
    CertSource,
    CertState,
)
from kscert_gui.services.store.devices import (
    DeviceRecord,
    DeviceRef,
    Devices,
    DeviceSyncs,
    DeviceTableRow,
    DeviceUpdate,
    Groups,
    NewDevice,
)
from kscert_gui.services.store.distribution_points import (
    DistributionPoints,
    GatewayCertificate,
    GatewayPort,
    GatewayScopeRow,
    HostRow,
    PointRow,
)
from kscert_gui.services.store.meta import KINDS, Meta, StoreKind
from kscert_gui.services.store.repository import INSERT_PARAMETERS, insert_columns
from kscert_gui.services.store.watch import WatchEndpointRow, WatchRepository, WatchResultRow

__all__ = [
    "BULK_CACHE_KIB",
    "BUSY_TIMEOUT_MS",
    "DB_NAME",
    "INSERT_PARAMETERS",
    "KINDS",
    "LOCK_NAME",
    "MIGRATIONS",
    "OWNER_NAME",
    "OWNER_WAIT_SECONDS",
    "SOURCES",
    "STATES",
    "AuditEntry",
    "AuditLog",
    "CertSource",
    "CertState",
    "CertificateRow",
    "Certificates",
    "DeviceRecord",
    "DeviceRef",
    "DeviceSyncs",
    "DeviceTableRow",
    "DeviceUpdate",
    "Devices",
    "DistributionPoints",
    "GatewayCertificate",
    "GatewayPort",
    "GatewayScopeRow",
    "Groups",
    "HostRow",
    "Meta",
    "Migration",
    "NewDevice",
    "PointRow",
    "Store",
    "StoreKind",
    "WatchEndpointRow",
    "WatchRepository",
    "WatchResultRow",
    "insert_columns",
    "read_owner_pid",
    "schema_version",
    "store_exists",
]

DB_NAME = "store.sqlite3"
LOCK_NAME = "store.lock"
OWNER_NAME = "store.owner"
BUSY_TIMEOUT_MS = 10_000
#: The page cache of :meth:`Store.bulk_transaction` (KiB); SQLite's default is 2 000.
BULK_CACHE_KIB = 64 * 1024
#: How long a refused opener waits for a new holder to write its PID to store.owner.
OWNER_WAIT_SECONDS = 0.5

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    statements = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE certificates (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL CHECK (source IN ('issued', 'custom')),
            cert_der BLOB NOT NULL,
            chain_der BLOB NOT NULL DEFAULT x'',
            key_enc BLOB NOT NULL,
            sha256 TEXT NOT NULL,
            not_before TEXT NOT NULL,
            not_after TEXT NOT NULL,
            address TEXT NOT NULL,
            created_at TEXT NOT NULL,
            term_days INTEGER NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'main', 'retired', 'cancelled')),
            activated_at TEXT NULL,
            ended_at TEXT NULL
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            pid INTEGER,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        """CREATE TABLE observed_switches (
            reserve_id INTEGER PRIMARY KEY REFERENCES certificates(id),
            at TEXT NOT NULL
        )""",
        """CREATE TABLE groups (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            parent_id INTEGER NULL REFERENCES groups(id),
            sync_hours REAL NULL,
            UNIQUE (parent_id, name)
        )""",
        """CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            group_id INTEGER NOT NULL REFERENCES groups(id),
            platform TEXT NOT NULL,
            last_sync TEXT NULL
        )""",
        "CREATE INDEX devices_group_id ON devices(group_id)",
        "CREATE INDEX devices_platform ON devices(platform)",
        "CREATE INDEX devices_last_sync ON devices(last_sync)",
        """CREATE TABLE device_syncs (
            device_id INTEGER REFERENCES devices(id) ON DELETE CASCADE,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX device_syncs_device_at ON device_syncs(device_id, at)",
        """CREATE TABLE distribution_points (
            device_id INTEGER PRIMARY KEY REFERENCES devices(id),
            scope_group_id INTEGER NOT NULL REFERENCES groups(id),
            gateway INTEGER NOT NULL DEFAULT 0,
            agent_port INTEGER NOT NULL DEFAULT 13000,
            mobile_port INTEGER NOT NULL DEFAULT 13292,
            held_cert_id INTEGER NULL REFERENCES certificates(id),
            connected_at TEXT NULL
        )""",
    ]
    for statement in statements:
        conn.execute(statement)
    import uuid  # only a new store needs it (it costs ~2 ms at every start of the console)

    conn.executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?)",
        [
            ("store_id", str(uuid.uuid4())),
            ("name", "Administration Server"),
            ("kind", "real"),
            ("server_version", "14.2"),
        ],
    )


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    from kscert_gui.services.store import watch

    watch.create_tables(conn)


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    """What the console shows of each certificate, kept beside its DER (showing the
    console then imports no cryptography: bench/startup.py). Existing records are read
    once here."""
    from kscert_gui.services.store.certificates import create_info_table, info_record, row_info

    create_info_table(conn)
    for row in Certificates(lambda: conn, threading.RLock()).all(conn):
        try:
            info, chain = row_info(row)
        except Exception:  # a damaged record stays readable from its DER, as before
            log.warning("certificate %d: its display record could not be made", row.id)
            continue
        Certificates.set_info(conn, row.id, info_record(info, chain))


#: ``MIGRATIONS[n]`` takes the schema from version ``n`` to ``n + 1`` (``PRAGMA
#: user_version``); each runs in one transaction together with the version bump.
MIGRATIONS: list[Migration] = [_migrate_to_1, _migrate_to_2, _migrate_to_3]

#: Migrations that only add tables whose repository reads "none" where they are missing:
#: a read-only open (which never migrates) still reads a store that lacks only these, so
#: that ``kscert serve`` and a read-only console keep working on a store written by the
#: previous version until something opens it for changes.
READABLE_WITHOUT: frozenset[Migration] = frozenset({_migrate_to_2, _migrate_to_3})


def schema_version() -> int:
    """The schema version this program writes: the number of migrations it knows."""
    return len(MIGRATIONS)


def _storage_failure(err: BaseException) -> bool:
    """An SQLite error that comes from the storage (disk full, I/O error, read-only file,
    damaged database), as opposed to a constraint or a programming error."""
    return isinstance(err, sqlite3.OperationalError) or type(err) is sqlite3.DatabaseError


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        # os.kill on Windows terminates the process; assume the recorded owner is alive.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_owner_pid(home: Path) -> int | None:
    """The PID in ``store.owner`` if that process is alive, else None."""
    try:
        text = (home / OWNER_NAME).read_text(encoding="ascii").strip()
        pid = int(text)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return pid if pid > 0 and _pid_alive(pid) else None


def _wait_for_owner(home: Path, timeout: float = OWNER_WAIT_SECONDS) -> int | None:
    """The holder's PID; a holder that has just taken the lock writes it a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        pid = read_owner_pid(home)
        if pid is not None or time.monotonic() >= deadline:
            return pid
        time.sleep(0.01)


class _Lock(Protocol):
    def release(self) -> None: ...


#: flock reports a lock held through another open file with one of these.
_CONTENDED = frozenset({errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK})


class _FlockLock:
    """The store lock on POSIX: an exclusive, non-blocking ``flock`` on ``store.lock``.

    This is what filelock's UnixFileLock does for the options the store uses (no
    timeout, no soft fallback), without importing filelock's two dozen modules on every
    start of the console (about 15 ms of it: bench/startup.py). Other systems use filelock.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def try_acquire(cls, path: Path) -> _FlockLock | None:
        """The lock, or None when another open file (any process) holds it."""
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited (PEP 446)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in _CONTENDED:
                return None
            raise
        return cls(fd)

    def release(self) -> None:
        import fcntl

        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def _connect_read_only(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA user_version").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _reason(err: OSError) -> str:
    """An OS error in words, without Python's "[Errno n]" and repeated file name."""
    if err.strerror:
        return err.strerror[0].lower() + err.strerror[1:]
    return str(err)


def _not_writable(home: Path) -> StoreNotWritableError:
    return StoreNotWritableError(
        f"The store {home} cannot be changed by this user (permission denied); it can "
        "still be read. Only the user who owns the store can change it."
    )


def store_exists(home: Path) -> bool:
    """True when ``home`` holds a store database.

    Raises:
        StoreError: ``home`` cannot be looked into (permission denied), so whether it
            holds a store cannot be told.
    """
    try:
        return stat.S_ISREG(os.stat(home / DB_NAME).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except PermissionError:
        raise StoreError(f"The store directory {home} cannot be read: permission denied.") from None
    except OSError as err:
        raise StoreError(f"The store directory {home} cannot be read: {_reason(err)}.") from None


def _is_store_file(name: str) -> bool:
    """A file a store (or a store being created) has in its directory."""
    return (
        name.startswith((DB_NAME, f".{OWNER_NAME}."))
        or name in (LOCK_NAME, OWNER_NAME)
    )


def _check_new_home(home: Path) -> None:
    """Refuse to create a store in a directory that already holds other things.

    A store makes its directory private (0700); taking over the user's home, /tmp or a
    project folder because ``--home`` named it by mistake would lock others out of it
    and mix the store with unrelated files.

    Raises:
        StoreError: ``home`` is a file, or a directory that holds no store but other
            files.
    """
    try:
        info = os.stat(home)
    except (FileNotFoundError, NotADirectoryError):
        return  # created below (a parent that is a file is reported there)
    except OSError as err:
        raise StoreError(f"The store directory {home} cannot be read: {_reason(err)}.") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(
            f"{home} is a file, not a store directory; give a directory (--home or "
            "KSCERT_HOME)."
        )
    try:
        others = sorted(name for name in os.listdir(home) if not _is_store_file(name))
    except OSError as err:
        raise StoreError(f"The store directory {home} cannot be read: {_reason(err)}.") from None
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3
                                         else "")
        raise StoreError(
            f"{home} is not a store directory: it holds other files ({shown}) and no "
            "store. A store needs a directory of its own: give a new or empty directory "
            "(--home or KSCERT_HOME)."
        )


def _acquire_lock(path: Path) -> _Lock | None:
    """The store's kernel lock, or None when another holder has it (OSError: cannot lock).

    The promise that a dead holder never blocks needs a kernel lock, not a marker file
    that outlives its process.
    """
    if sys.platform != "win32":
        return _FlockLock.try_acquire(path)
    import filelock

    lock = filelock.FileLock(
        path, timeout=0, mode=0o600, thread_local=False, fallback_to_soft=False
    )
    try:
        lock.acquire()
    except filelock.Timeout:
        return None
    return lock


class Store:
    """One open store. Create with :meth:`open`; close with :meth:`close` or ``with``."""

    def __init__(
        self,
        home: Path,
        conn: sqlite3.Connection,
        lock: _Lock | None,
    ) -> None:
        self._home = home
        self._conn: sqlite3.Connection | None = conn
        self._lock = lock
        self._writable = lock is not None
        # One connection is shared by the threads of the process (GUI workers); this
        # keeps one thread's transaction from interleaving with another's statements.
        self._mutex = threading.RLock()
        self._savepoints = 0
        #: Made by this open (no database was there), and its directory too: what
        #: :meth:`close_discarding_if_blank` may take away again.
        self.created = False
        self._created_dir = False
        # The repositories: the only code that runs SQL besides this core.
        live, mutex = self._live_connection, self._mutex
        self.certificates = Certificates(live, mutex)
        self.audit_log = AuditLog(live, mutex)
        self.meta = Meta(live, mutex)
        self.groups = Groups(live, mutex)
        self.devices = Devices(live, mutex)
        self.device_syncs = DeviceSyncs(live, mutex)
        self.distribution_points = DistributionPoints(live, mutex)
        self.watch = WatchRepository(live, mutex)

    # --- opening and closing -------------------------------------------------------------

    @classmethod
    def open(cls, home: Path, *, writable: bool, create: bool = True) -> Store:
        """Open the store in ``home``.

        Args:
            home: the store directory.
            writable: take the lock and allow changes; otherwise open read-only
                (nothing is written, not even the lock or owner file).
            create: create the directory and database when they do not exist
                (only for a writable store; a read-only open never creates).

        Raises:
            StoreLockedError: another process holds the store for changes.
            StoreError: there is no store (read-only, or ``create=False``), it was
                written by a newer program, or it cannot be read.
        """
        home = Path(home)
        if writable:
            return cls._open_writable(home, create=create)
        return cls._open_read_only(home)

    @classmethod
    def _open_writable(cls, home: Path, *, create: bool) -> Store:
        db = home / DB_NAME
        exists = store_exists(home)
        if not create and not exists:
            raise StoreError(f"There is no store in {home}.")
        if not exists:
            _check_new_home(home)
        new_dir = not home.exists()
        try:
            ensure_private_dir(home)
        except OSError as err:
            if exists and isinstance(err, PermissionError):
                raise _not_writable(home) from None
            raise StoreError(
                f"The store directory {home} cannot be created: {_reason(err)}."
            ) from None
        try:
            lock = _acquire_lock(home / LOCK_NAME)
        except OSError as err:
            if isinstance(err, PermissionError):
                raise _not_writable(home) from None
            raise StoreError(f"The store {home} cannot be locked: {_reason(err)}.") from None
        if lock is None:
            raise StoreLockedError(_wait_for_owner(home), str(home))
        conn: sqlite3.Connection | None = None
        try:
            write_private_file(home / OWNER_NAME, f"{os.getpid()}\n".encode("ascii"))
            if not db.exists():
                # SQLite gives its -wal and -shm files the mode of the database file.
                os.close(os.open(db, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, home)
            for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", LOCK_NAME, OWNER_NAME):
                with contextlib.suppress(FileNotFoundError):
                    chmod_private(home / name)
        except BaseException as err:
            if conn is not None:
                conn.close()
            with contextlib.suppress(OSError):
                (home / OWNER_NAME).unlink()
            lock.release()
            if isinstance(err, PermissionError) or (
                isinstance(err, sqlite3.OperationalError) and "readonly" in str(err)
            ):
                raise _not_writable(home) from None
            if isinstance(err, OSError):
                raise StoreError(f"The store {home} cannot be opened: {_reason(err)}.") from err
            if isinstance(err, sqlite3.Error):
                raise StoreError(f"The store {home} cannot be opened: {err}") from err
            raise
        store = cls(home, conn, lock)
        store.created, store._created_dir = not exists, new_dir
        return store

    @classmethod
    def _open_read_only(cls, home: Path) -> Store:
        db = home / DB_NAME
        if not store_exists(home):
            raise StoreError(f"There is no store in {home}.")
        uri = f"{db.resolve().as_uri()}?mode=ro"
        conn: sqlite3.Connection | None = None
        try:
            try:
                conn = _connect_read_only(uri)
            except sqlite3.OperationalError as err:
                # A WAL database opens read-only only where its -shm file can be made.
                # In a store of another user (no write permission in its directory) that
                # fails although the database is complete when no -wal file is left.
                if "readonly" not in str(err) or (home / f"{DB_NAME}-wal").exists():
                    raise
                conn = _connect_read_only(uri + "&immutable=1")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            _check_not_newer(version, home)
            if any(m not in READABLE_WITHOUT for m in MIGRATIONS[version:]):
                raise StoreError(
                    f"The store {home} is not ready to be read (it is being created or "
                    "must be upgraded); open it once for changes."
                )
        except BaseException as err:
            if conn is not None:
                conn.close()
            if isinstance(err, sqlite3.Error):
                raise StoreError(f"The store {home} cannot be read: {err}") from err
            raise
        return cls(home, conn, None)

    def close(self) -> None:
        """Close the database and release the lock. Closing twice does nothing."""
        with self._mutex:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.close()
            finally:
                if self._lock is not None:
                    with contextlib.suppress(OSError):
                        (self._home / OWNER_NAME).unlink()
                    self._lock.release()
                    self._lock = None

    #: The tables that hold what a person made; a store with none of it is blank.
    _CONTENT_TABLES = ("certificates", "audit", "groups", "devices", "distribution_points",
                       "watch_endpoints")

    def close_discarding_if_blank(self) -> bool:
        """Close; a store this open created that is still blank goes away again.

        A first command that fails (a passphrase file readable by others, a keyring that
        is locked) must not leave an empty store behind: ``kscert demo`` would then refuse
        the directory as taken. Only a store created by this very open, with nothing in
        any table a person fills, is removed; anything else is closed as usual.
        """
        blank = False
        with self._mutex:
            if self.created and self._conn is not None:
                try:
                    blank = not any(
                        self._conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                        for t in self._CONTENT_TABLES
                    )
                except sqlite3.Error:
                    blank = False
            self.close()
        if not blank:
            return False
        for name in (f"{DB_NAME}-wal", f"{DB_NAME}-shm", DB_NAME, LOCK_NAME, OWNER_NAME):
            with contextlib.suppress(OSError):
                (self._home / name).unlink()
        if self._created_dir:
            with contextlib.suppress(OSError):
                self._home.rmdir()  # only when nothing else is in it
        return True

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "writable" if self._writable else "read-only"
        state = "closed" if self._conn is None else mode
        return f"Store({str(self._home)!r}, {state})"

    # --- properties ----------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self._home

    @property
    def path(self) -> Path:
        """The database file."""
        return self._home / DB_NAME

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def closed(self) -> bool:
        return self._conn is None

    @property
    def connection(self) -> sqlite3.Connection:
        """The connection, for reads; change only inside :meth:`transaction`."""
        if self._conn is None:
            raise StoreError(f"The store {self._home} is closed.")
        return self._conn

    def _live_connection(self) -> sqlite3.Connection:
        return self.connection

    @property
    def store_id(self) -> str:
        """The store's UUID, set when it was created (the keyring entry's user name)."""
        value = self.get_meta("store_id")
        if value is None:
            raise StoreError(f"The store {self._home} has no identifier; it is damaged.")
        return value

    def require_writable(self) -> None:
        """Raise StoreError unless this store may be changed."""
        if self._conn is None:
            raise StoreError(f"The store {self._home} is closed.")
        if self._writable:
            return
        pid = read_owner_pid(self._home)
        holder = f" (it is in use by process {pid})" if pid is not None else ""
        raise StoreError(
            f"The store {self._home} was opened read-only{holder}; changes are refused. "
            "Close the other program and open the store again to change it."
        )

    # --- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One change: ``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls it back.

        A transaction opened inside another (same thread) becomes a savepoint of it,
        so the whole change still commits or rolls back as one.
        """
        self.require_writable()
        conn = self.connection
        with self._mutex:
            if conn.in_transaction:
                yield from self._savepoint(conn)
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise StoreError(f"The store {self._home} cannot be changed: {err}") from err
            try:
                yield conn
            except BaseException as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if _storage_failure(err):
                    # A full disk or an I/O error can strike at any statement, not only
                    # at COMMIT: it is the store's trouble, told plainly, not a bug.
                    raise StoreError(
                        f"The change could not be saved in {self._home}: {err}"
                    ) from err
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"The change could not be saved in {self._home}: {err}") from err

    @contextmanager
    def bulk_transaction(self) -> Iterator[sqlite3.Connection]:
        """:meth:`transaction` for a change of many rows (a device list of 100 000).

        For its duration the page cache is made large enough to hold the whole change,
        which SQLite then writes to the WAL once, at COMMIT, and to sort the indexes that
        are rebuilt at the end in memory. Only memory changes: the COMMIT syncs as any
        other (WAL, synchronous FULL). Worth about 13 ms of a 300 ms import of 100 000 devices.
        """
        with self._mutex:
            conn = self.connection
            previous = int(conn.execute("PRAGMA cache_size").fetchone()[0])
            conn.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
            try:
                with self.transaction() as inner:
                    yield inner
            finally:
                conn.execute(f"PRAGMA cache_size = {previous}")

    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        self._savepoints += 1
        name = f"kscert_sp{self._savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        conn.execute(f"RELEASE {name}")

    # --- record helpers (shortcuts to the certificate, audit and meta repositories) ------

    def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    def set_meta(self, conn: sqlite3.Connection, key: str, value: str | None) -> None:
        """Set (or with None, remove) a meta value inside the caller's transaction."""
        self.meta.set(conn, key, value)

    def audit(
        self,
        conn: sqlite3.Connection,
        at: datetime,
        action: str,
        detail: Mapping[str, object],
    ) -> None:
        """Append an audit entry inside the caller's transaction (:meth:`AuditLog.append`)."""
        self.audit_log.append(conn, at, action, detail)

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        """The audit log, oldest first; with ``limit``, only the latest ``limit`` entries."""
        return self.audit_log.entries(limit)

    def insert_certificate(
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
        """Insert a certificate record inside the caller's transaction; return its id."""
        return self.certificates.insert(
            conn, source=source, cert_der=cert_der, key_enc=key_enc, sha256=sha256,
            not_before=not_before, not_after=not_after, address=address,
            created_at=created_at, term_days=term_days, state=state, chain_der=chain_der,
            activated_at=activated_at, ended_at=ended_at, info=info,
        )

    def list_certificates(self, conn: sqlite3.Connection | None = None) -> list[CertificateRow]:
        """Every certificate record, by id (pass ``conn`` inside a transaction)."""
        return self.certificates.all(conn)

    def get_certificate(
        self, cert_id: int, conn: sqlite3.Connection | None = None
    ) -> CertificateRow | None:
        return self.certificates.get(cert_id, conn)

    def update_certificate_state(
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
        self.certificates.update_state(conn, cert_id, state, activated_at, ended_at)

    def record_switch_observed(
        self, conn: sqlite3.Connection, reserve_id: int, at: datetime
    ) -> bool:
        """Note that the switch to ``reserve_id`` was seen; True only the first time."""
        return self.certificates.record_switch_observed(conn, reserve_id, at)


def _check_not_newer(version: int, home: Path) -> None:
    known = schema_version()
    if version > known:
        raise StoreError(
            f"The store {home} was written by a newer version of this program (schema "
            f"{version}; this one knows up to {known}). Update the program to open it."
        )


def backup_name(version: int) -> str:
    """The copy of a store kept before it is upgraded from schema ``version``."""
    return f"{DB_NAME}.schema-{version}.bak"


def _keep_a_copy(conn: sqlite3.Connection, home: Path, version: int) -> None:
    """Copy the store before upgrading it: the previous version of the program refuses a
    newer schema, so an operator who must go back needs the copy (a consistent one, by
    SQLite's backup API, mode 0600 like the store). An existing copy is kept."""
    path = home / backup_name(version)
    if path.exists():
        return
    partial = path.with_name(path.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    target = sqlite3.connect(partial)
    try:
        conn.backup(target)
        # One self-contained file (the store's WAL mode would give it -wal/-shm files).
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    os.replace(partial, path)
    log.info("store %s: schema %d kept as %s before the upgrade", home, version, path.name)


def _migrate(conn: sqlite3.Connection, home: Path) -> None:
    """Bring the schema to :func:`schema_version`, one transaction per step."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    _check_not_newer(version, home)
    if 0 < version < schema_version():
        _keep_a_copy(conn, home, version)
    for step in range(version, schema_version()):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[step](conn)
            conn.execute(f"PRAGMA user_version = {step + 1}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
