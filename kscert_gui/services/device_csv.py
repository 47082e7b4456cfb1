"""Reading a device list from CSV (DESIGN §6): checks every row, imports nothing itself.

The file has a header row naming the columns *name*, *group*, *platform* and *last
synchronization* (in any order; extra columns are ignored). The delimiter is a comma, a
semicolon (what spreadsheet programs write in many locales) or a tab, chosen by which
of them makes the header readable. A UTF-8 byte order mark is dropped, empty lines are
skipped. A last synchronization is ISO 8601 (``2026-03-01T09:30:00Z``; no offset means
UTC) or the server's export format ``DD.MM.YYYY HH:MM:SS`` (taken as UTC); empty means
"never synchronized". Groups are paths under "Managed devices" (``Field staff/North``).

Whatever the file holds, the result is a list of rows and a list of errors with line
numbers, or an :class:`~kscert_gui.model.errors.InputFileError` for a file that is not a
device list at all (binary, not UTF-8, too large, no usable header). Junk is refused
from its first 64 KiB, without reading the rest.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kscert_gui.model.clock import iso
from kscert_gui.model.errors import InputFileError
from kscert_gui.model.fleet import PLATFORMS, canonical_platform

#: ~1 million devices; a bigger file is not a device list of one server.
MAX_CSV_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024
MAX_NAME = 255
#: The error list keeps this many entries; the count covers all of them.
MAX_KEPT_ERRORS = 1000
#: A last synchronization may be this far in the future (clocks of exporting machines).
CLOCK_SKEW = timedelta(minutes=10)
ROOT_GROUP = "Managed devices"

COLUMNS = ("name", "group", "platform", "last synchronization")
_ALIASES = {
    "name": "name",
    "device": "name",
    "device name": "name",
    "host name": "name",
    "hostname": "name",
    "group": "group",
    "administration group": "group",
    "platform": "platform",
    "os": "platform",
    "operating system": "platform",
    "last synchronization": "last synchronization",
    "last synchronization time": "last synchronization",
    "last synchronized": "last synchronization",
    "last sync": "last synchronization",
    "last synced": "last synchronization",
}
_DELIMITERS = (",", ";", "\t")
_EXPORT_FORMAT = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2}):(\d{2})")
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


#: One good row: (line, name, group path under "Managed devices" (empty: the root),
#: platform, last synchronization as ISO 8601 UTC with Z or None). A plain tuple: building
#: an object per row would cost a third of the import of a large file.
DeviceRecord = tuple[int, str, tuple[str, ...], str, str | None]


@dataclass
class ParsedCsv:
    rows: list[DeviceRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    delimiter: str = ","

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(RowError(line, message))


class DeviceFileError(InputFileError):
    """The file is not a device list; ``errors`` says where (usually line 1)."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        lines = "; ".join(str(e) for e in self.errors)
        super().__init__(f"{path.name} is not a device list: {lines}")


def _normal_header(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def _header_map(fields: Sequence[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, text in enumerate(fields):
        column = _ALIASES.get(_normal_header(text))
        if column is not None and column not in found:
            found[column] = index
    return found if len(found) == len(COLUMNS) else None


def parse_time(text: str) -> datetime:
    """ISO 8601 (naive: UTC) or ``DD.MM.YYYY HH:MM:SS`` (UTC). ValueError if neither."""
    raw = text.strip()
    match = _EXPORT_FORMAT.fullmatch(raw)
    if match:
        day, month, year, hour, minute, second = (int(g) for g in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def group_path(text: str) -> tuple[str, ...]:
    """'Managed devices/Field staff/North' or 'Field staff/North' → ('Field staff', 'North')."""
    parts = [p.strip() for p in text.replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if parts and parts[0].casefold() == ROOT_GROUP.casefold():
        parts = parts[1:]
    return tuple(parts)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a device name, or None."""
    if not name:
        return "the device name is empty"
    if len(name) > MAX_NAME:
        return f"the device name is longer than {MAX_NAME} characters"
    if _CONTROL.search(name):
        return "the device name holds control characters"
    return None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DeviceFileError(
            path,
            [RowError(line, f"the file is not UTF-8 text (byte 0x{data[err.start]:02x}); "
                            "save it as CSV UTF-8")],
        ) from None


def read_head(path: Path) -> tuple[bytes, int]:
    """The first bytes of the file and its size; InputFileError if it cannot be a CSV."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise InputFileError(f"{path} is a directory, not a CSV file.")
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
    except FileNotFoundError:
        raise InputFileError(f"{path} does not exist.") from None
    except OSError as err:
        raise InputFileError(f"{path} cannot be read: {err.strerror or err}") from None
    if size > MAX_CSV_BYTES:
        raise InputFileError(
            f"{path.name} is {size / 1048576:.0f} MiB; a device list is at most "
            f"{MAX_CSV_BYTES // 1048576} MiB. Is it the right file?"
        )
    if b"\x00" in head:
        raise DeviceFileError(path, [RowError(head.count(b"\n", 0, head.index(b"\x00")) + 1,
                                              "the file holds binary data, not CSV text")])
    if not head.strip():
        raise DeviceFileError(path, [RowError(1, "the file is empty; the first line must "
                                                 "name the columns " + ", ".join(COLUMNS))])
    if size > len(head) and b"\n" not in head:
        raise DeviceFileError(path, [RowError(1, f"the first line is longer than "
                                                 f"{HEAD_BYTES // 1024} KiB: not a header row")])
    return head, size


def _header(path: Path, head_text: str) -> tuple[str, dict[str, int], int]:
    """(delimiter, column → index, number of header fields) from the first line."""
    first = head_text.splitlines()[0] if head_text else ""
    best: list[str] = []
    for delimiter in _DELIMITERS:
        fields = next(csv.reader([first], delimiter=delimiter), [])
        mapping = _header_map(fields)
        if mapping is not None:
            return delimiter, mapping, len(fields)
        if len(fields) > len(best):
            best = fields
    shown = ", ".join(repr(f.strip()[:40]) for f in best[:8]) or "nothing"
    raise DeviceFileError(
        path,
        [RowError(1, "the header row must name the columns " + ", ".join(COLUMNS)
                  + f" (separated by commas or semicolons); found {shown}")],
    )


def read_device_csv(path: Path, now: datetime) -> ParsedCsv:
    """Read and check every row of ``path``; see the module docstring for the format."""
    head, _size = read_head(path)
    # The header is checked on the first 64 KiB before the rest of the file is read.
    head_text = head.decode("utf-8-sig", errors="replace")
    delimiter, columns, width = _header(path, head_text.lstrip("\r\n"))
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputFileError(f"{path} cannot be read: {err.strerror or err}") from None
    text = _decode(path, data)
    parsed = ParsedCsv(delimiter=delimiter)
    i_name, i_group = columns["name"], columns["group"]
    i_platform, i_last = columns["platform"], columns["last synchronization"]
    latest = now + CLOCK_SKEW
    latest_iso = iso(latest)
    seen: dict[str, int] = {}
    rows = parsed.rows
    # The common row (canonical ISO time, known spelling of platform and group, a plain
    # name) is taken in a few dictionary lookups; anything else goes through _record,
    # which checks it in full and says what is wrong. 100 000 rows are one import.
    platforms = {p: p for p in PLATFORMS}
    groups: dict[str, tuple[str, ...]] = {}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    header_seen = False
    fromisoformat = datetime.fromisoformat
    try:
        for fields in reader:
            line = previous + 1
            previous = reader.line_num
            if len(fields) == width and header_seen:
                name = fields[i_name]
                raw_time = fields[i_last]
                platform = platforms.get(fields[i_platform])
                group = groups.get(fields[i_group])
                if (
                    platform is not None and group is not None and name
                    and len(name) <= MAX_NAME and name.isprintable()
                    and name[0] != " " and name[-1] != " "
                    and (not raw_time or (
                        len(raw_time) == 20 and raw_time[10] == "T" and raw_time[19] == "Z"
                        and raw_time <= latest_iso
                    ))
                ):
                    try:
                        if raw_time:
                            fromisoformat(raw_time)
                    except ValueError:
                        pass  # _record below reports it
                    else:
                        key = name.casefold()
                        if key not in seen:
                            seen[key] = line
                            rows.append((line, name, group, platform, raw_time or None))
                            continue
            if not fields or not "".join(fields).strip():
                continue  # an empty line
            if not header_seen:
                header_seen = True  # the first line that is not empty: checked above
                continue
            if len(fields) != width:
                parsed.add_error(
                    line, f"{len(fields)} field(s) where the header has {width} (is a "
                    f"'{delimiter}' inside a value that is not quoted?)")
                continue
            record = _record(line, fields, i_name, i_group, i_platform, i_last, latest,
                             parsed)
            if record is None:
                continue
            groups.setdefault(fields[i_group], record[2])
            key = record[1].casefold()
            first_line = seen.get(key)
            if first_line is not None:
                parsed.add_error(line, f"device '{record[1]}' already appears on line "
                                       f"{first_line}")
                continue
            seen[key] = line
            rows.append(record)
    except csv.Error as err:
        raise DeviceFileError(path, [RowError(previous + 1, f"not CSV: {err}")]) from None
    return parsed


def _record(line: int, fields: Sequence[str], i_name: int, i_group: int, i_platform: int,
            i_last: int, latest: datetime, parsed: ParsedCsv) -> DeviceRecord | None:
    name = fields[i_name].strip()
    problem = check_name(name)
    if problem is not None:
        parsed.add_error(line, problem)
        return None
    raw_platform = fields[i_platform]
    platform = raw_platform if raw_platform in PLATFORMS else canonical_platform(raw_platform)
    if platform is None:
        parsed.add_error(line, f"unknown platform '{raw_platform.strip()[:40]}' for device "
                               f"'{name}'; use one of {', '.join(PLATFORMS)}")
        return None
    raw_time = fields[i_last].strip()
    last: str | None = None
    if raw_time:
        try:
            when = parse_time(raw_time)
        except (ValueError, OverflowError):
            parsed.add_error(line, f"'{raw_time[:40]}' is not a date and time; write ISO 8601 "
                                   "(2026-03-01T09:30:00Z) or DD.MM.YYYY HH:MM:SS")
            return None
        if when > latest:
            parsed.add_error(line, f"the last synchronization {iso(when)} of '{name}' is in "
                                   "the future")
            return None
        last = raw_time if _CANONICAL.fullmatch(raw_time) else iso(when)
    return (line, name, group_path(fields[i_group]), platform, last)
