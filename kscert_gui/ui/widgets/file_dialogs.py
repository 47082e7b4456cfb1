"""File dialogs that start in the last folder used and remember it (DESIGN §8).

Every open and save dialog of the console goes through :func:`open_file` or
:func:`save_file`. They call the static ``QFileDialog`` functions (tests replace those)
and keep the folder of the file chosen in QSettings: a folder, never a file's content,
a password or any other secret (DESIGN §10).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDir
from PySide6.QtWidgets import QFileDialog, QWidget

from kscert_gui.ui.settings import open_settings

LAST_FOLDER_KEY = "file_dialogs/last_folder"


def last_folder() -> Path:
    """The folder of the last file chosen, if it still exists; else the home folder."""
    value = open_settings().value(LAST_FOLDER_KEY)
    if isinstance(value, str) and value:
        folder = Path(value)
        if folder.is_dir():
            return folder
    return Path(QDir.homePath())


def remember(path: Path) -> None:
    """Start the next file dialog in the folder of ``path``."""
    folder = path if path.is_dir() else path.parent
    settings = open_settings()
    settings.setValue(LAST_FOLDER_KEY, str(folder))
    settings.sync()


def _start(start: str, name: str = "") -> str:
    """Where a dialog opens: a path already typed (its folder, if it exists), else the
    last folder; with ``name``, that file name in it."""
    typed = Path(start).expanduser() if start.strip() else None
    if typed is not None and (typed.is_dir() or typed.parent.is_dir()):
        return str(typed)
    folder = last_folder()
    return str(folder / name) if name else str(folder)


def open_file(parent: QWidget | None, title: str, name_filter: str, start: str = "") -> (
    Path | None
):
    """Ask for an existing file; None when the person cancels."""
    chosen, _filter = QFileDialog.getOpenFileName(parent, title, _start(start), name_filter)
    if not chosen:
        return None
    path = Path(chosen)
    remember(path)
    return path


def save_file(
    parent: QWidget | None, title: str, name_filter: str, *, name: str = "", start: str = ""
) -> Path | None:
    """Ask where to save (``name``: the file name suggested); None when cancelled."""
    chosen, _filter = QFileDialog.getSaveFileName(
        parent, title, _start(start, name), name_filter
    )
    if not chosen:
        return None
    path = Path(chosen)
    remember(path)
    return path
