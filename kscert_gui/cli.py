"""The ``kscert`` command (DESIGN §9): every GUI action, for scripts and monitoring.

Exit codes: 0 success (warnings allowed), 1 error findings or a refused action,
2 a usage error or an unreadable input. ``--json`` prints one JSON document on
stdout. Passwords are never arguments: ``--password-stdin`` reads one line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from kscert_gui.model.clock import iso, parse_instant
from kscert_gui.model.errors import KscertError, UsageError
from kscert_gui.model.schedule import MAX_TERM_DAYS, MIN_TERM_DAYS

log = logging.getLogger("kscert_gui.cli")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

#: A password on stdin longer than this is not a password (the wrong file was piped in).
MAX_PASSWORD_BYTES = 64 * 1024


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit path."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


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


def _term_days(text: str) -> int:
    value = parse_whole(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of days")
    if not MIN_TERM_DAYS <= value <= MAX_TERM_DAYS:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range: the activation term is "
            f"{MIN_TERM_DAYS} to {MAX_TERM_DAYS} days"
        )
    return value


def file_arg(text: str) -> Path:
    """A file or directory name given by a person: not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the file name is empty")
    return Path(text)


def _home_arg(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the store directory is empty; give a directory (or leave --home out)"
        )
    return Path(text).expanduser()


def text_arg(what: str) -> Any:
    """An argument type for a name (device, group, ...): not blank."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"the {what} is empty")
        return text

    return parse


def finish_subparsers(action: Any) -> None:
    """Name the sub-commands in "the following arguments are required: ..." messages.

    Without a metavar argparse names the internal ``dest`` ("devices_command").
    """
    action.metavar = "{" + ",".join(action.choices) + "}"


def _add_term(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--immediately",
        action="store_true",
        help="activate at once (connection with managed mobile devices is lost)",
    )
    g.add_argument(
        "--after-days",
        type=_term_days,
        metavar="N",
        help="reserve certificate: becomes main after N days (recommended: at least 30)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("status", help="main and reserve certificates, switch time, warnings")
    p.add_argument("--at", type=str, metavar="ISO8601", help="show the state at this instant")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("reissue", help="issue a new certificate through the server")
    p.add_argument("--address", help="new connection address (default: the old one)")
    p.add_argument("--key-size", type=int, choices=(2048, 3072, 4096), default=2048)
    _add_term(p)
    p.add_argument("--yes", action="store_true", help="confirm a destructive action")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reissue)

    p = sub.add_parser("import", help="install another certificate")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--pkcs12", type=file_arg, metavar="FILE")
    src.add_argument("--key", type=file_arg, metavar="FILE")
    p.add_argument("--cert", type=file_arg, metavar="FILE")
    p.add_argument("--password-stdin", action="store_true")
    _add_term(p)
    p.add_argument("--yes", action="store_true", help="confirm; acknowledge warnings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("inspect", help="check files against the requirements (no store)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--pkcs12", type=file_arg, metavar="FILE")
    src.add_argument("--key", type=file_arg, metavar="FILE")
    # Not in the group: DESIGN §9 has both --key FILE --cert FILE and --cert FILE alone.
    p.add_argument("--cert", type=file_arg, metavar="FILE", dest="cert_only")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("--address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("export", help="write the main or reserve certificate to a file")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--main", action="store_const", const="main", dest="which")
    which.add_argument("--reserve", action="store_const", const="reserve", dest="which")
    p.add_argument("--format", choices=("pem", "der", "p12"), default="pem")
    p.add_argument("--with-key", action="store_true")
    p.add_argument("--legacy", action="store_true", help="PKCS #12 with 3DES (old clients)")
    p.add_argument("--out", type=file_arg, required=True, metavar="FILE")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="create the demo (Training) store in --home")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("cancel-reserve", help="cancel the pending reserve certificate")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(func=cmd_cancel)

    from kscert_gui import cli_fleet, cli_gateways, cli_tls

    for register in (cli_fleet.register, cli_gateways.register, cli_tls.register):
        register(sub)
    finish_subparsers(sub)
    return parser


# --- helpers ------------------------------------------------------------------------------


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


def _require_text_password(password: bytes | None) -> None:
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


def _emit(args: argparse.Namespace, data: dict[str, Any], text: Sequence[str]) -> None:
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        for line in text:
            sys.stdout.write(line + "\n")


def _secrets(args: argparse.Namespace) -> Any:
    from kscert_gui.services import secrets

    path = args.passphrase_file
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


def _server(args: argparse.Namespace, *, writable: bool) -> Any:
    from kscert_gui.model.errors import StoreLockedError, StoreNotWritableError
    from kscert_gui.services.server import AdministrationServer

    home = args.home or default_home()
    if writable:
        return AdministrationServer.open(home, _secrets(args), writable=True)
    try:
        # A reader that can take the lock also records switches it observes (DESIGN §2).
        return AdministrationServer.open(home, _secrets(args), writable=True)
    except (StoreLockedError, StoreNotWritableError):
        return AdministrationServer.open(home, _secrets(args), writable=False)


def _cert_lines(title: str, cert: Any, at: Any) -> list[str]:
    info = cert.info
    return [
        f"{title}:",
        f"  Subject:     {info.subject}",
        f"  SAN:         {', '.join(info.san) or '(none)'}",
        f"  Valid from:  {iso(info.not_before)}",
        f"  Valid to:    {iso(info.not_after)}  ({info.days_left(at)} days left)",
        f"  SHA-256:     {info.sha256}",
        f"  Source:      {cert.source}",
    ]


# --- commands -----------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    at = parse_instant(args.at) if args.at is not None else None
    with _server(args, writable=False) as server:
        st = server.status(at)
    text = [f"{st.name}: {st.state}  (at {iso(st.at)})"]
    if st.main:
        text += _cert_lines("Main certificate", st.main, st.at)
    else:
        text.append("Main certificate: none")
    if st.reserve:
        text += _cert_lines("Reserve certificate", st.reserve, st.at)
        text.append(f"  Switch time: {iso(st.switch_at) if st.switch_at else '-'}")
        text.append(f"  Delivered:   {st.delivered} of {st.devices} devices")
    else:
        text.append("Reserve certificate: none")
    c = st.fleet.counts
    text.append(f"Devices: {c.devices} mobile: {c.connected} connected, {c.blocked} blocked, "
                f"{c.lost} lost")
    if st.fleet.cutover_at is not None:
        text.append(f"Cut-over ({st.fleet.cutover}) at {iso(st.fleet.cutover_at)}: "
                    f"{c.delivered} delivered, {c.expected} expected, {c.at_risk} at risk")
    for g in st.gateways:
        verdict = "matches main" if g.matches_main else "STALE: differs from main"
        text.append(f"Gateway {g.host}:{g.port}: {g.sha256 or 'no certificate'} ({verdict})")
    for w in st.warnings:
        text.append(printable(f"WARNING [{w.code}]: {w.message}"))
    _emit(args, st.to_json(), text)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from kscert_gui.services import demo

    home = args.home or default_home()
    demo.create_new_demo_store(home, _secrets(args))
    with _server(args, writable=False) as server:
        st = server.status()
    text = [f"Created the demo store {st.name} in {printable(str(home))}: "
            f"{st.fleet.devices} mobile devices, main certificate valid to "
            f"{iso(st.main.info.not_after) if st.main else '-'}"]
    _emit(args, {"home": str(home), "status": st.to_json()}, text)
    return EXIT_OK


def cmd_reissue(args: argparse.Namespace) -> int:
    from kscert_gui.services.server import ReissueRequest

    request = ReissueRequest(args.address, args.after_days, args.key_size)
    with _server(args, writable=True) as server:
        plan = server.plan_reissue(request)
        for issue in plan.issues:
            if issue.severity != "error":
                sys.stderr.write(f"kscert: {issue.severity}: {printable(issue.message)}\n")
        view = server.reissue(request, confirmed=args.yes)
        st = server.status()
    _emit(
        args,
        {"certificate": view.to_json(st.at), "status": st.to_json()},
        [f"Reissued: {view.info.sha256} ({view.state}) for {view.address}"]
        + ([f"Switch time: {iso(st.switch_at)}"] if st.switch_at and view.state == "pending"
           else []),
    )
    return EXIT_OK


def _import_request(args: argparse.Namespace) -> Any:
    from kscert_gui.services.server import ImportRequest

    if args.key is not None and args.cert is None:
        raise UsageError("--key needs --cert (the public key file).")
    if args.pkcs12 is not None and args.cert is not None:
        raise UsageError("--cert goes with --key, not with --pkcs12.")
    password = read_password(sys.stdin) if args.password_stdin else None
    if args.pkcs12 is not None:
        _require_text_password(password)
        return ImportRequest("pkcs12", args.after_days, pkcs12=args.pkcs12, password=password)
    return ImportRequest("x509", args.after_days, key=args.key, cert=args.cert, password=password)


def cmd_import(args: argparse.Namespace) -> int:
    request = _import_request(args)
    with _server(args, writable=True) as server:
        check = server.check_import(request)
        for f in check.findings:
            sys.stderr.write(
                f"kscert: {f.severity} [{f.code}]: {printable(f.message)} {f.fix}\n")
        if any(f.code == "unreadable" for f in check.findings):
            _emit(args, {"ok": False, "findings": [f.to_json() for f in check.findings]}, [])
            return EXIT_USAGE
        view = server.import_certificate(request, confirmed=args.yes,
                                         acknowledge_warnings=args.yes)
        st = server.status()
    _emit(
        args,
        {"certificate": view.to_json(st.at), "status": st.to_json()},
        [f"Imported: {view.info.sha256} ({view.state}) for {view.address}"],
    )
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from kscert_gui.model import crypto, lint
    from kscert_gui.model.certificate import CertificateInfo
    from kscert_gui.services import inputs

    if args.pkcs12 is None and args.key is None and args.cert_only is None:
        raise UsageError("Give --pkcs12 FILE, --key FILE --cert FILE, or --cert FILE.")
    if args.pkcs12 is not None and args.cert_only is not None:
        raise UsageError("--cert goes with --key, not with --pkcs12.")
    password = read_password(sys.stdin) if args.password_stdin else None
    address = crypto.normalize_address(args.address) if args.address is not None else None
    if args.pkcs12 is not None:
        _require_text_password(password)
        material = inputs.load_pkcs12_file(args.pkcs12, password)
    elif args.key is not None:
        if args.cert_only is None:
            raise UsageError("--key needs --cert (the public key file).")
        material = inputs.load_x509_files(args.key, password, args.cert_only)
    else:
        material = inputs.load_certificate_file(args.cert_only)
    at = datetime.now(UTC).replace(microsecond=0)
    findings = lint.check(material, at, address)
    ok = not lint.has_errors(findings)
    cert = material.certificate
    data: dict[str, Any] = {
        "ok": ok,
        "findings": [f.to_json() for f in findings],
        "certificate": CertificateInfo.from_x509(cert).to_json() if cert else None,
        "chain": [CertificateInfo.from_x509(c).to_json() for c in material.chain],
    }
    text = [f"{'OK' if ok else 'REFUSED'}"]
    if cert is not None:
        info = CertificateInfo.from_x509(cert)
        text += [
            f"Subject:    {info.subject}",
            f"Issuer:     {info.issuer}",
            f"SAN:        {', '.join(info.san) or '(none)'}",
            f"Valid from: {iso(info.not_before)}",
            f"Valid to:   {iso(info.not_after)}",
            f"Key:        {info.key}",
            f"Signature:  {info.signature}",
            f"SHA-256:    {info.sha256}",
        ]
    for f in findings:
        text.append(f"{f.severity.upper()} [{f.code}] ({f.rule_set}): {f.message} Fix: {f.fix}")
    _emit(args, data, text)
    if any(f.code == "unreadable" for f in findings):
        return EXIT_USAGE
    return EXIT_OK if ok else EXIT_ERROR


def cmd_export(args: argparse.Namespace) -> int:
    from kscert_gui.services.fsutil import write_private_file

    if args.with_key and args.format != "p12":
        raise UsageError("--with-key needs --format p12 (a key is only exported in PKCS #12).")
    if args.format == "p12" and not args.with_key:
        raise UsageError("--format p12 needs --with-key.")
    if args.legacy and args.format != "p12":
        raise UsageError("--legacy applies to --format p12 only.")
    _check_out(args.out)
    password = None
    if args.format == "p12":
        password = read_stdin_line(sys.stdin)
        if not password:
            raise UsageError("Give the PKCS #12 password on stdin (one line, not empty).")
        _require_text_password(password)
    mismatch = _format_mismatch(args.out, args.format)
    if mismatch is not None:
        sys.stderr.write(f"kscert: warning: {printable(mismatch)}\n")
    with _server(args, writable=False) as server:
        data = server.export(args.which, args.format, password=password, legacy=args.legacy)
    try:
        write_private_file(args.out, data)
    except OSError as err:
        raise UsageError(f"{args.out} cannot be written: {_os_reason(err)}.") from None
    sys.stdout.write(f"Wrote {args.out}\n")
    return EXIT_OK


def _os_reason(err: OSError) -> str:
    text = err.strerror or type(err).__name__
    return text[0].lower() + text[1:]


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot become the exported file, before any work is done.

    The file is written as a new private file renamed over the name, so a name that is
    a device (/dev/stdout), a pipe or a link would be replaced, not written through.
    """
    try:
        info = os.lstat(out)
    except (FileNotFoundError, NotADirectoryError):
        info = None  # the folder is checked below
    except OSError as err:
        raise UsageError(f"{out} cannot be written: {_os_reason(err)}.") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode) or (stat.S_ISLNK(info.st_mode) and out.is_dir()):
            raise UsageError(f"{out} is a directory; give a file name.")
        if not stat.S_ISREG(info.st_mode):
            kind = "a link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            raise UsageError(
                f"{out} is {kind}; the export is written as a new private file that would "
                "replace it. Give the name of a regular file."
            )
    parent = out.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"{out} cannot be written: the folder {parent} {what}.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{out} cannot be written: the folder {parent} is not writable.")


_FORMAT_OF_SUFFIX = {".pem": "pem", ".der": "der", ".p12": "p12", ".pfx": "p12"}


def _format_mismatch(out: Path, fmt: str) -> str | None:
    expected = _FORMAT_OF_SUFFIX.get(out.suffix.lower())
    if expected is None or expected == fmt:
        return None
    return (f"{out.name} is named like a {expected.upper()} file but is written as "
            f"{fmt.upper()} (--format {fmt}).")


def cmd_cancel(args: argparse.Namespace) -> int:
    if not args.yes:
        raise UsageError("Cancelling the reserve certificate needs --yes.")
    with _server(args, writable=True) as server:
        view = server.cancel_reserve()
    sys.stdout.write(f"Cancelled reserve certificate {view.info.sha256}\n")
    return EXIT_OK


# --- entry point --------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters written as \\xNN, so a message that quotes what a
    person typed cannot move the cursor or recolour the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _used_actions(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Any]:
    """The arguments of ``parser`` and of each sub-command that ``args`` chose."""
    found: list[Any] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
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


def _emit_error(code: str, message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}},
                                    indent=2, ensure_ascii=False) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that a usage error with --json is still one JSON document.
    wants_json = "--json" in words[: words.index("--") if "--" in words else len(words)]
    try:
        _tolerant_stdio()
        parser = build_parser()
        args = parser.parse_args(argv)
        _check_text_arguments(parser, args)
        rc: int = args.func(args)
        return rc
    except KscertError as err:
        sys.stderr.write(f"kscert: error: {printable(err.message)}\n")
        if wants_json:
            _emit_error(error_code(err), err.message)
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
            _emit_error("unexpected", f"unexpected error ({type(err).__name__})")
        sys.stderr.write(
            f"kscert: unexpected error ({type(err).__name__}); please report it with the "
            "command you ran.\n"
        )
        return EXIT_ERROR


def run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
