"""Icons from the top-level ``resources/icons`` directory (SVG, drawn for this project)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parents[2] / "resources"


def icon_path(name: str) -> Path:
    return RESOURCES / "icons" / f"{name}.svg"


@cache
def icon(name: str) -> QIcon:
    """The named icon; an empty icon if the resources are not installed alongside."""
    path = icon_path(name)
    return QIcon(str(path)) if path.is_file() else QIcon()
