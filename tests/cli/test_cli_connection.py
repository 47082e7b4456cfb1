"""DESIGN §6.1 through `kscert` (§9): the fleet object, the warning codes at every --at,
devices list --state with the new states, simulate reinstall, kscert demo, and the drill."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clikit import Run, write_passfile

from kscert_gui.model.clock import FixedClock
from kscert_gui.services.demo import create_demo_store
from kscert_gui.services.secrets import PassphraseFileSecretStore

T0 = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
EXPIRY = "2026-12-16T09:30:00Z"  # the demo main certificate: 20 days left at T0
FLEET_KEYS = {"devices", "connected", "blocked", "lost", "cutover_at", "cutover", "delivered",
              "expected", "at_risk"}


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    return write_passfile(tmp_path / "store.pass")


@pytest.fixture
def demo(tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Run:
    home = tmp_path / "demo"
    create_demo_store(home, PassphraseFileSecretStore(passfile), FixedClock(T0), pin_clock=True)
    return Run(home, passfile, monkeypatch, capsys)


def snapshot_of(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.is_file()}


def codes(status: dict[str, object]) -> set[str]:
    warnings = status["warnings"]
    assert isinstance(warnings, list)
    return {w["code"] for w in warnings}


def test_status_fleet_on_the_demo_store_with_no_reserve(demo: Run) -> None:
    rc, st = demo.json("status")
    assert rc == 0 and set(st["fleet"]) == FLEET_KEYS
    fleet = st["fleet"]
    assert fleet["devices"] == 1250 and fleet["cutover"] == "expiry"
    assert fleet["cutover_at"] == EXPIRY
    assert fleet["lost"] > 0  # the few that never synchronized
    assert fleet["connected"] + fleet["blocked"] + fleet["lost"] == 1250
    # With no reserve every device still connected loses the connection at the expiry.
    assert fleet["at_risk"] == 1250 - fleet["lost"] and fleet["delivered"] == 0
    assert {"expiring", "devices-at-risk", "devices-lost"} <= codes(st)
    risk = next(w for w in st["warnings"] if w["code"] == "devices-at-risk")
    assert f"all {1250 - fleet['lost']} devices" in risk["message"] and EXPIRY in risk["message"]
    # What to do is said once, by the expiring warning (it was at the end of both).
    assert [w["code"] for w in st["warnings"]
            if "Reissue it with a delayed activation term" in w["message"]] == ["expiring"]
    rc, out, _ = demo("status")
    assert rc == 0 and "1250 mobile" in out and "lost" in out


def test_status_at_every_instant_tells_the_truth(demo: Run) -> None:
    rc, after = demo.json("status", "--at", "2026-12-16T09:30:01Z")
    assert rc == 0 and after["state"] == "expired"
    assert after["fleet"]["lost"] == 1250 and after["fleet"]["cutover"] is None
    assert {"expired", "devices-lost"} <= codes(after)
    rc, before = demo.json("status", "--at", "2026-12-16T09:30:00Z")
    assert before["fleet"]["lost"] < 1250


def test_immediately_loses_every_device_and_says_so(demo: Run) -> None:
    rc, _out, err = demo("reissue", "--immediately")
    assert rc == 1 and "--yes" in err  # a refused action without confirmation
    rc, _out, _err = demo("reissue", "--immediately", "--yes")
    assert rc == 0
    rc, st = demo.json("status")
    assert st["state"] == "ok" and st["main"]["days_left"] == 397
    assert st["fleet"]["lost"] == 1250 and st["fleet"]["connected"] == 0
    lost = next(w for w in st["warnings"] if w["code"] == "devices-lost")
    assert "1250 devices of 1250 lost the connection" in lost["message"]
    rc, listed = demo.json("devices", "list", "--state", "lost")
    assert len(listed["devices"]) == 1250
    assert all(d["connection"] == "lost" and d["forecast"] is None and d["reason"]
               for d in listed["devices"])
    # The seed's way back: reinstall the agent on each device (they then hold the new
    # certificate) and, on 14.2, reconnect the gateway, which still serves the old one.
    rc, data = demo.json("simulate", "reinstall", "--lost")
    assert rc == 0 and data["reinstalled"] == 1250
    rc, st = demo.json("status")
    assert st["fleet"]["lost"] == 0 and st["fleet"]["blocked"] == 1250
    assert "devices-blocked" in codes(st) and "gateway-stale" in codes(st)
    rc, _ = demo.json("gateways", "reconnect", "gw-dmz-01")
    rc, st = demo.json("status")
    assert rc == 0 and st["fleet"]["connected"] == 1250


def test_devices_list_states(demo: Run) -> None:
    rc, _ = demo.json("reissue", "--after-days", "30", "--yes")
    assert rc == 0
    rc, everything = demo.json("devices", "list")
    mobile = [d for d in everything["devices"] if d["platform"] in ("iOS", "Android")]
    for state in ("connected", "blocked", "lost"):
        rc, listed = demo.json("devices", "list", "--state", state)
        assert rc == 0
        assert [d["name"] for d in listed["devices"]] == [
            d["name"] for d in mobile if d["connection"] == state]
    for state in ("delivered", "expected", "at-risk"):
        rc, listed = demo.json("devices", "list", "--state", state)
        assert [d["name"] for d in listed["devices"]] == [
            d["name"] for d in mobile if d["forecast"] == state]
    rc, expected = demo.json("devices", "list", "--state", "expected")
    assert expected["devices"] and all("before the switch" in d["reason"]
                                       for d in expected["devices"])


def test_the_drill_loses_only_devices_the_forecast_named(demo: Run) -> None:
    """Reissue with 30 days, advance past the switch: lost ⊆ named at risk (or lost already)."""
    rc, _ = demo.json("reissue", "--after-days", "30", "--yes")
    rc, at_risk = demo.json("devices", "list", "--state", "at-risk")
    rc, lost_before = demo.json("devices", "list", "--state", "lost")
    named = {d["name"] for d in at_risk["devices"]} | {d["name"] for d in lost_before["devices"]}
    rc, data = demo.json("simulate", "advance", "--days", "25")
    assert rc == 0 and data["switched_at"] == EXPIRY
    rc, lost_after = demo.json("devices", "list", "--state", "lost")
    lost = {d["name"] for d in lost_after["devices"]}
    assert lost and lost <= named
    # On this 14.2 server the others are blocked by the gateway until it is reconnected.
    rc, st = demo.json("status")
    assert st["fleet"]["blocked"] == 1250 - len(lost)
    assert {"devices-blocked", "gateway-stale", "devices-lost"} <= codes(st)
    rc, _ = demo.json("gateways", "reconnect", "gw-dmz-01")
    rc, st = demo.json("status")
    assert st["fleet"]["blocked"] == 0 and st["fleet"]["connected"] == 1250 - len(lost)


def test_the_forecast_warns_of_the_gateway_block_before_the_switch(demo: Run) -> None:
    demo.json("reissue", "--after-days", "30", "--yes")
    demo.json("simulate", "advance", "--days", "2")
    rc, st = demo.json("status")
    assert rc == 0
    warning = next(w for w in st["warnings"] if w["code"] == "gateway-blocks-at-cutover")
    assert "gw-dmz-01" in warning["message"] and EXPIRY in warning["message"]
    assert str(st["fleet"]["delivered"]) in warning["message"]


def test_simulate_advance_by_hours(demo: Run) -> None:
    rc, data = demo.json("simulate", "advance", "--hours", "7")
    assert rc == 0 and data["to"] == "2026-11-26T16:30:00Z"
    assert set(data["fleet"]) == FLEET_KEYS


def test_simulate_reinstall_by_name(demo: Run) -> None:
    rc, lost = demo.json("devices", "list", "--state", "lost")
    name = lost["devices"][0]["name"]
    rc, data = demo.json("simulate", "reinstall", name.upper())
    assert rc == 0 and data["devices"] == [name] and data["at"] == "2026-11-26T09:30:00Z"
    rc, listed = demo.json("devices", "list", "--state", "connected")
    assert name in {d["name"] for d in listed["devices"]}


# --- wrong values: a clear message, the right exit code, the store unchanged, one JSON doc ----


def test_simulate_reinstall_wrong_values(demo: Run) -> None:
    before = snapshot_of(demo.home)
    rc, out, err = demo("simulate", "reinstall", "no-such-phone", "--json")
    assert rc == 1 and "no device 'no-such-phone'" in err
    assert json.loads(out)["error"]["code"] == "not-found"
    rc, out, err = demo("simulate", "reinstall", "gw-dmz-01")
    assert rc == 1 and "not a managed mobile device" in err
    rc, out, err = demo("simulate", "reinstall", "--json")
    assert rc == 2 and json.loads(out)["error"]["code"] == "usage"
    assert snapshot_of(demo.home) == before


def test_simulate_reinstall_on_a_real_store_is_refused(
    tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = Run(tmp_path / "real", passfile, monkeypatch, capsys)
    assert real("reissue", "--address", "mdm.example.com", "--immediately")[0] == 0
    assert real("devices", "add", "p-1", "--group", "Phones", "--platform", "iOS",
                "--create-group")[0] == 0
    before = snapshot_of(real.home)
    rc, out, err = real("simulate", "reinstall", "p-1", "--json")
    assert rc == 1 and "training stores only" in err
    assert json.loads(out)["error"]["code"] == "refused"
    assert snapshot_of(real.home) == before


def test_devices_list_with_a_bogus_state_is_a_usage_error_with_json(demo: Run) -> None:
    rc, out, err = demo("devices", "list", "--state", "bogus", "--json")
    assert rc == 2 and "invalid choice" in err
    doc = json.loads(out)
    assert doc["error"]["code"] == "usage" and "bogus" in doc["error"]["message"]


def test_kscert_demo_creates_the_training_store_once(
    tmp_path: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(tmp_path / "fresh", passfile, monkeypatch, capsys)
    rc, data = run.json("demo")
    assert rc == 0 and data["status"]["fleet"]["devices"] == 1250
    assert data["status"]["main"]["days_left"] == 20 and data["status"]["reserve"] is None
    rc, st = run.json("status")
    assert [g["host"] for g in st["gateways"]] == ["gw-dmz-01"]
    before = snapshot_of(run.home)
    rc, out, err = run("demo", "--json")
    assert rc == 1 and "already holds a store" in err
    assert json.loads(out)["error"]["code"] == "refused"
    assert snapshot_of(run.home) == before
    rc, out, err = run("demo")
    assert rc == 1 and out == ""


def test_immediately_warns_of_the_devices_that_still_have_a_connection(demo: Run) -> None:
    """The warning counts the devices that would lose the connection (not the lost ones),
    as the Certificates page and the GUI's confirmation do."""
    rc, st = demo.json("status")
    fleet = st["fleet"]
    assert rc == 0 and 0 < fleet["lost"] < fleet["devices"]
    rc, _out, err = demo("reissue", "--immediately")
    assert rc == 1 and "--yes" in err
    assert f"{fleet['devices'] - fleet['lost']} managed mobile devices are connected" in err
    assert f"{fleet['devices']} managed" not in err
