"""The device CSV reader (DESIGN §6): the column-by-column path for plain files gives
exactly what the row-by-row reader gives, and every other file still goes row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscert_gui.model.clock import iso
from kscert_gui.model.errors import InputFileError
from kscert_gui.services import device_csv
from kscert_gui.services.device_csv import ParsedCsv

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
HEADER = "name,group,platform,last synchronization\n"


def readers(tmp_path: Path, content: str) -> tuple[ParsedCsv | None, ParsedCsv]:
    """(the column reader's answer, the row reader's answer) for one file.

    Raises InputFileError when the file is not a device list by its header (neither
    reader runs), or when the row reader finds it is not CSV.
    """
    path = tmp_path / "devices.csv"
    path.write_text(content, encoding="utf-8", newline="")
    head, _size = device_csv.read_head(path)
    delimiter, columns, width = device_csv._header(
        path, head.decode("utf-8-sig", errors="replace").lstrip("\r\n"))
    text = device_csv._decode(path, path.read_bytes())
    fast = device_csv._read_plain(text, delimiter, columns, width, NOW)
    try:
        slow = device_csv._read_rows(path, text, delimiter, columns, width, NOW)
    except InputFileError:
        assert fast is None, "the column reader took a file the row reader refuses"
        raise
    return fast, slow


def same(a: ParsedCsv, b: ParsedCsv) -> bool:
    return (a.rows, list(a.group_paths.items()), a.errors, a.error_count, a.delimiter) == (
        b.rows, list(b.group_paths.items()), b.errors, b.error_count, b.delimiter)


def plain(tmp_path: Path, content: str) -> ParsedCsv:
    """The file is taken column by column, with the row reader's result."""
    fast, slow = readers(tmp_path, content)
    assert fast is not None, "expected the column reader to take this file"
    assert same(fast, slow)
    return fast


def not_plain(tmp_path: Path, content: str) -> ParsedCsv:
    """The file is left to the row reader."""
    fast, slow = readers(tmp_path, content)
    assert fast is None, "expected the row reader to read this file"
    return slow


def test_a_plain_export_is_read_column_by_column(tmp_path: Path) -> None:
    parsed = plain(tmp_path, HEADER
                   + "dev-1,Head office,iOS,2026-11-26T08:00:00Z\n"
                   + "dev-2,Managed devices/Field staff/North,Android,\n"
                   + "dev-3,Head office,Windows,2026-11-25T23:59:59Z\n")
    assert parsed.rows == [
        (2, "dev-1", ("Head office",), "iOS", "2026-11-26T08:00:00Z"),
        (3, "dev-2", ("Field staff", "North"), "Android", None),
        (4, "dev-3", ("Head office",), "Windows", "2026-11-25T23:59:59Z"),
    ]
    assert list(parsed.group_paths) == ["Head office", "Managed devices/Field staff/North"]
    assert len(parsed) == 3 and parsed.errors == [] and parsed.error_count == 0


def test_export_format_times_bom_semicolons_crlf_and_spellings(tmp_path: Path) -> None:
    parsed = plain(tmp_path, "\ufeffName;Group;OS;Last sync\r\n"
                   "and-1;Field staff;android;26.11.2026 08:00:00\r\n"
                   "iph-2;Field staff;IOS;01.02.2026T07:30:05\r\n"
                   "iph-3;Field staff;iOS;\r\n")
    assert parsed.delimiter == ";"
    assert parsed.platforms == ["Android", "iOS", "iOS"]
    assert parsed.last_syncs == ["2026-11-26T08:00:00Z", "2026-02-01T07:30:05Z", None]


def test_last_line_without_a_line_break_and_extra_columns(tmp_path: Path) -> None:
    parsed = plain(tmp_path, "serial\tname\tgroup\tplatform\tlast synchronization\n"
                   "S1\tdev-1\tKiosks\tAndroid\t2026-11-26T08:00:00Z\n"
                   "S2\tdev-2\tKiosks\tAndroid\t2026-11-26T09:00:00Z")
    assert parsed.names == ["dev-1", "dev-2"] and parsed.lines == [2, 3]


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ("dev-1,G,iOS,2026-11-26T08:00:00Z\n\ndev-2,G,iOS,\n", "an empty line"),
        ('"dev-1",G,iOS,\n', "a quote"),
        ("dev-1,G,iOS,\rdev-2,G,iOS,\r", "old Mac line breaks"),
        (" dev-1,G,iOS,\n", "a space before a name"),
        ("dev-1,G,iOS, 2026-11-26T08:00:00Z\n", "a space before a time"),
        ("dev-1,G,iOS,2026-11-26T08:00:00Z\ndev-2,G,iOS,26.11.2026 08:00:00\n",
         "two forms of time"),
        ("dev-1,G,iOS,2026-11-26 08:00:00\n", "an ISO time without T and Z"),
        ("dev-1,G,iOS,01.01.0999 08:00:00\n", "a year before 1000"),
    ],
)
def test_anything_unusual_goes_row_by_row_with_the_same_result(
    tmp_path: Path, rows: str, why: str
) -> None:
    parsed = not_plain(tmp_path, HEADER + rows)
    assert parsed.error_count == 0, why
    assert parsed.names[0] == "dev-1"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("dev-2,G,Symbian,", "unknown platform 'Symbian'"),
        ("DEV-1,G,iOS,", "device 'DEV-1' already appears on line 2"),
        ("dev-2,G,iOS,2026-02-30T00:00:00Z", "is not a date and time"),
        ("dev-2,G,iOS,31.02.2026 10:00:00", "is not a date and time"),
        ("dev-2,G,iOS,2026-11-26T09:40:01Z", "in the future"),
        ("dev-2,G,iOS,26.11.2026 09:40:01", "in the future"),
        ("dev-2,G,iOS,,x", "5 field(s) where the header has 4"),
        (",G,iOS,", "the device name is empty"),
        ("a\x01b,G,iOS,", "control characters"),
        ("x" * 256 + ",G,iOS,", "longer than 255"),
    ],
)
def test_bad_rows_in_a_large_file_are_reported_by_line(
    tmp_path: Path, row: str, message: str
) -> None:
    good = [f"dev-{i},Group {i % 7},Android,2026-11-26T0{i % 9}:00:00Z" for i in range(3, 30_000)]
    lines = ["dev-1,G,iOS,2026-11-26T08:00:00Z", *good[:20_000], row, *good[20_000:]]
    parsed = not_plain(tmp_path, HEADER + "\n".join(lines) + "\n")
    assert parsed.error_count == 1
    assert str(parsed.errors[0]).startswith("line 20003: ")  # header, dev-1, 20 000 rows
    assert message in parsed.errors[0].message
    assert len(parsed) == len(lines) - 1


def test_names_that_fold_to_the_same_are_duplicates(tmp_path: Path) -> None:
    # Case folding, not lower(): a final sigma is a sigma; ß is ss.
    upper, final, other = "\u0391\u03a3", "\u03b1\u03c2", "\u03b1\u03b2"  # ΑΣ, ας, αβ
    parsed = not_plain(tmp_path, HEADER + f"{upper},G,iOS,\n{final},G,iOS,\n"
                       "straße,G,iOS,\nSTRASSE,G,iOS,\n")
    assert [e.line for e in parsed.errors] == [3, 5]
    plain(tmp_path, HEADER + f"{upper},G,iOS,\n{other},G,iOS,\nStraße,G,iOS,\n")


def test_an_iso_week_date_is_kept_in_the_canonical_form(tmp_path: Path) -> None:
    # 2025-W48-4 is Thursday 27 November 2025: taken, but kept as the store writes times
    # (the row reader's quick path once kept it as written, on any row after the first
    # of its group).
    parsed = not_plain(tmp_path, HEADER + "dev-0,G,iOS,\ndev-1,G,iOS,2025-W48-4T08:00:00Z\n")
    assert parsed.last_syncs == [None, "2025-11-27T08:00:00Z"]


def test_the_row_reader_takes_export_times_too(tmp_path: Path) -> None:
    parsed = not_plain(tmp_path, HEADER + '"dev-1",G,iOS,"26.11.2026 08:00:00"\n'
                       '"dev-2",G,iOS,26.11.2026T07:00:00\n'
                       '"dev-3",G,iOS,31.02.2026 08:00:00\n'
                       '"dev-4",G,iOS,6.11.2026 08:00:00\n'
                       '"dev-5",G,iOS,26.11.2026 09:40:01\n')
    assert parsed.last_syncs == ["2026-11-26T08:00:00Z", "2026-11-26T07:00:00Z",
                                 "2026-11-06T08:00:00Z"]
    assert [str(e)[:7] for e in parsed.errors] == ["line 4:", "line 6:"]
    assert "future" in parsed.errors[1].message


def test_the_latest_time_allowed_is_ten_minutes_ahead(tmp_path: Path) -> None:
    limit = iso(NOW + device_csv.CLOCK_SKEW)
    assert plain(tmp_path, HEADER + f"dev-1,G,iOS,{limit}\n").last_syncs == [limit]
    later = iso(NOW + device_csv.CLOCK_SKEW + timedelta(seconds=1))
    assert not_plain(tmp_path, HEADER + f"dev-1,G,iOS,{later}\n").error_count == 1


def test_the_public_reader_gives_the_same_either_way(tmp_path: Path) -> None:
    content = HEADER + "".join(f"dev-{i},G/{i % 3},iOS,26.11.2026 0{i % 9}:00:00\n"
                               for i in range(500))
    fast, slow = readers(tmp_path, content)
    assert fast is not None and same(fast, slow)
    assert same(device_csv.read_device_csv(tmp_path / "devices.csv", NOW), slow)


# --- the two readers agree on whatever a file holds ------------------------------------------

_NAMES = ["dev-1", "dev-2", "Dev-1", "dev 3", " dev-4", "dev-5 ", "", "\u0391\u03a3",
          "\u03b1\u03c2", "é", "a\tb", "a\u00a0b", "\ufeffz", "x" * 255, "x" * 256, "a;b", "a,b",
          "q"]
_GROUPS = ["Head office", "Managed devices/Phones", "managed devices", "", " x / y ", "a\\b", "/"]
_PLATFORMS = ["iOS", "Android", "Windows", "ios", " iOS", "Symbian", "LINUX", ""]
_TIMES = ["", "2026-11-26T08:00:00Z", "2026-11-26T09:40:00Z", "2026-11-26T09:40:01Z",
          "2026-02-30T00:00:00Z", "2026-W48-4T08:00:00Z", "2026-11-26T24:00:00Z",
          "26.11.2026 08:00:00", "26.11.2026T08:00:00", "6.11.2026 08:00:00",
          "31.02.2026 08:00:00", "01.01.0999 08:00:00", "26.11.2026 09:40:01",
          "2026-11-26 08:00:00", "2026-11-26T08:00:00+01:00", " 2026-11-26T08:00:00Z",
          "0999-11-26T08:00:00Z", "yesterday", "26-11-2026 08:00:00"]
_COLUMNS = ["name", "group", "platform", "last synchronization"]


@st.composite
def device_files(draw: st.DrawFn) -> str:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    header = draw(st.permutations([*_COLUMNS, *(["serial"] if draw(st.booleans()) else [])]))
    tidy = draw(st.booleans())  # mostly good rows, so that the column reader takes many

    def value(column: str, index: int) -> str:
        if column == "name":
            return f"dev-{index}" if tidy else draw(st.sampled_from(_NAMES))
        choices = {"group": _GROUPS, "platform": _PLATFORMS, "last synchronization": _TIMES,
                   "serial": ["", "S1", "a;b"]}[column]
        return draw(st.sampled_from(choices[:3] if tidy else choices))

    rows = [delimiter.join(value(c, i) for c in header)
            for i in range(draw(st.integers(1, 8)))]
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = newline.join([delimiter.join(header), *rows]) + draw(
        st.sampled_from(["", newline, newline * 2]))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(
            ['"', "\x00", "\r", "\n", " ", delimiter, "\x0b", "\u2028", ""])) + text[at:]
    return ("\ufeff" if draw(st.booleans()) else "") + text


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=device_files())
def test_the_column_reader_agrees_with_the_row_reader(tmp_path: Path, content: str) -> None:
    try:
        fast, slow = readers(tmp_path, content)
    except InputFileError:
        return  # not a device list (header): neither reader runs
    if fast is not None:
        assert fast.error_count == 0
        assert same(fast, slow), content
