"""The watch rules (DESIGN §13): states at pinned instants, thresholds, labels, crossings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kscert_gui.model.errors import UsageError
from kscert_gui.model.watch import (
    crossed_threshold,
    days_left,
    endpoint_text,
    judge,
    label_problem,
    parse_thresholds,
)

NB = datetime(2026, 1, 1, tzinfo=UTC)
NA = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (NB - timedelta(seconds=1), "not-yet-valid"),
        (NB, "ok"),
        (NA - timedelta(days=31), "ok"),
        (NA - timedelta(days=30), "expiring"),  # 30 days left: the largest threshold
        (NA, "expiring"),  # the not_after second is still valid (RFC 5280)
        (NA + timedelta(seconds=1), "expired"),
    ],
)
def test_judge_at_the_edges(at: datetime, state: str) -> None:
    assert judge(NB, NA, at) == state


def test_judge_without_a_leaf_and_with_own_thresholds() -> None:
    assert judge(None, None, NB) == "unreachable"
    assert judge(NB, NA, NA - timedelta(days=50), (60, 7)) == "expiring"
    assert judge(NB, NA, NA - timedelta(days=50), ()) == "ok"


def test_days_left_rolls_over_at_the_second() -> None:
    assert days_left(NA, NA - timedelta(days=1)) == 1
    assert days_left(NA, NA - timedelta(days=1) + timedelta(seconds=1)) == 0
    assert days_left(NA, NA + timedelta(seconds=1)) == -1


def test_parse_thresholds() -> None:
    assert parse_thresholds("30,14,7,1") == (30, 14, 7, 1)
    assert parse_thresholds(" 1, 60 ,7") == (60, 7, 1)
    for bad in ("", "30,,7", "30;14", "0", "3651", "7,7", "x", "٣", "1_0",
                ",".join(str(n) for n in range(1, 12))):
        with pytest.raises(UsageError):
            parse_thresholds(bad)


def test_label_problem() -> None:
    assert label_problem("Head office — Mobile") is None
    assert label_problem("a\x1bb") is not None
    assert label_problem("a\u202eb") is not None  # a bidirectional override
    assert label_problem("a\nb") is not None
    assert label_problem("x" * 201) is not None
    assert label_problem(" ") is not None


def test_crossed_threshold() -> None:
    t = (30, 14, 7, 1)
    assert crossed_threshold(None, 40, t) is None
    assert crossed_threshold(None, 10, t) == 14
    assert crossed_threshold(31, 30, t) == 30
    assert crossed_threshold(30, 29, t) is None
    assert crossed_threshold(20, 5, t) == 7
    assert crossed_threshold(5, 40, t) is None  # renewed
    assert crossed_threshold(40, 29, t) == 30  # and it can approach again
    assert crossed_threshold(10, None, t) is None


def test_endpoint_text() -> None:
    assert endpoint_text("mdm.example.com", 13292) == "mdm.example.com:13292"
    assert endpoint_text("::1", 443) == "[::1]:443"
