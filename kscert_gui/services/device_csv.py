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
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from kscert_gui.model.clock import iso
from kscert_gui.model.errors import InputFileError
from kscert_gui.model.fleet import PLATFORMS, canonical_platform

#: ~1 million devices; a bigger file is not a device list of one server.
MAX_CSV_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024
MAX_NAME = 255
#: Groups nest at most this deep under "Managed devices".
MAX_GROUP_DEPTH = 32
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
#: platform, last synchronization as ISO 8601 UTC with Z or None).
DeviceRecord = tuple[int, str, tuple[str, ...], str, str | None]


@dataclass
class ParsedCsv:
    """The good rows column by column (row ``i`` is ``lines[i]``, ``names[i]``, …) and the
    errors. Columns, not an object or a tuple per row: for 100 000 rows, building and
    garbage-collecting those costs more than checking them."""

    lines: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    #: The group as the file writes it; ``group_paths`` turns it into a path.
    group_texts: list[str] = field(default_factory=list)
    #: Each group text of a good row → its path under "Managed devices" (empty: the
    #: root), in the order the file first names them.
    group_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    #: ISO 8601 UTC with a Z, or None (never synchronized).
    last_syncs: list[str | None] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.names)

    @property
    def groups(self) -> list[tuple[str, ...]]:
        """The group path of each row."""
        return list(map(self.group_paths.__getitem__, self.group_texts))

    @property
    def rows(self) -> list[DeviceRecord]:
        return list(zip(self.lines, self.names, self.groups, self.platforms, self.last_syncs,
                        strict=True))

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


def check_group(text: str) -> str | None:
    """Why the group path ``text`` cannot name a group (to be created), or None."""
    parts = group_path(text)
    if len(parts) > MAX_GROUP_DEPTH:
        return (f"the group path has {len(parts)} levels; groups nest at most "
                f"{MAX_GROUP_DEPTH} deep")
    for part in parts:
        if len(part) > MAX_NAME:
            return f"the group name '{part[:40]}…' is longer than {MAX_NAME} characters"
        if _CONTROL.search(part):
            return "the group name holds control characters"
    return None


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
        info = path.stat()
        size = info.st_size
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(f"{path} is a directory, not a CSV file.")
        if not stat.S_ISREG(info.st_mode):
            # A pipe with no writer, a terminal or a device could block or never end.
            raise InputFileError(
                f"{path} is not a regular file (a pipe or a device); save the device list "
                "to a file and give its name."
            )
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
    del data
    parsed = _read_plain(text, delimiter, columns, width, now)
    if parsed is None:
        parsed = _read_rows(path, text, delimiter, columns, width, now)
    return parsed


# --- a plain file, column by column --------------------------------------------------------

#: Where a canonical ISO 8601 time (2026-03-01T09:30:00Z) and an export time
#: (01.03.2026 09:30:00) have their separators.
_ISO_MARKS = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z"))
_EXPORT_MARKS = ((2, "."), (5, "."), (13, ":"), (16, ":"))


def _read_plain(text: str, delimiter: str, columns: Mapping[str, int], width: int,
                now: datetime) -> ParsedCsv | None:
    """The whole file checked column by column, or None if it needs :func:`_read_rows`.

    An export of a device list is plain: no quotes, one row a line, every name, platform
    and time already in the form the store keeps. Such a file is checked a column at a
    time with a few calls that each go over the whole column (a set of the platforms,
    one string of all the names, …), which is several times faster than a row at a
    time. Anything this does not take (a quote, an empty line, a bad or duplicate row,
    a name with spaces around it, a time in another form) makes it return None, and
    the row-by-row reader reads the file instead, reporting every bad row by line. The
    two readers give the same result for every file this one takes.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if '"' in text or "\r" in text or "\x00" in text:
        return None
    if text.endswith("\n"):
        text = text[:-1]
    # Each line break becomes a field of its own: one split gives every field of every
    # line, and the "\n" fields show where the lines end.
    fields = text.replace("\n", f"{delimiter}\n{delimiter}").split(delimiter)
    stride = width + 1
    rows = (len(fields) + 1) // stride - 1  # the first line is the header
    # Every line, the header included, has exactly one field per column: so no line is
    # empty and no value holds the delimiter.
    if (rows < 1 or len(fields) != (rows + 1) * stride - 1 or text.count("\n") != rows
            or fields[width::stride] != ["\n"] * rows):
        return None
    # The csv module refuses a field longer than its limit. The checks below keep names,
    # platforms and times short, and groups are checked on their few distinct values; the
    # columns that are not read are checked here. (The header is shorter: see read_head.)
    limit = csv.field_size_limit()
    if len(text) >= limit and any(max(map(len, fields[stride + i::stride])) >= limit
                                  for i in range(width) if i not in columns.values()):
        return None
    names = fields[stride + columns["name"]::stride]
    raw_groups = fields[stride + columns["group"]::stride]
    raw_platforms = fields[stride + columns["platform"]::stride]
    raw_times = fields[stride + columns["last synchronization"]::stride]
    del fields, text

    # Names: not empty, not too long, printable (no control characters, no spaces other
    # than " "), no space before or after (which the row reader would strip), unique.
    # Each check goes over one string of all the names (the lines never held a "\n").
    joined = "\n".join(names)
    if (not joined or max(map(len, names)) > MAX_NAME
            or not joined.replace("\n", " ").isprintable()
            or joined.startswith((" ", "\n")) or joined.endswith((" ", "\n"))
            or "\n\n" in joined or " \n" in joined or "\n " in joined):
        return None
    # Case folding goes character by character, so folding all names at once is folding
    # each; most lists have no capitals at all.
    folded = joined.casefold()
    if len(set(names if folded == joined else folded.split("\n"))) != rows:
        return None

    platform_of = {raw: raw if raw in PLATFORMS else canonical_platform(raw)
                   for raw in set(raw_platforms)}
    if None in platform_of.values():
        return None
    if all(raw == platform for raw, platform in platform_of.items()):
        platforms = raw_platforms
    else:
        platforms = [platform_of[raw] or "" for raw in raw_platforms]

    last_syncs = _plain_times(raw_times, now + CLOCK_SKEW)
    if last_syncs is None:
        return None

    group_paths = {raw: group_path(raw) for raw in dict.fromkeys(raw_groups)}
    if max(map(len, group_paths)) >= limit or any(map(check_group, group_paths)):
        return None  # the row reader says which rows are bad
    return ParsedCsv(
        lines=list(range(2, rows + 2)),
        names=names,
        group_texts=raw_groups,
        group_paths=group_paths,
        platforms=platforms,
        last_syncs=last_syncs,
        delimiter=delimiter,
    )


def _plain_times(raw_times: list[str], latest: datetime) -> list[str | None] | None:
    """The times as the store keeps them, if all are empty or in one of the two forms
    written out in full (``2026-03-01T09:30:00Z``, ``01.03.2026 09:30:00``) and none is
    later than ``latest``; else None."""
    lengths = set(map(len, raw_times))
    empty = 0 in lengths
    if empty:
        lengths.discard(0)
        if not lengths:
            return [None] * len(raw_times)
    present = [t for t in raw_times if t] if empty else raw_times
    joined = "".join(present)
    if lengths == {20} and all(joined[at::20] == mark * len(present) for at, mark in _ISO_MARKS):
        converted = raw_times
        canonical = present
    elif (lengths == {19} and all(joined[at::19] == mark * len(present)
                                  for at, mark in _EXPORT_MARKS)
          and set(joined[10::19]) <= {" ", "T"} and "0" not in joined[6::19]):
        # DD.MM.YYYY HH:MM:SS → YYYY-MM-DDTHH:MM:SSZ. A year before 1000 (a leading 0)
        # is left to the row reader.
        converted = [f"{t[6:10]}-{t[3:5]}-{t[:2]}T{t[11:]}Z" if t else "" for t in raw_times]
        canonical = [t for t in converted if t] if empty else converted
    else:
        return None
    try:
        # Checks that the digits are digits and the date and time exist (no 30 February),
        # and finds the latest.
        if max(map(datetime.fromisoformat, canonical)) > latest:
            return None  # in the future: the row reader says which
    except ValueError:
        return None
    return [t or None for t in converted] if empty else cast("list[str | None]", converted)


# --- any file, row by row ------------------------------------------------------------------


def _read_rows(path: Path, text: str, delimiter: str, columns: Mapping[str, int], width: int,
               now: datetime) -> ParsedCsv:
    """Read and check ``text`` a row at a time, reporting every bad row by its line."""
    parsed = ParsedCsv(delimiter=delimiter)
    i_name, i_group = columns["name"], columns["group"]
    i_platform, i_last = columns["platform"], columns["last synchronization"]
    latest = now + CLOCK_SKEW
    latest_iso = iso(latest)
    seen: dict[str, int] = {}
    add_line, add_name = parsed.lines.append, parsed.names.append
    add_group, add_platform = parsed.group_texts.append, parsed.platforms.append
    add_last = parsed.last_syncs.append
    # The common row (canonical ISO time, known spelling of platform and group, a plain
    # name) is taken in a few dictionary lookups; anything else goes through _record,
    # which checks it in full and says what is wrong.
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
                if (len(raw_time) == 19 and raw_time[2] == raw_time[5] == "."
                        and raw_time[10] in " T" and raw_time[6] != "0"):
                    # The export form DD.MM.YYYY HH:MM:SS (year 1000 on), as ISO 8601:
                    # checked as such below.
                    raw_time = (f"{raw_time[6:10]}-{raw_time[3:5]}-{raw_time[:2]}T"
                                f"{raw_time[11:]}Z")
                platform = platforms.get(fields[i_platform])
                group_text = fields[i_group]
                if (
                    platform is not None and group_text in groups and name
                    and len(name) <= MAX_NAME and name.isprintable()
                    and name[0] != " " and name[-1] != " "
                    and (not raw_time or (
                        len(raw_time) == 20 and raw_time[10] == "T" and raw_time[19] == "Z"
                        and raw_time[4] == raw_time[7] == "-"
                        and raw_time[13] == raw_time[16] == ":"
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
                            add_line(line)
                            add_name(name)
                            add_group(group_text)
                            add_platform(platform)
                            add_last(raw_time or None)
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
            add_line(line)
            add_name(record[1])
            add_group(fields[i_group])
            add_platform(record[3])
            add_last(record[4])
    except csv.Error as err:
        raise DeviceFileError(path, [RowError(previous + 1, f"not CSV: {err}")]) from None
    parsed.group_paths = {raw: groups[raw] for raw in dict.fromkeys(parsed.group_texts)}
    return parsed


def _record(line: int, fields: Sequence[str], i_name: int, i_group: int, i_platform: int,
            i_last: int, latest: datetime, parsed: ParsedCsv) -> DeviceRecord | None:
    name = fields[i_name].strip()
    problem = check_name(name)
    if problem is not None:
        parsed.add_error(line, problem)
        return None
    group_problem = check_group(fields[i_group])
    if group_problem is not None:
        parsed.add_error(line, f"{group_problem} (device '{name}')")
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
