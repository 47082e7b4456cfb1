"""Reading the files of a custom certificate for the importers (no Qt).

A file that cannot be read becomes an ``unreadable`` finding, never a traceback
(DESIGN §4). A file over 10 MiB is refused from its size, before it is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kscert_gui.model import crypto
from kscert_gui.model.certinfo import Finding
from kscert_gui.model.errors import InputFileError

MAX_INPUT_BYTES = 10 * 1024 * 1024

PathArg = str | os.PathLike[str]


def _too_large(path: Path, size: int) -> InputFileError:
    return InputFileError(
        f"The file {path} is too large ({size:,} bytes); certificate and key files are "
        f"at most {MAX_INPUT_BYTES // (1024 * 1024)} MiB."
    )


def _read_at_most(path: Path, limit: int) -> bytes:
    """Read up to ``limit`` bytes (the caller checks whether more were there)."""
    with open(path, "rb") as handle:
        return handle.read(limit)


def read_input_file(path: PathArg) -> bytes:
    """The bytes of a certificate, key or container file.

    The size is checked with ``os.stat`` before anything is read.

    Raises:
        InputFileError: the file is missing, a directory or not a regular file,
            cannot be read (permissions), or is larger than ``MAX_INPUT_BYTES``.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputFileError(f"The file {p} does not exist.") from None
    except PermissionError:
        raise InputFileError(f"The file {p} cannot be read: permission denied.") from None
    except OSError as exc:
        raise InputFileError(f"The file {p} cannot be read: {exc.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"{p} is a directory, not a file.")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or a device could block or never end.
        raise InputFileError(f"{p} is not a regular file.")
    if st.st_size > MAX_INPUT_BYTES:
        raise _too_large(p, st.st_size)
    try:
        data = _read_at_most(p, MAX_INPUT_BYTES + 1)
    except PermissionError:
        raise InputFileError(f"The file {p} cannot be read: permission denied.") from None
    except OSError as exc:
        raise InputFileError(f"The file {p} cannot be read: {exc.strerror}.") from None
    if len(data) > MAX_INPUT_BYTES:  # it grew after the stat
        raise _too_large(p, len(data))
    return data


def _unreadable(exc: InputFileError) -> Finding:
    return crypto.unreadable_finding(exc.message)


def load_pkcs12_file(path: PathArg, password: bytes | None) -> crypto.Material:
    """Read a PKCS #12 container (.p12, .pfx) into a Material; file errors are findings."""
    try:
        data = read_input_file(path)
    except InputFileError as exc:
        return crypto.Material(findings=(_unreadable(exc),))
    return crypto.read_pkcs12(data, password)


def load_x509_files(
    key_path: PathArg, key_password: bytes | None, cert_path: PathArg
) -> crypto.Material:
    """Read an X.509 private key file and its certificate file; file errors are findings."""
    findings: list[Finding] = []
    key_data: bytes | None = None
    cert_data: bytes | None = None
    try:
        key_data = read_input_file(key_path)
    except InputFileError as exc:
        findings.append(_unreadable(exc))
    try:
        cert_data = read_input_file(cert_path)
    except InputFileError as exc:
        findings.append(_unreadable(exc))
    if key_data is not None and cert_data is not None:
        return crypto.read_x509_pair(key_data, key_password, cert_data)
    if cert_data is not None:
        # The key file is missing: still show what the certificate is.
        partial = crypto.read_certificate_only(cert_data)
        return crypto.Material(
            certificate=partial.certificate,
            chain=partial.chain,
            findings=(*findings, *partial.findings),
        )
    return crypto.Material(findings=tuple(findings))


def load_certificate_file(path: PathArg) -> crypto.Material:
    """Read a certificate file (PEM, bundle or DER); file errors are findings."""
    try:
        data = read_input_file(path)
    except InputFileError as exc:
        return crypto.Material(findings=(_unreadable(exc),))
    return crypto.read_certificate_only(data)
