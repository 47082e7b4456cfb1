"""kscert_gui: console and command line for the mobile Administration Server certificate."""

# First of all, before any import that takes time: in the `kscert` program SIGINT and
# SIGTERM are only recorded until main() knows the command, so that a Ctrl+C during the
# imports is no KeyboardInterrupt traceback and a SIGTERM still lets `serve` say
# "Stopped." (kscert_gui/startup.py hands them over). Only modules the interpreter has
# loaded already are used here.
import _signal  # type: ignore[import-not-found]
import sys as _sys

#: SIGINT/SIGTERM that came before main() took them over (startup.py).
_early_signals: list[int] = []
#: Whether the handlers that record them are in place.
_early_deferred = False


def _is_the_kscert_program() -> bool:
    """``kscert ...`` or ``python -m kscert_gui.cli ...`` (not the GUI, not an import).

    The script is ``sys.argv[0]``, not the interpreter's second word: a shebang may carry
    options (Fedora's ``#!/usr/bin/python3 -sP``), and a word ``-m`` among the command's
    own arguments says nothing. While ``-m`` imports the package, ``sys.argv[0]`` is
    ``"-m"`` and the module's name is in the interpreter's own words.
    """
    if _sys.argv[:1] == ["-m"]:
        argv = _sys.orig_argv
        for at, word in enumerate(argv[1:], 1):
            if word == "-m":
                return argv[at + 1 : at + 2] == ["kscert_gui.cli"]
            if word.startswith("-m"):
                return word == "-mkscert_gui.cli"
        return False
    script = _sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] if _sys.argv else ""
    return script in ("kscert", "kscert.exe", "kscert-script.py")


def _record_early_signal(signum: int, _frame: object) -> None:
    _early_signals.append(signum)


if _is_the_kscert_program():
    try:
        _signal.signal(_signal.SIGINT, _record_early_signal)
        _signal.signal(_signal.SIGTERM, _record_early_signal)
        _early_deferred = True
    except ValueError:  # not the main thread: nothing to defer
        pass

import logging  # noqa: E402
import warnings  # noqa: E402

__version__ = "0.1.0"

# Without a configured handler, logging's last resort prints records (and tracebacks) to
# stderr; the CLI promises no traceback. The GUI's file handler on the root still gets them.
logging.getLogger("kscert_gui").addHandler(logging.NullHandler())

# cryptography warns (on stderr, with a file path and line) when it parses a certificate
# whose serial number is zero or negative. Such a certificate is still judged by the §4
# rules like any other; the warning is noise to a person reading `kscert inspect`, so the
# package silences that one message (by text, so that this import stays free of
# cryptography).
warnings.filterwarnings("ignore", message=r"Parsed a serial number which wasn't positive")
# The same for the other notes it prints on files made elsewhere (pyca's test vectors have
# them all): a PKCS #12 in BER, a country name of the wrong length, a DH key.
for _message in (
    r"PKCS#12 bundle could not be parsed as DER",
    r"Attribute's length must be",
    r"Diffie-Hellman over finite fields",
):
    warnings.filterwarnings("ignore", message=_message)
