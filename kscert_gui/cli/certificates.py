"""`kscert` sub-commands for the certificates (DESIGN §9): status, reissue, import,
inspect, export, demo and cancel-reserve.

- ``kscert status [--at ISO8601] [--json]``
- ``kscert reissue [--address A] [--key-size N] (--immediately | --after-days N) [--yes]``
- ``kscert import (--pkcs12 FILE | --key FILE --cert FILE) [--password-stdin] ...``
- ``kscert inspect (--pkcs12 FILE | --key FILE --cert FILE | --cert FILE) [--address A]``
- ``kscert export (--main | --reserve) [--format pem|der|p12] [--with-key] --out FILE``
- ``kscert demo`` and ``kscert cancel-reserve --yes``
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kscert_gui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    emit,
    file_arg,
    one_line,
    open_server,
    parse_whole,
    printable,
    read_password,
    read_stdin_line,
    require_text_password,
    secret_store,
    store_home,
)
from kscert_gui.model.clock import iso, parse_instant
from kscert_gui.model.errors import UsageError, ValidationError
from kscert_gui.model.schedule import MAX_TERM_DAYS, MIN_TERM_DAYS

if TYPE_CHECKING:
    from datetime import datetime

    from kscert_gui.cli.common import SubParsers
    from kscert_gui.services.views import CertView, ImportRequest


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


def register(sub: SubParsers) -> None:
    """Add this module's sub-parsers to the `kscert` sub-parser group ``sub``."""
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


# --- output -------------------------------------------------------------------------------


def _cert_lines(title: str, cert: CertView, at: datetime) -> list[str]:
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
    with open_server(args, writable=False) as server:
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
    emit(args, st.to_json(), text)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from kscert_gui.services import demo

    home = store_home(args)
    demo.create_new_demo_store(home, secret_store(args))
    with open_server(args, writable=False) as server:
        st = server.status()
    text = [f"Created the demo store {st.name} in {printable(str(home))}: "
            f"{st.fleet.devices} mobile devices, main certificate valid to "
            f"{iso(st.main.info.not_after) if st.main else '-'}"]
    emit(args, {"home": str(home), "status": st.to_json()}, text)
    return EXIT_OK


def cmd_reissue(args: argparse.Namespace) -> int:
    from kscert_gui.services.views import ReissueRequest

    request = ReissueRequest(args.address, args.after_days, args.key_size)
    with open_server(args, writable=True) as server:
        plan = server.plan_reissue(request)
        for issue in plan.issues:
            if issue.severity != "error":
                sys.stderr.write(f"kscert: {issue.severity}: {printable(issue.message)}\n")
        view = server.reissue(request, confirmed=args.yes)
        st = server.status()
    emit(
        args,
        {"certificate": view.to_json(st.at), "status": st.to_json()},
        [f"Reissued: {view.info.sha256} ({view.state}) for {view.address}"]
        + ([f"Switch time: {iso(st.switch_at)}"] if st.switch_at and view.state == "pending"
           else []),
    )
    return EXIT_OK


def _import_request(args: argparse.Namespace) -> ImportRequest:
    from kscert_gui.services.views import ImportRequest

    if args.key is not None and args.cert is None:
        raise UsageError("--key needs --cert (the public key file).")
    if args.pkcs12 is not None and args.cert is not None:
        raise UsageError("--cert goes with --key, not with --pkcs12.")
    password = read_password(sys.stdin) if args.password_stdin else None
    if args.pkcs12 is not None:
        require_text_password(password)
        return ImportRequest("pkcs12", args.after_days, pkcs12=args.pkcs12, password=password)
    return ImportRequest("x509", args.after_days, key=args.key, cert=args.cert, password=password)


def cmd_import(args: argparse.Namespace) -> int:
    request = _import_request(args)
    with open_server(args, writable=True) as server:
        check = server.check_import(request)
        for f in check.findings:
            sys.stderr.write(
                f"kscert: {f.severity} [{f.code}]: {one_line(f.message)} {f.fix}\n")
        for note in check.notes:
            sys.stderr.write(f"kscert: note: {one_line(note)}\n")
        if any(f.code == "unreadable" for f in check.findings):
            emit(args, {"ok": False, "findings": [f.to_json() for f in check.findings]}, [])
            return EXIT_USAGE
        view = server.import_certificate(request, confirmed=args.yes,
                                         acknowledge_warnings=args.yes)
        st = server.status()
    data: dict[str, object] = {"certificate": view.to_json(st.at), "status": st.to_json()}
    if check.notes:
        data["notes"] = list(check.notes)  # as inspect --json gives them
    emit(args, data, [f"Imported: {view.info.sha256} ({view.state}) for {view.address}",
                      *(f"Note: {note}" for note in check.notes)])
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from kscert_gui.model import lint
    from kscert_gui.model.address import normalize_address
    from kscert_gui.model.certificate import certificate_info
    from kscert_gui.services import inputs

    if args.pkcs12 is None and args.key is None and args.cert_only is None:
        raise UsageError("Give --pkcs12 FILE, --key FILE --cert FILE, or --cert FILE.")
    if args.pkcs12 is not None and args.cert_only is not None:
        raise UsageError("--cert goes with --key, not with --pkcs12.")
    try:
        address = normalize_address(args.address) if args.address is not None else None
    except ValidationError as err:
        # A bad argument is a usage error (exit 2, JSON with --json), checked before a
        # password is read.
        raise UsageError(f"argument --address: {err.message}") from None
    password = read_password(sys.stdin) if args.password_stdin else None
    if args.pkcs12 is not None:
        require_text_password(password)
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
    data: dict[str, object] = {
        "ok": ok,
        "findings": [f.to_json() for f in findings],
        "certificate": certificate_info(cert).to_json() if cert else None,
        "chain": [certificate_info(c).to_json() for c in material.chain],
    }
    if material.notes:
        data["notes"] = list(material.notes)
    text = [f"{'OK' if ok else 'REFUSED'}"]
    if cert is not None:
        info = certificate_info(cert)
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
    text += [f"Note: {note}" for note in material.notes]
    emit(args, data, text)
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
        require_text_password(password)
    mismatch = _format_mismatch(args.out, args.format)
    if mismatch is not None:
        sys.stderr.write(f"kscert: warning: {printable(mismatch)}\n")
    with open_server(args, writable=False) as server:
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
    with open_server(args, writable=True) as server:
        view = server.cancel_reserve()
    sys.stdout.write(f"Cancelled reserve certificate {view.info.sha256}\n")
    return EXIT_OK
