"""A drawn timeline: main validity, reserve validity, the switch time and today."""

from __future__ import annotations

from collections.abc import Callable
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
        return QSize(560, 2 * self.ROW_HEIGHT + 5 * fm.height() + 28)

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
        left, right, x_of = self._axis(data)
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
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if data.switch_at is not None:
            xs = x_of(data.switch_at)
            painter.setPen(QPen(SWITCH_COLOR, 2, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(xs, top - 4), QPointF(xs, bottom))
        xt = x_of(data.today)
        painter.setPen(QPen(TODAY_COLOR, 2))
        painter.drawLine(QPointF(xt, top - 4), QPointF(xt, bottom))
        for placed in self.labels():
            painter.setPen(placed.color if placed.color is not None else palette_text)
            painter.drawText(QPointF(placed.rect.left(), placed.rect.top() + fm.ascent()),
                             placed.text)

    def _axis(self, data: TimelineData) -> tuple[float, float, Callable[[datetime], float]]:
        """The bars' left and right ends and the x of an instant, at this width."""
        start, end = data.span()
        left = float(self.LABEL_WIDTH)
        right = float(self.width() - 12)
        total = (end - start).total_seconds()

        def x_of(when: datetime) -> float:
            return left + (right - left) * (when - start).total_seconds() / total

        return left, right, x_of

    # --- the labels, placed so that none overlaps another ---------------------------------

    def labels(self) -> list[PlacedLabel]:
        """Every caption and date label with the rectangle it is drawn in.

        The Today and Switch captions go above the bars, the dates of the bars below them.
        A label that would overlap one already placed moves to the next free row; a date
        that another label already shows (a reserve valid from today, a switch on the day
        the main certificate expires) is not written twice. No label crosses the Today or
        the Switch line: the captions sit above the bars and the dates below them.
        """
        data = self._data
        if data is None or (data.main is None and data.reserve is None):
            return []
        fm = QFontMetrics(self.font())
        line = fm.height()
        _left, _right, x_of = self._axis(data)
        top = float(line + 8)
        bottom = top + 2 * (self.ROW_HEIGHT + 8)
        wanted: list[tuple[str, float, QColor | None, bool]] = []  # text, x, colour, caption
        wanted.append((f"Today {text.date(data.today)}", x_of(data.today), TODAY_COLOR, True))
        if data.switch_at is not None:
            wanted.append((f"Switch {text.date(data.switch_at)}", x_of(data.switch_at),
                           SWITCH_COLOR, True))
        for pair in (data.main, data.reserve):
            if pair is not None:
                for when in pair:
                    wanted.append((text.date(when), x_of(when), None, False))
        shown_dates: set[str] = set()
        placed: list[PlacedLabel] = []
        # Rows: one above the bars, then the rows below them.
        caption_rows = [2.0]
        date_rows = [bottom + 2 + k * line for k in range(3)]
        for label, x, color, caption in wanted:
            date_part = label.split(" ")[-1]
            if date_part in shown_dates:
                continue
            width = fm.horizontalAdvance(label)
            lx = min(max(x - width / 2, 0.0), float(self.width()) - width)
            for y in (caption_rows + date_rows) if caption else date_rows:
                rect = QRectF(lx, y, width, line)
                if not any(rect.adjusted(-4, 0, 4, 0).intersects(p.rect) for p in placed):
                    placed.append(PlacedLabel(label, rect, color))
                    shown_dates.add(date_part)
                    break
        return placed


@dataclass(frozen=True)
class PlacedLabel:
    """One text of the timeline and where it is drawn (widget coordinates)."""

    text: str
    rect: QRectF
    color: QColor | None
