"""The facade's distribution point and connection gateway methods (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kscert_gui.model.clock import FixedClock, iso
from kscert_gui.model.errors import (
    ConfirmationRequiredError,
    NotFoundError,
    RefusedError,
    StoreError,
    ValidationError,
)
from kscert_gui.services.secrets import MemorySecretStore
from kscert_gui.services.server import AdministrationServer
from kscert_gui.services.views import CertView, ReissueRequest

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GATEWAY_ACTIONS = (
    "distribution-point-added",
    "distribution-point-removed",
    "gateway-connected",
    "gateway-disconnected",
    "gateway-ports-changed",
    "server-version-set",
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def server(tmp_path: Path, clock: FixedClock) -> Iterator[AdministrationServer]:
    srv = AdministrationServer.open(tmp_path / "store", MemorySecretStore(), clock=clock)
    add_fleet(srv)
    yield srv
    srv.close()


def add_fleet(server: AdministrationServer) -> None:
    """Managed devices/{DMZ, Branch/DMZ}; three hosts and a phone."""
    with server.store.transaction() as conn:
        root = conn.execute(
            "INSERT INTO groups(name, parent_id) VALUES ('Managed devices', NULL)"
        ).lastrowid
        dmz = conn.execute("INSERT INTO groups(name, parent_id) VALUES ('DMZ', ?)",
                           (root,)).lastrowid
        branch = conn.execute("INSERT INTO groups(name, parent_id) VALUES ('Branch', ?)",
                              (root,)).lastrowid
        conn.execute("INSERT INTO groups(name, parent_id) VALUES ('DMZ', ?)", (branch,))
        conn.executemany(
            "INSERT INTO devices(name, group_id, platform, last_sync) VALUES (?, ?, ?, ?)",
            [
                ("gw-a", dmz, "Linux", iso(T0)),
                ("gw-b", dmz, "Windows", iso(T0)),
                ("mac-1", branch, "macOS", iso(T0)),
                ("phone-1", branch, "iOS", iso(T0)),
            ],
        )


def reissue(server: AdministrationServer, days: int | None) -> CertView:
    return server.reissue(ReissueRequest("mdm.example.com", days), confirmed=True)


def audit(server: AdministrationServer) -> list[tuple[str, dict[str, object]]]:
    return [
        (e.action, dict(e.detail))
        for e in server.store.audit_entries()
        if e.action in GATEWAY_ACTIONS
    ]


def stale_hosts(server: AdministrationServer, at: datetime | None = None) -> list[str]:
    st = server.status(at)
    return [w.message.split()[2] for w in st.warnings if w.code == "gateway-stale"]


# --- acceptance 1 through the facade --------------------------------------------------------


def test_14_2_switch_leaves_gateways_stale_until_reconnected(
    server: AdministrationServer, clock: FixedClock
) -> None:
    first = reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    server.points.add_gateway("gw-b", "Managed devices", agent_port=14000, mobile_port=14001)
    reserve = reissue(server, 30)
    assert server.server_version() == "14.2"
    assert stale_hosts(server) == []

    clock.at = T0 + 30 * DAY  # the switch
    st = server.status()
    assert st.main is not None and st.main.id == reserve.id
    assert [(g.host, g.sha256, g.matches_main) for g in st.gateways] == [
        ("gw-a", first.info.sha256, False),
        ("gw-b", first.info.sha256, False),
    ]
    assert stale_hosts(server) == ["gw-a", "gw-b"]
    assert [p.host for p in server.points.gateways() if p.stale] == ["gw-a", "gw-b"]
    clock.at = T0 + 60 * DAY  # still stale: nothing but a reconnect delivers it
    assert stale_hosts(server) == ["gw-a", "gw-b"]

    before = len(server.store.audit_entries())
    view = server.points.reconnect_gateway("gw-b")
    assert view.held is not None and view.held.id == reserve.id
    assert view.matches_main and not view.stale
    assert (view.scope, view.agent_port, view.mobile_port) == ("Managed devices", 14000, 14001)
    assert view.connected_at == T0 + 60 * DAY
    steps = server.store.audit_entries()[before:]
    assert [e.action for e in steps] == [
        "distribution-point-removed",
        "distribution-point-added",
        "gateway-connected",
    ]
    assert all(e.detail["reason"] == "reconnect" and e.detail["device"] == "gw-b"
               for e in steps)
    assert steps[2].detail["sha256"] == reserve.info.sha256
    assert stale_hosts(server) == ["gw-a"]
    gateways = {g.host: g for g in server.status().gateways}
    assert gateways["gw-b"].sha256 == reserve.info.sha256 and gateways["gw-b"].matches_main


def test_what_if_after_the_switch(server: AdministrationServer) -> None:
    first = reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    reserve = reissue(server, 30)
    later = T0 + 31 * DAY
    # 14.2: a what-if after the switch shows the gateway stale, and changes nothing.
    assert stale_hosts(server, later) == ["gw-a"]
    (point,) = server.points.distribution_points(later)
    assert point.stale and point.sha256 == first.info.sha256
    assert point.main_sha256 == reserve.info.sha256
    assert stale_hosts(server) == []
    assert server.store.get_certificate(reserve.id).state == "pending"  # type: ignore[union-attr]

    # 15: gateways follow the main certificate, in what-ifs too.
    server.points.set_server_version("15")
    st = server.status(later)
    assert [(g.sha256, g.matches_main) for g in st.gateways] == [(reserve.info.sha256, True)]
    assert stale_hosts(server, later) == []
    (point,) = server.points.distribution_points(later)
    assert point.matches_main and point.held is not None and point.held.id == reserve.id


def test_later_version_delivers_the_switch(server: AdministrationServer, clock: FixedClock) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    server.points.set_server_version("15")
    reserve = reissue(server, 30)
    clock.at = T0 + 30 * DAY
    st = server.status()  # observes and records the switch
    assert st.main is not None and st.main.id == reserve.id
    assert [g.matches_main for g in st.gateways] == [True]
    assert stale_hosts(server) == []
    held = server.store.connection.execute(
        "SELECT held_cert_id FROM distribution_points").fetchone()[0]
    assert held == reserve.id


@pytest.mark.parametrize(("version", "stale"), [("14.2", ["gw-a"]), ("15", [])])
def test_immediately_reissue(server: AdministrationServer, version: str, stale: list[str]) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    server.points.set_server_version(version)
    reissue(server, None)
    assert stale_hosts(server) == stale


def test_gateway_connected_after_the_switch_holds_the_new_certificate(
    server: AdministrationServer, clock: FixedClock
) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    reserve = reissue(server, 30)
    clock.at = T0 + 35 * DAY
    view = server.points.add_gateway("gw-b", "DMZ")
    assert view.held is not None and view.held.id == reserve.id and view.matches_main
    assert stale_hosts(server) == ["gw-a"]
    # The switch was recorded before the gateway was connected.
    actions = [e.action for e in server.store.audit_entries()]
    assert actions.index("switch-observed") < len(actions) - 2


def test_gateway_connected_before_any_certificate_gets_the_first(
    server: AdministrationServer,
) -> None:
    view = server.points.add_gateway("gw-a", "DMZ")
    assert view.held is None and not view.stale
    with pytest.raises(RefusedError, match="no main certificate"):
        server.points.reconnect_gateway("gw-a")
    first = reissue(server, None)
    (point,) = server.points.gateways()
    assert point.held is not None and point.held.id == first.id and point.matches_main


# --- changes and refusals ---------------------------------------------------------------------


def test_add_records_scope_ports_and_certificate(server: AdministrationServer) -> None:
    first = reissue(server, None)
    view = server.points.add_gateway("gw-a", "dmz", agent_port=13001, mobile_port=13293)
    assert (view.host, view.platform, view.group, view.scope) == (
        "gw-a", "Linux", "Managed devices/DMZ", "Managed devices/DMZ")
    assert (view.gateway, view.agent_port, view.mobile_port) == (True, 13001, 13293)
    assert view.held is not None and view.held.info.sha256 == first.info.sha256
    assert view.to_json()["port"] == 13293 and view.to_json()["matches_main"] is True
    assert [a for a, _d in audit(server)] == ["distribution-point-added", "gateway-connected"]
    # Plain distribution point (check box off): no certificate, never stale.
    plain = server.points.add_distribution_point("mac-1", "Branch")
    assert not plain.gateway and plain.held is None and not plain.stale
    assert [p.host for p in server.points.distribution_points()] == ["gw-a", "mac-1"]
    assert [p.host for p in server.points.gateways()] == ["gw-a"]


@pytest.mark.parametrize(
    ("agent", "mobile", "words"),
    [
        (0, 13292, "0 is out of range"),
        (13000, 65536, "65536 is out of range"),
        (13292, 13292, "must differ"),
    ],
)
def test_bad_ports_save_nothing(
    server: AdministrationServer, agent: int, mobile: int, words: str
) -> None:
    reissue(server, None)
    with pytest.raises(ValidationError, match=words):
        server.points.add_gateway("gw-a", "DMZ", agent_port=agent, mobile_port=mobile)
    assert server.points.distribution_points() == ()
    assert audit(server) == []
    server.points.add_gateway("gw-a", "DMZ")
    with pytest.raises(ValidationError, match=words):
        server.points.set_connection_gateway("gw-a", enabled=True, agent_port=agent,
                                      mobile_port=mobile)
    (point,) = server.points.distribution_points()
    assert (point.agent_port, point.mobile_port) == (13000, 13292)
    assert [a for a, _d in audit(server)] == ["distribution-point-added", "gateway-connected"]


def test_unknown_and_unsuitable_devices_and_groups(server: AdministrationServer) -> None:
    with pytest.raises(NotFoundError, match="There is no device 'gw-z'"):
        server.points.add_gateway("gw-z", "DMZ")
    with pytest.raises(NotFoundError, match="There is no group 'Nowhere'"):
        server.points.add_gateway("gw-a", "Nowhere")
    with pytest.raises(ValidationError, match=r"phone-1 is a managed mobile device \(iOS\)"):
        server.points.add_gateway("phone-1", "DMZ")
    assert server.points.distribution_points() == ()


def test_group_references(server: AdministrationServer) -> None:
    groups = {g.path: g for g in server.points.scope_groups()}
    assert list(groups) == [
        "Managed devices", "Managed devices/Branch", "Managed devices/Branch/DMZ",
        "Managed devices/DMZ",
    ]
    by_path = server.points.add_distribution_point("gw-a", "Managed devices/Branch/DMZ")
    assert by_path.scope == "Managed devices/Branch/DMZ"
    by_tail = server.points.add_distribution_point("gw-b", "Branch/DMZ")
    assert by_tail.scope == "Managed devices/Branch/DMZ"
    by_id = server.points.add_distribution_point("mac-1", groups["Managed devices/DMZ"].id)
    assert by_id.scope == "Managed devices/DMZ"
    with pytest.raises(NotFoundError, match="There is no group 999"):
        server.points.add_distribution_point("gw-a", 999)


def test_ambiguous_group_name(server: AdministrationServer) -> None:
    # "DMZ" is a top-level path tail, so it names Managed devices/DMZ; a name that only
    # occurs nested twice is ambiguous.
    with server.store.transaction() as conn:
        branch = conn.execute("SELECT id FROM groups WHERE name = 'Branch'").fetchone()[0]
        dmz = conn.execute(
            "SELECT id FROM groups WHERE name = 'DMZ' AND parent_id = ?", (branch,)
        ).fetchone()[0]
        conn.execute("INSERT INTO groups(name, parent_id) VALUES ('Edge', ?)", (branch,))
        conn.execute("INSERT INTO groups(name, parent_id) VALUES ('Edge', ?)", (dmz,))
    assert server.points.add_distribution_point("gw-a", "DMZ").scope == "Managed devices/DMZ"
    with pytest.raises(ValidationError, match="More than one group is called 'Edge'") as info:
        server.points.add_distribution_point("gw-b", "Edge")
    assert "Managed devices/Branch/DMZ/Edge, Managed devices/Branch/Edge" in info.value.message
    with pytest.raises(ValidationError, match="Give the distribution point scope"):
        server.points.add_distribution_point("gw-b", "  ")


def test_device_names_are_matched_case_insensitively_and_only_once(
    server: AdministrationServer,
) -> None:
    reissue(server, None)
    assert server.points.add_gateway("GW-A", "DMZ").host == "gw-a"
    with pytest.raises(RefusedError, match="gw-a is already a distribution point"):
        server.points.add_gateway("gw-a", "DMZ")


def test_remove_asks_for_confirmation(server: AdministrationServer) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    with pytest.raises(ConfirmationRequiredError, match="--yes"):
        server.points.remove_distribution_point("gw-a")
    assert [p.host for p in server.points.distribution_points()] == ["gw-a"]
    removed = server.points.remove_distribution_point("gw-a", confirmed=True)
    assert removed.host == "gw-a" and removed.gateway
    assert server.points.distribution_points() == ()
    action, detail = audit(server)[-1]
    assert action == "distribution-point-removed"
    assert detail["device"] == "gw-a" and detail["reason"] == "remove"
    assert detail["was_gateway"] is True
    with pytest.raises(NotFoundError, match="gw-a is not a distribution point"):
        server.points.remove_distribution_point("gw-a", confirmed=True)
    with pytest.raises(NotFoundError, match="gw-a is not a distribution point"):
        server.points.distribution_point("gw-a")


def test_connection_gateway_check_box(server: AdministrationServer, clock: FixedClock) -> None:
    first = reissue(server, None)
    server.points.add_distribution_point("gw-a", "DMZ")
    on = server.points.set_connection_gateway("gw-a", enabled=True)
    assert on.gateway and on.held is not None and on.held.id == first.id
    second = reissue(server, None)  # 14.2: the gateway keeps the first
    moved = server.points.set_connection_gateway("gw-a", enabled=True, agent_port=13100,
                                          mobile_port=13300)
    assert (moved.agent_port, moved.mobile_port) == (13100, 13300)
    assert moved.held is not None and moved.held.id == first.id and moved.stale
    off = server.points.set_connection_gateway("gw-a", enabled=False, agent_port=13100,
                                        mobile_port=13300)
    assert not off.gateway and off.held is None and not off.stale
    assert server.status().gateways == ()
    assert stale_hosts(server) == []
    again = server.points.set_connection_gateway("gw-a", enabled=True, agent_port=13100,
                                          mobile_port=13300)
    assert again.held is not None and again.held.id == second.id
    assert [a for a, _d in audit(server)] == [
        "distribution-point-added", "gateway-connected", "gateway-ports-changed",
        "gateway-disconnected", "gateway-connected",
    ]
    with pytest.raises(NotFoundError, match="mac-1 is not a distribution point"):
        server.points.set_connection_gateway("mac-1", enabled=True)


def test_reconnect_needs_a_gateway(server: AdministrationServer) -> None:
    reissue(server, None)
    server.points.add_distribution_point("gw-a", "DMZ")
    with pytest.raises(NotFoundError, match="gw-a is not a connection gateway"):
        server.points.reconnect_gateway("gw-a")
    with pytest.raises(NotFoundError, match="There is no device"):
        server.points.reconnect_gateway("nope")


def test_server_version_setting(server: AdministrationServer, clock: FixedClock) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    with pytest.raises(ValidationError, match=r"'14\.3' is not a supported server version"):
        server.points.set_server_version("14.3")
    assert server.points.set_server_version("15") == "14.2"
    reserve = reissue(server, 30)
    clock.at = T0 + 31 * DAY
    # Back to 14.2 after the switch: the gateway keeps what it received automatically.
    assert server.points.set_server_version("14.2") == "15"
    assert server.server_version() == "14.2"
    (point,) = server.points.gateways()
    assert point.held is not None and point.held.id == reserve.id and not point.stale
    count = len(audit(server))
    assert server.points.set_server_version("14.2") == "14.2"  # no change, no entry
    assert len(audit(server)) == count
    action, detail = audit(server)[-1]
    assert action == "server-version-set"
    assert detail["version"] == "14.2" and detail["previous_version"] == "15"
    assert detail["gateways_holding_main"] == ["gw-a"]


def test_candidates_list_hosts_only(server: AdministrationServer) -> None:
    server.points.add_distribution_point("gw-b", "DMZ")
    hosts = {h.name: h for h in server.points.distribution_point_candidates()}
    assert set(hosts) == {"gw-a", "gw-b", "mac-1"}
    assert hosts["gw-b"].is_distribution_point and not hosts["gw-a"].is_distribution_point
    assert hosts["mac-1"].platform == "macOS"


def test_read_only_store_refuses_changes(
    server: AdministrationServer, tmp_path: Path, clock: FixedClock
) -> None:
    reissue(server, None)
    server.points.add_gateway("gw-a", "DMZ")
    reader = AdministrationServer.open(tmp_path / "store", MemorySecretStore(), writable=False,
                                       clock=clock)
    try:
        assert [p.host for p in reader.points.gateways()] == ["gw-a"]
        for change in (
            lambda: reader.points.add_gateway("gw-b", "DMZ"),
            lambda: reader.points.reconnect_gateway("gw-a"),
            lambda: reader.points.remove_distribution_point("gw-a", confirmed=True),
            lambda: reader.points.set_server_version("15"),
            lambda: reader.points.set_connection_gateway("gw-a", enabled=False),
        ):
            with pytest.raises(StoreError, match="read-only"):
                change()
    finally:
        reader.close()


def test_a_scope_is_named_as_any_group_is(server: AdministrationServer) -> None:
    """One rule for naming a group: what `find_group` accepts, a distribution point scope
    accepts too (it used to refuse " head office / servers ")."""
    reissue(server, None)
    server.fleet.add_device("srv-1", "Head office/Servers", "Linux", create_group=True)
    for text in (" head office / servers ", "Managed devices/Head office/Servers", "servers"):
        assert server.fleet.find_group(text).name == "Servers"
    view = server.points.add_distribution_point("srv-1", " head office / servers ")
    assert view.scope == "Managed devices/Head office/Servers"
