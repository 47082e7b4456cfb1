"""SIGINT and SIGTERM before a `kscert` command is ready for them (DESIGN §9: no traceback).

Python turns SIGINT into ``KeyboardInterrupt`` from its first instruction on; while the
modules of `kscert` are still being imported that exception has no handler of ours and
prints a traceback, and SIGTERM ends the process before ``kscert serve`` can say
"Stopped.". So, when this package starts as the `kscert` program, both signals are only
recorded (:func:`defer_early`) until :func:`hand_over` in ``main``: a command that
handles them itself (``serve``) takes the recorded one over (:func:`take_over`);
for every other command the usual behaviour comes back, and a signal that came in the
meantime is delivered there, inside ``main``'s handlers.

The package's ``__init__`` calls :func:`defer_early` before anything else, so this
module imports only what the interpreter has loaded already (no ``__future__``, no
pathlib): every import before the handlers are in place is a moment a Ctrl+C prints a
traceback.
"""

# The C module: ``signal`` itself imports enum, which takes milliseconds before it is
# loaded anyway.
import _signal  # type: ignore[import-not-found]
import os
import sys

TYPE_CHECKING = False  # typing itself costs milliseconds here
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from types import FrameType
    from typing import TypeAlias

    #: What ``signal.signal`` takes and returns.
    Handler: TypeAlias = (
        Callable[[int, FrameType | None], object] | int | signal.Handlers | None
    )

_SIGNALS: tuple[int, int] = (_signal.SIGINT, _signal.SIGTERM)
_pending: list[int] = []
_deferred = False


def _record(signum: int, _frame: "FrameType | None") -> None:
    _pending.append(signum)


def _started_as_program() -> bool:
    """True for ``kscert ...`` and ``python -m kscert_gui.cli ...``, not for an import."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if "-m" in argv:
        at = argv.index("-m")
        return argv[at + 1 : at + 2] == ["kscert_gui.cli"]
    script = os.path.basename(argv[1]) if len(argv) > 1 else ""
    return os.path.splitext(script)[0] == "kscert"


def defer_early() -> None:
    """Record SIGINT/SIGTERM instead of acting on them (only in the `kscert` program)."""
    global _deferred
    if _deferred or not _started_as_program():
        return
    try:
        for sig in _SIGNALS:
            _signal.signal(sig, _record)
    except ValueError:  # not the main thread
        return
    _deferred = True


def hand_over(*, keep: bool) -> None:
    """End the deferral (call inside ``main``'s ``try``, once the command is known).

    ``keep``: the command installs its own handlers and calls :func:`take_over`; until
    then signals stay recorded. Otherwise the default handlers return and a recorded
    SIGINT is raised here as ``KeyboardInterrupt``, a recorded SIGTERM ends the process
    as SIGTERM does.
    """
    global _deferred
    if not _deferred or keep:
        return
    import signal

    _deferred = False
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    pending = list(_pending)
    _pending.clear()
    if signal.SIGTERM in pending:
        os.kill(os.getpid(), signal.SIGTERM)
    if signal.SIGINT in pending:
        raise KeyboardInterrupt


def take_over(stop: "Callable[[], None]") -> "dict[signal.Signals, Handler]":
    """Install ``stop`` as the SIGINT/SIGTERM handler; call it at once for a signal that
    came before. Returns the previous handlers (for :func:`restore`)."""
    global _deferred
    import signal

    def handler(_signum: int, _frame: "FrameType | None") -> None:
        stop()

    previous: dict[signal.Signals, Handler] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    if _deferred:
        _deferred = False
        previous = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    if _pending:
        _pending.clear()
        stop()
    return previous


def restore(previous: "dict[signal.Signals, Handler]") -> None:
    """Put back the handlers :func:`take_over` replaced."""
    import signal

    for sig, old in previous.items():
        if old is not None:
            signal.signal(sig, old)
