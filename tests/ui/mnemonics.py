"""Which Alt+letter mnemonics a window offers, and which of them are used twice.

One scope is a top-level window (its menu bar's titles and every widget shown in it
that takes a mnemonic: buttons, check boxes, radio buttons, group boxes, labels with a
buddy, tabs); each menu is a scope of its own (its entries).
"""

from __future__ import annotations

import re
from collections import defaultdict

from PySide6.QtWidgets import (
    QAbstractButton,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMenu,
    QTabBar,
    QWidget,
)

_MNEMONIC = re.compile(r"&(.)")


def mnemonic(text: str) -> str | None:
    """The letter after the first single '&' ('&&' is a literal ampersand)."""
    for match in _MNEMONIC.finditer(text.replace("&&", "")):
        return match.group(1).lower()
    return None


def _shown(widget: QWidget, window: QWidget) -> bool:
    return widget.window() is window and widget.isVisibleTo(window)


def window_labels(window: QWidget) -> list[str]:
    """The texts that give ``window`` a mnemonic (shown widgets and menu bar titles)."""
    texts: list[str] = []
    if isinstance(window, QMainWindow):
        texts += [a.text() for a in window.menuBar().actions() if a.isVisible()]
    for button in window.findChildren(QAbstractButton):
        if _shown(button, window):
            texts.append(button.text())
    for box in window.findChildren(QGroupBox):
        if _shown(box, window):
            texts.append(box.title())
    for label in window.findChildren(QLabel):
        if _shown(label, window) and label.buddy() is not None:
            texts.append(label.text())
    for bar in window.findChildren(QTabBar):
        if _shown(bar, window):
            texts += [bar.tabText(i) for i in range(bar.count()) if bar.isTabVisible(i)]
    return texts


def menu_labels(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator() and a.isVisible()]


def twice(texts: list[str]) -> dict[str, list[str]]:
    """The mnemonics used more than once, with the texts that use them."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        key = mnemonic(text)
        if key is not None:
            by_key[key].append(text)
    return {k: v for k, v in by_key.items() if len(v) > 1}


def conflicts(window: QWidget) -> dict[str, dict[str, list[str]]]:
    """Every scope of ``window`` with a mnemonic used twice (empty: none)."""
    out: dict[str, dict[str, list[str]]] = {}
    found = twice(window_labels(window))
    if found:
        out[window.objectName() or type(window).__name__] = found
    if isinstance(window, QMainWindow):
        for action in window.menuBar().actions():
            menu = action.menu()
            if isinstance(menu, QMenu):
                found = twice(menu_labels(menu))
                if found:
                    out[f"menu {action.text()}"] = found
    return out
