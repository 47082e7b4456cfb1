"""Crash safety (issue 7): SIGKILL anywhere, a full disk, a read-only store.

Faults injected, each on a copy of a store with a main certificate:

* SIGKILL of ``kscert reissue --immediately``, ``kscert import --pkcs12`` (replacing a
  pending reserve), ``kscert import --key --cert`` and of a switch observation
  (``kscert status`` on a training store whose reserve is due), (a) after delays spread
  evenly from 0 to the measured duration of one run, and (b) as SQLite starts each
  statement of the operation (``kill_driver.py``: deterministic, so a kill before the
  COMMIT must leave the store as it was and a kill after it the complete change);
* a full disk: a small tmpfs filled to leave 0…96 KiB free (root), and SQLite's own
  "database or disk is full" at each write statement (always);
* a read-only store: the tmpfs remounted read-only.

After each fault the store must open (taking the lock back from the dead process),
pass ``PRAGMA integrity_check``, hold a main certificate whose key the passphrase
opens and which signs what its certificate verifies, hold no half record
(:func:`hardkit.verify_store`), be either exactly as before or exactly as after a
complete run, and take a following ``kscert reissue``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import unavailable
from cryptography.hazmat.primitives import serialization
from hardkit import (
    CHILD_TIMEOUT,
    ROOT,
    STORE_PASSPHRASE,
    Shape,
    assert_clean_failure,
    build_real_store,
    build_training_store_due_switch,
    cli_in_process,
    copy_store,
    file_digests,
    isolated_env,
    key_pem,
    make_identity,
    pkcs12_bytes,
    run_cli,
    verify_store,
    write_passphrase_file,
)

PASSPHRASE = STORE_PASSPHRASE.encode()
IMPORT_PASSWORD = "crash import password"
#: Kills after delays spread over one run, per operation (4 operations: 56 runs).
TIMED_KILLS = 14
WORKERS = 2
KILL_DRIVER = Path(__file__).with_name("kill_driver.py")


@dataclass(frozen=True)
class Op:
    template: str  # "real" or "training"
    args: tuple[str, ...]
    stdin: str | None = None


@dataclass(frozen=True)
class World:
    tmp: Path
    env: dict[str, str]
    passfile: Path
    templates: dict[str, Path]
    ops: dict[str, Op]

    def base(self, home: Path) -> list[str]:
        return ["--home", str(home), "--passphrase-file", str(self.passfile)]

    def fresh(self, op: str, name: str) -> Path:
        return copy_store(self.templates[self.ops[op].template], self.tmp / "runs" / name)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("crash")
    (tmp / "runs").mkdir()
    passfile = write_passphrase_file(tmp / "passphrase")
    templates = {"real": tmp / "real", "training": tmp / "training"}
    build_real_store(templates["real"], passfile)
    build_training_store_due_switch(templates["training"], passfile)
    ident = make_identity("crash.custom.example")
    p12 = tmp / "custom.p12"
    p12.write_bytes(pkcs12_bytes(ident, IMPORT_PASSWORD.encode()))
    key, cert = tmp / "custom.key", tmp / "custom.cer"
    key.write_bytes(key_pem(ident.key, IMPORT_PASSWORD.encode()))
    cert.write_bytes(ident.cert.public_bytes(serialization.Encoding.DER))
    ops = {
        "reissue": Op("real", ("reissue", "--immediately", "--yes")),
        "import-pkcs12": Op(
            "real",
            ("import", "--pkcs12", str(p12), "--password-stdin", "--after-days", "45", "--yes"),
            IMPORT_PASSWORD + "\n",
        ),
        "import-x509": Op(
            "real",
            ("import", "--key", str(key), "--cert", str(cert), "--password-stdin",
             "--immediately", "--yes"),
            IMPORT_PASSWORD + "\n",
        ),
        "switch": Op("training", ("status", "--json")),
    }
    return World(tmp, isolated_env(tmp), passfile, templates, ops)


def shape_of(home: Path) -> Shape:
    return verify_store(home, PASSPHRASE).shape


@dataclass(frozen=True)
class Reference:
    before: Shape
    after: Shape
    duration: float
    statements: list[str]


_references: dict[str, Reference] = {}


def reference(world: World, op: str) -> Reference:
    """Run ``op`` once to the end: its duration, its statements, the store after it."""
    if op in _references:
        return _references[op]
    spec = world.ops[op]
    before = shape_of(world.templates[spec.template])
    # Warm-up (OS caches), then the timed run.
    warm = world.fresh(op, f"{op}-warm")
    assert run_cli([*world.base(warm), *spec.args], world.env, stdin=spec.stdin).returncode == 0
    home = world.fresh(op, f"{op}-reference")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kscert_gui.cli", *world.base(home), *spec.args],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=world.env, cwd=ROOT,
    )
    _out, err = proc.communicate(spec.stdin or "", timeout=CHILD_TIMEOUT)
    duration = time.perf_counter() - start
    assert proc.returncode == 0, err
    after = shape_of(home)
    assert after != before
    trace = world.tmp / f"{op}.trace"
    traced = world.fresh(op, f"{op}-traced")
    proc2 = subprocess.run(
        [sys.executable, str(KILL_DRIVER), "0", str(trace), *world.base(traced), *spec.args],
        input=spec.stdin or "", capture_output=True, text=True, env=world.env, cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )
    assert proc2.returncode == 0, proc2.stderr
    statements = trace.read_text(encoding="utf-8").splitlines()
    ref = Reference(before, after, duration, statements)
    _references[op] = ref
    return ref


def kill_after(cmd: list[str], env: dict[str, str], stdin: str | None, delay: float) -> int:
    """Start ``cmd``, SIGKILL it ``delay`` seconds later (if it still runs); its exit code."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, cwd=ROOT,
    )
    try:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write((stdin or "").encode())
            proc.stdin.close()
        deadline = time.perf_counter() + delay
        while time.perf_counter() < deadline and proc.poll() is None:
            time.sleep(min(0.002, max(deadline - time.perf_counter(), 0)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=CHILD_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def check_after_fault(world: World, home: Path, ref: Reference) -> str:
    """The store is whole and either as before or as after; a reissue then works."""
    verified = verify_store(home, PASSPHRASE)
    assert verified.shape in (ref.before, ref.after), (verified.shape, ref)
    outcome = "unchanged" if verified.shape == ref.before else "done"
    follow = cli_in_process([*world.base(home), "reissue", "--after-days", "30", "--yes"])
    assert follow.code == 0, follow.err
    again = verify_store(home, PASSPHRASE)
    assert again.rows == verified.rows + 1
    assert "pending" in again.shape.states
    return outcome


@pytest.mark.parametrize("op", ["reissue", "import-pkcs12", "import-x509", "switch"])
def test_sigkill_spread_over_the_operation(world: World, op: str) -> None:
    ref = reference(world, op)
    spec = world.ops[op]
    # Deterministic spread: i/(N-1) of one measured run, from 0 to the whole duration.
    delays = [ref.duration * i / (TIMED_KILLS - 1) for i in range(TIMED_KILLS)]
    homes = [world.fresh(op, f"{op}-timed-{i}") for i in range(TIMED_KILLS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        codes = list(pool.map(
            lambda pair: kill_after(
                [sys.executable, "-m", "kscert_gui.cli", *world.base(pair[0]), *spec.args],
                world.env, spec.stdin, pair[1],
            ),
            zip(homes, delays, strict=True),
        ))
    outcomes = [check_after_fault(world, home, ref) for home in homes]
    killed = sum(code == -signal.SIGKILL for code in codes)
    assert killed >= TIMED_KILLS // 2, codes  # most runs were really cut short
    assert outcomes[0] == "unchanged"
    assert set(codes) <= {0, -signal.SIGKILL}, codes
    for code, outcome in zip(codes, outcomes, strict=True):
        if code == 0:
            assert outcome == "done"


def kill_points(statements: list[str]) -> list[int]:
    """1-based statement numbers to kill at: every one from the statement before BEGIN to
    the one after COMMIT, and every fifth one before (opening, reading, checking)."""
    begin = statements.index("BEGIN IMMEDIATE") + 1
    commit = statements.index("COMMIT") + 1
    points = set(range(1, begin - 1, 5)) | set(range(begin - 1, commit + 2))
    return sorted(p for p in points if 1 <= p <= len(statements))


@pytest.mark.parametrize("op", ["reissue", "import-pkcs12", "import-x509", "switch"])
def test_sigkill_at_each_statement(world: World, op: str) -> None:
    ref = reference(world, op)
    spec = world.ops[op]
    commit = ref.statements.index("COMMIT") + 1
    points = kill_points(ref.statements)
    homes = [world.fresh(op, f"{op}-stmt-{n}") for n in points]

    def run(pair: tuple[Path, int]) -> int:
        home, n = pair
        cmd = [sys.executable, str(KILL_DRIVER), str(n), str(world.tmp / "unused"),
               *world.base(home), *spec.args]
        return kill_after(cmd, world.env, spec.stdin, CHILD_TIMEOUT)

    with ThreadPoolExecutor(WORKERS) as pool:
        codes = list(pool.map(run, zip(homes, points, strict=True)))
    assert codes == [-signal.SIGKILL] * len(points), list(zip(points, codes, strict=True))
    for home, n in zip(homes, points, strict=True):
        outcome = check_after_fault(world, home, ref)
        # The kill comes as statement n starts: up to the COMMIT itself nothing is saved.
        assert outcome == ("unchanged" if n <= commit else "done"), (n, ref.statements[n - 1])


# --- full disk ---------------------------------------------------------------------------------


def can_mount() -> bool:
    return os.name == "posix" and os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        unavailable(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(where)], capture_output=True,
                       timeout=30)
        done = subprocess.run(["umount", str(where)], capture_output=True, timeout=30)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(folder: Path, leave: int) -> Path:
    """Write a filler file until only ``leave`` bytes are free (or the disk is full)."""
    filler = folder / "filler"
    st = os.statvfs(folder)
    want = max(st.f_bavail * st.f_frsize - leave, 0)
    chunk = b"\0" * 65536
    with filler.open("wb") as handle:
        while want > 0:
            try:
                handle.write(chunk[: min(len(chunk), want)])
                handle.flush()
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                break
            want -= min(len(chunk), want)
    return filler


FREE_KIB = list(range(0, 100, 8))


@pytest.mark.parametrize("op", ["reissue", "switch"])
def test_full_disk_on_a_small_tmpfs(world: World, tmp_path: Path, op: str) -> None:
    if not can_mount():
        unavailable("a small tmpfs needs root and mount(8); "
                    "test_full_disk_simulated covers the error path without them")
    ref = reference(world, op)
    spec = world.ops[op]
    outcomes: list[str] = []
    with tmpfs(tmp_path / "disk", "2m") as disk:
        for free in FREE_KIB:
            home = copy_store(world.templates[spec.template], disk / "store")
            filler = fill(disk, free * 1024)
            proc = run_cli([*world.base(home), *spec.args], world.env, stdin=spec.stdin)
            if proc.returncode != 0:
                assert_clean_failure(proc)
                assert "store" in proc.stderr
            filler.unlink()
            outcome = check_after_fault(world, home, ref)
            # One transaction: a refusal leaves the store as it was.
            assert outcome == ("done" if proc.returncode == 0 else "unchanged"), free
            outcomes.append("ok" if proc.returncode == 0 else "refused")
            shutil.rmtree(home)
    # The sweep crosses the boundary: a full disk refuses, enough room succeeds.
    assert outcomes[0] == "refused" and outcomes[-1] == "ok", outcomes


class _FullDisk:
    """Arms SQLite connections to fail the ``n``-th write statement with SQLITE_FULL's
    message (what a full disk gives in the middle of a transaction)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "COMMIT")

    def __init__(self, n: int) -> None:
        self.n = n
        self.writes = 0

    def factory(self) -> type[sqlite3.Connection]:
        outer = self

        class Connection(sqlite3.Connection):
            def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
                if sql.lstrip().upper().startswith(outer.WRITES):
                    outer.writes += 1
                    if outer.writes == outer.n:
                        raise sqlite3.OperationalError("database or disk is full")
                return super().execute(sql, *args)

        return Connection


@pytest.mark.parametrize("op", ["reissue", "import-pkcs12", "switch"])
def test_full_disk_simulated(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, op: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each write statement of the operation in turn fails as on a full disk; and SQLite
    really runs out of pages (``PRAGMA max_page_count``) for a reissue."""
    ref = reference(world, op)
    spec = world.ops[op]
    real_connect = sqlite3.connect
    n = 1
    while True:
        armed = _FullDisk(n)

        def connect(*args: Any, armed: _FullDisk = armed, **kwargs: Any) -> sqlite3.Connection:
            conn: sqlite3.Connection = real_connect(*args, factory=armed.factory(), **kwargs)
            return conn

        home = world.fresh(op, f"{op}-full-{n}")
        monkeypatch.setattr(sqlite3, "connect", connect)
        if spec.stdin:
            monkeypatch.setattr(sys, "stdin", io.StringIO(spec.stdin))
        result = cli_in_process([*world.base(home), *spec.args])
        monkeypatch.setattr(sqlite3, "connect", real_connect)
        if armed.writes < n:  # every write statement has had its turn
            assert result.code == 0, result.err
            break
        assert result.code == 1, (n, result)
        assert result.err.startswith("kscert: error: "), result.err
        assert "disk is full" in result.err and "Traceback" not in result.err
        assert "unexpected" not in result.err
        assert verify_store(home, PASSPHRASE).shape == ref.before, n
        check_after_fault(world, home, ref)
        n += 1
    assert n > 2, "the operation wrote nothing"

    if op == "reissue":
        def tight(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn: sqlite3.Connection = real_connect(*args, **kwargs)
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
            return conn

        home = world.fresh(op, f"{op}-max-pages")
        monkeypatch.setattr(sqlite3, "connect", tight)
        result = cli_in_process([*world.base(home), *spec.args])
        monkeypatch.setattr(sqlite3, "connect", real_connect)
        assert result.code == 1, result
        assert "database or disk is full" in result.err and "Traceback" not in result.err
        assert verify_store(home, PASSPHRASE).shape == ref.before
        check_after_fault(world, home, ref)
    capsys.readouterr()


# --- read-only store ---------------------------------------------------------------------------


def test_read_only_store(world: World, tmp_path: Path) -> None:
    """A store on a file system mounted read-only: every change is refused plainly, the
    store stays byte for byte the same, reading is answered or refused plainly."""
    if not can_mount():
        unavailable("a read-only mount needs root and mount(8) (chmod does not stop root, "
                    "and the program restores 0700 on its own folder)")
    ref = reference(world, "reissue")
    spec = world.ops
    with tmpfs(tmp_path / "ro", "4m") as disk:
        home = copy_store(world.templates["real"], disk / "store")
        before = file_digests(home)
        remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True,
                                 text=True, timeout=30)
        assert remount.returncode == 0, remount.stderr
        for op in ("reissue", "import-pkcs12", "import-x509"):
            proc = run_cli([*world.base(home), *spec[op].args], world.env,
                           stdin=spec[op].stdin)
            assert_clean_failure(proc)
            assert str(home) in proc.stderr
        proc = run_cli([*world.base(home), "cancel-reserve", "--yes"], world.env)
        assert_clean_failure(proc)
        proc = run_cli([*world.base(home), "status", "--json"], world.env)
        if proc.returncode != 0:
            assert_clean_failure(proc)
        assert file_digests(home) == before
        subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True, timeout=30)
        assert check_after_fault(world, home, ref) == "unchanged"


def test_an_unexpected_error_shows_no_traceback(tmp_path: Path) -> None:
    """Found by this suite: with no logging handler configured, the CLI's log entry for
    an unexpected error went to logging's last resort, which printed the traceback (and
    the exception's text) on stderr."""
    code = (
        "import sys\n"
        "from kscert_gui import cli\n"
        "from kscert_gui.cli import certificates\n"
        "def boom(args):\n"
        "    raise RuntimeError('internal detail: do not show')\n"
        "certificates.cmd_status = boom\n"
        "sys.exit(cli.main(['--home', sys.argv[1], 'status']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store")],
                          capture_output=True, text=True, cwd=ROOT, timeout=CHILD_TIMEOUT,
                          env=isolated_env(tmp_path))
    assert proc.returncode == 1
    assert "kscert: unexpected error (RuntimeError)" in proc.stderr
    assert "Traceback" not in proc.stderr and "internal detail" not in proc.stderr
