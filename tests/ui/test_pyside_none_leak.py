"""DESIGN §12: PySide6-Essentials 6.12.0 on Python 3.11 drops references to None in ordinary
setters until the interpreter aborts ("none_dealloc"). Catch a release that brings it back."""

from __future__ import annotations

import os
import subprocess
import sys

CALLS = 20_000

SCRIPT = f"""
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
app = QApplication([])
label = QLabel()
button = QPushButton()
for i in range({CALLS}):
    label.setText("x")
    label.setEnabled(True)
    button.setEnabled(False)
    button.setToolTip("")
print("done", {CALLS})
"""


def test_setters_do_not_leak_none() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"done {CALLS}" in proc.stdout
