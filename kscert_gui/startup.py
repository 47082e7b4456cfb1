"""SIGINT and SIGTERM before a `kscert` command is ready for them (DESIGN §9: no traceback).

Python turns SIGINT into ``KeyboardInterrupt`` from its first instruction on; while the
modules of `kscert` are still being imported that exception has no handler of ours and
prints a traceback, and SIGTERM ends the process before ``kscert serve`` can say
"Stopped.". So, when the package starts as the `kscert` program, its ``__init__``
installs handlers that only record both signals, as its very first statements. Then
:func:`hand_over` in ``main``, once the command is known: a command that handles them
itself (``serve``) takes the recorded ones over (:func:`take_over`); for every other
command the usual behaviour comes back, and a signal that came in the meantime is
delivered there, inside ``main``'s handlers.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import TypeAlias

import kscert_gui as _package

#: What ``signal.signal`` takes and returns.
Handler: TypeAlias = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


def _take_pending() -> list[int]:
    pending = list(_package._early_signals)
    _package._early_signals.clear()
    return pending


def hand_over(*, keep: bool) -> None:
    """End the deferral (call inside ``main``'s ``try``, once the command is known).

    ``keep``: the command installs its own handlers and calls :func:`take_over`; until
    then signals stay recorded. Otherwise the default handlers return and a recorded
    SIGINT is raised here as ``KeyboardInterrupt``, a recorded SIGTERM ends the process
    as SIGTERM does.
    """
    if not _package._early_deferred or keep:
        return
    _package._early_deferred = False
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pending = _take_pending()
    if signal.SIGTERM in pending:
        os.kill(os.getpid(), signal.SIGTERM)
    if signal.SIGINT in pending:
        raise KeyboardInterrupt


def take_over(stop: Callable[[], None]) -> dict[signal.Signals, Handler]:
    """Install ``stop`` as the SIGINT/SIGTERM handler; call it at once for a signal that
    came before. Returns the handlers to put back with :func:`restore`."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop()

    previous: dict[signal.Signals, Handler] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    if _package._early_deferred:
        # The recording handlers are not worth restoring: the usual ones come back.
        _package._early_deferred = False
        previous = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    if _take_pending():
        stop()
    return previous


def restore(previous: dict[signal.Signals, Handler]) -> None:
    """Put back the handlers :func:`take_over` replaced."""
    for sig, old in previous.items():
        if old is not None:
            signal.signal(sig, old)
