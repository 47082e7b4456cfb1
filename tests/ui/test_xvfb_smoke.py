"""Smoke test on a real X server: the console opens Properties → Certificates on the demo
store and saves a screenshot of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

pytestmark = pytest.mark.integration


def _free_display() -> int:
    for number in range(97, 140):
        if not Path(f"/tmp/.X{number}-lock").exists() and \
                not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb() -> Iterator[str]:
    binary = shutil.which("Xvfb")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Xvfb is not installed (CI=true: required)")
        pytest.skip("Xvfb is not installed")
    number = _free_display()
    proc = subprocess.Popen(
        [binary, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    try:
        for _ in range(200):
            if socket.exists() or proc.poll() is not None:
                break
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        if not socket.exists():
            err = proc.stderr.read().decode() if proc.stderr and proc.poll() is not None else ""
            pytest.fail(f"Xvfb did not start: {err}")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_certificates_page_screenshot_under_xvfb(xvfb: str, tmp_path: Path) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("xvfb smoke passphrase\n")
    passphrase.chmod(0o600)
    shot = tmp_path / "certificates.png"
    env = dict(os.environ)
    env.update(
        DISPLAY=xvfb,
        QT_QPA_PLATFORM="xcb",
        KSCERT_PASSPHRASE_FILE=str(passphrase),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "kscert_gui", "--home", str(tmp_path / "home"),
         "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shot.is_file()
    image = QImage(str(shot))
    assert not image.isNull()
    assert image.width() >= 600 and image.height() >= 400
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7)}
    assert len(colours) > 20, "the screenshot is (nearly) blank"
