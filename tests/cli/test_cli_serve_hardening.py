"""`kscert serve` under pressure and under a scanner (issue 13, DESIGN §9).

- testssl.sh (Debian's package) scans it: no protocol below TLS 1.2, no CBC suite,
  forward secrecy only, the groups X25519, P-256 and P-384;
- out of file descriptors (a low ``ulimit -n`` from the start, or lowered while it
  runs) it backs off instead of spinning (CPU time read from /proc/PID/stat) and serves
  again by itself;
- 1 010 idle connections do not lock a new client out (the one idle longest gives way);
- SIGINT/SIGTERM at any moment of the start: no traceback, and "Stopped." (started as
  ``python -m kscert_gui.cli``, as the console script, and as the script run by an
  interpreter with options, as some shebangs are);
- ``--bind ::1`` says ``[::1]:PORT``.

Every server listens on loopback, every wait is bounded, every process is killed in a
``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import write_passfile
from conftest import unavailable
from tlskit import (
    WAIT,
    free_port,
    handshake,
    require_openssl,
    serve_cmd,
    serving,
    wait_until,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")


@pytest.fixture(autouse=True)
def _openssl() -> None:
    require_openssl()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real store with a main certificate for localhost: (home, passphrase file)."""
    tmp = tmp_path_factory.mktemp("serve-hardening")
    passfile = write_passfile(tmp / "store.pass", b"a store passphrase for serve tests")
    home = tmp / "store"
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui.cli", "--home", str(home), "--passphrase-file",
         str(passfile), "reissue", "--address", "localhost", "--immediately", "--yes"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return home, passfile


# --- helpers ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def handshake_works(port: int) -> bool:
    try:
        handshake(port, timeout=2.0)
    except (OSError, ssl.SSLError):
        return False
    return True


@contextlib.contextmanager
def idle_clients(port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send the first byte of a ClientHello and then nothing
    (so that the server accepts them: it waits for a first byte before it does)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), WAIT)
            socks.append(s)
            s.sendall(b"\x16")
        yield socks
    finally:
        for s in socks:
            s.close()


@pytest.fixture
def many_files() -> Iterator[None]:
    """This process may hold a few thousand sockets (soft limit raised to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if want < 2200:
        unavailable(f"the open-files limit ({hard}) is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- a scanner's verdict ------------------------------------------------------------------


def test_testssl_finds_only_modern_tls(store: tuple[Path, Path], tmp_path: Path) -> None:
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        unavailable("testssl.sh is not installed (Debian package testssl.sh)")
    port = free_port()
    report = tmp_path / "testssl.json"
    with serving(serve_cmd(*store, port), tmp_path / "serve.log"):
        proc = subprocess.run(
            [testssl, "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none",
             "--connect-timeout", "10", "--openssl-timeout", "10", "--jsonfile",
             str(report), "-p", "-s", "-f", "-E", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=400,
            cwd=tmp_path,
            # It waits this long for an HTTP banner that a TLS endpoint of ours never
            # sends (default 5 s, twice).
            env={**os.environ, "HEADER_MAXSLEEP": "1"},
        )
    assert report.is_file(), proc.stdout + proc.stderr
    findings = {f["id"]: f for f in json.loads(report.read_text())}
    for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert findings[old]["finding"].startswith("not offered"), findings[old]
    assert findings["TLS1_2"]["finding"].startswith("offered")
    assert findings["TLS1_3"]["finding"].startswith("offered")
    # testssl 3.0 calls the obsolete CBC suites "AVERAGE", 3.2 "OBSOLETED".
    obsolete = "cipherlist_OBSOLETED" if "cipherlist_OBSOLETED" in findings else \
        "cipherlist_AVERAGE"
    for category in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
                     "cipherlist_LOW", "cipherlist_3DES_IDEA", obsolete):
        assert "not offered" in findings[category]["finding"], findings[category]
    assert findings["PFS"]["severity"] == "OK", findings["PFS"]
    assert set(findings["PFS_ECDHE_curves"]["finding"].split()) == {
        "prime256v1", "secp384r1", "X25519"}
    suites = [f["finding"].split()[3] for key, f in findings.items()
              if key.startswith(("cipher-tls1_2_", "cipher-tls1_3_"))]
    assert suites, findings.keys()
    for name in suites:
        assert name.startswith(("ECDHE-", "TLS_")), name  # forward secrecy
        assert "CBC" not in name and ("GCM" in name or "CHACHA20" in name), name  # AEAD
    assert not [k for k in findings if k.startswith(("cipher-tls1_", "cipher-ssl"))
                and not k.startswith(("cipher-tls1_2_", "cipher-tls1_3_"))]


# --- out of file descriptors --------------------------------------------------------------


def test_low_ulimit_no_busy_loop_and_serves_again(store: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    port = free_port()
    limit = 64
    with serving(serve_cmd(*store, port), tmp_path / "serve.log", nofile=limit) as proc:
        with idle_clients(port, 3 * limit):
            time.sleep(1.0)  # the connections are accepted, or wait in the backlog
            before = cpu_seconds(proc.pid)
            time.sleep(3.0)
            used = cpu_seconds(proc.pid) - before
            assert used < 0.6, f"{used:.2f} s of CPU in 3 s: a busy loop"
            assert open_fds(proc.pid) <= limit
            # The connection idle longest gives way to a client that talks.
            assert handshake(port) in ("TLSv1.3", "TLSv1.2")
        wait_until(lambda: handshake_works(port), "a handshake after the clients closed")
        assert proc.poll() is None


def test_limit_lowered_while_serving_backs_off_then_recovers(store: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    if shutil.which("prlimit") is None:
        unavailable("prlimit (util-linux) is not installed")
    port = free_port()
    log = tmp_path / "serve.log"
    with serving(serve_cmd(*store, port), log) as proc:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # Not one descriptor left for a new connection.
        tight = open_fds(proc.pid)
        subprocess.run(["prlimit", f"--pid={proc.pid}", f"--nofile={tight}:{hard}"],
                       check=True, timeout=30)
        with idle_clients(port, 40):
            time.sleep(1.0)
            before = cpu_seconds(proc.pid)
            time.sleep(3.0)
            used = cpu_seconds(proc.pid) - before
        assert used < 0.6, f"{used:.2f} s of CPU in 3 s: a busy loop"
        subprocess.run(["prlimit", f"--pid={proc.pid}", f"--nofile={soft}:{hard}"],
                       check=True, timeout=30)
        wait_until(lambda: handshake_works(port), "a handshake once descriptors are free")
        assert proc.poll() is None
    assert "Cannot accept connections for now" in log.read_text()


def test_a_thousand_idle_connections_do_not_lock_new_clients_out(
    store: tuple[Path, Path], tmp_path: Path, many_files: None
) -> None:
    port = free_port()
    with serving(serve_cmd(*store, port), tmp_path / "serve.log", nofile=4096) as proc:
        with idle_clients(port, 1010):
            time.sleep(1.5)
            for _ in range(3):
                start = time.monotonic()
                assert handshake(port, timeout=5.0) in ("TLSv1.3", "TLSv1.2")
                assert time.monotonic() - start < 2.0
        assert proc.poll() is None


# --- signals at any moment of the start ---------------------------------------------------


#: A traceback line naming a file of this project (not the interpreter's start, not
#: site's processing of the editable install, which come before any of it runs).
OUR_FRAME = re.compile(r'File "' + re.escape(str(REPO / "kscert_gui")) + r"[/\\]")


def _signal_after(store: tuple[Path, Path], sig: signal.Signals, delay: float,
                  port: int, launcher: list[str] | None = None) -> tuple[int | None, str, str]:
    """``kscert serve`` sent ``sig`` ``delay`` s after its start: (exit code or None when it
    hung and was killed, stdout, stderr)."""
    proc = subprocess.Popen(serve_cmd(*store, port, launcher=launcher), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        time.sleep(delay)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=WAIT)
        return None, out, err
    return proc.returncode, out, err


def _launcher(how: str) -> list[str]:
    """How `kscert` is started: ``python -m``, the console script pip wrote (what a person
    types), or that script run by an interpreter with options (as a shebang such as
    Fedora's ``#!/usr/bin/python3 -sP`` does)."""
    if how == "python-m":
        return [sys.executable, "-m", "kscert_gui.cli"]
    script = Path(sys.executable).with_name("kscert")
    if not script.is_file():
        unavailable(f"the kscert console script is not installed ({script}; pip install -e .)")
    return [str(script)] if how == "console-script" else [sys.executable, "-sP", str(script)]


@pytest.mark.parametrize(("how", "steps", "step"), [
    ("python-m", 12, 0.02),
    ("console-script", 13, 0.025),
    ("shebang-options", 13, 0.025),
])
def test_ctrl_c_early_never_prints_a_traceback(store: tuple[Path, Path], how: str, steps: int,
                                               step: float) -> None:
    launcher = _launcher(how)
    port = free_port()
    stopped = 0
    for n in range(steps):
        delay = n * step
        code, out, err = _signal_after(store, signal.SIGINT, delay, port, launcher)
        assert not OUR_FRAME.search(err), (delay, err)
        if OUR_FRAME.search(err) is None and "Traceback" in err:
            continue  # the interpreter was still starting: no code of ours had run
        assert code is not None, (delay, err)
        # Killed before Python could catch it, interrupted, or stopped cleanly.
        assert code in (0, 130, -signal.SIGINT), (delay, code, err)
        assert err in ("", "kscert: interrupted\n"), (delay, code, err)
        if code == 0:
            assert out.endswith("Stopped.\n"), (delay, out)
            stopped += 1
    assert stopped, "no run got as far as the code of kscert"


@pytest.mark.parametrize("how", ["python-m", "console-script", "shebang-options"])
def test_sigterm_early_still_ends_with_stopped(store: tuple[Path, Path], how: str) -> None:
    launcher = _launcher(how)
    port = free_port()
    for delay in (0.2, 0.3, 0.45, 0.6):
        code, out, err = _signal_after(store, signal.SIGTERM, delay, port, launcher)
        assert "Traceback" not in err
        assert (code, out.splitlines()[-1:]) == (0, ["Stopped."]), (delay, code, out, err)


# --- IPv6 ---------------------------------------------------------------------------------


def test_bind_ipv6_loopback_is_written_in_brackets(store: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    try:
        port = free_port("::1")
    except OSError:
        unavailable("this machine has no IPv6 loopback")
    log = tmp_path / "serve.log"
    with serving(serve_cmd(*store, port, "--bind", "::1"), log):
        assert handshake(port, host="::1") in ("TLSv1.3", "TLSv1.2")
    assert f"on [::1]:{port} (certificate SHA-256" in log.read_text()
