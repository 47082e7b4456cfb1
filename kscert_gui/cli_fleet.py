"""`kscert` sub-commands: devices, groups and simulate (DESIGN §9)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this module's sub-parsers to the `kscert` sub-parser group ``sub``."""

