"""`kscert` sub-commands: gateways and server (DESIGN §7, §9).

- ``kscert gateways add DEVICE --scope GROUP [--agent-port N] [--mobile-port N]``:
  a distribution point with the Connection gateway check box on;
- ``kscert gateways remove DEVICE --yes``: removal asks for confirmation;
- ``kscert gateways reconnect DEVICE``: remove + add + Connection gateway, as in the
  seed; the gateway then holds the main certificate;
- ``kscert gateways list [--json]``;
- ``kscert server set-version 14.2|15``.

A port that is not a whole number 1 to 65535 is a usage error (exit 2, like an
out-of-range ``--after-days``); two equal ports are refused by the facade (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kscert_gui.cli.common import EXIT_OK, emit, finish_subparsers, open_server, text_arg
from kscert_gui.model import gateways as rules
from kscert_gui.model.clock import iso
from kscert_gui.model.errors import KscertError, UsageError

if TYPE_CHECKING:
    from kscert_gui.cli.common import SubParsers
    from kscert_gui.services.views import DistributionPointView


def _port(text: str) -> int:
    try:
        return rules.parse_port(text)
    except KscertError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def register(sub: SubParsers) -> None:
    """Add this module's sub-parsers to the `kscert` sub-parser group ``sub``."""
    gw = sub.add_parser("gateways", help="distribution points and connection gateways")
    gsub = gw.add_subparsers(dest="gateways_command", required=True,
                             parser_class=type(gw))

    p = gsub.add_parser("add", help="add a distribution point acting as connection gateway")
    p.add_argument("device", metavar="DEVICE", type=text_arg("device name"),
                   help="the host (Windows, Linux or macOS)")
    p.add_argument("--scope", required=True, metavar="GROUP", type=text_arg("scope group"),
                   help="distribution point scope: a group name or path")
    p.add_argument("--agent-port", type=_port, default=rules.DEFAULT_AGENT_PORT, metavar="N",
                   help=f"port for Network Agents (default {rules.DEFAULT_AGENT_PORT})")
    p.add_argument("--mobile-port", type=_port, default=rules.DEFAULT_MOBILE_PORT,
                   metavar="N",
                   help="port for connecting mobile devices "
                        f"(default {rules.DEFAULT_MOBILE_PORT})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gateways_add)

    p = gsub.add_parser("remove", help="disable a host as a distribution point (needs --yes)")
    p.add_argument("device", metavar="DEVICE", type=text_arg("device name"))
    p.add_argument("--yes", action="store_true", help="confirm the removal")
    p.set_defaults(func=cmd_gateways_remove)

    p = gsub.add_parser("reconnect",
                        help="remove and add the gateway again: it receives the main "
                             "certificate")
    p.add_argument("device", metavar="DEVICE", type=text_arg("device name"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gateways_reconnect)

    p = gsub.add_parser("list", help="connection gateways and the certificate each holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gateways_list)

    srv = sub.add_parser("server", help="Administration Server settings")
    ssub = srv.add_subparsers(dest="server_command", required=True, parser_class=type(srv))
    p = ssub.add_parser("set-version",
                        help="14.2: an activated reserve certificate does not reach connection "
                             "gateways until they are reconnected; 15: delivered automatically")
    p.add_argument("version", choices=rules.SERVER_VERSIONS)
    p.set_defaults(func=cmd_server_set_version)
    finish_subparsers(gsub)
    finish_subparsers(ssub)


# --- output -------------------------------------------------------------------------------


def _line(view: DistributionPointView) -> str:
    held = view.held
    if not view.gateway:
        cert = "not a connection gateway"
    elif held is None:
        cert = "no certificate"
    else:
        verdict = "matches main" if view.matches_main else "STALE: differs from main"
        cert = f"{held.info.sha256} valid to {iso(held.info.not_after)} ({verdict})"
    return (
        f"{view.host}  scope {view.scope}  Network Agents port {view.agent_port}  "
        f"mobile devices port {view.mobile_port}  {cert}"
    )


def _stale_note(view: DistributionPointView) -> list[str]:
    return [f"WARNING [gateway-stale]: {rules.stale_message(view.host)}"] if view.stale else []


# --- commands -----------------------------------------------------------------------------


def cmd_gateways_add(args: argparse.Namespace) -> int:
    with open_server(args, writable=True) as server:
        view = server.points.add_gateway(args.device, args.scope, agent_port=args.agent_port,
                                  mobile_port=args.mobile_port)
    text = [f"Added connection gateway: {_line(view)}"]
    for w in _stale_note(view):
        text.append(w)
    emit(args, {"gateway": view.to_json()}, text)
    return EXIT_OK


def cmd_gateways_remove(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError(
            f"Removing {args.device} disables it as a distribution point; confirm with --yes."
        )
    with open_server(args, writable=True) as server:
        view = server.points.remove_distribution_point(args.device, confirmed=True)
    sys.stdout.write(f"Removed distribution point {view.host} (scope {view.scope}).\n")
    return EXIT_OK


def cmd_gateways_reconnect(args: argparse.Namespace) -> int:
    with open_server(args, writable=True) as server:
        view = server.points.reconnect_gateway(args.device)
    emit(args, {"gateway": view.to_json()},
         [f"Reconnected connection gateway: {_line(view)}"])
    return EXIT_OK


def cmd_gateways_list(args: argparse.Namespace) -> int:
    with open_server(args, writable=False) as server:
        version = server.server_version()
        views = server.points.gateways()
        st = server.status()
    data = {
        "at": iso(st.at),
        "server_version": version,
        "main_sha256": st.main.info.sha256 if st.main else None,
        "gateways": [v.to_json() for v in views],
    }
    text = [f"Server version {version}; {len(views)} connection gateway"
            + ("" if len(views) == 1 else "s")]
    text += [_line(v) for v in views]
    for v in views:
        text += _stale_note(v)
    emit(args, data, text)
    return EXIT_OK


def cmd_server_set_version(args: argparse.Namespace) -> int:
    with open_server(args, writable=True) as server:
        previous = server.points.set_server_version(args.version)
    if previous == args.version:
        sys.stdout.write(f"The server version is already {args.version}.\n")
    else:
        sys.stdout.write(f"Server version set to {args.version} (was {previous}).\n")
    return EXIT_OK
