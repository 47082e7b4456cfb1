"""The delivery chart: devices holding the reserve certificate over time, up to the switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kscert_gui.ui import ids, text

CURVE_COLOR = QColor("#3b6fb6")
TOTAL_COLOR = QColor("#7a7a7a")
NOW_COLOR = QColor("#202020")
SWITCH_COLOR = QColor("#c77700")


@dataclass(frozen=True)
class ChartData:
    """``curve``: (instant, devices holding the reserve) from its creation to the switch."""

    curve: tuple[tuple[datetime, int], ...]
    total: int
    now: datetime
    switch_at: datetime

    def describe(self) -> str:
        if not self.curve:
            return "No reserve certificate: nothing to deliver."
        held_now = max((n for t, n in self.curve if t <= self.now), default=0)
        final = self.curve[-1][1]
        return (
            f"{text.thousands(held_now)} of {text.thousands(self.total)} devices hold the "
            f"reserve certificate now; {text.thousands(final)} are expected to hold it at the "
            f"switch, {text.instant(self.switch_at)}."
        )


class DeliveryChart(QWidget):
    """Painted: the count so far (solid), the projection to the switch (dashed), the total."""

    MARGIN_LEFT = 56
    MARGIN = 12
    MARGIN_BOTTOM = 26

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ids.DELIVERY_CHART)
        self.setAccessibleName("Reserve certificate delivery chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(140)
        self._data: ChartData | None = None

    @property
    def data(self) -> ChartData | None:
        return self._data

    def set_data(self, data: ChartData | None) -> None:
        self._data = data
        description = data.describe() if data is not None else "No reserve certificate."
        self.setAccessibleDescription(description)
        self.setToolTip(description)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 180)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette_text = self.palette().text().color()
        area = QRectF(
            self.MARGIN_LEFT, self.MARGIN,
            max(10.0, self.width() - self.MARGIN_LEFT - self.MARGIN),
            max(10.0, self.height() - self.MARGIN - self.MARGIN_BOTTOM),
        )
        painter.setPen(QPen(palette_text, 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        painter.drawLine(area.bottomLeft(), area.topLeft())
        data = self._data
        if data is None or not data.curve:
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter,
                             "No reserve certificate is being delivered.")
            return
        start = data.curve[0][0]
        end = data.curve[-1][0]
        span = max(1.0, (end - start).total_seconds())
        top = max(1, data.total)

        def x(at: datetime) -> float:
            return area.left() + area.width() * (at - start).total_seconds() / span

        def y(count: int) -> float:
            return area.bottom() - area.height() * count / top

        # Total devices
        painter.setPen(QPen(TOTAL_COLOR, 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(area.left(), y(data.total)), QPointF(area.right(), y(data.total)))
        # The curve: solid up to now, dashed after (projection)
        past = QPainterPath()
        future = QPainterPath()
        for i, (at, count) in enumerate(data.curve):
            point = QPointF(x(at), y(count))
            path = past if at <= data.now else future
            if path.elementCount() == 0:
                if path is future and i > 0:
                    prev_at, prev_count = data.curve[i - 1]
                    path.moveTo(QPointF(x(prev_at), y(prev_count)))
                    path.lineTo(point)
                else:
                    path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(CURVE_COLOR, 2))
        painter.drawPath(past)
        painter.setPen(QPen(CURVE_COLOR, 2, Qt.PenStyle.DashLine))
        painter.drawPath(future)
        # Now and the switch
        if start <= data.now <= end:
            painter.setPen(QPen(NOW_COLOR, 1, Qt.PenStyle.DashDotLine))
            painter.drawLine(QPointF(x(data.now), area.top()), QPointF(x(data.now), area.bottom()))
        painter.setPen(QPen(SWITCH_COLOR, 2))
        painter.drawLine(QPointF(area.right(), area.top()), QPointF(area.right(), area.bottom()))
        # Labels
        painter.setPen(QPen(palette_text, 1))
        metrics = painter.fontMetrics()
        painter.drawText(QRectF(0, y(data.total) - 8, self.MARGIN_LEFT - 4, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         text.thousands(data.total))
        painter.drawText(QRectF(0, area.bottom() - 8, self.MARGIN_LEFT - 4, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "0")
        baseline = area.bottom() + metrics.ascent() + 4
        painter.drawText(QPointF(area.left(), baseline), text.date(start))
        label = f"switch {text.date(end)}"
        painter.drawText(QPointF(area.right() - metrics.horizontalAdvance(label), baseline), label)
