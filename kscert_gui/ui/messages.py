"""The one QMessageBox factory (STYLE habit 7).

Expected errors (:class:`KscertError`) are shown as they are: their messages are
written for people and never hold a secret. Anything else is an "unexpected
error": the person sees a short sentence, the traceback goes to
``setDetailedText`` and to the log.

Callers use the module attribute (``messages.confirm(...)``), never a
``from ... import confirm``, so tests can replace these functions.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from kscert_gui.model.errors import KscertError
from kscert_gui.ui import ids

log = logging.getLogger(__name__)

TITLE = "Administration Server"
UNEXPECTED = (
    "An unexpected error occurred. The operation was not completed; the details below are "
    "also written to the log file."
)


def describe(err: BaseException) -> tuple[str, str | None]:
    """The text shown for ``err`` and the technical details (None for expected errors)."""
    if isinstance(err, KscertError):
        return str(err), None
    details = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    return UNEXPECTED, details


def show_error(parent: QWidget | None, err: BaseException, title: str = TITLE) -> None:
    """Tell the person that an operation failed."""
    text, details = describe(err)
    if details is not None:
        log.error("unexpected error: %s", type(err).__name__, exc_info=err)
    box = QMessageBox(parent)
    box.setObjectName(ids.MESSAGE_ERROR)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(text)
    if details is not None:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAccessibleName("Error")
    box.exec()


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    box = QMessageBox(parent)
    box.setObjectName(ids.MESSAGE_INFO)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle(title)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAccessibleName(title)
    box.exec()


def build_confirm(parent: QWidget | None, title: str, text: str, default_no: bool) -> QMessageBox:
    """The confirmation window (Yes / No); separate so a test can inspect it."""
    box = QMessageBox(parent)
    box.setObjectName(ids.MESSAGE_CONFIRM)
    box.setIcon(QMessageBox.Icon.Warning if default_no else QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    default = QMessageBox.StandardButton.No if default_no else QMessageBox.StandardButton.Yes
    box.setDefaultButton(default)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    box.setAccessibleName(title)
    return box


def confirm(parent: QWidget | None, title: str, text: str, default_no: bool) -> bool:
    """Ask Yes/No; True only for an explicit Yes. Destructive questions pass default_no."""
    box = build_confirm(parent, title, text, default_no)
    return box.exec() == QMessageBox.StandardButton.Yes
