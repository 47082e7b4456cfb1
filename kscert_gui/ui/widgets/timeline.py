"""A drawn timeline: main validity, reserve validity, the switch time and today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kscert_gui.ui import ids, text

MAIN_COLOR = QColor("#3d8b4f")
MAIN_ALERT_COLOR = QColor(text.ALERT_COLOR)
RETIRED_COLOR = QColor("#b9c4bc")
RESERVE_COLOR = QColor("#3b6fb6")
SWITCH_COLOR = QColor("#c77700")
TODAY_COLOR = QColor("#202020")


@dataclass(frozen=True)
class TimelineData:
    """What the timeline shows; every instant is aware UTC."""

    today: datetime
    main: tuple[datetime, datetime] | None = None
    reserve: tuple[datetime, datetime] | None = None
    switch_at: datetime | None = None
    alert: bool = False

    def span(self) -> tuple[datetime, datetime]:
        points = [self.today]
        for pair in (self.main, self.reserve):
            if pair is not None:
                points.extend(pair)
        if self.switch_at is not None:
            points.append(self.switch_at)
        start, end = min(points), max(points)
        if end - start < timedelta(days=30):
            end = start + timedelta(days=30)
        pad = (end - start) * 0.03
        return start - pad, end + pad

    def describe(self) -> str:
        """The same facts in words (accessible description, tooltips)."""
        parts = [f"Today {text.date(self.today)}."]
        if self.main is not None:
            parts.append(
                f"Main certificate valid {text.date(self.main[0])} to {text.date(self.main[1])}."
            )
        else:
            parts.append("No main certificate.")
        if self.reserve is not None:
            parts.append(
                f"Reserve certificate valid {text.date(self.reserve[0])} to "
                f"{text.date(self.reserve[1])}."
            )
        if self.switch_at is not None:
            parts.append(f"Switch at {text.instant(self.switch_at)}.")
        return " ".join(parts)


class CertificateTimeline(QWidget):
    """Custom-painted: two bars on a shared time axis plus the switch and today markers."""

    ROW_HEIGHT = 16
    LABEL_WIDTH = 70

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ids.TIMELINE)
        self.setAccessibleName("Certificate timeline")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._data: TimelineData | None = None

    @property
    def data(self) -> TimelineData | None:
        return self._data

    def set_data(self, data: TimelineData | None) -> None:
        self._data = data
        summary = data.describe() if data is not None else "No certificate."
        self.setAccessibleDescription(summary)
        self.setToolTip(summary)
        self.update()

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(560, 2 * self.ROW_HEIGHT + 4 * fm.height() + 28)

    def minimumSizeHint(self) -> QSize:
        return QSize(320, self.sizeHint().height())

    # --- drawing --------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        fm = QFontMetrics(self.font())
        line = fm.height()
        data = self._data
        palette_text = self.palette().windowText().color()
        if data is None or (data.main is None and data.reserve is None):
            painter.setPen(palette_text)
            painter.drawText(
                QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, "No certificate to show"
            )
            return
        start, end = data.span()
        left = float(self.LABEL_WIDTH)
        right = float(self.width() - 12)
        total = (end - start).total_seconds()

        def x_of(when: datetime) -> float:
            return left + (right - left) * (when - start).total_seconds() / total

        top = float(line + 8)  # room for the marker captions above the bars
        rows = [("Main", data.main), ("Reserve", data.reserve)]
        bottom = top + len(rows) * (self.ROW_HEIGHT + 8)
        for index, (label, pair) in enumerate(rows):
            y = top + index * (self.ROW_HEIGHT + 8)
            painter.setPen(palette_text)
            painter.drawText(
                QRectF(0, y, left - 6, self.ROW_HEIGHT),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                label,
            )
            if pair is None:
                painter.setPen(QPen(RETIRED_COLOR, 1, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(left, y + self.ROW_HEIGHT / 2),
                                 QPointF(right, y + self.ROW_HEIGHT / 2))
                continue
            x0, x1 = x_of(pair[0]), x_of(pair[1])
            if label == "Main":
                color = MAIN_ALERT_COLOR if data.alert else MAIN_COLOR
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                cut = x_of(data.switch_at) if data.switch_at is not None else x1
                painter.drawRoundedRect(QRectF(x0, y, max(cut - x0, 1.0), self.ROW_HEIGHT), 3, 3)
                if cut < x1:
                    # After the switch the main certificate is retired: drawn faded.
                    painter.setBrush(RETIRED_COLOR)
                    painter.drawRect(QRectF(cut, y, x1 - cut, self.ROW_HEIGHT))
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(RESERVE_COLOR)
                painter.drawRoundedRect(QRectF(x0, y, max(x1 - x0, 1.0), self.ROW_HEIGHT), 3, 3)
            painter.setPen(palette_text)
            self._date_label(painter, fm, x0, bottom + 2 + index * line, pair[0], left, right)
            self._date_label(painter, fm, x1, bottom + 2 + index * line, pair[1], left, right)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if data.switch_at is not None:
            xs = x_of(data.switch_at)
            painter.setPen(QPen(SWITCH_COLOR, 2, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(xs, top - 4), QPointF(xs, bottom))
            self._caption(painter, fm, xs, 2, f"Switch {text.date(data.switch_at)}",
                          SWITCH_COLOR, left, right)
        xt = x_of(data.today)
        painter.setPen(QPen(TODAY_COLOR, 2))
        painter.drawLine(QPointF(xt, top - 4), QPointF(xt, bottom))
        caption_y = 2 if data.switch_at is None or abs(x_of(data.switch_at) - xt) > 120 else (
            bottom + 2 + 2 * line
        )
        self._caption(painter, fm, xt, caption_y, f"Today {text.date(data.today)}",
                      TODAY_COLOR, left, right)

    @staticmethod
    def _clamp_text_x(x: float, width: int, left: float, right: float) -> float:
        return min(max(x - width / 2, left - 40), right - width)

    def _date_label(
        self, painter: QPainter, fm: QFontMetrics, x: float, y: float, when: datetime,
        left: float, right: float,
    ) -> None:
        label = text.date(when)
        width = fm.horizontalAdvance(label)
        painter.drawText(QPointF(self._clamp_text_x(x, width, left, right), y + fm.ascent()),
                         label)

    def _caption(
        self, painter: QPainter, fm: QFontMetrics, x: float, y: float, label: str,
        color: QColor, left: float, right: float,
    ) -> None:
        painter.setPen(color)
        width = fm.horizontalAdvance(label)
        painter.drawText(QPointF(self._clamp_text_x(x, width, left, right), y + fm.ascent()),
                         label)
