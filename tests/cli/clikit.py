"""The ``kscert`` command run in this process, shared by the CLI tests."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from kscert_gui import cli


def write_passfile(path: Path, passphrase: bytes = b"a store passphrase for tests") -> Path:
    """A store passphrase file, mode 0600 from its creation (as ``--passphrase-file`` wants)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    os.write(fd, passphrase + b"\n")
    os.close(fd)
    return path


class Run:
    """``kscert --home HOME --passphrase-file FILE ARGS``: exit code, stdout, stderr.

    ``stdin`` is text, or bytes read through a strict UTF-8 text layer as on most
    desktops; ``home=False`` leaves ``--home`` out. No traceback may reach stderr.
    """

    def __init__(self, home: Path, passfile: Path, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.passfile = passfile
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def __call__(self, *args: str, stdin: str | bytes = "", home: bool = True) -> tuple[
        int, str, str
    ]:
        stream: Any = (
            io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="strict")
            if isinstance(stdin, bytes) else io.StringIO(stdin)
        )
        self.monkeypatch.setattr(sys, "stdin", stream)
        self.capsys.readouterr()
        where = ["--home", str(self.home)] if home else []
        rc = cli.main([*where, "--passphrase-file", str(self.passfile), *args])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err
        return rc, out, err

    def json(self, *args: str, stdin: str = "") -> tuple[int, Any]:
        rc, out, _err = self(*args, "--json", stdin=stdin)
        return rc, json.loads(out)
