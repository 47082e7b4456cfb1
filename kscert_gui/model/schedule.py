"""Certificate slots, switch time and the activation-term rules (DESIGN §2, §5).

The state at any instant is a pure function of the records and the instant:
no timer has to fire for a reserve to become the main certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Source = Literal["issued", "custom"]
StoredState = Literal["pending", "main", "retired", "cancelled"]
OverallState = Literal["ok", "expiring", "expired", "no-certificate"]

MIN_TERM_DAYS = 1
MAX_TERM_DAYS = 396
RECOMMENDED_TERM_DAYS = 30
EXPIRY_WATCH_DAYS = 30
DAY = timedelta(days=1)


@dataclass(frozen=True)
class SlotRecord:
    """The immutable facts of one certificate record that the schedule depends on.

    ``term_days`` is ``None`` for *Immediately*. ``cancelled_at`` is set when an
    operator cancelled a reserve (or a newer reserve replaced it).
    """

    id: int
    created_at: datetime
    term_days: int | None
    not_before: datetime
    not_after: datetime
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class Switch:
    """A reserve became the main certificate at ``at``; ``previous_id`` was retired."""

    reserve_id: int
    previous_id: int | None
    at: datetime


@dataclass(frozen=True)
class EffectiveState:
    """What holds at one instant."""

    at: datetime
    main_id: int | None
    reserve_id: int | None
    switch_at: datetime | None
    retired_ids: tuple[int, ...]
    cancelled_ids: tuple[int, ...]
    switches: tuple[Switch, ...] = field(default=())
    state: OverallState = "no-certificate"
    main_days_left: int | None = None


def days_left(not_after: datetime, at: datetime) -> int:
    """Whole days from ``at`` to ``not_after``; negative once expired."""
    return int((not_after - at).total_seconds() // 86400)


def switch_time(reserve: SlotRecord, main: SlotRecord | None) -> datetime:
    """The earlier of (created + N days) and the current main certificate's notAfter."""
    term = reserve.term_days or 0
    planned = reserve.created_at + timedelta(days=term)
    if main is None:
        return reserve.created_at
    # A main certificate that already expired hands over as soon as the reserve exists.
    return max(reserve.created_at, min(planned, main.not_after))


def effective_state(records: Iterable[SlotRecord], at: datetime) -> EffectiveState:
    """Replay the records' events up to ``at`` and report the slots.

    Events are processed in time order: a record's creation (the first record, or
    an *Immediately* record, takes the main slot at once; a delayed record takes
    the reserve slot, replacing a pending one), its cancellation, and every
    switch that falls due before the next event. A record created after ``at``
    does not exist yet (what-if in the past).
    """
    recs = sorted(records, key=lambda r: (r.created_at, r.id))
    main: SlotRecord | None = None
    reserve: SlotRecord | None = None
    retired: list[int] = []
    cancelled: list[int] = []
    switches: list[Switch] = []

    events: list[tuple[datetime, int, int, SlotRecord]] = []
    for r in recs:
        if r.created_at <= at:
            events.append((r.created_at, 0, r.id, r))
            if r.cancelled_at is not None and r.cancelled_at <= at:
                events.append((r.cancelled_at, 1, r.id, r))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    def settle(until: datetime) -> None:
        nonlocal main, reserve
        if reserve is not None:
            due = switch_time(reserve, main)
            if due <= until:
                switches.append(Switch(reserve.id, main.id if main else None, due))
                if main is not None:
                    retired.append(main.id)
                main, reserve = reserve, None

    for when, kind, _rid, rec in events:
        settle(when)
        if kind == 1:
            if reserve is not None and reserve.id == rec.id:
                reserve = None
                cancelled.append(rec.id)
            continue
        if main is None or rec.term_days is None:
            if main is not None:
                retired.append(main.id)
            if reserve is not None:
                # A new main made Immediately supersedes the pending reserve.
                cancelled.append(reserve.id)
                reserve = None
            main = rec
        else:
            if reserve is not None:
                cancelled.append(reserve.id)
            reserve = rec
    settle(at)

    switch_at = switch_time(reserve, main) if reserve is not None else None
    state: OverallState
    left: int | None = None
    if main is None:
        state = "no-certificate"
    else:
        left = days_left(main.not_after, at)
        if at > main.not_after:
            state = "expired"
        elif reserve is None and left <= EXPIRY_WATCH_DAYS:
            state = "expiring"
        else:
            state = "ok"
    return EffectiveState(
        at=at,
        main_id=main.id if main else None,
        reserve_id=reserve.id if reserve else None,
        switch_at=switch_at,
        retired_ids=tuple(retired),
        cancelled_ids=tuple(cancelled),
        switches=tuple(switches),
        state=state,
        main_days_left=left,
    )


# --- activation-term rules (DESIGN §5) -------------------------------------------------

TermSeverity = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class TermIssue:
    """One verdict on an activation term. ``code`` is stable for tests and scripts."""

    code: str
    severity: TermSeverity
    message: str


@dataclass(frozen=True)
class SyncPeriod:
    """The longest synchronization period among the groups that hold devices."""

    period: timedelta
    group: str | None = None


def format_period(period: timedelta) -> str:
    hours = period.total_seconds() / 3600
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day" + ("s" if days != 1 else "")
    text = f"{hours:g}"
    return f"{text} hour" + ("s" if hours != 1 else "")


def check_term(
    term_days: int | None,
    *,
    at: datetime,
    sync: SyncPeriod,
    mobile_devices: int,
    main_not_after: datetime | None,
) -> list[TermIssue]:
    """Verdicts on an activation term given at ``at``.

    ``term_days`` is ``None`` for *Immediately*. Errors block the action; a
    warning is shown; the ``immediate-with-devices`` warning also requires an
    explicit confirmation (default No in the GUI, ``--yes`` on the CLI).
    """
    issues: list[TermIssue] = []
    if term_days is None:
        if mobile_devices > 0:
            issues.append(
                TermIssue(
                    "immediate-with-devices",
                    "warning",
                    f"{mobile_devices} managed mobile device"
                    + ("s are" if mobile_devices != 1 else " is")
                    + " connected: with Immediately the connection with all managed devices "
                    "will be lost, since the new certificate is not delivered to them and the "
                    "previous certificate stops being valid. Use a delayed activation term.",
                )
            )
        return issues
    if not MIN_TERM_DAYS <= term_days <= MAX_TERM_DAYS:
        issues.append(
            TermIssue(
                "term-out-of-range",
                "error",
                f"The activation term must be a whole number of days from {MIN_TERM_DAYS} "
                f"to {MAX_TERM_DAYS}; {term_days} is not.",
            )
        )
        return issues
    term = timedelta(days=term_days)
    if term <= sync.period:
        where = f" of group '{sync.group}'" if sync.group else ""
        issues.append(
            TermIssue(
                "term-not-above-sync",
                "error",
                f"The activation term ({term_days} day" + ("s" if term_days != 1 else "")
                + f") must be greater than the device synchronization period{where} "
                f"({format_period(sync.period)}), or devices will not receive the "
                "certificate in time.",
            )
        )
    if term_days < RECOMMENDED_TERM_DAYS:
        issues.append(
            TermIssue(
                "term-below-recommended",
                "warning",
                f"An activation term of at least {RECOMMENDED_TERM_DAYS} days is recommended "
                f"so that all devices have time to receive the certificate; {term_days} "
                "day" + ("s" if term_days != 1 else "") + " given.",
            )
        )
    if main_not_after is not None:
        planned = at + term
        if main_not_after < planned:
            if main_not_after <= at:
                issues.append(
                    TermIssue(
                        "main-already-expired",
                        "notice",
                        "The current certificate has already expired, so the new certificate "
                        "becomes the main certificate at once.",
                    )
                )
            else:
                issues.append(
                    TermIssue(
                        "main-expires-first",
                        "notice",
                        "The current certificate expires before the activation term ends, so "
                        "the new certificate becomes the main certificate when it expires, at "
                        f"{main_not_after:%Y-%m-%d %H:%M:%S} UTC "
                        f"({days_left(main_not_after, at)} days from now).",
                    )
                )
    return issues


def blocking(issues: Sequence[TermIssue]) -> list[TermIssue]:
    return [i for i in issues if i.severity == "error"]
