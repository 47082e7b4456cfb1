"""Secret stores: memory, passphrase file, and the OS keyring (fakes and a real one)."""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import keyring
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer as chainer_backend
from keyring.backends import fail as fail_backend
from keyring.backends import null as null_backend

from kscert_gui.model.errors import SecretStoreError
from kscert_gui.services import secrets as secret_stores
from kscert_gui.services.secrets import (
    KeyringSecretStore,
    LazyKeyringSecretStore,
    MemorySecretStore,
    PassphraseFileSecretStore,
    SecretStore,
    new_passphrase,
    unusable_reason,
)

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = b"correct-horse-battery-staple-0123456789"
PASSPHRASE_B64 = base64.urlsafe_b64encode(PASSPHRASE).decode()

keyring_errors = keyring.errors
# keyring's own annotations are partial; its objects are used untyped here.
fail_keyring: Any = fail_backend.Keyring
null_keyring: Any = null_backend.Keyring


def error_text(err: BaseException) -> str:
    """Everything a log or traceback could show of ``err`` and its chain."""
    parts: list[str] = []
    seen: BaseException | None = err
    while seen is not None:
        parts += [str(seen), repr(seen), *map(str, seen.args)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    assert PASSPHRASE.decode() not in text
    assert PASSPHRASE_B64 not in text


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    saved = getattr(keyring.core, "_keyring_backend", None)
    try:
        yield
    finally:
        setattr(keyring.core, "_keyring_backend", saved)  # noqa: B010 - private, untyped


# --- new_passphrase, memory ------------------------------------------------------------------


def test_new_passphrase_is_32_random_bytes_urlsafe() -> None:
    values = {new_passphrase() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) == 44
        assert re.fullmatch(rb"[A-Za-z0-9_-]{43}=", value)
        assert len(base64.urlsafe_b64decode(value)) == 32


def test_memory_store_round_trip() -> None:
    store = MemorySecretStore()
    assert isinstance(store, SecretStore)
    assert store.get_passphrase("s1") is None
    store.set_passphrase("s1", PASSPHRASE)
    store.set_passphrase("s2", b"other")
    assert store.get_passphrase("s1") == PASSPHRASE
    store.delete_passphrase("s1")
    store.delete_passphrase("s1")  # no entry: nothing happens
    assert store.get_passphrase("s1") is None
    assert store.get_passphrase("s2") == b"other"
    assert_no_secret(repr(store))
    assert "1 entries" in repr(store)
    with pytest.raises(ValueError):
        store.set_passphrase("s3", b"")


def test_every_class_meets_the_protocol(tmp_path: Path) -> None:
    for obj in (MemorySecretStore(), KeyringSecretStore(), LazyKeyringSecretStore(),
                PassphraseFileSecretStore(tmp_path / "p")):
        assert isinstance(obj, SecretStore)
        assert obj.description


# --- passphrase file -------------------------------------------------------------------------


def private_file(path: Path, data: bytes, mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.write(fd, data)
    os.close(fd)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(("content", "expected"), [
    (PASSPHRASE + b"\n", PASSPHRASE),
    (PASSPHRASE + b"\r\n", PASSPHRASE),
    (PASSPHRASE, PASSPHRASE),
    (b"  spaces kept \t\n", b"  spaces kept \t"),
    (b"first line\nsecond line\n", b"first line"),
])
def test_passphrase_file_reads_the_first_line(tmp_path: Path, content: bytes,
                                              expected: bytes) -> None:
    store = PassphraseFileSecretStore(private_file(tmp_path / "pass", content))
    assert store.get_passphrase("any-store") == expected
    assert store.get_passphrase("another-store") == expected


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
def test_passphrase_file_empty_is_refused(tmp_path: Path, content: bytes) -> None:
    store = PassphraseFileSecretStore(private_file(tmp_path / "pass", content))
    with pytest.raises(SecretStoreError, match="is empty"):
        store.get_passphrase("s")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_passphrase_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = private_file(tmp_path / "pass", PASSPHRASE + b"\n", mode)
    store = PassphraseFileSecretStore(path)
    if os.name != "posix":  # no POSIX modes to check there
        assert store.get_passphrase("s") == PASSPHRASE
        return
    with pytest.raises(SecretStoreError) as caught:
        store.get_passphrase("s")
    message = str(caught.value)
    assert "can be read by other users" in message and "chmod 600" in message
    assert_no_secret(error_text(caught.value))


def test_passphrase_file_missing_or_directory(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError, match="does not exist"):
        PassphraseFileSecretStore(tmp_path / "nope").get_passphrase("s")
    (tmp_path / "dir").mkdir(mode=0o700)
    with pytest.raises(SecretStoreError, match=r"not a regular file|cannot be read"):
        PassphraseFileSecretStore(tmp_path / "dir").get_passphrase("s")


def test_passphrase_file_too_long_line_is_refused(tmp_path: Path) -> None:
    path = private_file(tmp_path / "pass", b"x" * 10_000 + b"\n")
    with pytest.raises(SecretStoreError, match="longer than"):
        PassphraseFileSecretStore(path).get_passphrase("s")


def test_passphrase_file_is_never_written(tmp_path: Path) -> None:
    path = private_file(tmp_path / "pass", PASSPHRASE + b"\n")
    store = PassphraseFileSecretStore(path)
    store.set_passphrase("s", PASSPHRASE)  # the same value: accepted
    other = b"a-different-passphrase"
    with pytest.raises(SecretStoreError, match="holds a different passphrase") as caught:
        store.set_passphrase("s", other)
    assert other.decode() not in error_text(caught.value)
    assert_no_secret(error_text(caught.value))
    store.delete_passphrase("s")
    assert path.read_bytes() == PASSPHRASE + b"\n"
    assert_no_secret(repr(store))
    assert str(path) in store.description


# --- keyring: backend checks and error wrapping (no D-Bus needed) ------------------------------


class RecordingBackend(KeyringBackend):
    """An in-memory keyring backend, to see exactly what is written."""

    priority = 1

    def __init__(self) -> None:
        cast(Any, super()).__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.values[(service, username)]
        except KeyError:
            raise keyring_errors.PasswordDeleteError("not found") from None


class RaisingBackend(RecordingBackend):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


PlaintextKeyring = type(
    "PlaintextKeyring", (RecordingBackend,), {"__module__": "keyrings.alt.file"}
)


class EmptyChainer(chainer_backend.ChainerBackend):
    backends: list[Any] = []  # noqa: RUF012 - shadows the class property on purpose


class PlaintextChainer(chainer_backend.ChainerBackend):
    backends: list[Any] = [RecordingBackend(), PlaintextKeyring()]  # noqa: RUF012


def test_stored_as_urlsafe_base64_text() -> None:
    backend = RecordingBackend()
    store = KeyringSecretStore(backend=backend)
    raw = bytes(range(256))
    store.set_passphrase("store-1", raw)
    assert backend.values == {("kscert_gui", "store-1"): base64.urlsafe_b64encode(raw).decode()}
    assert store.get_passphrase("store-1") == raw
    assert store.get_passphrase("store-2") is None
    store.delete_passphrase("store-1")
    store.delete_passphrase("store-1")  # nothing left: no error
    assert backend.values == {}
    assert_no_secret(repr(store))
    assert repr(store) == "KeyringSecretStore(service='kscert_gui')"


def test_damaged_entry_is_a_clear_error() -> None:
    backend = RecordingBackend()
    backend.values[("kscert_gui", "s")] = "not base64 at all!!"
    with pytest.raises(SecretStoreError, match="damaged"):
        KeyringSecretStore(backend=backend).get_passphrase("s")


@pytest.mark.parametrize(("backend", "words"), [
    (fail_keyring(), "No OS keyring is available"),
    (null_keyring(), "turned off"),
    (PlaintextKeyring(), "plain file"),
    (cast(Any, EmptyChainer)(), "No OS keyring is available"),
    (cast(Any, PlaintextChainer)(), "plain file"),
])
def test_unusable_backends_are_refused(backend: Any, words: str) -> None:
    store = KeyringSecretStore(backend=backend)
    assert unusable_reason(backend) is not None
    calls: list[Callable[[], object]] = [
        store.check_usable,
        lambda: store.get_passphrase("s"),
        lambda: store.set_passphrase("s", PASSPHRASE),
        lambda: store.delete_passphrase("s"),
    ]
    for call in calls:
        with pytest.raises(SecretStoreError, match=words) as caught:
            call()
        assert "--passphrase-file" in str(caught.value)
        assert_no_secret(error_text(caught.value))
    if isinstance(backend, RecordingBackend):
        assert backend.values == {}  # never fell back to the plaintext file


def test_fail_backend_selected_globally(restore_keyring: None) -> None:
    keyring.set_keyring(fail_keyring())
    store = KeyringSecretStore()
    with pytest.raises(SecretStoreError, match="No OS keyring is available"):
        store.check_usable()
    with pytest.raises(SecretStoreError, match="No OS keyring is available"):
        store.set_passphrase("s", PASSPHRASE)


def test_a_good_backend_is_usable() -> None:
    assert unusable_reason(RecordingBackend()) is None
    KeyringSecretStore(backend=RecordingBackend()).check_usable()


def keyring_failures() -> list[tuple[BaseException, str]]:
    secretstorage_exc = importlib.import_module("secretstorage.exceptions")
    jeepney_wrappers = importlib.import_module("jeepney.wrappers")
    fake_reply = type("Reply", (), {"header": type("H", (), {"fields": {4: "org.x.Error"}})(),
                                    "body": (f"leaked {PASSPHRASE_B64}",)})()
    return [
        (keyring_errors.KeyringLocked("Failed to unlock the collection!"), "locked"),
        (keyring_errors.InitError("Failed to create the collection"), "not available"),
        (keyring_errors.PasswordSetError(f"refused {PASSPHRASE_B64}"), "PasswordSetError"),
        (secretstorage_exc.PromptDismissedException("Prompt dismissed."), "dismissed"),
        (secretstorage_exc.LockedException("Item is locked!"), "locked"),
        (secretstorage_exc.SecretServiceNotAvailableException("no bus"), "not available"),
        (jeepney_wrappers.DBusErrorResponse(fake_reply), "D-Bus error org.x.Error"),
        (ConnectionRefusedError(111, f"Connection refused {PASSPHRASE.decode()}"), "refused"),
    ]


@pytest.mark.parametrize(("error", "words"), keyring_failures(),
                         ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else "")
def test_keyring_failures_become_secret_store_errors(error: BaseException, words: str) -> None:
    store = KeyringSecretStore(backend=RaisingBackend(error))
    calls: list[tuple[str, Callable[[], object]]] = [
        ("read", lambda: store.get_passphrase("s")),
        ("save", lambda: store.set_passphrase("s", PASSPHRASE)),
        ("delete", lambda: store.delete_passphrase("s")),
    ]
    for action, call in calls:
        with pytest.raises(SecretStoreError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith(f"The OS keyring could not {action}")
        assert words in message
        assert_no_secret(error_text(caught.value))


# --- keyring: a real Secret Service ----------------------------------------------------------


def default_collection_items(store_id: str) -> list[Any]:
    secretstorage = importlib.import_module("secretstorage")
    conn = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(conn)
        return list(collection.search_items({"service": "kscert_gui", "username": store_id}))
    finally:
        conn.close()


@pytest.mark.integration
def test_real_keyring_round_trip(secret_service: dict[str, str]) -> None:
    store_id = str(uuid.uuid4())
    store = KeyringSecretStore()  # the backend the fixture selected
    store.check_usable()
    assert store.get_passphrase(store_id) is None
    store.set_passphrase(store_id, PASSPHRASE)
    assert store.get_passphrase(store_id) == PASSPHRASE
    assert KeyringSecretStore().get_passphrase(store_id) == PASSPHRASE  # a second instance
    assert len(default_collection_items(store_id)) == 1
    assert store.get_passphrase(str(uuid.uuid4())) is None
    store.delete_passphrase(store_id)
    assert store.get_passphrase(store_id) is None
    assert default_collection_items(store_id) == []
    store.delete_passphrase(store_id)  # already gone: no error
    assert_no_secret(repr(store))
    assert Path(secret_service["HOME"], ".local/share/keyrings").is_dir()


@pytest.mark.integration
def test_real_keyring_is_seen_by_another_process(secret_service: dict[str, str]) -> None:
    store_id = str(uuid.uuid4())
    value = new_passphrase()
    KeyringSecretStore().set_passphrase(store_id, value)
    code = textwrap.dedent("""
        import hashlib, sys
        import keyring
        from keyring.backends import SecretService
        from kscert_gui.services.secrets import KeyringSecretStore
        keyring.set_keyring(SecretService.Keyring())
        got = KeyringSecretStore().get_passphrase(sys.argv[1])
        print(hashlib.sha256(got).hexdigest() if got else "none")
    """)
    env = {**os.environ, **secret_service}
    proc = subprocess.run([sys.executable, "-c", code, store_id], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == hashlib.sha256(value).hexdigest()


@pytest.mark.integration
def test_real_keyring_locked_collection(secret_service: dict[str, str]) -> None:
    secretstorage = importlib.import_module("secretstorage")
    kept_id = str(uuid.uuid4())
    store = KeyringSecretStore()
    store.set_passphrase(kept_id, b"stored-before-locking")
    conn = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(conn)
        collection.lock()
        assert collection.is_locked()
    finally:
        conn.close()

    store_id = str(uuid.uuid4())
    with pytest.raises(SecretStoreError) as caught:
        store.set_passphrase(store_id, PASSPHRASE)
    message = str(caught.value)
    assert message.startswith("The OS keyring could not save the store passphrase")
    assert "locked" in message or "dismissed" in message
    assert_no_secret(error_text(caught.value))
    calls: list[Callable[[], object]] = [
        lambda: store.get_passphrase(kept_id),
        lambda: store.delete_passphrase(kept_id),
    ]
    for call in calls:
        with pytest.raises(SecretStoreError, match=r"locked|dismissed"):
            call()
    # Nothing was stored: the Secret Service lists item attributes even when locked.
    assert default_collection_items(store_id) == []
    assert len(default_collection_items(kept_id)) == 1


@pytest.mark.integration
def test_real_keyring_check_usable_through_get_keyring(secret_service: dict[str, str]) -> None:
    backend = keyring.get_keyring()
    assert type(backend).__module__ == "keyring.backends.SecretService"
    assert unusable_reason(backend) is None
    secret_stores.KeyringSecretStore().check_usable()
