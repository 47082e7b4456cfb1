"""Time as a parameter: services take a Clock, model functions take ``at``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, timezone-aware UTC, whole seconds (X.509 has no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


class FixedClock:
    """A clock that stands still until told to move (tests, training stores)."""

    def __init__(self, at: datetime) -> None:
        self.at = ensure_utc(at)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at = self.at + delta


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant given by a person (``Z`` allowed; naive is UTC).

    Raises:
        UsageError: the text is not an ISO 8601 date or date-time.
    """
    from kscert_gui.model.errors import UsageError

    raw = text.strip()
    if not raw:
        raise UsageError(
            "The instant is empty: give an ISO 8601 instant (for example 2026-12-31T23:59:59Z)."
        )
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        # An offset can carry an instant past the year 1 or 9999 (0001-01-01T00:00+14:00).
        return ensure_utc(datetime.fromisoformat(raw))
    except (ValueError, OverflowError):
        raise UsageError(
            f"'{text}' is not an ISO 8601 instant (for example 2026-12-31T23:59:59Z)."
        ) from None


def iso(value: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, whole seconds.

    The year always has four digits (``strftime("%Y")`` writes the year 1 as "1", which
    is not ISO 8601 and which ``datetime.fromisoformat`` cannot read back).
    """
    v = ensure_utc(value)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T"
            f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z")
