"""Save as CSV: UTF-8 with a byte order mark, 0600, atomic, no formula a spreadsheet runs."""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from pathlib import Path

import pytest

from kscert_gui.model.errors import KscertError
from kscert_gui.services import table_export


def test_formulas_get_an_apostrophe() -> None:
    data = table_export.csv_bytes(["Name"], [['=HYPERLINK("x")'], ["-1+2"], ["@a"], ["plain"]])
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Name"], ["'=HYPERLINK(\"x\")"], ["'-1+2"], ["'@a"], ["plain"]]
    assert data.startswith("\ufeff".encode())


def test_the_file_is_private_and_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o644)
    table_export.save_csv(target, ["a", "b"], [["1", "x,y"], ["2", 'q"uote']])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(csv.reader(target.open(encoding="utf-8-sig"))) == [
        ["a", "b"], ["1", "x,y"], ["2", 'q"uote']]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_write_error_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.csv"
    with pytest.raises(KscertError) as caught:
        table_export.save_csv(target, ["a"], [])
    assert str(caught.value) == (
        f"The file {target} cannot be written: {os.strerror(errno.ENOENT)}.")
