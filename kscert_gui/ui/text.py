"""How the console writes instants, day counts and certificate states (no widgets here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kscert_gui.model.clock import ensure_utc
from kscert_gui.model.schedule import EXPIRY_WATCH_DAYS
from kscert_gui.services.views import ServerStatus

ALERT_COLOR = "#b3261e"
WARNING_COLOR = "#8a5a00"
OK_COLOR = "#1e6b2f"
NOTICE_COLOR = "#1f4e8c"

SEVERITY_COLORS = {"error": ALERT_COLOR, "warning": WARNING_COLOR, "notice": NOTICE_COLOR}


def instant(value: datetime) -> str:
    """'2026-12-31 23:59:59 UTC'."""
    return ensure_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def date(value: datetime) -> str:
    return ensure_utc(value).strftime("%Y-%m-%d")


def days(n: int) -> str:
    return f"{n} day" + ("" if n == 1 else "s")


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


def cutover(status: ServerStatus) -> Expiry:
    """DESIGN §6.1 next: how many devices lose the connection at the cut-over, and when."""
    f = status.fleet
    if f.cutover_at is None:
        return Expiry("—", False)
    when = instant(f.cutover_at)
    lose = f.lose_at_cutover
    if f.cutover == "expiry":
        return Expiry(f"No reserve certificate is specified: all {thousands(lose)} devices "
                      f"lose the connection when the main certificate expires at {when}",
                      bool(lose))
    if not lose:
        return Expiry(f"Every device holds the reserve certificate before the switch at {when}",
                      False)
    return Expiry(f"{thousands(lose)} devices lose the connection at the switch at {when} "
                  "unless they synchronize before", f.at_risk > 0)


def thousands(n: int) -> str:
    """1 250 with a no-break space, as the design writes counts."""
    return f"{n:,}".replace(",", "\u00a0")
