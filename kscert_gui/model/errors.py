"""Typed errors. Every message is fit to show a person and never holds a secret."""

from __future__ import annotations


class KscertError(Exception):
    """Base of every error the program expects; ``str(err)`` is shown as is."""

    #: CLI exit code for this kind of error (DESIGN §9: 1 refused, 2 usage/unreadable).
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(KscertError):
    """A wrong argument or field value given by the user."""

    exit_code = 2


class ValidationError(KscertError):
    """A value is well-formed but not acceptable (address, term, port...)."""

    exit_code = 1


class InputFileError(KscertError):
    """A file cannot be read at all (missing, a directory, too large, unreadable)."""

    exit_code = 2


class WrongPasswordError(KscertError):
    """A password does not open a container or key. The password is never in the message."""


class RefusedError(KscertError):
    """An action was refused: it has error findings or needs a confirmation not given."""


class ConfirmationRequiredError(RefusedError):
    """The action is destructive and must be confirmed (GUI: Yes/No, CLI: --yes)."""


class StoreError(KscertError):
    """The store cannot be opened or changed."""


class StoreNotWritableError(StoreError):
    """The store exists and can be read, but this user may not change it (permissions)."""


class StoreLockedError(StoreError):
    """Another process holds the store for changes."""

    def __init__(self, pid: int | None, path: str) -> None:
        who = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"The store {path} is in use by {who}; it can be read but not changed "
            "until that process ends."
        )
        self.pid = pid


class SecretStoreError(KscertError):
    """The keyring (or the store passphrase) is unavailable or wrong."""


class NotFoundError(KscertError):
    """A named thing (certificate, device, group, gateway) does not exist."""
