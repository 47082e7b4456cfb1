"""Concurrency (issue 7): two processes on one store.

Extends tests/services/test_store.py (which covers Store.open between processes) to
the programs people run: the ``kscert`` command against a holder in another process,
two ``kscert reissue`` started together, the GUI on a store another process holds and
a CLI on a store the GUI holds, and the stale lock of a SIGKILLed holder.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hardkit import (
    CHILD_TIMEOUT,
    ROOT,
    STORE_PASSPHRASE,
    assert_clean_failure,
    build_real_store,
    isolated_env,
    run_cli,
    verify_store,
    write_passphrase_file,
)
from pytestqt.qtbot import QtBot

from kscert_gui.app import build_main_window
from kscert_gui.services.secrets import PassphraseFileSecretStore
from kscert_gui.services.store import OWNER_NAME, read_owner_pid
from kscert_gui.ui.main_window import MainWindow

sys.path.insert(0, str(ROOT / "tests" / "ui"))
uikit = importlib.import_module("uikit")

PASSPHRASE = STORE_PASSPHRASE.encode()

HOLDER = """
import sys, time
from pathlib import Path
from kscert_gui.services.store import Store
store = Store.open(Path(sys.argv[1]), writable=True)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    passfile = write_passphrase_file(tmp_path / "passphrase")
    home = tmp_path / "store"
    build_real_store(home, passfile)
    return home, passfile


@pytest.fixture
def holder(store: tuple[Path, Path]) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the store for changes (until killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(store[0])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_cli_is_told_who_holds_the_store_then_recovers_the_stale_lock(
    tmp_path: Path, store: tuple[Path, Path], holder: subprocess.Popen[str]
) -> None:
    home, passfile = store
    env = isolated_env(tmp_path)
    base = ["--home", str(home), "--passphrase-file", str(passfile)]
    before = verify_store_read_only(home)
    for args in (["reissue", "--after-days", "30", "--yes"], ["cancel-reserve", "--yes"]):
        proc = run_cli([*base, *args], env)
        assert_clean_failure(proc)
        assert f"in use by process {holder.pid}" in proc.stderr, proc.stderr
    # Reading is allowed while another process holds the store.
    proc = run_cli([*base, "status", "--json"], env)
    assert proc.returncode == 0, proc.stderr
    assert verify_store_read_only(home) == before
    # SIGKILL: the kernel drops the lock; the owner file still names the dead process.
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)
    assert (home / OWNER_NAME).read_text().strip() == str(holder.pid)
    assert read_owner_pid(home) is None
    proc = run_cli([*base, "reissue", "--after-days", "30", "--yes"], env)
    assert proc.returncode == 0, proc.stderr
    after = verify_store(home, PASSPHRASE)
    assert after.rows == 3 and after.shape.states.count("pending") == 1


def verify_store_read_only(home: Path) -> tuple[tuple[int, str, str], ...]:
    from kscert_gui.services.store import Store

    with Store.open(home, writable=False) as ro:
        return tuple((r.id, r.sha256, r.state) for r in ro.list_certificates())


def test_two_reissues_started_together(tmp_path: Path, store: tuple[Path, Path]) -> None:
    """Each run either changes the store or is refused with the other's PID; the store
    ends whole with one record per success."""
    home, passfile = store
    env = isolated_env(tmp_path)
    args = ["--home", str(home), "--passphrase-file", str(passfile), "reissue",
            "--after-days", "30", "--yes"]
    successes = refusals = named = 0
    for _ in range(6):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _n: run_cli(args, env), range(2)))
        for proc in results:
            if proc.returncode == 0:
                successes += 1
            else:
                assert_clean_failure(proc)
                # A holder that is just ending has already removed its PID file.
                assert "is in use by" in proc.stderr, proc.stderr
                named += "is in use by process" in proc.stderr
                refusals += 1
    assert successes >= 6 and successes + refusals == 12
    assert named >= min(refusals, 1)  # a holder in the middle of its work is named
    verified = verify_store(home, PASSPHRASE)
    assert verified.rows == 2 + successes


def test_gui_on_a_held_store_opens_read_only_and_names_the_holder(
    qtbot: QtBot, tmp_path: Path, store: tuple[Path, Path], holder: subprocess.Popen[str]
) -> None:
    home, passfile = store
    uikit.isolate_settings(tmp_path)
    window = build_main_window(home, secrets=PassphraseFileSecretStore(passfile))
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    console = window.console
    assert console.read_only
    assert f"process {holder.pid}" in (console.read_only_reason or "")
    uikit.refreshed(qtbot, window)
    label = window.mode_label.text()
    assert "Read-only" in label
    assert f"process {holder.pid}" in label
    assert console.server.status().main is not None  # it reads
    window.close()
    console.close()


def test_cli_on_a_store_the_gui_holds_is_told_our_pid(
    qtbot: QtBot, tmp_path: Path, store: tuple[Path, Path]
) -> None:
    home, passfile = store
    uikit.isolate_settings(tmp_path)
    window = build_main_window(home, secrets=PassphraseFileSecretStore(passfile))
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    console = window.console
    assert not console.read_only
    try:
        proc = run_cli(["--home", str(home), "--passphrase-file", str(passfile), "reissue",
                        "--immediately", "--yes"], isolated_env(tmp_path),
                       timeout=CHILD_TIMEOUT)
        assert_clean_failure(proc)
        assert f"in use by process {os.getpid()}" in proc.stderr
    finally:
        window.close()
        console.close()
    assert verify_store(home, PASSPHRASE).rows == 2
