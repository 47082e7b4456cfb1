"""`kscert` sub-commands: devices, groups and simulate (DESIGN §9).

- ``kscert devices add NAME --group GROUP --platform P [--last-sync ISO] [--create-group]``
- ``kscert devices import FILE.csv [--skip-bad-rows]``
- ``kscert devices list [--state S] [--group GROUP]``
- ``kscert groups list`` and ``kscert groups set-sync GROUP (--hours H | --inherit)``
- ``kscert simulate advance (--days D | --hours H)`` (training stores only)
- ``kscert simulate reinstall [NAME...] [--lost]`` (training stores only)

Each takes ``--json``. A bad CSV prints every bad row with its line number (and in JSON
the whole report) and exits 1, an unreadable file exits 2.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from kscert_gui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    counted,
    emit,
    file_arg,
    finish_subparsers,
    open_server,
    parse_whole,
    printable,
    text_arg,
    wants_json,
)
from kscert_gui.model.clock import iso, parse_instant
from kscert_gui.model.connection import DEVICE_STATES
from kscert_gui.model.errors import UsageError
from kscert_gui.model.fleet import (
    MAX_SYNC_HOURS,
    MIN_SYNC_HOURS,
    PLATFORMS,
    canonical_platform,
)

if TYPE_CHECKING:
    from kscert_gui.cli.common import SubParsers
    from kscert_gui.services.views import DeviceImportReport

MAX_ADVANCE_DAYS = 400


def _platform(text: str) -> str:
    value = canonical_platform(text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"unknown platform '{text}'; use one of {', '.join(PLATFORMS)}"
        )
    return value


_DECIMAL = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


def _hours(text: str) -> float:
    # float() alone also takes "1_2" and digits of other scripts; "inf" and "nan" are
    # refused as out of range below.
    special = text.strip().lower().lstrip("+-") in ("inf", "infinity", "nan")
    if not (special or _DECIMAL.fullmatch(text)) or len(text) > 100:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of hours")
    value = float(text)
    if not math.isfinite(value) or not MIN_SYNC_HOURS <= value <= MAX_SYNC_HOURS:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: a synchronization period is 1 minute "
            f"({MIN_SYNC_HOURS:.4f} hours) to {MAX_SYNC_HOURS:g} hours"
        )
    return value


def _whole(unit: str, maximum: int) -> Callable[[str], int]:
    """An argument type for a whole number of ``unit``, 1 to ``maximum``."""

    def parse(text: str) -> int:
        value = parse_whole(text)
        if value is None:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of {unit}")
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{value} is out of range: 1 to {maximum} {unit}")
        return value

    return parse


def register(sub: SubParsers) -> None:
    """Add this module's sub-parsers to the `kscert` sub-parser group ``sub``."""
    devices = sub.add_parser("devices", help="managed devices: add, import, list")
    dsub = devices.add_subparsers(dest="devices_command", required=True,
                                  parser_class=type(devices))

    p = dsub.add_parser("add", help="add a device by hand")
    p.add_argument("name", metavar="NAME", type=text_arg("device name"))
    p.add_argument("--group", required=True, metavar="GROUP", type=text_arg("group"),
                   help="group name or path, e.g. 'Field staff' or 'Managed devices/Field staff'")
    p.add_argument("--platform", required=True, type=_platform, metavar="P",
                   help=f"one of {', '.join(PLATFORMS)}")
    p.add_argument("--last-sync", metavar="ISO8601", help="its last synchronization (UTC)")
    p.add_argument("--create-group", action="store_true", help="create the group if missing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices_add)

    p = dsub.add_parser("import", help="import devices from a CSV file")
    p.add_argument("file", type=file_arg, metavar="FILE.csv")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="import the good rows and report the bad ones (default: import nothing "
                        "if any row is bad)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices_import)

    p = dsub.add_parser("list", help="devices, their connection and the cut-over forecast")
    p.add_argument("--state", choices=DEVICE_STATES, metavar="S",
                   help=f"only devices in this state: {', '.join(DEVICE_STATES)}")
    p.add_argument("--group", metavar="GROUP", type=text_arg("group"),
                   help="only devices of this group")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices_list)

    groups = sub.add_parser("groups", help="groups of managed devices")
    gsub = groups.add_subparsers(dest="groups_command", required=True,
                                 parser_class=type(groups))
    p = gsub.add_parser("list", help="groups and their synchronization periods")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_groups_list)
    p = gsub.add_parser("set-sync", help="set a group's synchronization period")
    p.add_argument("group", metavar="GROUP", type=text_arg("group"))
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--hours", type=_hours, metavar="H")
    period.add_argument("--inherit", action="store_true",
                        help="use the parent group's period again")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_groups_set_sync)

    simulate = sub.add_parser("simulate", help="move a training store's clock")
    ssub = simulate.add_subparsers(dest="simulate_command", required=True,
                                   parser_class=type(simulate))
    p = ssub.add_parser("advance", help="advance the simulation clock; devices synchronize")
    step = p.add_mutually_exclusive_group(required=True)
    step.add_argument("--days", type=_whole("days", MAX_ADVANCE_DAYS), metavar="D")
    step.add_argument("--hours", type=_whole("hours", MAX_ADVANCE_DAYS * 24), metavar="H")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate_advance)
    p = ssub.add_parser("reinstall", help="reinstall the agent: re-enroll devices now")
    p.add_argument("names", nargs="*", metavar="NAME", type=text_arg("device name"))
    p.add_argument("--lost", action="store_true", help="every device whose connection is lost")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_simulate_reinstall)
    for action in (dsub, gsub, ssub):
        finish_subparsers(action)


# --- commands -----------------------------------------------------------------------------


def cmd_devices_add(args: argparse.Namespace) -> int:
    last = parse_instant(args.last_sync) if args.last_sync else None
    with open_server(args, writable=True) as server:
        view = server.fleet.add_device(args.name, args.group, args.platform, last,
                                 create_group=args.create_group)
    emit(args, {"device": view.to_json()},
         [f"Added {view.name} ({view.platform}) to {view.group}"])
    return EXIT_OK


def cmd_devices_import(args: argparse.Namespace) -> int:
    from kscert_gui.services.fleet_service import DeviceImportError

    report: DeviceImportReport
    with open_server(args, writable=True) as server:
        try:
            report = server.fleet.import_devices(args.file, skip_bad_rows=args.skip_bad_rows)
        except DeviceImportError as err:
            report = err.report
            for e in report.errors:
                sys.stderr.write(f"kscert: {printable(f'{args.file}: {e}')}\n")
            if report.error_count > len(report.errors):
                sys.stderr.write(f"kscert: … and {report.error_count - len(report.errors)} "
                                 "more bad rows\n")
            bad = counted(report.error_count, "bad row")
            sys.stderr.write(f"kscert: error: {bad}; nothing was imported (--skip-bad-rows "
                             "imports the good ones)\n")
            emit(args, report.to_json(), [])
            return EXIT_ERROR
    for e in report.errors:
        sys.stderr.write(f"kscert: warning: {printable(f'{args.file}: {e}')} (skipped)\n")
    emit(
        args,
        report.to_json(),
        [f"Imported {counted(report.rows, 'device')} from {args.file}: {report.added} added, "
         f"{report.updated} updated, {counted(report.groups_created, 'group')} created"
         + (f", {counted(report.error_count, 'bad row')} skipped" if report.error_count else "")],
    )
    return EXIT_OK


def cmd_devices_list(args: argparse.Namespace) -> int:
    from kscert_gui.services.fleet_service import state_label, summarize

    with open_server(args, writable=False) as server:
        table = server.fleet.device_table()
        group_ids: set[int] | None = None
        if args.group:
            root = server.fleet.find_group(args.group).id
            prefix = table.paths[root]
            group_ids = {gid for gid, path in table.paths.items()
                         if path == prefix or path.startswith(prefix + "/")}
    rows = [i for i in table.rows_in_state(args.state)
            if group_ids is None or table.group_ids[i] in group_ids]
    window = table.window
    summary = summarize(table)
    data: dict[str, object] = {
        "at": iso(table.at),
        "reserve": None if window is None else {
            "certificate_id": window.certificate_id,
            "created_at": iso(window.created_at),
            "switch_at": iso(window.switch_at),
        },
        "fleet": summary.to_json(),
        "devices": [table.view(i).to_json() for i in rows],
    }
    text: list[str | tuple[str, ...]] = []
    for i in rows:
        last = table.last_sync[i] or "never"
        view = table.view(i)
        state = state_label(view.connection)
        if view.forecast is not None:
            state += f", {state_label(view.forecast)}"
        text.append((table.names[i], table.paths[table.group_ids[i]], table.platforms[i],
                     last, state, view.reason))
    if not wants_json(args):
        sys.stdout.write(f"{counted(len(rows), 'device')}\n")
    emit(args, data, text)
    return EXIT_OK


def cmd_groups_list(args: argparse.Namespace) -> int:
    with open_server(args, writable=False) as server:
        groups = server.fleet.group_settings()
    emit(
        args,
        {"groups": [g.to_json() for g in groups]},
        [(g.path, f"{g.effective_hours:g} h" + (" (inherited)" if g.sync_hours is None else ""),
          counted(g.devices, "device")) for g in groups],
    )
    return EXIT_OK


def cmd_groups_set_sync(args: argparse.Namespace) -> int:
    hours: float | None = None if args.inherit else args.hours
    with open_server(args, writable=True) as server:
        settings = server.fleet.set_group_sync(args.group, hours)
    how = "inherited" if settings.sync_hours is None else "own setting"
    emit(args, {"group": settings.to_json()},
         [f"{settings.path}: synchronization every {settings.effective_hours:g} hours "
          f"({how})"])
    return EXIT_OK


def cmd_simulate_advance(args: argparse.Namespace) -> int:
    delta = timedelta(days=args.days) if args.days is not None else timedelta(hours=args.hours)
    with open_server(args, writable=True) as server:
        report = server.fleet.simulate_advance(delta)
        status = server.status()
    c = report.summary.counts
    text = [f"Simulation clock: {iso(report.start)} → {iso(report.end)}",
            f"{counted(report.synchronized, 'device')} synchronized; "
            f"{report.newly_delivered} received the reserve certificate"]
    if report.switched_at:
        text.append(f"The reserve certificate became the main certificate at "
                    f"{iso(report.switched_at)}")
    text.append(f"{c.devices} mobile devices: {c.connected} connected, {c.blocked} blocked, "
                f"{c.lost} lost")
    text += [printable(f"WARNING [{w.code}]: {w.message}") for w in status.warnings]
    data = report.to_json()
    data["status"] = status.to_json()
    emit(args, data, text)
    return EXIT_OK


def cmd_simulate_reinstall(args: argparse.Namespace) -> int:
    if not args.names and not args.lost:
        raise UsageError("name the devices to re-enroll, or give --lost")
    with open_server(args, writable=True) as server:
        report = server.fleet.reinstall_agent(args.names, lost=args.lost)
    text = [f"Reinstalled the agent on {counted(len(report.names), 'device')} at {iso(report.at)}"]
    text += [printable(n) for n in report.names[:20]]
    if len(report.names) > 20:
        text.append(f"… and {len(report.names) - 20} more")
    emit(args, report.to_json(), text)
    return EXIT_OK
