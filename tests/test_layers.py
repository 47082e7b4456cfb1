"""STYLE "Layers": model and services never import PySide6."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_model_and_services_import_without_pyside6() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "import kscert_gui.model, kscert_gui.services, kscert_gui.cli\n"
        "for pkg in (kscert_gui.model, kscert_gui.services):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'PySide6')\n"
        "print('LOADED', len(sys.modules))\n"
        "sys.exit('PySide6 imported: ' + ', '.join(bad) if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "LOADED" in proc.stdout


def test_no_widget_module_imports_cryptography_or_keyring() -> None:
    offenders = []
    for path in (ROOT / "kscert_gui" / "ui").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                f" {mod}" in stripped or f" {mod}." in stripped
                for mod in ("cryptography", "keyring")
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []
