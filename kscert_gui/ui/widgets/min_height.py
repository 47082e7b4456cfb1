"""A pane or window never smaller than its word-wrapped texts need.

Qt leaves the height-for-width of word-wrapped labels out of a widget's minimum size, so a
window can be made so small that its layout squeezes the other widgets below their own
minimum to give the labels their lines: a spin box half its height, a chart drawn under
the row beneath it. :func:`follow_width` keeps a widget's minimum height at what its
layout needs at its current width, again whenever the width or the contents change; the
window's minimum size follows.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class _MinimumHeightForWidth(QObject):
    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget
        self._width = -1
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget:
            kind = event.type()
            if kind == QEvent.Type.LayoutRequest or (
                kind == QEvent.Type.Resize and self._widget.width() != self._width
            ):
                self.update()
        return False

    def update(self) -> None:
        widget = self._widget
        layout = widget.layout()
        # Before the widget is shown its width is not the one it will have: a narrow width
        # there would ask for a tall window that never shrinks back.
        if layout is None or not widget.isVisible() or not layout.hasHeightForWidth():
            return
        self._width = widget.width()
        needed = layout.totalMinimumHeightForWidth(self._width)
        if needed != widget.minimumHeight():
            widget.setMinimumHeight(needed)


def follow_width(widget: QWidget) -> None:
    """Keep ``widget``'s minimum height at its layout's minimum height for its width.

    A widget laid out inside another whose minimum follows its width should not also
    report a height-for-width to it (its ``hasHeightForWidth`` returns False): its parent's
    layout would ask it for its preferred height, not its minimum one.
    """
    _MinimumHeightForWidth(widget)
