"""Watched endpoints (DESIGN §13): the rules, without I/O or a clock.

What a probe's result means (:func:`judge`), the reminder thresholds
(:func:`parse_thresholds`), the label rule (:func:`label_problem`), and when an
endpoint crosses a threshold (:func:`crossed_threshold`). The service
(services/watch.py) probes, stores and calls these; the CLI and the GUI show what it
returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal, get_args

from kscert_gui.model.errors import UsageError

WatchState = Literal["ok", "expiring", "expired", "not-yet-valid", "unreachable"]
WATCH_STATES: tuple[str, ...] = get_args(WatchState)

Match = Literal["main", "reserve"]

#: Reminder thresholds in days (DESIGN §13: 30, 14, 7 and 1 unless set).
DEFAULT_THRESHOLDS: tuple[int, ...] = (30, 14, 7, 1)
#: A threshold is 1 to this many days (ten years: longer than any certificate's life).
MAX_THRESHOLD_DAYS = 3650
MAX_THRESHOLDS = 10
#: The last this many results of each endpoint are kept.
KEEP_RESULTS = 100
#: A label is at most this many characters.
MAX_LABEL = 200


def days_left(not_after: datetime, at: datetime) -> int:
    """Whole days until ``not_after`` (negative once expired): as CertificateInfo counts."""
    return int((not_after - at).total_seconds() // 86400)


def judge(
    not_before: datetime | None,
    not_after: datetime | None,
    at: datetime,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
) -> WatchState:
    """The state of a served leaf at ``at``; no leaf (None) is ``unreachable``.

    ``expiring`` when the days left are at most the largest threshold; ``expired`` from
    the ``not_after`` second on (X.509 validity includes that second: RFC 5280 4.1.2.5,
    so a certificate is expired only after it).
    """
    if not_before is None or not_after is None:
        return "unreachable"
    if at > not_after:
        return "expired"
    if at < not_before:
        return "not-yet-valid"
    if thresholds and days_left(not_after, at) <= max(thresholds):
        return "expiring"
    return "ok"


def parse_thresholds(text: str) -> tuple[int, ...]:
    """``30,14,7,1`` → (30, 14, 7, 1): whole days 1 to 3650, largest first, no repeats.

    Raises:
        UsageError: empty, not whole numbers, out of range, repeated, or too many.
    """
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise UsageError(
            f"'{text}' is not a list of thresholds: give whole days separated by commas, "
            "for example 30,14,7,1."
        )
    values: list[int] = []
    for part in parts:
        if not (part.isascii() and part.isdigit()) or len(part) > 6:
            raise UsageError(f"The threshold '{part}' is not a whole number of days.")
        value = int(part, 10)
        if not 1 <= value <= MAX_THRESHOLD_DAYS:
            raise UsageError(
                f"The threshold {value} is out of range: 1 to {MAX_THRESHOLD_DAYS} days.")
        if value in values:
            raise UsageError(f"The threshold {value} is given twice.")
        values.append(value)
    if len(values) > MAX_THRESHOLDS:
        raise UsageError(f"Give at most {MAX_THRESHOLDS} thresholds.")
    return tuple(sorted(values, reverse=True))


def format_thresholds(values: Iterable[int]) -> str:
    return ",".join(str(v) for v in values)


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot name an endpoint (control characters, too long), or None."""
    if not label.strip():
        return "the label is empty"
    if any(not ch.isprintable() for ch in label):
        return "the label holds control characters"
    if len(label) > MAX_LABEL:
        return f"the label is longer than {MAX_LABEL} characters"
    return None


def crossed_threshold(
    previous_days: int | None, days: int | None, thresholds: Sequence[int]
) -> int | None:
    """The threshold an endpoint crossed from ``previous_days`` to ``days``, or None.

    Crossing ``t`` means going from more than ``t`` days left (or no earlier reading) to
    ``t`` or fewer; when one check passes several, the smallest is the one to tell (a
    first check at 10 days left says 14, not 30). A renewed certificate (more days again)
    can cross them again later: each threshold is told once per approach.
    """
    if days is None:
        return None
    passed = [t for t in thresholds if days <= t and (previous_days is None or previous_days > t)]
    return min(passed) if passed else None


def endpoint_text(host: str, port: int) -> str:
    """``host:port``; an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
