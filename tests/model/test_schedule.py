"""Schedule tests at pinned instants (DESIGN §2, §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kscert_gui.model.schedule import (
    SlotRecord,
    SyncPeriod,
    check_term,
    days_left,
    effective_state,
    format_period,
    switch_time,
)

T0 = datetime(2026, 1, 10, 8, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SEC = timedelta(seconds=1)


def cert(
    id_: int,
    created: datetime,
    term: int | None,
    valid_days: int = 397,
    cancelled: datetime | None = None,
) -> SlotRecord:
    return SlotRecord(
        id=id_,
        created_at=created,
        term_days=term,
        not_before=created,
        not_after=created + valid_days * DAY,
        cancelled_at=cancelled,
    )


def test_empty_store_has_no_certificate() -> None:
    st = effective_state([], T0)
    assert st.state == "no-certificate"
    assert st.main_id is None and st.reserve_id is None and st.switch_at is None


def test_first_record_is_main_whatever_its_term() -> None:
    st = effective_state([cert(1, T0, 30)], T0)
    assert st.main_id == 1
    assert st.reserve_id is None


def test_reserve_switches_exactly_at_created_plus_n_days() -> None:
    main = cert(1, T0, None)
    created = T0 + 100 * DAY
    reserve = cert(2, created, 30)
    switch = created + 30 * DAY
    before = effective_state([main, reserve], switch - SEC)
    assert (before.main_id, before.reserve_id) == (1, 2)
    assert before.switch_at == switch
    assert before.state == "ok"
    at = effective_state([main, reserve], switch)
    assert (at.main_id, at.reserve_id) == (2, None)
    assert at.retired_ids == (1,)
    assert [(s.reserve_id, s.previous_id, s.at) for s in at.switches] == [(2, 1, switch)]
    after = effective_state([main, reserve], switch + SEC)
    assert after.main_id == 2 and after.retired_ids == (1,)


def test_main_expiring_before_the_term_ends_switches_at_not_after() -> None:
    main = cert(1, T0, None)  # notAfter = T0 + 397 days
    created = main.not_after - 10 * DAY
    reserve = cert(2, created, 30)
    assert switch_time(reserve, main) == main.not_after
    st = effective_state([main, reserve], created)
    assert st.switch_at == main.not_after
    assert effective_state([main, reserve], main.not_after - SEC).main_id == 1
    assert effective_state([main, reserve], main.not_after).main_id == 2


def test_exact_expiry_second_without_reserve() -> None:
    main = cert(1, T0, None)
    assert effective_state([main], main.not_after).state == "expiring"
    assert effective_state([main], main.not_after).main_days_left == 0
    expired = effective_state([main], main.not_after + SEC)
    assert expired.state == "expired"
    assert expired.main_id == 1


def test_expiring_watch_is_30_days_and_silenced_by_a_reserve() -> None:
    main = cert(1, T0, None)
    assert effective_state([main], main.not_after - 31 * DAY).state == "ok"
    assert effective_state([main], main.not_after - 30 * DAY).state == "expiring"
    reserve = cert(2, main.not_after - 31 * DAY, 30)
    assert effective_state([main, reserve], main.not_after - 30 * DAY).state == "ok"


def test_day_rollover_counts_whole_days() -> None:
    not_after = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)
    assert days_left(not_after, datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)) == 0
    assert days_left(not_after, datetime(2026, 2, 27, 23, 59, 59, tzinfo=UTC)) == 1
    assert days_left(not_after, datetime(2026, 2, 27, 0, 0, 0, tzinfo=UTC)) == 2
    assert days_left(not_after, not_after + SEC) == -1


def test_immediate_record_retires_main_and_supersedes_pending_reserve() -> None:
    main = cert(1, T0, None)
    reserve = cert(2, T0 + 10 * DAY, 30)
    immediate = cert(3, T0 + 11 * DAY, None)
    st = effective_state([main, reserve, immediate], T0 + 12 * DAY)
    assert st.main_id == 3
    assert st.reserve_id is None
    assert st.retired_ids == (1,)
    assert st.cancelled_ids == (2,)


def test_new_reserve_replaces_pending_one() -> None:
    main = cert(1, T0, None)
    r1 = cert(2, T0 + 10 * DAY, 60)
    r2 = cert(3, T0 + 11 * DAY, 30)
    st = effective_state([main, r1, r2], T0 + 12 * DAY)
    assert st.reserve_id == 3 and st.cancelled_ids == (2,)
    assert st.switch_at == T0 + 41 * DAY


def test_cancelled_reserve_never_switches() -> None:
    main = cert(1, T0, None)
    r = cert(2, T0 + 10 * DAY, 30, cancelled=T0 + 20 * DAY)
    assert effective_state([main, r], T0 + 15 * DAY).reserve_id == 2
    late = effective_state([main, r], T0 + 50 * DAY)
    assert late.main_id == 1 and late.reserve_id is None and late.cancelled_ids == (2,)


def test_what_if_before_a_record_existed_ignores_it() -> None:
    main = cert(1, T0, None)
    reserve = cert(2, T0 + 100 * DAY, 30)
    st = effective_state([main, reserve], T0 + 50 * DAY)
    assert st.main_id == 1 and st.reserve_id is None


def test_chained_reserves_switch_in_order() -> None:
    a = cert(1, T0, None)
    b = cert(2, T0 + 300 * DAY, 60)
    c = cert(3, T0 + 700 * DAY, 30)
    st = effective_state([a, b, c], T0 + 740 * DAY)
    assert st.main_id == 3
    assert st.retired_ids == (1, 2)
    assert [s.reserve_id for s in st.switches] == [2, 3]


def test_reserve_on_expired_main_takes_over_when_created() -> None:
    main = cert(1, T0, None)
    created = main.not_after + 5 * DAY
    reserve = cert(2, created, 30)
    assert switch_time(reserve, main) == created
    assert effective_state([main, reserve], created).main_id == 2


def test_effective_state_is_pure_and_order_independent() -> None:
    recs = [cert(1, T0, None), cert(2, T0 + 10 * DAY, 30), cert(3, T0 + 50 * DAY, 45)]
    at = T0 + 70 * DAY
    assert effective_state(recs, at) == effective_state(list(reversed(recs)), at)


# --- activation term ------------------------------------------------------------------------

SIX_HOURS = SyncPeriod(timedelta(hours=6))


def codes(term: int | None, sync: SyncPeriod = SIX_HOURS, devices: int = 10,
          not_after: datetime | None = None) -> dict[str, str]:
    issues = check_term(term, at=T0, sync=sync, mobile_devices=devices,
                        main_not_after=not_after or T0 + 200 * DAY)
    return {i.code: i.severity for i in issues}


def test_term_equal_to_sync_period_is_an_error_naming_both_values() -> None:
    sync = SyncPeriod(timedelta(days=2), "Managed devices/Field")
    issues = check_term(2, at=T0, sync=sync, mobile_devices=5, main_not_after=T0 + 100 * DAY)
    err = [i for i in issues if i.code == "term-not-above-sync"]
    assert err and err[0].severity == "error"
    assert "2 days" in err[0].message and "Managed devices/Field" in err[0].message
    assert "term-not-above-sync" not in codes(3, sync)


def test_term_below_30_warns_and_30_does_not() -> None:
    assert codes(29) == {"term-below-recommended": "warning"}
    assert codes(30) == {}


@pytest.mark.parametrize("term", [0, -1, 397, 1000])
def test_term_out_of_range(term: int) -> None:
    assert codes(term) == {"term-out-of-range": "error"}


def test_main_expiring_first_is_a_notice_with_the_real_switch_time() -> None:
    issues = check_term(30, at=T0, sync=SIX_HOURS, mobile_devices=1,
                        main_not_after=T0 + 12 * DAY)
    notice = [i for i in issues if i.code == "main-expires-first"]
    assert notice and notice[0].severity == "notice"
    assert (T0 + 12 * DAY).strftime("%Y-%m-%d %H:%M:%S") in notice[0].message


def test_immediately_with_devices_needs_confirmation_and_without_is_silent() -> None:
    assert codes(None, devices=3) == {"immediate-with-devices": "warning"}
    assert codes(None, devices=0) == {}


def test_format_period() -> None:
    assert format_period(timedelta(hours=6)) == "6 hours"
    assert format_period(timedelta(hours=1)) == "1 hour"
    assert format_period(timedelta(days=2)) == "2 days"
    assert format_period(timedelta(hours=1.5)) == "1.5 hours"
