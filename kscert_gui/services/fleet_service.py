"""Managed devices, groups, CSV import, forecast and simulation (DESIGN §6)."""

from __future__ import annotations

from kscert_gui.services.base import ServerBase


class FleetOps(ServerBase):
    """Facade methods for this feature; AdministrationServer inherits them."""
