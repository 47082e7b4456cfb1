"""The ``kscert`` command (DESIGN §9): every GUI action, for scripts and monitoring.

Exit codes: 0 success (warnings allowed), 1 error findings or a refused action,
2 a usage error or an unreadable input. ``--json`` prints one JSON document on
stdout. Passwords are never arguments: ``--password-stdin`` reads one line.

One module per command group, each with a ``register(sub)`` that adds its
sub-parsers: :mod:`.certificates` (status, reissue, import, inspect, export, demo,
cancel-reserve), :mod:`.fleet` (devices, groups, simulate), :mod:`.gateways`
(gateways, server), :mod:`.tls` (serve, check), :mod:`.watch` (the watch list) and
:mod:`.metrics` (metrics for Prometheus). :mod:`.common` holds what they share;
:mod:`.program` builds the parser and runs a command line.
"""

from __future__ import annotations

from kscert_gui.cli.common import default_home
from kscert_gui.cli.program import build_parser, main, run

__all__ = ["build_parser", "default_home", "main", "run"]
