"""Groups, periods, the delivery curve and the simulation's offline share (DESIGN §6).

The §6.1 verdicts themselves are pinned in ``test_connection.py``.
"""

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
    longest_sync_period,
    stays_offline,
)
from kscert_gui.model.schedule import check_term

CREATED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SWITCH = CREATED + timedelta(days=30)
WINDOW = ReserveWindow(7, CREATED, SWITCH)


def test_delivery_curve_counts_devices_holding_the_reserve_over_time() -> None:
    c = int(CREATED.timestamp())
    curve = delivery_curve([c + 60, None, c + 120, c + 86400 * 40], WINDOW, points=31)
    assert curve[0] == (CREATED, 0)
    assert curve[1][1] == 2  # one day in: the two early deliveries
    assert curve[-1] == (SWITCH, 2)  # the one after the switch never counts
    assert [n for _t, n in curve] == sorted(n for _t, n in curve)


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


@given(
    times=st.lists(st.one_of(st.none(), st.integers(int(CREATED.timestamp()) - 5000,
                                                     int(SWITCH.timestamp()) + 5000))),
    points=st.integers(2, 130),
)
def test_delivery_curve_equals_counting_sorted_deliveries(
    times: list[int | None], points: int
) -> None:
    """The one-pass curve gives what bisecting the sorted deliveries gives."""
    import bisect

    start, end = WINDOW.created_s, WINDOW.switch_s
    ordered = sorted(t for t in times if t is not None)
    expected = [bisect.bisect_right(ordered, start + (end - start) * i // (points - 1))
                for i in range(points)]
    assert [n for _t, n in delivery_curve(times, WINDOW, points)] == expected
