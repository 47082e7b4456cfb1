"""DESIGN §6.1 at pinned instants, to the second: what a device trusts, whether it connects,
and the forecast for the next cut-over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kscert_gui.model.connection import (
    GatewayScope,
    Situation,
    Timeline,
    build_timeline,
    epoch,
    last_sync_after,
    nearest_gateways,
    read_fleet,
)
from kscert_gui.model.schedule import SlotRecord

DAY = timedelta(days=1)
H6 = 6 * 3600
SECOND = timedelta(seconds=1)
#: The main certificate, issued long before the reserve; valid for 397 days.
M_CREATED = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
MAIN = SlotRecord(1, M_CREATED, None, M_CREATED, M_CREATED + 397 * DAY)
#: A reserve created on 1 March with a 30-day term: it switches on 31 March.
CREATED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SWITCH = CREATED + 30 * DAY
RESERVE = SlotRecord(2, CREATED, 30, CREATED, CREATED + 397 * DAY)


def s(value: datetime) -> int:
    return epoch(value)


def situation(records: list[SlotRecord], at: datetime,
              gateways: tuple[GatewayScope, ...] = (), devices: int = 1) -> Situation:
    timeline = build_timeline(records, max(at, CREATED + 60 * DAY))
    return Situation.at(timeline, s(at), gateways, devices)


def verdict(records: list[SlotRecord], last: datetime | None, at: datetime,
            period: int = H6, gateway: int | None = None,
            gateways: tuple[GatewayScope, ...] = ()) -> tuple[str, str | None]:
    v = situation(records, at, gateways).judge(s(last) if last else None, period, gateway)
    return v.connection, v.forecast


# --- the timeline ------------------------------------------------------------------------------


def test_the_timeline_knows_main_and_reserve_at_every_instant() -> None:
    tl = build_timeline([MAIN, RESERVE], SWITCH + DAY)
    assert tl.era_at(s(CREATED) - 1).main_id == 1 and tl.era_at(s(CREATED) - 1).reserve_id is None
    pending = tl.era_at(s(CREATED))
    assert (pending.main_id, pending.reserve_id, pending.reserve_switch_s) == (1, 2, s(SWITCH))
    assert tl.era_at(s(SWITCH) - 1).reserve_id == 2
    assert (tl.era_at(s(SWITCH)).main_id, tl.era_at(s(SWITCH)).reserve_id) == (2, None)
    # Before the store's first record, devices hold its certificate (they enrolled with it).
    assert tl.era_at(s(M_CREATED) - 86400).main_id == 1


# --- the reserve delivered or not ---------------------------------------------------------------


def test_synchronized_at_or_after_the_creation_holds_the_reserve() -> None:
    at = CREATED + SECOND
    assert verdict([MAIN, RESERVE], CREATED + SECOND, at) == ("connected", "delivered")
    assert verdict([MAIN, RESERVE], CREATED, at) == ("connected", "delivered")
    assert verdict([MAIN, RESERVE], CREATED - SECOND, at) == ("connected", "expected")


def test_next_synchronization_one_second_after_the_switch_is_at_risk() -> None:
    short = SlotRecord(2, CREATED, 2, CREATED, CREATED + 397 * DAY)  # switches in 2 days
    period = 3 * 86400
    at = CREATED + timedelta(hours=1)
    last = CREATED + 2 * DAY - timedelta(seconds=period) + SECOND  # next: switch + 1 s
    assert last < CREATED
    assert verdict([MAIN, short], last, at, period) == ("connected", "at-risk")
    # One second earlier it synchronizes exactly at the switch: still in time.
    assert verdict([MAIN, short], last - SECOND, at, period) == ("connected", "expected")
    v = situation([MAIN, short], at).judge(s(last), period, None)
    assert "after the switch" in v.reason


def test_not_seen_for_more_than_three_periods_is_at_risk() -> None:
    at = CREATED + timedelta(hours=1)
    assert verdict([MAIN, RESERVE], at - timedelta(seconds=3 * H6), at) == ("connected",
                                                                            "expected")
    assert verdict([MAIN, RESERVE], at - timedelta(seconds=3 * H6) - SECOND, at) == (
        "connected", "at-risk")
    v = situation([MAIN, RESERVE], at).judge(s(at) - 4 * H6, H6, None)
    assert "more than 3" in v.reason


def test_at_the_exact_switch_second() -> None:
    holder, other = CREATED + DAY, CREATED - DAY
    # One second before, both still trust the old main certificate and connect.
    assert verdict([MAIN, RESERVE], holder, SWITCH - SECOND)[0] == "connected"
    assert verdict([MAIN, RESERVE], other, SWITCH - SECOND)[0] == "connected"
    # At the switch the holder trusts the reserve, which is now main; the other is lost.
    assert verdict([MAIN, RESERVE], holder, SWITCH)[0] == "connected"
    lost = situation([MAIN, RESERVE], SWITCH).judge(s(other), H6, None)
    assert lost.connection == "lost" and "reinstall" in lost.reason
    # A synchronization at the switch second receives the new main certificate.
    assert verdict([MAIN, RESERVE], SWITCH, SWITCH + DAY)[0] == "connected"


def test_immediately_with_devices_loses_every_one_of_them() -> None:
    at = CREATED + 5 * DAY
    new = SlotRecord(3, at, None, at, at + 397 * DAY)
    sit = situation([MAIN, RESERVE, new], at, devices=3)
    for last in (at - timedelta(hours=1), CREATED + DAY, CREATED - DAY):
        v = sit.judge(s(last), H6, None)
        assert v.connection == "lost" and v.forecast is None
    reading = read_fleet(sit, [(s(at) - 3600, H6, None, True), (s(CREATED) + 60, H6, None, True),
                               (None, H6, None, True), (s(at) - 60, H6, None, False)])
    assert reading.counts.lost == 3 and reading.counts.connected == 0
    # A device that enrolled after it (the agent reinstalled) connects.
    assert sit.judge(s(at), H6, None).connection == "connected"


def test_main_expiry_with_no_reserve() -> None:
    end = MAIN.not_after
    sit = situation([MAIN], end - 20 * DAY, devices=7)
    v = sit.judge(s(end - 20 * DAY) - 60, H6, None)
    assert v == v.__class__("connected", "at-risk", v.reason)
    assert v.reason == (
        "no reserve certificate is specified: all 7 devices lose the connection at "
        f"{end:%Y-%m-%d %H:%M:%S} UTC"
    )
    assert (sit.cutover, sit.cutover_s) == ("expiry", s(end))
    assert verdict([MAIN], end - timedelta(hours=1), end)[0] == "connected"
    gone = situation([MAIN], end + SECOND).judge(s(end) - 60, H6, None)
    assert gone.connection == "lost" and "expired" in gone.reason


def test_a_cancelled_reserve() -> None:
    cancel = CREATED + 2 * DAY
    cancelled = SlotRecord(2, CREATED, 30, CREATED, CREATED + 397 * DAY, cancelled_at=cancel)
    records = [MAIN, cancelled]
    # No reserve pending any more: the cut-over is the main certificate's expiry.
    sit = situation(records, cancel + DAY)
    assert sit.reserve_id is None and sit.cutover == "expiry"
    # A device that synchronized after the cancellation holds only the main certificate.
    assert verdict(records, cancel + timedelta(hours=1), SWITCH + DAY)[0] == "connected"
    # One that received the reserve and was not seen since switches to it at its planned
    # switch time, which the server no longer uses: it is lost from then on.
    held = CREATED + timedelta(hours=3)
    assert verdict(records, held, SWITCH - SECOND)[0] == "connected"
    assert verdict(records, held, SWITCH)[0] == "lost"


def test_a_replaced_reserve_still_switches_the_devices_that_hold_it() -> None:
    newer_at = CREATED + 5 * DAY
    first = SlotRecord(2, CREATED, 10, CREATED, CREATED + 397 * DAY, cancelled_at=newer_at)
    second = SlotRecord(3, newer_at, 30, newer_at, newer_at + 397 * DAY)
    records = [MAIN, first, second]
    at = newer_at + DAY
    # Holding the replaced reserve, it must synchronize before that one's switch (day 10).
    period = 12 * 86400
    v = situation(records, at).judge(s(CREATED + DAY), period, None)
    assert v.forecast == "at-risk" and "cancelled reserve" in v.reason
    assert verdict(records, CREATED + DAY, at, 2 * 86400) == ("connected", "expected")


# --- connection gateways (DESIGN §7) -------------------------------------------------------------

PARENTS: dict[int, int | None] = {10: None, 11: 10, 12: 11, 13: 10}


def test_a_14_2_gateway_blocks_its_scope_after_the_switch_until_reconnected() -> None:
    stale = (GatewayScope("gw-1", 11, 1, "14.2"),)
    nearest = nearest_gateways(PARENTS, stale)
    holder = s(CREATED + DAY)
    after = situation([MAIN, RESERVE], SWITCH + DAY, stale, devices=2)
    inside = after.judge(holder, H6, nearest[11])
    outside = after.judge(holder, H6, nearest[13])
    assert (inside.connection, outside.connection) == ("blocked", "connected")
    assert "gw-1" in inside.reason and "reconnect" in inside.reason
    # Before the switch the gateway serves the main certificate: nobody is blocked, but the
    # forecast warns of the block to come.
    before = situation([MAIN, RESERVE], SWITCH - DAY, stale)
    v = before.judge(holder, H6, nearest[11])
    assert (v.connection, v.forecast) == ("connected", "delivered")
    assert "blocked at" in v.reason and "gw-1" in v.reason
    reading = read_fleet(before, [(holder, H6, nearest[11], True), (holder, H6, None, True)])
    assert dict(reading.blocked_at_cutover) == {"gw-1": 1}
    # Reconnected: the gateway holds the new main certificate.
    again = (GatewayScope("gw-1", 11, 2, "14.2"),)
    assert situation([MAIN, RESERVE], SWITCH + DAY, again).judge(holder, H6, 0).connection == \
        "connected"


def test_a_15_gateway_follows_the_main_certificate() -> None:
    auto = (GatewayScope("gw-1", 11, 1, "15"),)
    sit = situation([MAIN, RESERVE], SWITCH + DAY, auto)
    assert sit.judge(s(CREATED + DAY), H6, 0).connection == "connected"
    assert read_fleet(situation([MAIN, RESERVE], SWITCH - DAY, auto),
                      [(s(CREATED + DAY), H6, 0, True)]).blocked_at_cutover == {}


def test_nested_scopes_the_nearest_gateway_serves() -> None:
    gateways = (GatewayScope("gw-root", 10, 2, "14.2"), GatewayScope("gw-branch", 11, 1, "14.2"))
    nearest = nearest_gateways(PARENTS, gateways)
    assert nearest == {10: 0, 11: 1, 12: 1, 13: 0}
    sit = situation([MAIN, RESERVE], SWITCH + DAY, gateways)
    holder = s(CREATED + DAY)
    assert sit.judge(holder, H6, nearest[12]).connection == "blocked"  # gw-branch is stale
    assert sit.judge(holder, H6, nearest[13]).connection == "connected"  # gw-root is current


def test_a_device_that_never_synchronized_is_lost() -> None:
    v = situation([MAIN], CREATED).judge(None, H6, None)
    assert v.connection == "lost" and v.forecast is None and "never synchronized" in v.reason


# --- the simulation ------------------------------------------------------------------------------


def tl(records: list[SlotRecord]) -> Timeline:
    return build_timeline(records, CREATED + 90 * DAY)


def test_a_device_synchronizes_on_its_grid() -> None:
    start = s(CREATED) + 86400
    last = start - 3600
    assert last_sync_after(tl([MAIN]), None, last, H6, start, start + 86400) == last + 4 * H6
    assert last_sync_after(tl([MAIN]), None, None, H6, start, start + 86400) is None
    assert last_sync_after(tl([MAIN]), None, last, H6, start, start + 3600) is None


def test_a_lost_device_does_not_synchronize() -> None:
    at = CREATED + 5 * DAY
    new = SlotRecord(3, at, None, at, at + 397 * DAY)
    start = s(at) - 3 * 3600
    # Synchronizes until the Immediately certificate, then never again.
    got = last_sync_after(tl([MAIN, new]), None, start - 3600, H6, start, start + 10 * 86400)
    assert got is None
    got = last_sync_after(tl([MAIN, new]), None, start - 5 * 3600, H6, start, start + 86400)
    assert got == start + 3600  # the one before the new certificate


def test_a_blocked_device_does_not_synchronize_and_the_others_take_the_reserve() -> None:
    stale = GatewayScope("gw-1", 11, 1, "14.2")
    start = s(SWITCH) - 86400
    last = start - 3600
    got = last_sync_after(tl([MAIN, RESERVE]), stale, last, H6, start, start + 5 * 86400)
    assert got is not None and got <= s(SWITCH)
    free = last_sync_after(tl([MAIN, RESERVE]), None, last, H6, start, start + 5 * 86400)
    assert free is not None and free > s(SWITCH) + 3 * 86400


# --- the fleet agrees with the single-device rule ------------------------------------------------

_times = st.one_of(st.none(), st.integers(s(M_CREATED), s(SWITCH) + 10 * 86400))


@given(
    devices=st.lists(
        st.tuples(_times, st.integers(60, 30 * 86400), st.sampled_from([None, 0, 1]),
                  st.booleans()),
        max_size=40,
    ),
    at_s=st.integers(s(CREATED) - 86400, s(SWITCH) + 5 * 86400),
    version=st.sampled_from(["14.2", "15"]),
)
def test_the_fleet_reading_agrees_with_the_single_device_rule(
    devices: list[tuple[int | None, int, int | None, bool]], at_s: int, version: str
) -> None:
    gateways = (GatewayScope("a", 10, 1, version), GatewayScope("b", 11, 2, version))
    timeline = build_timeline([MAIN, RESERVE], SWITCH + 20 * DAY)
    sit = Situation.at(timeline, at_s, gateways, sum(1 for d in devices if d[3]))
    reading = read_fleet(sit, devices)
    for (last, period, gw, mobile), conn, fc in zip(devices, reading.connection,
                                                     reading.forecast, strict=True):
        if not mobile:
            assert conn is None and fc is None
            continue
        v = sit.judge(last, period, gw)
        assert (conn, fc) == (v.connection, v.forecast)
    c = reading.counts
    assert c.connected + c.blocked + c.lost == c.devices
    assert c.delivered + c.expected + c.at_risk == c.devices - c.lost
