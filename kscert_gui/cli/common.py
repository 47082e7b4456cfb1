"""What every `kscert` command group shares: the parser, exit codes, argument types,
reading passwords, opening the store and writing the output (DESIGN §9).

The services are imported inside the functions that use them, so that ``kscert --help``
and a usage error do not pay for loading cryptography and SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO, TypeAlias

from kscert_gui.model.errors import KscertError, UsageError

if TYPE_CHECKING:
    from kscert_gui.services.secrets import SecretStore
    from kscert_gui.services.server import AdministrationServer

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

#: A password on stdin longer than this is not a password (the wrong file was piped in).
MAX_PASSWORD_BYTES = 64 * 1024


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit path."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


if TYPE_CHECKING:
    #: The group of sub-commands a command group adds its sub-parsers to.
    SubParsers: TypeAlias = argparse._SubParsersAction[Parser]

#: What a sub-command runs (``set_defaults(func=...)``): the parsed arguments in, the
#: exit code out.
Command: TypeAlias = Callable[[argparse.Namespace], int]


def finish_subparsers(action: SubParsers) -> None:
    """Name the sub-commands in "the following arguments are required: ..." messages.

    Without a metavar argparse names the internal ``dest`` ("devices_command").
    """
    action.metavar = "{" + ",".join(action.choices) + "}"


# --- argument types -----------------------------------------------------------------------


def default_home() -> Path:
    env = os.environ.get("KSCERT_HOME")
    if env:
        if not env.strip():
            raise UsageError(
                "KSCERT_HOME holds only spaces; unset it or set it to a store directory."
            )
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("kscert_gui", appauthor=False) / "default"


_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")


def parse_whole(text: str) -> int | None:
    """A whole number written with the digits 0-9, or None.

    ``int()`` alone also takes "1_0" (10) and digits of other scripts ("٣"), which a
    person does not mean as a number here.
    """
    if not _WHOLE.fullmatch(text) or len(text) > 100:
        return None
    return int(text, 10)


def file_arg(text: str) -> Path:
    """A file or directory name given by a person: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    return Path(text)


def text_arg(what: str) -> Callable[[str], str]:
    """An argument type for a name (device, group, ...): not blank."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"the {what} is empty")
        return text

    return parse


# --- passwords ----------------------------------------------------------------------------


def read_stdin_line(stdin: TextIO) -> bytes | None:
    """One line from stdin as bytes, only the line ending removed; None at end of input.

    The bytes are read as they are (a password exported on a Latin-1 system is not
    UTF-8); spaces are part of the line.

    Raises:
        UsageError: the line is longer than ``MAX_PASSWORD_BYTES`` (a file, not a
            password, was piped in).
    """
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        raw: bytes = buffer.readline(MAX_PASSWORD_BYTES + 3)
    else:
        raw = stdin.readline(MAX_PASSWORD_BYTES + 3).encode("utf-8", "surrogateescape")
    if not raw:
        return None
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if len(raw) > MAX_PASSWORD_BYTES:
        raise UsageError(
            f"The line on standard input is longer than {MAX_PASSWORD_BYTES // 1024} KiB: "
            "it is not a password. Give the password as one line."
        )
    return raw


def read_password(stdin: TextIO) -> bytes:
    """The password of ``--password-stdin``: one line (an empty line: empty password).

    Raises:
        UsageError: stdin is empty (nothing, not even an empty line, was given).
    """
    line = read_stdin_line(stdin)
    if line is None:
        raise UsageError(
            "--password-stdin was given but standard input is empty; give the password "
            "as one line (an empty line for an empty password), or leave "
            "--password-stdin out."
        )
    return line


def require_text_password(password: bytes | None) -> None:
    """A PKCS #12 password is text (RFC 7292 turns it into UTF-16): refuse other bytes.

    A private key file's password is used as bytes and may be anything.
    """
    if password is None:
        return
    try:
        password.decode("utf-8")
    except UnicodeDecodeError:
        # Neither the byte nor its position: both are part of the secret.
        raise UsageError(
            "The password on standard input is not UTF-8 text; a PKCS #12 password is "
            "text. Give it as UTF-8."
        ) from None


# --- the store ----------------------------------------------------------------------------


def store_home(args: argparse.Namespace) -> Path:
    """The store directory: ``--home``, else $KSCERT_HOME or the user data dir."""
    given: Path | None = args.home
    return given or default_home()


def secret_store(args: argparse.Namespace) -> SecretStore:
    """Where the store passphrase is kept: ``--passphrase-file``, else the keyring."""
    from kscert_gui.services import secrets

    path: Path | None = args.passphrase_file
    env = os.environ.get("KSCERT_PASSPHRASE_FILE")
    if path is None and env:
        if not env.strip():
            raise UsageError(
                "KSCERT_PASSPHRASE_FILE holds only spaces; unset it or set it to the "
                "passphrase file."
            )
        path = Path(env).expanduser()
    if path is not None:
        return secrets.PassphraseFileSecretStore(path)
    return secrets.LazyKeyringSecretStore()


def open_server(args: argparse.Namespace, *, writable: bool) -> AdministrationServer:
    """The store of ``args``; a reader gets it writable too when it can (see below)."""
    from kscert_gui.model.errors import StoreLockedError, StoreNotWritableError
    from kscert_gui.services.server import AdministrationServer

    where = store_home(args)
    if writable:
        return AdministrationServer.open(where, secret_store(args), writable=True)
    try:
        # A reader that can take the lock also records switches it observes (DESIGN §2).
        return AdministrationServer.open(where, secret_store(args), writable=True)
    except (StoreLockedError, StoreNotWritableError):
        return AdministrationServer.open(where, secret_store(args), writable=False)


# --- output -------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters written as \\xNN, so a message that quotes what a
    person typed cannot move the cursor or recolour the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the command was given ``--json`` (commands without the option: False)."""
    return bool(getattr(args, "json", False))


def emit(args: argparse.Namespace, data: Mapping[str, object], text: Sequence[str]) -> None:
    """``data`` as one JSON document with ``--json``, else the ``text`` lines."""
    if wants_json(args):
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        for line in text:
            sys.stdout.write(line + "\n")


def error_code(err: KscertError) -> str:
    """The ``error.code`` of a JSON failure document (DESIGN §9)."""
    from kscert_gui.model import errors

    for cls, code in (
        (errors.UsageError, "usage"),
        (errors.ConfirmationRequiredError, "confirmation-required"),
        (errors.NotFoundError, "not-found"),
        (errors.ValidationError, "invalid"),
        (errors.InputFileError, "unreadable"),
        (errors.StoreError, "store"),
        (errors.SecretStoreError, "secrets"),
        (errors.RefusedError, "refused"),
    ):
        if isinstance(err, cls):
            return code
    return "error"


def emit_error(code: str, message: str) -> None:
    """The JSON failure document ``{"error": {"code": ..., "message": ...}}`` on stdout."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}},
                                    indent=2, ensure_ascii=False) + "\n")
