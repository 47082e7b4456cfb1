"""Test helpers for context menus, the clipboard, file dialogs and "press everything".

A context menu's ``exec()`` blocks like a modal window: :class:`PopupDriver` is started
before the key or click that opens it, records its entries and picks one the way a
person does (a click on the entry), or closes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QMenu,
    QMessageBox,
    QWidget,
)

from kscert_gui.ui import messages


def entry_texts(menu: QMenu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


class PopupDriver:
    """Waits for a QMenu popup; records its entries; clicks ``pick`` (or closes it)."""

    def __init__(self, pick: str | None = None, key: Qt.Key | None = None) -> None:
        """``pick``: the entry to click; ``key``: a key to press in the menu instead."""
        self.pick = pick
        self.key = key
        self.active: str | None = None
        self.entries: list[str] = []
        self.enabled: dict[str, bool] = {}
        self.done = False
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu) or not menu.isVisible():
            QTimer.singleShot(10, self._poll)
            return
        self.done = True
        actions = [a for a in menu.actions() if not a.isSeparator()]
        self.entries = [a.text().replace("&", "") for a in actions]
        self.enabled = {a.text().replace("&", ""): a.isEnabled() for a in actions}
        if self.key is not None:
            QTimer.singleShot(50, lambda: self._press(menu))
            return
        chosen = next((a for a in actions if a.text().replace("&", "") == self.pick), None)
        if chosen is None:
            menu.close()
            return
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton,
                         pos=menu.actionGeometry(chosen).center())

    def _press(self, menu: QMenu) -> None:
        active = menu.activeAction()
        self.active = active.text().replace("&", "") if active is not None else None
        assert self.key is not None
        QTest.keyClick(menu, self.key)
        if menu.isVisible():
            menu.close()

    def check(self, timeout_ms: int = 10_000) -> None:
        wait_for(lambda: self.done, timeout_ms)
        assert self.done, "no context menu was shown"


def wait_for(condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


class FileDialogDriver:
    """Answers the next QFileDialog with ``path`` (None: Cancel); records its folder."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.directory: Path | None = None
        self.done = False
        QTimer.singleShot(0, self._poll)

    def _poll(self) -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog) or not dialog.isVisible():
            QTimer.singleShot(10, self._poll)
            return
        self.done = True
        self.directory = Path(dialog.directory().absolutePath())
        if self.path is None:
            dialog.reject()
            return
        dialog.selectFile(str(self.path))
        dialog.accept()

    def check(self, timeout_ms: int = 10_000) -> None:
        wait_for(lambda: self.done, timeout_ms)
        assert self.done, "no file dialog was shown"


class ModalCloser:
    """Closes every modal window and popup that appears (Cancel, No, Close, Escape) and
    records them; an "unexpected error" message is recorded in ``unexpected``.

    A window of a class in ``spare`` is left open (a test presses the buttons inside it;
    the windows those open are closed again)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.unexpected: list[str] = []
        self.spare: list[type[QWidget]] = []
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _poll(self) -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            self.seen.append("menu: " + ", ".join(entry_texts(popup)))
            popup.close()
            return
        widget = QApplication.activeModalWidget()
        if widget is None or not widget.isVisible():
            return
        if isinstance(widget, tuple(self.spare)):
            return
        self.seen.append(f"{type(widget).__name__}: {widget.windowTitle()}")
        if isinstance(widget, QMessageBox):
            if widget.text() == messages.UNEXPECTED:
                self.unexpected.append(widget.detailedText())
            # No for a question, OK for a message.
            button = (widget.button(QMessageBox.StandardButton.No)
                      or widget.button(QMessageBox.StandardButton.Ok))
            if button is not None:
                button.click()
            else:
                widget.reject()
        elif isinstance(widget, QDialog):
            widget.reject()
        else:
            widget.close()


def trigger_all(actions: list[QAction], after: Callable[[], None]) -> list[str]:
    """Trigger every enabled action once (``after`` runs after each); returns their texts."""
    done = []
    for action in actions:
        if action.isSeparator() or not action.isEnabled() or not action.isVisible():
            continue
        if action.menu() is not None:
            continue
        done.append(action.text().replace("&", ""))
        action.trigger()
        after()
    return done


def visible_windows() -> list[QWidget]:
    return [w for w in QApplication.topLevelWidgets() if w.isVisible()]
