"""The `kscert` program: the top-level parser, the command groups it is made of, and
``main``, which owns every exit path (exit codes, JSON error documents, no traceback)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from kscert_gui import startup
from kscert_gui.cli.common import (
    EXIT_ERROR,
    Command,
    Parser,
    emit_error,
    error_code,
    file_arg,
    finish_subparsers,
    printable,
)
from kscert_gui.model.errors import KscertError, UsageError

log = logging.getLogger("kscert_gui.cli")


def _home_arg(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the store directory is empty; give a directory (or leave --home out)"
        )
    return Path(text).expanduser()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kscert",
        description="Manage the mobile Administration Server certificate.",
    )
    parser.add_argument(
        "--home", type=_home_arg,
        help="store directory (default: $KSCERT_HOME or the user data dir)",
    )
    parser.add_argument(
        "--passphrase-file",
        type=file_arg,
        metavar="FILE",
        help="read the store passphrase from FILE when no keyring is usable",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    from kscert_gui.cli import certificates, fleet, gateways, metrics, tls, watch

    for group in (certificates, fleet, gateways, tls, watch, metrics):
        group.register(sub)
    finish_subparsers(sub)
    return parser


# --- checks on the parsed arguments -------------------------------------------------------


_SURROGATE = re.compile("[\udc80-\udcff]")


def _used_actions(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> list[argparse.Action]:
    """The arguments of ``parser`` and of each sub-command that ``args`` chose."""
    found: list[argparse.Action] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen: argparse.ArgumentParser | None = action.choices.get(
                getattr(args, action.dest, None) or "")
            if chosen is not None:
                found += _used_actions(chosen, args)
        else:
            found.append(action)
    return found


def _check_text_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a name or address given as bytes that are not UTF-8.

    Python hands such bytes over as lone surrogates, which SQLite, IDNA and the JSON on
    stdout cannot take. File names (Path values) are left alone: a file may have such a
    name.
    """
    for action in _used_actions(parser, args):
        value = getattr(args, action.dest, None)
        if not isinstance(value, str):
            continue
        found = _SURROGATE.search(value)
        if found is not None:
            label = "/".join(action.option_strings) or action.metavar or action.dest
            raise UsageError(
                f"argument {label}: the value is not UTF-8 text (byte "
                f"0x{ord(found.group()) - 0xDC00:02x}); type it again in a UTF-8 terminal."
            )


def _tolerant_stdio() -> None:
    """Never fail on printing a name that is not UTF-8 (file names may be bytes)."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(AttributeError, ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


# --- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that a usage error with --json is still one JSON document.
    wants_json = "--json" in words[: words.index("--") if "--" in words else len(words)]
    try:
        _tolerant_stdio()
        parser = build_parser()
        args = parser.parse_args(argv)
        _check_text_arguments(parser, args)
        startup.hand_over(keep=bool(getattr(args, "handles_signals", False)))
        command: Command = args.func
        return command(args)
    except KscertError as err:
        sys.stderr.write(f"kscert: error: {printable(err.message)}\n")
        if wants_json:
            emit_error(error_code(err), err.message)
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("kscert: interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`kscert devices list | head`): stop quietly, as `cat` does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141
    except Exception as err:  # no traceback reaches a person
        log.exception("unexpected error")
        if wants_json:
            emit_error("unexpected", f"unexpected error ({type(err).__name__})")
        sys.stderr.write(
            f"kscert: unexpected error ({type(err).__name__}); please report it with the "
            "command you ran.\n"
        )
        return EXIT_ERROR


def run() -> NoReturn:
    sys.exit(main())
