"""A keyring backend whose every call fails as a dismissed unlock prompt does.

``secretstorage`` raises ``PromptDismissedException`` when the person closes the
"unlock keyring" prompt; keyring's SecretService backend lets it through. Selected in a
child with ``PYTHON_KEYRING_BACKEND=dismissing_keyring.Keyring`` (this folder on
PYTHONPATH).
"""

from __future__ import annotations

from typing import NoReturn

from keyring.backend import KeyringBackend
from secretstorage.exceptions import PromptDismissedException


class Keyring(KeyringBackend):
    priority = 1

    def _dismissed(self) -> NoReturn:
        raise PromptDismissedException("Prompt dismissed.")

    def get_password(self, service: str, username: str) -> str | None:
        self._dismissed()

    def set_password(self, service: str, username: str, password: str) -> None:
        self._dismissed()

    def delete_password(self, service: str, username: str) -> None:
        self._dismissed()
