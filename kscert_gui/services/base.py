"""The part of the facade that its feature mixins rely on (store, clock, secrets)."""

from __future__ import annotations

from datetime import datetime

from kscert_gui.services.secrets import SecretStore
from kscert_gui.services.store import Store


class ServerBase:
    """Attributes every AdministrationServer mixin may use."""

    store: Store
    secrets: SecretStore

    def now(self) -> datetime:
        """The current instant (a training store's simulation clock, else real time)."""
        raise NotImplementedError

    def server_version(self) -> str:
        return self.store.get_meta("server_version") or "14.2"
