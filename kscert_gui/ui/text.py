"""How the console writes instants, day counts and certificate states (no widgets here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.schedule import EXPIRY_WATCH_DAYS
from kscert_gui.services.views import ServerStatus

ALERT_COLOR = "#b3261e"
WARNING_COLOR = "#8a5a00"
OK_COLOR = "#1e6b2f"
NOTICE_COLOR = "#1f4e8c"

SEVERITY_COLORS = {"error": ALERT_COLOR, "warning": WARNING_COLOR, "notice": NOTICE_COLOR}


def _local(value: datetime) -> datetime:
    return ensure_utc(value).astimezone()


def offset(value: datetime) -> str:
    """The local zone's offset at ``value``: '+01:00'."""
    z = _local(value).strftime("%z")  # '+0100'
    return f"{z[:3]}:{z[3:]}" if len(z) == 5 else z


def instant(value: datetime) -> str:
    """In windows: local time with the zone's offset, '2026-12-31 23:59:59 +01:00'."""
    return f"{_local(value).strftime('%Y-%m-%d %H:%M:%S')} {offset(value)}"


def instant_utc(value: datetime) -> str:
    """For tooltips (the CLI and JSON write ISO 8601 UTC): '2026-12-31 22:59:59 UTC'."""
    return ensure_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def date(value: datetime) -> str:
    """The local date, '2026-12-31'."""
    return _local(value).strftime("%Y-%m-%d")


def days(n: int) -> str:
    """'1 day', '2 days', '1 250 days'."""
    return f"{thousands(n)} day" + ("" if n == 1 else "s")


def count(n: int, word: str) -> str:
    """'1 device', '1 250 devices' (the plural adds an s)."""
    return f"{thousands(n)} {word}" + ("" if n == 1 else "s")


_ISO_INSTANT = re.compile(r"\b(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|\+00:00)")
_UTC_INSTANT = re.compile(r"\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC\b")
_BIG_COUNT = re.compile(r"(?<![\d.:/#\w-])(\d{4,})(?= (?:devices?|of|managed|mobile|lost|"
                        r"blocked|synchronized|at risk|connected)\b)")


def localize(message: str) -> str:
    """A message of the model or the services (written for the command line: ISO 8601 UTC
    instants, plain counts) in the windows' style: local time with its offset, counts of
    devices with a thin space every three digits."""
    out = _ISO_INSTANT.sub(
        lambda m: instant(datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}+00:00")), message)
    out = _UTC_INSTANT.sub(
        lambda m: instant(datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}+00:00")), out)
    return _BIG_COUNT.sub(lambda m: thousands(int(m.group(1))), out)


@dataclass(frozen=True)
class Expiry:
    """The days-left line of the main certificate and whether it must be shown in colour."""

    text: str
    alert: bool


def main_expiry(status: ServerStatus) -> Expiry:
    """DESIGN §5 expiry watch: ≤ 30 days and no reserve → colour; expired spelt out."""
    if status.main is None:
        return Expiry(
            "No certificate: the connection with devices needs a new certificate", True
        )
    left = status.main.info.days_left(status.at)
    if status.state == "expired" or status.at > status.main.info.not_after:
        return Expiry(
            f"Expired on {instant(status.main.info.not_after)} — connection with devices "
            "lost; specify a new "
            "certificate and reinstall the endpoint agent on each device",
            True,
        )
    if status.reserve is None and left <= EXPIRY_WATCH_DAYS:
        return Expiry(f"{days(left)} left and no reserve certificate is specified", True)
    if status.reserve is not None:
        return Expiry(f"{days(left)} left (a reserve certificate is pending)", False)
    return Expiry(f"{days(left)} left", False)


def days_left(status: ServerStatus) -> Expiry:
    """The Certificates page's "Days left" row: the number and what it means, without
    repeating "days left" after the row's own caption."""
    line = main_expiry(status)
    if status.main is None or not line.text.endswith(("specified", "pending)", "left")):
        return line
    left = status.main.info.days_left(status.at)
    rest = line.text.removeprefix(f"{days(left)} left")
    return Expiry(f"{thousands(left)}{rest.replace(' and no', ' — no', 1)}", line.alert)


def delivery(status: ServerStatus) -> str:
    """'1 204 of 1 250 devices have the reserve certificate'."""
    return (
        f"{thousands(status.delivered)} of {thousands(status.devices)} devices have the "
        "reserve certificate"
    )


def connection(status: ServerStatus) -> Expiry:
    """DESIGN §6.1 now: how many devices cannot connect, in colour when any."""
    f = status.fleet
    if not f.devices:
        return Expiry("No managed mobile devices", False)
    if f.lost == f.devices:
        return Expiry(f"All {thousands(f.devices)} devices lost the connection: reinstall the "
                      "endpoint agent on each", True)
    parts = [f"{thousands(f.devices - f.lost - f.blocked)} of {thousands(f.devices)} devices "
             "connected"]
    if f.blocked:
        parts.append(f"{thousands(f.blocked)} blocked (reconnect the connection gateway)")
    if f.lost:
        parts.append(f"{thousands(f.lost)} lost the connection (reinstall the agent)")
    return Expiry(", ".join(parts), bool(f.lost or f.blocked))


class CutoverCounts(Protocol):
    """The §6.1 counts a cut-over sentence needs: the fleet's, or a group's."""

    @property
    def devices(self) -> int: ...
    @property
    def lost(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def expected(self) -> int: ...
    @property
    def at_risk(self) -> int: ...


def cutover(status: ServerStatus) -> Expiry:
    """DESIGN §6.1 next: how many devices lose the connection at the cut-over, and when."""
    f = status.fleet
    if f.cutover_at is None:
        return Expiry("—", False)
    return cutover_of(f.counts, f.cutover, f.cutover_at)


def cutover_of(c: CutoverCounts, kind: str | None, at: datetime) -> Expiry:
    """The cut-over in words, for the Certificates page and the delivery window alike:
    ``kind`` "expiry" (no reserve) or "switch", at ``at``, of the devices ``c`` counts."""
    when = instant(at)
    lose = c.devices - c.lost - c.delivered
    if kind == "expiry":
        if not lose:  # every device has lost the connection already (Immediately)
            return Expiry(f"No reserve certificate is specified; the main certificate expires "
                          f"at {when} (no device is connected to lose it)", False)
        return Expiry(f"No reserve certificate is specified: all {thousands(lose)} devices "
                      f"lose the connection when the main certificate expires at {when}",
                      True)
    if not lose:
        return Expiry(f"Every device holds the reserve certificate before the switch at {when}",
                      False)
    # The forecast's three parts: the ones still to receive it are not all at risk (most
    # synchronize in time). Of every device, as the Delivery line and the main window say.
    have = (f"Switch at {when}: {thousands(c.delivered)} of {thousands(c.devices)} devices "
            "have the reserve certificate")
    if c.expected:
        have += f", {thousands(c.expected)} are expected to receive it in time"
    if c.at_risk:
        return Expiry(f"{have}; {thousands(c.at_risk)} devices lose the connection at the "
                      "switch unless they synchronize before (at risk)", True)
    return Expiry(f"{have}; none is at risk", False)


_ORDINARY_FIRST_WORD = re.compile(r"(?:A|[A-Z][a-z]+)(?![\w.#-])")


def after_colon(sentence: str) -> str:
    """``sentence`` as it reads joined after a colon ("The file cannot be used: the file is
    …"): its first word in lower case when it is an ordinary capitalised word; a name or an
    abbreviation ("PKCS #12 …", "X.509 …") is kept as it is."""
    if _ORDINARY_FIRST_WORD.match(sentence):
        return sentence[0].lower() + sentence[1:]
    return sentence


def thousands(n: int) -> str:
    """1 250 with a no-break space, as the design writes counts."""
    return f"{n:,}".replace(",", "\u00a0")
