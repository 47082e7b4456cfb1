"""Distribution points and connection gateways (DESIGN §7)."""

from __future__ import annotations

from kscert_gui.services.base import ServerBase


class GatewayOps(ServerBase):
    """Facade methods for this feature; AdministrationServer inherits them."""
