"""`kscert` sub-commands: serve and check (DESIGN §9).

``kscert serve [--bind ADDR] [--server-port N]`` runs the TLS endpoints until
SIGINT/SIGTERM (exit 0). It opens the store read-only, so every other command
can still change it; the endpoints follow those changes (see services/tls.py).
A training store's clock is its simulation clock (meta ``sim_now``): moving it
past a switch time makes a running ``serve`` switch, which is how the tests
rehearse a switch without waiting for it.

``kscert check HOST:PORT [--servername NAME] [--json]`` connects with TLS and
reports what is served. Exit 0 when a certificate was served (whether it matches
or not), 1 when no TLS session came about, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import TYPE_CHECKING

from kscert_gui import startup
from kscert_gui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    emit,
    one_line,
    secret_store,
    store_home,
    timeout_arg,
    wants_json,
)
from kscert_gui.model.errors import StoreError, UsageError

if TYPE_CHECKING:
    from kscert_gui.cli.common import SubParsers
    from kscert_gui.services.tls import TlsServer

#: ``check``: no TLS session came about.
EXIT_TLS_FAILURE = EXIT_ERROR


def _port(text: str) -> int:
    from kscert_gui.services.tls import parse_port

    try:
        return parse_port(text)
    except UsageError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def _bind(text: str) -> str:
    """The address ``serve`` listens on: an IP address or a host name of this machine."""
    import ipaddress

    from kscert_gui.services.tls import host_problem

    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]  # [::1], as in HOST:PORT
    if not raw:
        raise argparse.ArgumentTypeError(
            "the address is empty; give an IP address such as 127.0.0.1 or ::1")
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        pass
    else:
        return raw
    if ":" in raw or "/" in raw:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an IP address or host name; give the address only (the port "
            "is --server-port)")
    problem = host_problem(raw)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return raw


def _servername(text: str) -> str:
    """The SNI name of ``check``: a host name (TLS sends no IP address as SNI)."""
    from kscert_gui.services.tls import host_problem

    raw = text.strip()
    if not raw:
        raise argparse.ArgumentTypeError("the name is empty")
    if ":" in raw or "/" in raw:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a host name; give the name only, without a scheme, port or "
            "path")
    problem = host_problem(raw)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    import ipaddress

    try:
        ipaddress.ip_address(raw)
    except ValueError:
        return raw
    raise argparse.ArgumentTypeError(
        f"'{text}' is an IP address; TLS sends only a host name as the server name (SNI). "
        "Leave --servername out to connect without one")


def register(sub: SubParsers) -> None:
    """Add this module's sub-parsers to the `kscert` sub-parser group ``sub``."""
    from kscert_gui.services.endpoint_service import DEFAULT_SERVER_PORT

    p = sub.add_parser(
        "serve",
        help="serve the mobile certificate over TLS: the server's port and each gateway's",
    )
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDR", type=_bind,
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--server-port", type=_port, default=DEFAULT_SERVER_PORT, metavar="N",
                   help=f"the Administration Server's port for mobile devices "
                        f"(default {DEFAULT_SERVER_PORT})")
    # serve installs its SIGINT/SIGTERM handlers itself, first thing (see kscert_gui/startup.py).
    p.set_defaults(func=cmd_serve, handles_signals=True)

    p = sub.add_parser("check", help="connect with TLS and report the served certificate chain")
    p.add_argument("endpoint", metavar="HOST:PORT", help="HOST:PORT or [IPV6]:PORT")
    p.add_argument("--servername", metavar="NAME", type=_servername,
                   help="SNI name (default: the host name)")
    p.add_argument("--timeout", type=timeout_arg, default=10.0, metavar="SECONDS",
                   help="give up after this many seconds (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_serve(args: argparse.Namespace) -> int:
    # A signal at any moment, even while the store opens or a key is decrypted, ends
    # with "Stopped." and exit 0 (never a KeyboardInterrupt traceback).
    stopping = threading.Event()
    running: list[TlsServer] = []

    def stop() -> None:
        stopping.set()
        for endpoints in running:
            endpoints.stop()

    previous = startup.take_over(stop)
    try:
        from kscert_gui.model.clock import system_clock
        from kscert_gui.services.server import AdministrationServer
        from kscert_gui.services.tls import TlsServer

        home = store_home(args)
        # Read-only: serving must never keep other commands from changing the store.
        with AdministrationServer.open(home, secret_store(args), writable=False) as server:
            endpoints = TlsServer(
                server.endpoints,
                bind=args.bind,
                server_port=args.server_port,
                clock=None if server.training else system_clock,
                say=_say,
            )
            running.append(endpoints)
            try:
                if not stopping.is_set():
                    endpoints.start()
                if not stopping.is_set():
                    _say("Ready; stop with Ctrl+C or SIGTERM.")
                    endpoints.serve_forever()
            finally:
                endpoints.close()
    finally:
        startup.restore(previous)
    _say("Stopped.")
    return EXIT_OK


def _store_match(args: argparse.Namespace, sha256: str) -> tuple[str | None, str | None]:
    """(main | reserve | None, a note when there is nothing to compare with)."""
    from kscert_gui.services.server import AdministrationServer
    from kscert_gui.services.store import DB_NAME

    home = store_home(args)
    if not (home / DB_NAME).is_file():
        return None, f"No store in {home} to compare with."
    try:
        with AdministrationServer.open(home, secret_store(args), writable=False) as server:
            return server.endpoints.match_served(sha256), None
    except StoreError as err:
        return None, f"The store cannot be read to compare with: {err.message}"


def cmd_check(args: argparse.Namespace) -> int:
    from kscert_gui.model.clock import iso
    from kscert_gui.services.tls import parse_endpoint, probe

    host, port = parse_endpoint(args.endpoint)
    result = probe(host, port, servername=args.servername, timeout=args.timeout)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if not result.served:
        emit(args, result.to_json(None), [])
        sys.stderr.write(f"kscert: {where}: {one_line(result.error or '')}\n")
        return EXIT_TLS_FAILURE
    leaf = result.chain[0]
    matches, note = _store_match(args, leaf.sha256)
    text = [f"{where}: {result.protocol}, {result.cipher}"]
    for n, cert in enumerate(result.chain):
        role = "leaf" if n == 0 else "chain"
        text += [
            f"Certificate {n + 1} of {len(result.chain)} ({role}):",
            f"  Subject:   {cert.subject}",
            f"  Issuer:    {cert.issuer}",
            f"  SAN:       {', '.join(cert.san) or '(none)'}",
            f"  Valid to:  {iso(cert.not_after)}",
            f"  SHA-256:   {cert.sha256}",
        ]
    text += [f"Warning [{w.code}]: {w.message}" for w in result.warnings]
    if wants_json(args):
        for w in result.warnings:
            sys.stderr.write(f"kscert: warning [{w.code}]: {one_line(w.message)}\n")
    if matches == "main":
        text.append("Verdict: the served certificate is the store's main certificate.")
    elif matches == "reserve":
        text.append("Verdict: the served certificate is the store's reserve certificate.")
    elif note is not None:
        text.append(f"Verdict: not compared. {note}")
    else:
        text.append(
            "Verdict: MISMATCH: the served certificate is neither the store's main nor its "
            "reserve certificate."
        )
    emit(args, result.to_json(matches), text)
    return EXIT_OK
