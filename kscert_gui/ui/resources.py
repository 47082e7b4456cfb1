"""Icons from the top-level ``resources/icons`` directory (SVG, drawn for this project)."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

#: A source checkout or editable install keeps the icons in the top-level resources/;
#: a wheel installs them under <prefix>/share/kscert_gui (pyproject data-files).
_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "resources" / "icons",
    Path(sys.prefix) / "share" / "kscert_gui" / "icons",
)


def icon_path(name: str) -> Path:
    for folder in _CANDIDATES:
        path = folder / f"{name}.svg"
        if path.is_file():
            return path
    return _CANDIDATES[0] / f"{name}.svg"


@cache
def icon(name: str) -> QIcon:
    """The named icon; an empty icon if the resources are not installed alongside."""
    path = icon_path(name)
    return QIcon(str(path)) if path.is_file() else QIcon()
