"""Connection gateway delivery rules and port/host checks (DESIGN §7), pure model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kscert_gui.model import gateways as rules
from kscert_gui.model.errors import ValidationError
from kscert_gui.model.schedule import SlotRecord, effective_state

T0 = datetime(2026, 1, 10, 8, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)

#: Main certificate 1 issued at T0 (397 days); reserve 2 created at T0 + 300 days with a
#: 120-day term: the main expires first, so it switches at T0 + 397 days.
MAIN = SlotRecord(1, T0, None, T0, T0 + 397 * DAY)
RESERVE = SlotRecord(2, T0 + 300 * DAY, 120, T0 + 300 * DAY, T0 + 697 * DAY)
SWITCH = T0 + 397 * DAY


def main_at(at: datetime) -> int | None:
    return effective_state([MAIN, RESERVE], at).main_id


# --- acceptance 1 ---------------------------------------------------------------------------


def test_14_2_gateways_stay_on_the_previous_certificate_until_reconnected() -> None:
    # Both gateways were connected before the switch: they hold certificate 1.
    assert effective_state([MAIN, RESERVE], T0 + 310 * DAY).switch_at == SWITCH
    connected = {"gw-a": 1, "gw-b": 1}
    before = rules.holdings("14.2", connected, main_at(SWITCH - timedelta(seconds=1)))
    assert [h.matches_main for h in before] == [True, True]
    assert not any(h.stale for h in before)

    # The reserve becomes main at the switch: every gateway reports the stale certificate,
    # at the exact second and long after it.
    for at in (SWITCH, SWITCH + 30 * DAY):
        after = rules.holdings("14.2", connected, main_at(at))
        assert main_at(at) == 2
        assert [(h.host, h.held_id, h.stale) for h in after] == [
            ("gw-a", 1, True),
            ("gw-b", 1, True),
        ]

    # Reconnecting gw-a delivers the main certificate in effect then; gw-b stays stale.
    reconnected = dict(connected, **{"gw-a": main_at(SWITCH + DAY)})
    later = {h.host: h for h in rules.holdings("14.2", reconnected, main_at(SWITCH + 2 * DAY))}
    assert later["gw-a"].held_id == 2 and later["gw-a"].matches_main
    assert not later["gw-a"].stale
    assert later["gw-b"].stale


def test_later_version_gateways_follow_the_main_certificate() -> None:
    connected = {"gw-a": 1, "gw-b": 1}
    for at in (SWITCH - DAY, SWITCH, SWITCH + 30 * DAY):
        result = rules.holdings("15", connected, main_at(at))
        assert all(h.matches_main for h in result)
        assert not any(h.stale for h in result)
        assert {h.held_id for h in result} == {main_at(at)}


def test_gateway_connected_after_the_switch_holds_the_new_certificate() -> None:
    connected_at = SWITCH + 5 * DAY
    held = main_at(connected_at)
    assert held == 2
    (holding,) = rules.holdings("14.2", {"gw-new": held}, main_at(SWITCH + 6 * DAY))
    assert holding.held_id == 2 and holding.matches_main and not holding.stale


def test_gateway_connected_without_a_certificate_holds_none() -> None:
    assert rules.held_certificate("14.2", None, 1) is None
    assert rules.held_certificate("15", None, 1) is None
    (holding,) = rules.holdings("15", {"gw": None}, 1)
    assert holding.stale and not holding.matches_main
    # With no main certificate at all, nothing is stale: there is nothing to deliver.
    (empty,) = rules.holdings("14.2", {"gw": None}, None)
    assert not empty.stale


def test_versions() -> None:
    assert rules.DEFAULT_SERVER_VERSION == "14.2"
    assert not rules.delivers_automatically("14.2")
    assert rules.delivers_automatically("15")
    assert rules.check_server_version(" 15 ") == "15"
    with pytest.raises(ValidationError, match=r"'14\.3' is not a supported server version"):
        rules.check_server_version("14.3")


# --- ports ----------------------------------------------------------------------------------


def test_defaults_are_accepted() -> None:
    assert rules.check_ports(rules.DEFAULT_AGENT_PORT, rules.DEFAULT_MOBILE_PORT) == (
        13000,
        13292,
    )
    assert rules.check_ports(1, 65535) == (1, 65535)


@pytest.mark.parametrize(
    ("agent", "mobile", "words"),
    [
        (0, 13292, "Port for Network Agents: 0 is out of range"),
        (13000, 65536, "Port for connecting mobile devices: 65536 is out of range"),
        (-1, 13292, "-1 is out of range"),
        (14000, 14000, "must differ (both are 14000)"),
    ],
)
def test_bad_ports_are_refused(agent: int, mobile: int, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        rules.check_ports(agent, mobile)
    assert words in info.value.message


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "enter a port number (1 to 65535)"),
        ("   ", "enter a port number"),
        ("abc", "'abc' is not a port number"),
        ("13 000", "'13 000' is not a port number"),
        ("1e3", "'1e3' is not a port number"),
        ("١٢٣", "is not a port number"),  # Arabic-Indic digits are not ASCII digits
        ("0", "0 is out of range"),
        ("65536", "65536 is out of range"),
    ],
)
def test_typed_ports(typed: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        rules.parse_port(typed, "Port")
    assert words in info.value.message
    assert info.value.message.startswith("Port: ")


def test_typed_port_accepted_and_unlabelled_messages() -> None:
    assert rules.parse_port(" 13292 ") == 13292
    with pytest.raises(ValidationError) as info:
        rules.parse_port("x")
    assert info.value.message.startswith("'x' is not a port number")


# --- hosts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["Windows", "Linux", "macOS"])
def test_hosts_can_be_distribution_points(platform: str) -> None:
    rules.check_host_platform("host-1", platform)


@pytest.mark.parametrize("platform", ["Android", "iOS"])
def test_mobile_devices_cannot(platform: str) -> None:
    with pytest.raises(ValidationError) as info:
        rules.check_host_platform("phone-1", platform)
    assert f"phone-1 is a managed mobile device ({platform})" in info.value.message


def test_unknown_platform_is_refused() -> None:
    with pytest.raises(ValidationError, match="runs on 'Solaris'"):
        rules.check_host_platform("old-box", "Solaris")


def test_stale_message_is_the_design_text() -> None:
    assert rules.stale_message("gw-dmz-01") == (
        "Connection gateway gw-dmz-01 still serves the previous mobile certificate — "
        "reconnect it."
    )
