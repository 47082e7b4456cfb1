"""Know when windows have really been painted (--quit-after-show, screenshots, benches)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class PaintWatch(QObject):
    """Calls ``done`` once every watched widget has received a paint event."""

    def __init__(self, widgets: Sequence[QWidget], done: Callable[[], None]) -> None:
        super().__init__()
        self._pending = {id(w) for w in widgets}
        self._done = done
        self._fired = False
        for widget in widgets:
            widget.installEventFilter(self)

    @property
    def fired(self) -> bool:
        return self._fired

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and id(watched) in self._pending:
            self._pending.discard(id(watched))
            if not self._pending and not self._fired:
                self._fired = True
                # After this paint has been delivered, not in the middle of it.
                QTimer.singleShot(0, self._done)
        return False
