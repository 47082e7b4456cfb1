"""The demo ("Training") store of DESIGN §11."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kscert_gui.model.clock import FixedClock
from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services.demo import DEMO_DEVICES, create_demo_store
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_demo_store_tells_the_whole_story(tmp_path: Path) -> None:
    secrets = MemorySecretStore()
    create_demo_store(tmp_path / "demo", secrets, FixedClock(T0), pin_clock=True)
    with AdministrationServer.open(tmp_path / "demo", secrets, writable=False) as srv:
        assert srv.training and srv.name == "Training"
        st = srv.status()
        assert st.at == T0  # the training clock
        assert st.state == "expiring"
        assert st.main is not None and st.main.info.days_left(T0) == 20
        assert st.reserve is None
        assert st.devices == DEMO_DEVICES == 1250
        assert len(st.gateways) == 1 and st.gateways[0].matches_main
        groups = srv.store.connection.execute(
            "SELECT COUNT(*) FROM groups WHERE parent_id IS NOT NULL").fetchone()[0]
        assert groups == 3
        stale = srv.store.connection.execute(
            "SELECT COUNT(*) FROM devices WHERE last_sync IS NULL OR last_sync < ?",
            ("2026-11-23T09:30:00Z",),
        ).fetchone()[0]
        assert 0 < stale < 200


class NoKeyring(MemorySecretStore):
    def get_passphrase(self, store_id: str) -> bytes | None:
        raise SecretStoreError("No OS keyring is available (test).")


def test_failed_demo_creation_leaves_no_empty_store(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    with pytest.raises(SecretStoreError):
        create_demo_store(home, NoKeyring(), FixedClock(T0), pin_clock=True)
    assert not home.exists()
    # The next start is a first start again and succeeds.
    create_demo_store(home, MemorySecretStore(), FixedClock(T0), pin_clock=True)
    assert (home / "store.sqlite3").is_file()


def test_quit_after_show_without_keyring_fails_fast_and_cleanly(tmp_path: Path) -> None:
    """A non-interactive start never waits on a passphrase prompt (benchmarks, scripts)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "KSCERT_PASSPHRASE_FILE")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["HOME"] = str(tmp_path)
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    home = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui", "--home", str(home), "--quit-after-show"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 1
    assert "keyring" in proc.stderr.lower() and "Traceback" not in proc.stderr
    assert not home.exists()


def test_the_training_clock_runs_with_real_time_and_advance_adds_to_it(tmp_path: Path) -> None:
    from datetime import timedelta

    from kscert_gui.services.views import ReissueRequest

    secrets = MemorySecretStore()
    clock = FixedClock(T0)
    create_demo_store(tmp_path / "demo", secrets, clock)
    clock.at = T0 + timedelta(minutes=10)
    with AdministrationServer.open(tmp_path / "demo", secrets, clock=clock) as srv:
        # Ten real minutes later the training clock shows them too, so a certificate made
        # now is valid now (it used to be "not yet valid" on a clock that stood still).
        assert srv.now() == T0 + timedelta(minutes=10)
        view = srv.reissue(ReissueRequest(None, 30), confirmed=True)
        assert view.info.not_before <= srv.now()
        assert srv.status().reserve is not None
        report = srv.fleet.simulate_advance(timedelta(days=1))
        # Devices synchronized from the last simulated instant: the real minutes included.
        assert report.start == T0 and report.end == T0 + timedelta(days=1, minutes=10)
        assert srv.now() == T0 + timedelta(days=1, minutes=10)
        clock.at += timedelta(hours=1)
        assert srv.now() == T0 + timedelta(days=1, hours=1, minutes=10)
