"""DESIGN §10: without a usable keyring, ask for the store passphrase (memory only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from kscert_gui.ui import messages, tasks
from kscert_gui.ui.console import Console

T = TypeVar("T")


def ask_passphrase(parent: QWidget | None, reason: str) -> bytes | None:
    """The store passphrase typed by the person, or None if they cancel."""
    value, ok = QInputDialog.getText(
        parent,
        "Store passphrase",
        f"{reason}\n\nEnter the store passphrase. It is kept in memory only, for this "
        "session, and never written to disk.",
        QLineEdit.EchoMode.Password,
    )
    if not ok or not value:
        return None
    return value.encode("utf-8")


def run_with_passphrase(
    parent: QWidget | None,
    console: Console,
    fn: Callable[[], T],
    on_success: Callable[[T], None],
    on_failure: Callable[[BaseException], None] | None = None,
) -> tasks.Task[T]:
    """``run_in_background``; if the passphrase is unavailable, ask for it and retry."""

    def failed(err: BaseException) -> None:
        if console.wants_passphrase(err):
            value = ask_passphrase(parent, str(err))
            if value is not None:
                console.use_passphrase(value)
                tasks.run_in_background(parent, fn, on_success, failed)
                return
        if on_failure is not None:
            on_failure(err)
        else:
            messages.show_error(parent, err)

    return tasks.run_in_background(parent, fn, on_success, failed)
