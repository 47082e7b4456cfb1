"""Shared fixtures. ``secret_service``: a real, private Secret Service (GNOME Keyring)."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never read the real user's keyring or data directory by accident.
os.environ.pop("KSCERT_HOME", None)

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and os.environ.get("CI") == "true":
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and os.environ.get("CI") == "true":
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped and os.environ.get("CI") == "true":
        terminalreporter.write_line(
            f"CI=true: {len(_skipped)} skipped test(s) count as failures: "
            + ", ".join(_skipped),
            red=True,
        )

#: Password of the throw-away login keyring. gnome-keyring-daemon does not create a
#: login keyring for an empty password, so the test keyring gets this one.
TEST_KEYRING_PASSWORD = "kscert-test-keyring"
SECRET_SERVICE_START_TIMEOUT = 30.0

# $1: file to write the environment to; $2: the login keyring password.
_SESSION_SCRIPT = r"""
set -e
out="$1"
printf 'DBUS_SESSION_BUS_ADDRESS=%s\n' "$DBUS_SESSION_BUS_ADDRESS" > "$out.tmp"
printf '%s' "$2" | gnome-keyring-daemon --unlock --components=secrets >> "$out.tmp"
mv "$out.tmp" "$out"
exec sleep 600
"""


def unavailable(reason: str) -> NoReturn:
    """Skip the test, except under CI=true, where a missing tool is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the tool must be installed)", pytrace=False)
    pytest.skip(reason)


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.isidentifier():
            values[name] = value
    return values


def _wait_for_service(env: dict[str, str], deadline: float) -> None:
    """Wait until the Secret Service answers on the new bus and has a default collection."""
    import secretstorage

    last: BaseException | None = None
    saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = env["DBUS_SESSION_BUS_ADDRESS"]
    try:
        while time.monotonic() < deadline:
            try:
                conn = secretstorage.dbus_init()
                try:
                    if not secretstorage.get_default_collection(conn).is_locked():
                        return
                finally:
                    conn.close()
            except Exception as err:  # the daemon may still be starting
                last = err
            time.sleep(0.1)
    finally:
        if saved is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved
    raise RuntimeError(f"the Secret Service did not come up: {last!r}")


@pytest.fixture
def secret_service(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """A private D-Bus session with gnome-keyring-daemon's Secret Service, unlocked.

    Runs ``dbus-run-session -- sh -c SCRIPT`` in its own process group with HOME and
    XDG_* in a temporary directory, so the user's real keyring is never touched. The
    script writes the bus address (and the daemon's output) to a file, creates and
    unlocks the login keyring, and sleeps. The fixture yields the environment (bus
    address, HOME, XDG_*), puts it in ``os.environ`` for the test and selects
    keyring's SecretService backend; at teardown it kills the process group.
    """
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon")
               if shutil.which(tool) is None]
    if missing:
        unavailable(f"a real Secret Service needs {' and '.join(missing)}, not installed")
    try:
        import secretstorage  # noqa: F401 - needed by the backend and the readiness check

        secret_service_backend = importlib.import_module("keyring.backends.SecretService")
    except ImportError as err:
        unavailable(f"a real Secret Service needs the secretstorage package: {err}")

    base = tmp_path_factory.mktemp("secret-service")
    home = base / "home"
    env = {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "run"),
    }
    for key in env:
        Path(env[key]).mkdir(mode=0o700, parents=True, exist_ok=True)
    env_file = base / "session.env"
    child_env = {k: v for k, v in os.environ.items()
                 if k not in {"DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL"}}
    child_env.update(env)
    log_path = base / "session.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", _SESSION_SCRIPT, "sh", str(env_file),
             TEST_KEYRING_PASSWORD],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_group() -> None:
        # The daemons run in the session's process group; they also exit with the bus.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                continue

    try:
        deadline = time.monotonic() + SECRET_SERVICE_START_TIMEOUT
        while not env_file.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    "dbus-run-session exited early: "
                    + log_path.read_text(encoding="utf-8", errors="replace")
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the D-Bus session did not start in time")
            time.sleep(0.05)
        session = _read_env_file(env_file)
        env.update(session)
        _wait_for_service(env, deadline)
    except BaseException:
        kill_group()
        raise

    import keyring
    import keyring.core

    saved_backend = getattr(keyring.core, "_keyring_backend", None)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    keyring.set_keyring(secret_service_backend.Keyring())
    try:
        yield dict(env)
    finally:
        keyring.core._keyring_backend = saved_backend
        kill_group()
