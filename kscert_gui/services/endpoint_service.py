"""What the TLS endpoints serve: main certificate and each gateway's (DESIGN §9 serve/check)."""

from __future__ import annotations

from kscert_gui.services.base import ServerBase


class EndpointOps(ServerBase):
    """Facade methods for this feature; AdministrationServer inherits them."""
