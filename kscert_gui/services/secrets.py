"""Where the store passphrase lives (DESIGN §10).

The passphrase encrypts the private keys in the store. It lives in the OS keyring
(service ``kscert_gui``, user name = the store's UUID), or, for scripts, in a file
given with ``--passphrase-file``. There is never a plaintext fallback: without a
usable keyring the program says so and asks for the passphrase.

No class here shows a secret in its ``repr``; no exception raised here holds one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import importlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from kscert_gui.model.errors import SecretStoreError

T = TypeVar("T")

SERVICE = "kscert_gui"
#: A passphrase file longer than this is not a passphrase file.
MAX_PASSPHRASE_FILE_LINE = 4096


@runtime_checkable
class SecretStore(Protocol):
    """Holds one passphrase per store, keyed by the store's UUID."""

    @property
    def description(self) -> str:
        """What the store is, for messages ("the OS keyring", "passphrase file …")."""
        ...

    def get_passphrase(self, store_id: str) -> bytes | None:
        """The passphrase of ``store_id``, or None if there is none."""
        ...

    def set_passphrase(self, store_id: str, passphrase: bytes) -> None: ...

    def delete_passphrase(self, store_id: str) -> None:
        """Forget the passphrase of ``store_id``; nothing happens if there is none."""
        ...


def new_passphrase() -> bytes:
    """A fresh store passphrase: 32 random bytes, URL-safe base64 (44 ASCII bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32))


# --- memory ------------------------------------------------------------------------------


class MemorySecretStore:
    """Passphrases kept in this process only (tests; a passphrase typed in the GUI)."""

    description = "passphrase kept in memory for this session"

    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    def get_passphrase(self, store_id: str) -> bytes | None:
        return self._values.get(store_id)

    def set_passphrase(self, store_id: str, passphrase: bytes) -> None:
        _require_passphrase(passphrase)
        self._values[store_id] = bytes(passphrase)

    def delete_passphrase(self, store_id: str) -> None:
        self._values.pop(store_id, None)

    def __repr__(self) -> str:
        return f"MemorySecretStore({len(self._values)} entries)"


# --- OS keyring --------------------------------------------------------------------------


def _backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_plaintext(backend: object) -> bool:
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__qualname__}".lower()
    # keyrings.alt's PlaintextKeyring (and any look-alike) writes secrets to a file
    # anyone with the user's files can read.
    return "plaintext" in name or name.startswith("keyrings.alt.file.")


_NO_KEYRING = (
    "No OS keyring is available (no Secret Service such as GNOME Keyring or KWallet, "
    "macOS Keychain or Windows Credential Locker was found)."
)


def _keyring_class(module: str, name: str) -> type | None:
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return cls if isinstance(cls, type) else None


def unusable_reason(backend: object) -> str | None:
    """Why ``backend`` must not hold a store passphrase, or None if it may."""
    fail = _keyring_class("keyring.backends.fail", "Keyring")
    null = _keyring_class("keyring.backends.null", "Keyring")
    chainer = _keyring_class("keyring.backends.chainer", "ChainerBackend")
    if fail is not None and isinstance(backend, fail):
        return _NO_KEYRING
    if null is not None and isinstance(backend, null):
        return "The OS keyring is turned off (the keyring library is set to its null backend)."
    if _is_plaintext(backend):
        return (
            f"The configured keyring backend {_backend_name(backend)} stores secrets in a "
            "plain file; the store passphrase is never kept that way."
        )
    if chainer is not None and isinstance(backend, chainer):
        chained = list(getattr(backend, "backends", None) or [])
        if not chained:
            return _NO_KEYRING
        for inner in chained:
            reason = unusable_reason(inner)
            if reason is not None:
                return f"The keyring chain includes {_backend_name(inner)}: {reason}"
    return None


def _wrappable_errors() -> tuple[type[BaseException], ...]:
    """Exception types from the keyring stack that mean "the keyring failed"."""
    found: list[type[BaseException]] = [OSError]
    for module, name in (
        ("keyring.errors", "KeyringError"),
        ("secretstorage.exceptions", "SecretStorageException"),
        ("jeepney.wrappers", "DBusErrorResponse"),
        ("jeepney", "DBusErrorResponse"),
        ("dbus.exceptions", "DBusException"),
    ):
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _explain(err: BaseException) -> str:
    """A person's reason for a keyring failure.

    Built only from the error's type, a D-Bus error name or an errno, never from its
    free text, which could echo what was being stored.
    """
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & {"KeyringLocked", "LockedException"}:
        return (
            "the keyring is locked and was not unlocked. Unlock it (for example by logging "
            "in to the desktop session or with the keyring manager) and try again."
        )
    if "PromptDismissedException" in names:
        return "the request to unlock the keyring was dismissed."
    if names & {"SecretServiceNotAvailableException", "InitError", "NoKeyringError"}:
        return "the keyring service is not available."
    dbus_name = getattr(err, "name", None)
    if not isinstance(dbus_name, str) and callable(getattr(err, "get_dbus_name", None)):
        dbus_name = err.get_dbus_name()  # type: ignore[attr-defined]
    if isinstance(dbus_name, str) and re.fullmatch(r"[A-Za-z0-9_.]{1,255}", dbus_name):
        return f"D-Bus error {dbus_name} ({type(err).__name__})."
    if isinstance(err, OSError) and err.errno is not None:
        return f"{os.strerror(err.errno)} ({type(err).__name__})."
    return f"{type(err).__name__}."


def _guarded(action: str, call: Callable[[], T]) -> T:
    """Run a keyring call; turn its failures into a SecretStoreError for people."""
    message: str | None = None
    try:
        return call()
    except SecretStoreError:
        raise
    except _wrappable_errors() as err:
        message = f"The OS keyring could not {action}: {_explain(err)}"
    # Raised outside the handler so that the original (whose text could hold what was
    # being stored) is neither the cause nor the context of this error.
    raise SecretStoreError(message)


class KeyringSecretStore:
    """The OS keyring through the ``keyring`` library (user name = store UUID).

    Nothing touches the keyring until the first call (finding the backend can take a
    while on Linux), so constructing one on the GUI thread is cheap. Each call checks
    that the backend is a real keyring (:meth:`check_usable`).
    """

    description = "OS keyring"

    def __init__(self, service: str = SERVICE, backend: Any | None = None) -> None:
        """
        Args:
            service: the keyring service name.
            backend: a ``keyring`` backend to use instead of ``keyring.get_keyring()``.
        """
        self.service = service
        self._explicit_backend = backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service!r})"

    def _backend(self) -> Any:
        if self._explicit_backend is not None:
            return self._explicit_backend
        keyring = importlib.import_module("keyring")
        return _guarded("be opened", keyring.get_keyring)

    def check_usable(self) -> None:
        """Raise SecretStoreError unless the backend is a real OS keyring."""
        self._usable_backend()

    def _usable_backend(self) -> Any:
        backend = self._backend()
        reason = unusable_reason(backend)
        if reason is not None:
            raise SecretStoreError(
                f"{reason} The store passphrase cannot be kept in the OS keyring; give it "
                "with --passphrase-file or type it when asked."
            )
        return backend

    def get_passphrase(self, store_id: str) -> bytes | None:
        backend = self._usable_backend()
        text = _guarded(
            "read the store passphrase", lambda: backend.get_password(self.service, store_id)
        )
        if text is None:
            return None
        try:
            value = base64.b64decode(str(text).encode("ascii"), altchars=b"-_", validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise SecretStoreError(
                f"The OS keyring entry of service '{self.service}' for store {store_id} is "
                "damaged (it is not a kscert passphrase)."
            ) from None
        if not value:
            return None
        return value

    def set_passphrase(self, store_id: str, passphrase: bytes) -> None:
        _require_passphrase(passphrase)
        backend = self._usable_backend()
        text = base64.urlsafe_b64encode(passphrase).decode("ascii")
        _guarded(
            "save the store passphrase", lambda: backend.set_password(self.service, store_id, text)
        )

    def delete_passphrase(self, store_id: str) -> None:
        backend = self._usable_backend()
        errors = importlib.import_module("keyring.errors")

        def delete() -> None:
            try:
                backend.delete_password(self.service, store_id)
            except errors.PasswordDeleteError:
                # Also raised when there is no entry: that is what was wanted.
                if backend.get_password(self.service, store_id) is not None:
                    raise

        _guarded("delete the store passphrase", delete)


#: The keyring store is already lazy; the name says so where the app picks it.
LazyKeyringSecretStore = KeyringSecretStore


# --- passphrase file ---------------------------------------------------------------------


class PassphraseFileSecretStore:
    """``--passphrase-file FILE``: the first line of FILE is the passphrase of any store.

    The file is read on each use; it is never written. On POSIX a file that group or
    others can read is refused.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def description(self) -> str:
        return f"passphrase file {self.path}"

    def __repr__(self) -> str:
        return f"PassphraseFileSecretStore({str(self.path)!r})"

    def _read(self) -> bytes:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever; the
        # file is refused below unless it is a regular file, for which the flag does
        # nothing.
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            raise SecretStoreError(f"The passphrase file {self.path} does not exist.") from None
        except OSError as err:
            raise SecretStoreError(
                f"The passphrase file {self.path} cannot be read: {err.strerror}."
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise SecretStoreError(f"The passphrase file {self.path} is not a regular file.")
            if os.name == "posix" and info.st_mode & (stat.S_IRGRP | stat.S_IROTH):
                raise SecretStoreError(
                    f"The passphrase file {self.path} can be read by other users (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}); make it private with "
                    f"'chmod 600 {self.path}' and try again."
                )
            handle = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            try:
                line = handle.readline(MAX_PASSPHRASE_FILE_LINE + 1)
            except OSError as err:
                raise SecretStoreError(
                    f"The passphrase file {self.path} cannot be read: {err.strerror}."
                ) from None
        if len(line) > MAX_PASSPHRASE_FILE_LINE:
            raise SecretStoreError(
                f"The first line of the passphrase file {self.path} is longer than "
                f"{MAX_PASSPHRASE_FILE_LINE} bytes; it is not a passphrase."
            )
        if line.endswith(b"\r\n"):
            line = line[:-2]
        elif line.endswith((b"\n", b"\r")):
            line = line[:-1]
        if not line:
            raise SecretStoreError(f"The passphrase file {self.path} is empty.")
        return line

    def get_passphrase(self, store_id: str) -> bytes | None:
        return self._read()

    def set_passphrase(self, store_id: str, passphrase: bytes) -> None:
        """The file is never written: succeed only if it already holds ``passphrase``."""
        _require_passphrase(passphrase)
        if not hmac.compare_digest(self._read(), bytes(passphrase)):
            raise SecretStoreError(
                f"The passphrase file {self.path} holds a different passphrase for this "
                "store; the file is not changed."
            )

    def delete_passphrase(self, store_id: str) -> None:
        """The file belongs to the person who gave it: it is left alone."""


def _require_passphrase(passphrase: bytes) -> None:
    if not isinstance(passphrase, bytes | bytearray) or not passphrase:
        raise ValueError("a store passphrase must be non-empty bytes")
