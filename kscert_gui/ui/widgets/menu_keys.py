"""Shift+F10 and the Menu key open a view's context menu at its current item, with the
first entry selected (kept apart from :mod:`list_tools`: the main window needs only this
at start-up)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QMenu


def menu_position(widget: QAbstractItemView) -> QPoint:
    """Where a context menu opened from the keyboard appears: at the current item (its
    start), else at the top left of the list (viewport coordinates)."""
    index = widget.currentIndex()
    rect = widget.visualRect(index) if index.isValid() else None
    if rect is not None and rect.isValid() and widget.viewport().rect().intersects(rect):
        return QPoint(rect.left() + min(rect.width() // 2, 40), rect.center().y())
    return QPoint(4, 4)


def is_menu_key(event: QEvent) -> bool:
    """Shift+F10 or the Menu key (handled here too: the menu then opens at the current
    item whichever way the key arrives)."""
    if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
        return False
    mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return (event.key() == Qt.Key.Key_F10 and mods == Qt.KeyboardModifier.ShiftModifier) or (
        event.key() == Qt.Key.Key_Menu and mods == Qt.KeyboardModifier.NoModifier)


#: Set on a widget while its context menu is asked for from the keyboard.
FROM_KEYBOARD = "kscertMenuFromKeyboard"


class _MenuKey(QObject):
    def __init__(self, widget: QAbstractItemView) -> None:
        super().__init__(widget)
        self._widget = widget
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and is_menu_key(event):
            self._widget.setProperty(FROM_KEYBOARD, True)
            try:
                self._widget.customContextMenuRequested.emit(menu_position(self._widget))
            finally:
                self._widget.setProperty(FROM_KEYBOARD, False)
            return True
        return super().eventFilter(watched, event)


def exec_menu(menu: QMenu, widget: QAbstractItemView, pos: QPoint) -> None:
    """Show ``menu`` at ``pos`` (viewport coordinates of ``widget``) until it closes.

    Opened from the keyboard, its first enabled entry is selected, so that Return or
    Space chooses it (as on Windows and KDE) and the arrow keys start from it.
    """
    if widget.property(FROM_KEYBOARD):
        first = next((a for a in menu.actions() if a.isEnabled() and not a.isSeparator()),
                     None)
        if first is not None:
            QTimer.singleShot(0, lambda: menu.setActiveAction(first))
    menu.exec(widget.viewport().mapToGlobal(pos))


def add_menu_key(widget: QAbstractItemView) -> QObject:
    """Shift+F10 on ``widget`` asks for its context menu at the current item (the Menu key
    already does). The widget's context menu policy must be CustomContextMenu."""
    return _MenuKey(widget)
