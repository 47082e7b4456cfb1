"""A list as a CSV file (the device and at-risk lists' **Save as CSV…**, DESIGN §8).

The file is UTF-8 with a byte order mark (spreadsheet programs then read names in any
script), comma-separated, one header row, and written like every file of the program:
mode 0600, atomically (:func:`~kscert_gui.services.fsutil.write_private_file`). A cell
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) gets a
leading apostrophe: device names come from imported files and must not run there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from kscert_gui.model.errors import KscertError
from kscert_gui.services.fsutil import write_private_file

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """The CSV document of ``header`` and ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def save_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """Write the list to ``path`` (0600, atomically).

    Raises:
        KscertError: the file cannot be written; the message names it and says why.
    """
    data = csv_bytes(header, rows)
    try:
        write_private_file(path, data)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise KscertError(f"The file {path} cannot be written: {reason}.") from None
    return path
