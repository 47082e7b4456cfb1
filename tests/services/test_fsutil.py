"""Private files and directories: modes 0600/0700 whatever the umask; atomic writes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscert_gui.services import fsutil


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave files world-readable, so the code must not rely on it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_ensure_private_dir_creates_missing_parents_0700(tmp_path: Path,
                                                         loose_umask: None) -> None:
    target = tmp_path / "a" / "b" / "c"
    fsutil.ensure_private_dir(target)
    assert target.is_dir()
    for path in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert mode(path) == 0o700, path

    # An existing parent (the user's own directory) is left as it was.
    tmp_path.chmod(0o755)
    fsutil.ensure_private_dir(tmp_path / "x" / "y")
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "x") == 0o700


def test_ensure_private_dir_tightens_an_existing_directory(tmp_path: Path) -> None:
    target = tmp_path / "store"
    target.mkdir()
    target.chmod(0o755)
    fsutil.ensure_private_dir(target)
    assert mode(target) == 0o700
    fsutil.ensure_private_dir(target)  # idempotent
    assert mode(target) == 0o700


def test_ensure_private_dir_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        fsutil.ensure_private_dir(target)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_write_private_file_is_exactly_0600(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "out.bin"
    old = os.umask(umask)
    try:
        fsutil.write_private_file(target, b"secret-ish bytes")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"secret-ish bytes"
    assert mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_write_private_file_replaces_a_world_readable_file(tmp_path: Path) -> None:
    target = tmp_path / "export.pem"
    target.write_bytes(b"old contents")
    target.chmod(0o644)
    fsutil.write_private_file(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert mode(target) == 0o600


def test_temp_file_is_created_0600_with_o_excl(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy_open(path: str | os.PathLike[str], flags: int, mode: int = 0o777,
                 **kwargs: object) -> int:
        seen.append((os.fspath(path), flags, mode))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spy_open)
    fsutil.write_private_file(tmp_path / "f", b"data")
    temp = [s for s in seen if s[0].endswith(".tmp")]
    assert len(temp) == 1
    _path, flags, created_mode = temp[0]
    assert created_mode == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_WRONLY
    assert Path(temp[0][0]).parent == tmp_path


def test_failure_mid_write_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    target = tmp_path / "data"
    fsutil.write_private_file(target, b"previous version")
    real_write = os.write

    def write_half_then_fail(fd: int, data: bytes | memoryview) -> int:
        real_write(fd, bytes(data)[: max(1, len(data) // 2)])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.raises(OSError, match="No space"):
        fsutil.write_private_file(target, b"a much longer new version of the data")
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failure_before_rename_leaves_no_partial_file(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      failing: str) -> None:
    target = tmp_path / "new-file"

    def boom(*_args: object, **_kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="Input/output"):
        fsutil.write_private_file(target, b"contents")
    assert list(tmp_path.iterdir()) == []


def test_chmod_private(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    file = directory / "f"
    file.write_bytes(b"")
    file.chmod(0o666)
    fsutil.chmod_private(directory)
    fsutil.chmod_private(file)
    assert mode(directory) == 0o700
    assert mode(file) == 0o600


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=70_000))
def test_write_private_file_round_trips_any_bytes(tmp_path: Path, data: bytes) -> None:
    target = tmp_path / "blob"
    fsutil.write_private_file(target, data)
    assert target.read_bytes() == data
    assert mode(target) == 0o600
