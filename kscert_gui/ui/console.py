"""The GUI's handle on one Administration Server.

Widgets reach the server's parts directly — ``console.server.fleet``,
``console.server.points``, ``console.server.endpoints`` and the certificates on
``console.server`` itself — always from a worker (``tasks.run_in_background``), and
render what they read from the one snapshot the :class:`~kscert_gui.ui.status_feed.StatusFeed`
hands out. This class adds only what the GUI needs beside the server:

- why the store is open read-only, if it is (another program holds it);
- the fallback of DESIGN §10 when the keyring is unusable: the person gives the
  store passphrase, which is then kept in memory only.

Nothing about threads: the store serializes its own connection (one statement or
transaction at a time), and a lock here for a whole call would make the GUI thread wait
for a background key generation.
"""

from __future__ import annotations

from dataclasses import dataclass

from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services.secrets import MemorySecretStore, SecretStore
from kscert_gui.services.server import AdministrationServer


@dataclass(frozen=True)
class GroupNode:
    """A group under "Managed devices", for the console tree."""

    id: int
    name: str
    parent_id: int | None
    sync_hours: float | None


def as_console(target: Console | AdministrationServer) -> Console:
    """Dialogs accept the facade itself or the GUI's Console around it."""
    return target if isinstance(target, Console) else Console(target)


class Console:
    """The server, why it is read-only, and the passphrase fallback."""

    def __init__(self, server: AdministrationServer, *, read_only_reason: str | None = None):
        self.server = server
        self.read_only_reason = read_only_reason
        self._prompted = False
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.server.close()

    @property
    def read_only(self) -> bool:
        return self.server.read_only

    @property
    def secrets(self) -> SecretStore:
        return self.server.secrets

    # --- secrets fallback -----------------------------------------------------------------

    @staticmethod
    def wants_passphrase(err: BaseException) -> bool:
        """True when ``err`` means the store passphrase is unavailable (keyring unusable)."""
        return isinstance(err, SecretStoreError)

    @property
    def passphrase_prompted(self) -> bool:
        return self._prompted

    def use_passphrase(self, passphrase: bytes) -> None:
        """Keep the store passphrase the person typed, in memory only (never on disk).

        It is checked where it is used (off the GUI thread): the facade refuses a
        passphrase that does not open the store's keys, and the prompt comes back.
        """
        memory = MemorySecretStore()
        memory.set_passphrase(self.server.store.store_id, passphrase)
        self.server.secrets = memory
        self._prompted = True
