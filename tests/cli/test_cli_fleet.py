"""`kscert devices/groups/simulate` end to end (DESIGN §9), wrong values included."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clikit import Run, write_passfile

from kscert_gui.model.clock import FixedClock
from kscert_gui.services.demo import create_demo_store
from kscert_gui.services.secrets import PassphraseFileSecretStore

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
HEADER = "name,group,platform,last synchronization\n"


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass")


@pytest.fixture
def demo(tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Run:
    home = tmp_path / "demo"
    create_demo_store(home, PassphraseFileSecretStore(passfile), FixedClock(T0), pin_clock=True)
    return Run(home, passfile, monkeypatch, capsys)


@pytest.fixture
def real(tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(tmp_path / "real", passfile, monkeypatch, capsys)


def test_devices_list_json_and_text(demo: Run) -> None:
    rc, data = demo.json("devices", "list")
    assert rc == 0 and data["reserve"] is None
    fleet = data["fleet"]
    assert fleet["devices"] == 1250 and fleet["cutover"] == "expiry"
    assert fleet["connected"] + fleet["blocked"] + fleet["lost"] == 1250
    # No reserve: every device still connected loses the connection at the expiry.
    assert fleet["at_risk"] == fleet["connected"] and fleet["delivered"] == 0
    assert len(data["devices"]) == 1251  # 1 250 phones and the gateway host
    first = data["devices"][0]
    assert set(first) == {"name", "group", "platform", "last_sync", "connection", "forecast",
                          "reason", "sync_hours"}
    host = next(d for d in data["devices"] if d["platform"] == "Linux")
    assert host["connection"] is None and host["forecast"] is None
    rc, out, _ = demo("devices", "list", "--group", "Warehouse scanners")
    assert rc == 0 and out.startswith("200 devices")


def test_counts_of_one_are_singular_and_rows_keep_their_tabs(real: Run) -> None:
    """"1 device", not "1 device(s)" nor "1 devices"; list rows are tab-separated."""
    rc, _out, err = real("devices", "add", "phone-1", "--group", "Phones", "--platform", "iOS",
                         "--create-group")
    assert rc == 0, err
    rc, out, _ = real("devices", "list")
    assert rc == 0 and out.startswith("1 device\n")
    # The rows are tab-separated, as a script reads them (the tabs were written as \x09).
    fields = out.splitlines()[1].split("\t")
    assert fields[:3] == ["phone-1", "Managed devices/Phones", "iOS"] and len(fields) == 6
    rc, out, _ = real("groups", "list")
    assert rc == 0 and out.splitlines()[1].split("\t") == [
        "Managed devices/Phones", "6 h (inherited)", "1 device"]


def test_reissue_then_list_by_state_then_simulate_the_switch(demo: Run) -> None:
    rc, _out, _err = demo("reissue", "--after-days", "30", "--yes")
    assert rc == 0
    rc, data = demo.json("devices", "list", "--state", "at-risk")
    assert rc == 0 and data["reserve"]["switch_at"] == "2026-12-16T09:30:00Z"
    assert data["fleet"]["delivered"] == 0
    assert data["devices"] and {d["forecast"] for d in data["devices"]} == {"at-risk"}
    assert all(d["reason"] for d in data["devices"])
    rc, status = demo.json("status")
    assert status["reserve"]["delivered"] == 0 and status["reserve"]["devices"] == 1250
    assert "devices-at-risk" in {w["code"] for w in status["warnings"]}

    rc, data = demo.json("simulate", "advance", "--days", "31")
    assert rc == 0
    assert (data["from"], data["to"]) == ("2026-11-26T09:30:00Z", "2026-12-27T09:30:00Z")
    assert data["switched_at"] == "2026-12-16T09:30:00Z"
    fleet = data["fleet"]
    lost = fleet["lost"]
    # The others hold the new main certificate, behind the stale 14.2 gateway: blocked.
    assert lost > 0 and fleet["blocked"] + lost == 1250 and fleet["connected"] == 0
    rc, listed = demo.json("devices", "list", "--state", "lost")
    assert len(listed["devices"]) == lost
    assert all(d["last_sync"] is None or d["last_sync"] < "2026-11-26T09:30:00Z"
               for d in listed["devices"])
    rc, out, _ = demo("simulate", "advance", "--hours", "5")
    assert rc == 0 and "2026-12-27T14:30:00Z" in out


def test_devices_add(demo: Run) -> None:
    rc, data = demo.json("devices", "add", "iph-new", "--group", "Head office",
                         "--platform", "ios", "--last-sync", "2026-11-26T09:00:00Z")
    assert rc == 0
    device = data["device"]
    assert {k: device[k] for k in ("name", "group", "platform", "last_sync", "sync_hours",
                                   "connection", "forecast")} == {
        "name": "iph-new", "group": "Managed devices/Head office", "platform": "iOS",
        "last_sync": "2026-11-26T09:00:00Z", "sync_hours": 6.0, "connection": "connected",
        "forecast": "at-risk"}
    # Added by hand with no time given: the agent enrolled now and holds the certificate.
    rc, data = demo.json("devices", "add", "and-new", "--group", "Head office",
                         "--platform", "Android")
    assert rc == 0 and data["device"]["last_sync"] == "2026-11-26T09:30:00Z"
    assert data["device"]["connection"] == "connected"
    rc, _out, err = demo("devices", "add", "iph-new", "--group", "Head office",
                         "--platform", "iOS")
    assert rc == 1 and "already exists" in err
    rc, _out, err = demo("devices", "add", "x", "--group", "Nowhere", "--platform", "iOS")
    assert rc == 1 and "no group 'Nowhere'" in err
    rc, _out, _err = demo("devices", "add", "x", "--group", "Kiosks", "--platform", "Android",
                          "--create-group")
    assert rc == 0
    rc, _out, err = demo("devices", "add", "y", "--group", "Head office",
                         "--platform", "Symbian")
    assert rc == 2 and "unknown platform 'Symbian'" in err
    rc, _out, err = demo("devices", "add", "y", "--group", "Head office", "--platform", "iOS",
                         "--last-sync", "tomorrow")
    assert rc == 2 and "ISO 8601" in err


def test_devices_import(demo: Run, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "n-1,Field staff/North,Android,25.11.2026 10:00:00\n"
                    "n-2,Field staff/North,iOS,\n", encoding="utf-8")
    rc, data = demo.json("devices", "import", str(good))
    assert rc == 0 and data["imported"] and data["added"] == 2 and data["groups_created"] == 1

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "n-3,North,Android,\nn-4,North,BlackBerry,\nn-5,North,iOS,99\n",
                   encoding="utf-8")
    rc, _out, err = demo("devices", "import", str(bad))
    assert rc == 1
    assert "line 3: unknown platform 'BlackBerry'" in err and "line 4:" in err
    assert "nothing was imported" in err
    rc, data = demo.json("devices", "import", str(bad))
    assert rc == 1 and not data["imported"]
    assert [e["line"] for e in data["errors"]] == [3, 4]
    rc, data = demo.json("devices", "import", str(bad), "--skip-bad-rows")
    assert rc == 0 and data["imported"] and data["rows"] == 1 and data["skipped_rows"] == 2

    junk = tmp_path / "junk.csv"
    junk.write_bytes(os.urandom(10 * 1024 * 1024))
    rc, _out, err = demo("devices", "import", str(junk))
    assert rc == 2 and "not a device list" in err
    rc, _out, err = demo("devices", "import", str(tmp_path / "missing.csv"))
    assert rc == 2 and "does not exist" in err


def test_devices_list_rejects_an_unknown_state(demo: Run) -> None:
    rc, _out, err = demo("devices", "list", "--state", "gone")
    assert rc == 2 and "invalid choice" in err
    rc, _out, err = demo("devices", "list", "--state", "at risk")
    assert rc == 2


def test_groups_set_sync(demo: Run) -> None:
    rc, data = demo.json("groups", "set-sync", "Warehouse scanners", "--hours", "48")
    assert rc == 0 and data["group"]["effective_sync_hours"] == 48
    assert data["group"]["path"] == "Managed devices/Warehouse scanners"
    rc, data = demo.json("groups", "list")
    by_path = {g["path"]: g for g in data["groups"]}
    assert by_path["Managed devices/Warehouse scanners"]["sync_hours"] == 48
    assert by_path["Managed devices/Head office"]["inherited"] is True
    rc, data = demo.json("groups", "set-sync", "Warehouse scanners", "--inherit")
    assert rc == 0 and data["group"]["sync_hours"] is None
    rc, _out, err = demo("groups", "set-sync", "Nowhere", "--hours", "4")
    assert rc == 1 and "no group 'Nowhere'" in err


@pytest.mark.parametrize("hours", ["0", "-1", "abc", "1e9", "inf", "nan", "721"])
def test_groups_set_sync_rejects_bad_hours(demo: Run, hours: str) -> None:
    rc, _out, err = demo("groups", "set-sync", "Head office", "--hours", hours)
    assert rc == 2 and ("out of range" in err or "not a number" in err)


@pytest.mark.parametrize(
    "args",
    [("--days", "0"), ("--days", "-3"), ("--days", "x"), ("--days", "401"),
     ("--hours", "1.5"), ()],
)
def test_simulate_rejects_bad_steps(demo: Run, args: tuple[str, ...]) -> None:
    rc, _out, _err = demo("simulate", "advance", *args)
    assert rc == 2


def test_simulate_on_a_real_store_is_refused(real: Run) -> None:
    rc, _out, _err = real("reissue", "--immediately", "--yes")
    assert rc == 0
    rc, _out, err = real("simulate", "advance", "--days", "1")
    assert rc == 1 and "training stores only" in err
    rc, data = real.json("devices", "list")
    assert rc == 0 and data["devices"] == []
