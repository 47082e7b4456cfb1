"""The reserve delivery forecast of DESIGN §6 at pinned instants, to the second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kscert_gui.model.errors import ValidationError
from kscert_gui.model.fleet import (
    Group,
    ReserveWindow,
    canonical_platform,
    check_sync_hours,
    delivery_curve,
    device_state,
    effective_sync_hours,
    epoch,
    forecast,
    longest_sync_period,
    next_sync_s,
    risk_reason,
    simulate_device,
    stays_offline,
)
from kscert_gui.model.schedule import check_term

CREATED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SWITCH = CREATED + timedelta(days=30)
WINDOW = ReserveWindow(7, CREATED, SWITCH)
#: A reserve whose main certificate expires one day after it was created.
SHORT = ReserveWindow(8, CREATED, CREATED + timedelta(days=1))
SECOND = timedelta(seconds=1)
H6 = timedelta(hours=6)


def state(last: datetime | None, at: datetime, period: timedelta = H6,
          received: datetime | None = None, window: ReserveWindow = WINDOW) -> str:
    return device_state(last_sync=last, period=period, window=window, at=at, received_at=received)


def test_synchronized_one_second_after_creation_is_delivered() -> None:
    assert state(CREATED + SECOND, CREATED + SECOND) == "delivered"
    # ... and exactly at the creation second too; one second before is not.
    assert state(CREATED, CREATED) == "delivered"
    assert state(CREATED - SECOND, CREATED) == "expected"


def test_next_synchronization_one_second_after_the_switch_is_at_risk() -> None:
    period = timedelta(days=2)
    last = SHORT.switch_at - period + SECOND  # next synchronization = switch + 1 s
    at = CREATED + timedelta(hours=1)
    assert last < CREATED
    assert state(last, at, period, window=SHORT) == "at-risk"
    # One second earlier it synchronizes exactly at the switch: still in time.
    assert state(last - SECOND, at, period, window=SHORT) == "expected"


def test_synchronization_at_the_switch_second_counts_one_after_does_not() -> None:
    assert state(SWITCH, SWITCH) == "delivered"
    assert state(SWITCH + SECOND, SWITCH + SECOND) == "lost"
    # A device that received the reserve keeps it after later synchronizations.
    assert state(SWITCH + SECOND, SWITCH + SECOND, received=CREATED + H6) == "delivered"


def test_not_seen_for_more_than_three_periods_is_at_risk() -> None:
    at = CREATED + timedelta(hours=1)
    assert state(at - 3 * H6, at) == "expected"
    assert state(at - 3 * H6 - SECOND, at) == "at-risk"
    assert state(None, at) == "at-risk"
    assert "never synchronized" == risk_reason(None, H6, WINDOW, at)
    assert "more than 3" in risk_reason(at - 4 * H6, H6, WINDOW, at)


def test_at_the_switch_devices_without_the_certificate_are_lost() -> None:
    assert state(CREATED - SECOND, SWITCH) == "lost"
    assert state(None, SWITCH + timedelta(days=3)) == "lost"
    assert state(CREATED + H6, SWITCH + timedelta(days=3)) == "delivered"


def test_a_group_override_of_the_period_changes_the_verdict() -> None:
    groups = {
        1: Group(1, "Managed devices", None, None),
        2: Group(2, "Field staff", 1, None),
    }
    at = CREATED + timedelta(hours=1)
    last = at - timedelta(hours=10)
    inherited = timedelta(hours=effective_sync_hours(groups, 2))
    assert inherited == H6 and state(last, at, inherited) == "expected"
    groups[2] = Group(2, "Field staff", 1, 3.0)  # override: every 3 hours
    override = timedelta(hours=effective_sync_hours(groups, 2))
    assert state(last, at, override) == "at-risk"  # 10 h > 3 * 3 h


def test_longer_override_pushes_the_next_synchronization_past_the_switch() -> None:
    at = SHORT.switch_at - timedelta(hours=8)
    last = CREATED - timedelta(hours=1)
    assert state(last, at, H6, window=SHORT) == "expected"  # next: created + 17 h
    assert state(last, at, timedelta(hours=30), window=SHORT) == "at-risk"  # created + 29 h


def test_activation_term_error_names_the_group_with_the_longest_period() -> None:
    groups = {
        1: Group(1, "Managed devices", None, None),
        2: Group(2, "Head office", 1, None),
        3: Group(3, "Warehouse scanners", 1, 24.0 * 8),
        4: Group(4, "Field staff", 1, 12.0),
    }
    sync = longest_sync_period(groups, [2, 3, 4])
    issues = check_term(7, at=CREATED, sync=sync, mobile_devices=3,
                        main_not_after=CREATED + timedelta(days=90))
    errors = [i for i in issues if i.severity == "error"]
    assert [i.code for i in errors] == ["term-not-above-sync"]
    assert "Managed devices/Warehouse scanners" in errors[0].message
    assert "8 days" in errors[0].message and "7 days" in errors[0].message
    ok = check_term(9, at=CREATED, sync=sync, mobile_devices=3,
                    main_not_after=CREATED + timedelta(days=90))
    assert not [i for i in ok if i.severity == "error"]


def test_next_sync_rolls_forward_by_whole_periods() -> None:
    last = epoch(CREATED)
    assert next_sync_s(last, 3600, last) == last + 3600
    assert next_sync_s(last, 3600, last + 3600) == last + 3600
    assert next_sync_s(last, 3600, last + 3601) == last + 7200


def test_fleet_forecast_counts_and_curve() -> None:
    at = CREATED + timedelta(days=10)
    c = epoch(CREATED)
    devices = [
        (c + 60, None, 21600, True),  # delivered at +60 s
        (epoch(at) - 3600, None, 21600, True),  # delivered (synced recently)
        (c - 3600, None, 21600, True),  # not seen for 10 days: at risk
        (None, None, 21600, True),  # never: at risk
        (epoch(at) - 3600, c + 120, 21600, True),  # received earlier, delivered
        (None, None, 21600, False),  # a host: no state
    ]
    fc = forecast(devices, WINDOW, at)
    assert fc.states == ("delivered", "delivered", "at-risk", "at-risk", "delivered", None)
    assert fc.counts == {"delivered": 3, "expected": 0, "at-risk": 2, "lost": 0}
    assert fc.devices == 5 and fc.delivered == 3 and not fc.switched
    assert fc.delivery_s[0] == c + 60 and fc.delivery_s[4] == c + 120
    curve = delivery_curve(fc.delivery_s, WINDOW, points=31)
    assert curve[0] == (CREATED, 0)
    assert curve[-1] == (SWITCH, 3)
    assert [n for _t, n in curve] == sorted(n for _t, n in curve)


def test_expected_devices_are_projected_at_their_next_synchronization() -> None:
    at = CREATED + timedelta(hours=1)
    last = epoch(CREATED) - 3600
    fc = forecast([(last, None, 21600, True)], WINDOW, at)
    assert fc.states == ("expected",)
    assert fc.delivery_s == (last + 21600,)


def test_simulated_device_synchronizes_on_its_grid_and_respects_the_cut_off() -> None:
    start, period = epoch(CREATED), 6 * 3600
    last = start - 3600
    sim = simulate_device(last, period, start, start + 86400, offline=False)
    assert sim.synced and sim.first_s == last + period
    assert sim.last_s == last + 4 * period  # 5, 11, 17, 23 h after start
    assert not simulate_device(last, period, start, start + 86400, offline=True).synced
    assert not simulate_device(None, period, start, start + 86400, offline=False).synced
    stale = start - 3 * period - 1
    assert not simulate_device(stale, period, start, start + 86400, offline=False).synced
    cut = simulate_device(last, period, start, start + 86400, offline=False,
                          cut_off_s=last + period - 1)
    assert not cut.synced


def test_offline_share_is_deterministic_and_small() -> None:
    names = [f"dev-{i:05d}" for i in range(4000)]
    share = sum(stays_offline(n) for n in names) / len(names)
    assert 0.01 < share < 0.05
    assert [stays_offline(n) for n in names] == [stays_offline(n) for n in names]


def test_platform_and_period_checks() -> None:
    assert canonical_platform(" ios ") == "iOS"
    assert canonical_platform("ANDROID") == "Android"
    assert canonical_platform("Symbian") is None
    assert check_sync_hours(0.5) == 0.5
    for bad in (0.0, -1.0, 721.0, float("inf"), float("nan")):
        with pytest.raises(ValidationError):
            check_sync_hours(bad)


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kscert_gui.model.fleet import state_s  # noqa: E402

_C = epoch(CREATED)
_T = epoch(SWITCH)
_times = st.one_of(st.none(), st.integers(_C - 40 * 86400, _T + 10 * 86400))


@given(
    devices=st.lists(
        st.tuples(_times, _times, st.integers(60, 30 * 86400), st.booleans()), max_size=40
    ),
    at_s=st.integers(_C, _T + 5 * 86400),
)
def test_fleet_forecast_agrees_with_the_single_device_rule(
    devices: list[tuple[int | None, int | None, int, bool]], at_s: int
) -> None:
    at = datetime.fromtimestamp(at_s, UTC)
    fc = forecast(devices, WINDOW, at)
    expected = [
        state_s(received, last, period, _C, _T, at_s) if mobile else None
        for last, received, period, mobile in devices
    ]
    assert list(fc.states) == expected
    assert sum(fc.counts.values()) == sum(1 for d in devices if d[3])
