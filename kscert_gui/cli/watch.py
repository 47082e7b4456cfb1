"""`kscert watch ...`: the watch list of DESIGN §13.

``add / remove / list / check / run / set-thresholds``. Bad input (a malformed
HOST:PORT, a port 0 or 65536, an endpoint already watched, a label with control
characters) exits 2 and leaves the store as it was: the arguments are checked before
the store is opened.

``watch check`` exits 0 when every endpoint served a certificate that is valid
(``expiring`` is a warning), 1 when one is unreachable, expired or not yet valid.
``watch run`` checks every ``--interval`` seconds until SIGINT/SIGTERM, holding the
store only while a check records its results, so other commands can change it between.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from kscert_gui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    counted,
    emit,
    finish_subparsers,
    open_server,
    parse_whole,
    printable,
    timeout_arg,
)

if TYPE_CHECKING:
    from kscert_gui.cli.common import SubParsers
    from kscert_gui.services.watch import WatchCheck, WatchedEndpoint


def _interval(text: str) -> int:
    from kscert_gui.services.watch import MAX_INTERVAL, MIN_INTERVAL

    value = parse_whole(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of seconds")
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range: {MIN_INTERVAL} to {MAX_INTERVAL} seconds")
    return value


def _thresholds(text: str) -> tuple[int, ...]:
    from kscert_gui.model.errors import UsageError
    from kscert_gui.model.watch import parse_thresholds

    try:
        return parse_thresholds(text)
    except UsageError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def register(sub: SubParsers) -> None:
    """Add ``watch`` and its sub-commands to the `kscert` sub-parser group ``sub``."""
    watch = sub.add_parser("watch", help="watch what real servers and gateways serve")
    cmds = watch.add_subparsers(dest="watch_command", required=True,
                                parser_class=type(watch))

    p = cmds.add_parser("add", help="watch an endpoint HOST:PORT")
    p.add_argument("endpoint", metavar="HOST:PORT", help="HOST:PORT or [IPV6]:PORT")
    p.add_argument("--name", metavar="LABEL", help="a label for the endpoint")
    p.add_argument("--servername", metavar="NAME", help="SNI name (default: the host name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)

    p = cmds.add_parser("remove", help="stop watching an endpoint")
    p.add_argument("endpoint", metavar="HOST:PORT")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = cmds.add_parser("list", help="the watched endpoints and their last results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = cmds.add_parser("check", help="probe every watched endpoint now")
    p.add_argument("--timeout", type=timeout_arg, default=5.0, metavar="SECONDS",
                   help="give up on an endpoint after this many seconds (default 5)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = cmds.add_parser("run", help="check every interval until SIGINT/SIGTERM")
    p.add_argument("--interval", type=_interval, default=None, metavar="SECONDS",
                   help="seconds between checks (default: the store's, else 3600)")
    p.add_argument("--timeout", type=timeout_arg, default=5.0, metavar="SECONDS")
    p.set_defaults(func=cmd_run)

    p = cmds.add_parser("set-thresholds", help="the reminder thresholds in days (30,14,7,1)")
    p.add_argument("thresholds", type=_thresholds, metavar="DAYS,DAYS,...")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_set_thresholds)
    finish_subparsers(cmds)


# --- text ---------------------------------------------------------------------------------


def _state_text(entry: WatchedEndpoint) -> str:
    return entry.state or "not checked"


def _line(entry: WatchedEndpoint) -> str:
    from kscert_gui.model.clock import iso

    parts = [printable(entry.title), _state_text(entry)]
    if entry.not_after is not None:
        parts.append(f"valid to {iso(entry.not_after)} ({entry.days_left} days left)")
    if entry.matches is not None:
        parts.append(f"the store's {entry.matches} certificate")
    elif entry.sha256 is not None:
        parts.append("neither the store's main nor reserve certificate")
    if entry.error:
        parts.append(printable(entry.error))
    return " — ".join(parts)


def _check_text(result: WatchCheck) -> list[str]:
    lines = [_line(e) for e in result.results]
    lines += [f"Reminder: {printable(c.message)}" for c in result.crossings]
    lines.append(f"Checked {counted(len(result.results), 'endpoint')} in {result.seconds:.2f} s; "
                 f"{result.unreachable} unreachable.")
    return lines


def _check_json(result: WatchCheck) -> dict[str, object]:
    from kscert_gui.model.clock import iso

    return {
        "at": iso(result.at),
        "endpoints": [e.detail_json() for e in result.results],
        "crossings": [
            {"endpoint": c.endpoint.endpoint, "threshold": c.threshold,
             "days_left": c.endpoint.days_left, "message": c.message}
            for c in result.crossings
        ],
        "seconds": round(result.seconds, 3),
    }


def _failed(result: WatchCheck) -> bool:
    return any(e.state in ("unreachable", "expired", "not-yet-valid") for e in result.results)


# --- commands -----------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    from kscert_gui.services.watch import new_endpoint, watch_list

    new_endpoint(args.endpoint, args.name, args.servername)  # before the store is opened
    with open_server(args, writable=True) as server:
        entry = watch_list(server).add(args.endpoint, args.name, args.servername)
    emit(args, {"endpoint": entry.to_json()}, [f"Watching {printable(entry.title)}."])
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    from kscert_gui.model.watch import endpoint_text
    from kscert_gui.services.watch import parse_watch_endpoint, watch_list

    host, port = parse_watch_endpoint(args.endpoint)
    with open_server(args, writable=True) as server:
        watch_list(server).remove(args.endpoint)
    where = endpoint_text(host, port)
    emit(args, {"removed": where}, [f"No longer watching {printable(where)}."])
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from kscert_gui.services.watch import watch_list

    with open_server(args, writable=False) as server:
        entries = watch_list(server).entries()
    text = [_line(e) for e in entries] or ["No endpoints are watched (kscert watch add)."]
    emit(args, {"endpoints": [e.to_json() for e in entries]}, text)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from kscert_gui.services.watch import watch_list

    with open_server(args, writable=True) as server:
        result = watch_list(server).check(timeout=args.timeout)
    emit(args, _check_json(result), _check_text(result))
    return EXIT_ERROR if _failed(result) else EXIT_OK


def cmd_set_thresholds(args: argparse.Namespace) -> int:
    from kscert_gui.model.watch import format_thresholds
    from kscert_gui.services.watch import watch_list

    with open_server(args, writable=True) as server:
        values = watch_list(server).set_thresholds(args.thresholds)
    emit(args, {"thresholds": list(values)},
         [f"Reminder thresholds: {format_thresholds(values)} days."])
    return EXIT_OK


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_run(args: argparse.Namespace) -> int:
    from kscert_gui.model.errors import KscertError
    from kscert_gui.services.watch import watch_list

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_server(args, writable=False) as server:
            interval: int = args.interval or watch_list(server).interval()
        _say(f"Checking every {interval} s; stop with Ctrl+C or SIGTERM.")
        while not stop.is_set():
            try:
                # The store is held only while one check runs and records.
                with open_server(args, writable=True) as server:
                    result = watch_list(server).check(timeout=args.timeout)
            except KscertError as err:
                _say(f"kscert: this check was not recorded: {printable(err.message)}")
            else:
                for line in _check_text(result):
                    _say(line)
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say("Stopped.")
    return EXIT_OK
