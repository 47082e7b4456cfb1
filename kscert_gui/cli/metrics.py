"""`kscert metrics [--listen ADDR:PORT]`: the metrics of DESIGN §13 for Prometheus.

Without ``--listen`` it prints the text exposition once. With it, it serves the same at
``http://ADDR:PORT/metrics`` (127.0.0.1 unless another address is given; a bare PORT
listens on loopback) until SIGINT/SIGTERM, reading the store on every scrape. The store
is opened read-only, so every other command can change it meanwhile. A port in use is a
clear message and exit 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

from kscert_gui.cli.common import EXIT_OK, printable, secret_store, store_home

if TYPE_CHECKING:
    from kscert_gui.cli.common import SubParsers


def _listen(text: str) -> tuple[str, int]:
    from kscert_gui.model.errors import UsageError
    from kscert_gui.services.tls import parse_endpoint, parse_port

    raw = text.strip()
    try:
        if raw.startswith(":"):
            return "127.0.0.1", parse_port(raw[1:])
        if raw.isascii() and raw.isdigit():
            return "127.0.0.1", parse_port(raw)
        return parse_endpoint(raw)
    except UsageError as err:
        raise argparse.ArgumentTypeError(err.message) from None


def register(sub: SubParsers) -> None:
    """Add ``metrics`` to the `kscert` sub-parser group ``sub``."""
    from kscert_gui.services.metrics import DEFAULT_LISTEN_PORT

    p = sub.add_parser("metrics", help="metrics for Prometheus: print them or serve /metrics")
    p.add_argument("--listen", type=_listen, metavar="ADDR:PORT",
                   help=f"serve /metrics on ADDR:PORT until SIGINT/SIGTERM (loopback by "
                        f"default; for example 127.0.0.1:{DEFAULT_LISTEN_PORT})")
    p.set_defaults(func=cmd_metrics)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_metrics(args: argparse.Namespace) -> int:
    from kscert_gui.services import metrics
    from kscert_gui.services.server import AdministrationServer

    # Read-only: serving metrics must never keep other commands from changing the store.
    with AdministrationServer.open(store_home(args), secret_store(args),
                                   writable=False) as server:

        def read() -> metrics.MetricsReading:
            return metrics.read_metrics(server)

        if args.listen is None:
            sys.stdout.write(metrics.exposition(read))
            return EXIT_OK
        host, port = args.listen
        endpoint = metrics.MetricsServer(read, host, port)

        def stop(signum: int, _frame: FrameType | None) -> None:
            endpoint.stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            where = f"[{host}]:{endpoint.port}" if ":" in host else f"{host}:{endpoint.port}"
            _say(f"Serving http://{printable(where)}/metrics; stop with Ctrl+C or SIGTERM.")
            endpoint.serve_forever()
        finally:
            endpoint.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    _say("Stopped.")
    return EXIT_OK
