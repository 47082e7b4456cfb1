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


def timeout_arg(text: str) -> float:
    """A ``--timeout`` in seconds: more than 0, at most 600 (check, watch)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: more than 0 and at most 600 seconds")
    return value


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


#: What a terminal must not be handed from a file or a server: C0 and C1 controls (ESC,
#: CSI, ...), DEL, and the invisible format characters and line/paragraph separators
#: (Unicode Cc, Cf, Zl, Zp: bidirectional overrides, zero-width characters, tags) that
#: can reorder or hide what is shown.
_FORMAT_AND_SEPARATORS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_CONTROL = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_FORMAT_AND_SEPARATORS}]")
_CONTROL_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT_AND_SEPARATORS}]")
#: In a JSON document: what ``json.dumps`` leaves as it is (it escapes U+0000-U+001F).
_CONTROL_JSON = re.compile(f"[\x7f-\x9f{_FORMAT_AND_SEPARATORS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with control and invisible format characters written as \\xNN / \\uNNNN,
    so a message that quotes what a person typed, a file or a server cannot move the
    cursor, recolour or reorder the terminal. Line breaks are kept (messages may have
    several lines); :func:`one_line` escapes them too."""
    return _CONTROL.sub(_escape, text)


def counted(n: int, word: str, words: str | None = None) -> str:
    """'1 device', '2 devices', '0 rows' (``words``: an irregular plural)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def one_line(text: str) -> str:
    """``text`` as :func:`printable`, with line breaks and tabs escaped as well: a name
    from a certificate can never start a line of its own (a fake verdict)."""
    return _CONTROL_LINE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def dump_json(data: object) -> str:
    """``data`` as an indented JSON document whose text is safe on a terminal: what
    :func:`one_line` escapes is written as a JSON ``\\u`` escape (the value is the same)."""
    return _CONTROL_JSON.sub(_json_escape, json.dumps(data, indent=2, ensure_ascii=False))


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the command was given ``--json`` (commands without the option: False)."""
    return bool(getattr(args, "json", False))


def emit(args: argparse.Namespace, data: Mapping[str, object],
         text: Sequence[str | tuple[str, ...]]) -> None:
    """``data`` as one JSON document with ``--json``, else the ``text`` lines.

    A line given as a tuple is a row of fields: each is escaped on its own and they are
    joined by tabs (``devices list``, ``groups list``), so the tabs between the columns
    survive while a tab inside a name is still written as ``\\x09``.
    """
    if wants_json(args):
        sys.stdout.write(dump_json(data) + "\n")
    else:
        for line in text:
            out = ("\t".join(one_line(f) for f in line) if isinstance(line, tuple)
                   else one_line(line))
            sys.stdout.write(out + "\n")


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
        sys.stdout.write(dump_json({"error": {"code": code, "message": message}}) + "\n")
