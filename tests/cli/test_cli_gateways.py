"""`kscert gateways …` and `kscert server set-version` end to end (DESIGN §7, §9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clikit
import pytest

from kscert_gui.model.clock import parse_instant
from kscert_gui.services.store import Store


class Run(clikit.Run):
    def rows(self) -> list[tuple[Any, ...]]:
        with Store.open(self.home, writable=False) as store:
            return [tuple(r) for r in store.connection.execute(
                "SELECT d.name, dp.gateway, dp.agent_port, dp.mobile_port "
                "FROM distribution_points dp JOIN devices d ON d.id = dp.device_id "
                "ORDER BY d.name")]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    passfile = clikit.write_passfile(tmp_path / "store.pass")
    home = tmp_path / "store"
    runner = Run(home, passfile, monkeypatch, capsys)
    rc, _out, err = runner("reissue", "--address", "mdm.example.com", "--immediately")
    assert rc == 0, err
    # Devices come from `kscert devices` (another issue); the store is filled directly.
    with Store.open(home, writable=True) as store, store.transaction() as conn:
        root = conn.execute(
            "INSERT INTO groups(name, parent_id) VALUES ('Managed devices', NULL)").lastrowid
        dmz = conn.execute("INSERT INTO groups(name, parent_id) VALUES ('DMZ', ?)",
                           (root,)).lastrowid
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform) VALUES (?, ?, ?)",
            [("gw-1", dmz, "Linux"), ("gw-2", dmz, "Windows"), ("phone-1", dmz, "Android")],
        )
    return runner


def main_sha(run: Run) -> str:
    rc, st = run.json("status")
    assert rc == 0
    return str(st["main"]["sha256"])


def test_add_and_list(run: Run) -> None:
    sha = main_sha(run)
    rc, out, _err = run("gateways", "add", "gw-1", "--scope", "DMZ")
    assert rc == 0
    assert out.startswith("Added connection gateway: gw-1  scope Managed devices/DMZ")
    assert f"{sha} valid to " in out and "(matches main)" in out
    rc, data = run.json("gateways", "add", "gw-2", "--scope", "Managed devices",
                        "--agent-port", "14000", "--mobile-port", "14001")
    assert rc == 0
    assert data["gateway"]["host"] == "gw-2" and data["gateway"]["mobile_port"] == 14001

    rc, data = run.json("gateways", "list")
    assert rc == 0
    assert data["server_version"] == "14.2" and data["main_sha256"] == sha
    assert [
        (g["host"], g["agent_port"], g["mobile_port"], g["port"], g["sha256"],
         g["matches_main"])
        for g in data["gateways"]
    ] == [
        ("gw-1", 13000, 13292, 13292, sha, True),
        ("gw-2", 14000, 14001, 14001, sha, True),
    ]
    rc, out, _err = run("gateways", "list")
    assert rc == 0
    assert out.splitlines()[0] == "Server version 14.2; 2 connection gateways"
    assert "WARNING" not in out


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("gw-9", "--scope", "DMZ"), 1, "There is no device 'gw-9'"),
        (("gw-1", "--scope", "Nowhere"), 1, "There is no group 'Nowhere'"),
        (("phone-1", "--scope", "DMZ"), 1, "phone-1 is a managed mobile device (Android)"),
        (("gw-1", "--scope", "DMZ", "--agent-port", "0"), 2, "0 is out of range"),
        (("gw-1", "--scope", "DMZ", "--mobile-port", "65536"), 2, "65536 is out of range"),
        (("gw-1", "--scope", "DMZ", "--agent-port", "abc"), 2, "'abc' is not a port number"),
        (("gw-1", "--scope", "DMZ", "--agent-port", "13292"), 1, "must differ"),
        (("gw-1", "--scope", "DMZ", "--agent-port", "5000", "--mobile-port", "5000"), 1,
         "must differ (both are 5000)"),
        (("gw-1",), 2, "--scope"),
    ],
)
def test_add_refusals_save_nothing(run: Run, args: tuple[str, ...], code: int,
                                   words: str) -> None:
    rc, out, err = run("gateways", "add", *args)
    assert rc == code
    assert words in err
    assert out == ""
    assert run.rows() == []


def test_add_twice_is_refused(run: Run) -> None:
    assert run("gateways", "add", "gw-1", "--scope", "DMZ")[0] == 0
    rc, _out, err = run("gateways", "add", "gw-1", "--scope", "DMZ", "--agent-port", "1")
    assert rc == 1 and "gw-1 is already a distribution point" in err
    assert run.rows() == [("gw-1", 1, 13000, 13292)]


def test_remove_needs_yes(run: Run) -> None:
    assert run("gateways", "add", "gw-1", "--scope", "DMZ")[0] == 0
    rc, out, err = run("gateways", "remove", "gw-1")
    assert rc == 2 and "confirm with --yes" in err and out == ""
    assert run.rows() == [("gw-1", 1, 13000, 13292)]
    rc, out, _err = run("gateways", "remove", "gw-1", "--yes")
    assert rc == 0 and out == "Removed distribution point gw-1 (scope Managed devices/DMZ).\n"
    assert run.rows() == []
    rc, _out, err = run("gateways", "remove", "gw-1", "--yes")
    assert rc == 1 and "gw-1 is not a distribution point" in err
    rc, _out, err = run("gateways", "remove", "nobody", "--yes")
    assert rc == 1 and "There is no device 'nobody'" in err


def test_stale_after_immediately_until_reconnect(run: Run) -> None:
    """Acceptance 4 (CLI): status warns about every stale gateway; reconnect fixes one."""
    old = main_sha(run)
    for host in ("gw-1", "gw-2"):
        assert run("gateways", "add", host, "--scope", "DMZ")[0] == 0
    rc, _out, err = run("reissue", "--immediately", "--yes")
    assert rc == 0, err
    new = main_sha(run)
    assert new != old

    rc, st = run.json("status")
    assert [(g["host"], g["sha256"], g["matches_main"]) for g in st["gateways"]] == [
        ("gw-1", old, False), ("gw-2", old, False)]
    stale = [w["message"] for w in st["warnings"] if w["code"] == "gateway-stale"]
    assert stale == [
        "Connection gateway gw-1 still serves the previous mobile certificate — reconnect it.",
        "Connection gateway gw-2 still serves the previous mobile certificate — reconnect it.",
    ]
    rc, out, _err = run("status")
    assert rc == 0
    assert out.count("WARNING [gateway-stale]") == 2
    assert "Gateway gw-1:13292: " + old + " (STALE: differs from main)" in out

    rc, out, _err = run("gateways", "list")
    assert out.count("STALE: differs from main") == 2
    assert out.count("WARNING [gateway-stale]") == 2

    rc, data = run.json("gateways", "reconnect", "gw-1")
    assert rc == 0
    assert data["gateway"]["sha256"] == new and data["gateway"]["matches_main"] is True
    rc, out, _err = run("gateways", "reconnect", "gw-2")
    assert rc == 0 and out.startswith("Reconnected connection gateway: gw-2")
    assert "(matches main)" in out
    rc, st = run.json("status")
    assert all(g["matches_main"] for g in st["gateways"])
    assert not [w for w in st["warnings"] if w["code"] == "gateway-stale"]


def test_reconnect_refusals(run: Run) -> None:
    rc, _out, err = run("gateways", "reconnect", "gw-1")
    assert rc == 1 and "gw-1 is not a connection gateway" in err
    rc, _out, err = run("gateways", "reconnect", "ghost")
    assert rc == 1 and "There is no device 'ghost'" in err


def test_status_what_if_after_a_switch(run: Run) -> None:
    """14.2: a what-if after the switch shows the gateway stale; 15: current."""
    assert run("gateways", "add", "gw-1", "--scope", "DMZ")[0] == 0
    rc, _out, err = run("reissue", "--after-days", "30", "--yes")
    assert rc == 0, err
    later = (datetime.now(UTC) + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rc, st = run.json("status", "--at", later)
    assert parse_instant(st["at"]) == parse_instant(later)
    assert [g["matches_main"] for g in st["gateways"]] == [False]
    assert [w["code"] for w in st["warnings"] if w["code"].startswith("gateway")] == [
        "gateway-stale"]
    rc, st = run.json("status")
    assert [g["matches_main"] for g in st["gateways"]] == [True]

    rc, out, _err = run("server", "set-version", "15")
    assert rc == 0 and out == "Server version set to 15 (was 14.2).\n"
    rc, st = run.json("status", "--at", later)
    assert [g["matches_main"] for g in st["gateways"]] == [True]
    assert st["gateways"][0]["sha256"] == st["main"]["sha256"]
    assert not [w for w in st["warnings"] if w["code"] == "gateway-stale"]


def test_server_set_version(run: Run) -> None:
    rc, out, err = run("server", "set-version", "14.3")
    assert rc == 2 and "invalid choice: '14.3'" in err and out == ""
    rc, _out, err = run("server", "set-version")
    assert rc == 2
    rc, out, _err = run("server", "set-version", "14.2")
    assert rc == 0 and out == "The server version is already 14.2.\n"
    assert run("server", "set-version", "15")[0] == 0
    rc, data = run.json("gateways", "list")
    assert data["server_version"] == "15"
    rc, _out, err = run("server")
    assert rc == 2
    rc, _out, err = run("gateways")
    assert rc == 2
