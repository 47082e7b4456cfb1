"""Private files and directories (DESIGN §10: files 0600, directories 0700).

On Windows the POSIX modes mean nothing; the files inherit the ACL of the user's
profile directory, which is already private, so the mode calls are skipped there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700

_POSIX = os.name == "posix"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700; make ``path`` itself 0700.

    Parents that already exist are left as they are (they may be the user's home).
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        # mkdir's mode is masked by the umask, hence the chmod below.
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        chmod_private(directory)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} exists and is not a directory")
    chmod_private(path)


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600.

    The bytes go to a new temporary file in the same directory (created 0600, never
    readable by others even for a moment), are flushed to disk, and the file is then
    renamed over ``path``. A crash leaves either the old file or the new one, never a
    partial file; the temporary file is removed on any error.
    """
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, PRIVATE_FILE_MODE)
    try:
        try:
            if _POSIX:
                # The umask may have taken bits away; the mode must be exactly 0600.
                os.fchmod(fd, PRIVATE_FILE_MODE)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(directory)


def chmod_private(path: Path) -> None:
    """Make ``path`` private: 0700 for a directory, 0600 for anything else (POSIX only)."""
    if not _POSIX:
        return
    mode = PRIVATE_DIR_MODE if stat.S_ISDIR(path.stat().st_mode) else PRIVATE_FILE_MODE
    os.chmod(path, mode)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (POSIX); directories cannot be opened for fsync on Windows."""
    if not _POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
