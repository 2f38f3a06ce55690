"""Shared parts of the pages that refresh on their own: an auto-refresh bar and a sparkline."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QPointF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QPushButton, QWidget

TREND_POINTS = 60


class AutoRefresh(QWidget):
    """ "Refresh" plus "every N s": calls `tick` on a timer, never twice at once."""

    def __init__(
        self, tick: Callable[[], None], interval_s: float = 1.0, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._tick = tick
        self.in_flight = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self._on_timer)
        self.auto = QCheckBox("Auto-refresh every")
        self.auto.toggled.connect(self._apply)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.2, 3600.0)
        self.interval.setDecimals(1)
        self.interval.setSuffix(" s")
        self.interval.setValue(interval_s)
        self.interval.valueChanged.connect(self._apply)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.auto)
        row.addWidget(self.interval)

    def _apply(self) -> None:
        if self.auto.isChecked():
            self.timer.start(int(self.interval.value() * 1000))
        else:
            self.timer.stop()

    def _on_timer(self) -> None:
        if not self.in_flight:  # a slow link must not pile up requests
            self.in_flight = True
            self._tick()

    def done(self) -> None:
        """The page got its answer (or an error): the next tick may ask again."""
        self.in_flight = False

    def stop(self) -> None:
        self.auto.setChecked(False)
        self.timer.stop()
        self.in_flight = False


class Sparkline(QWidget):
    """The last values of one counter as a small line chart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values: deque[int] = deque(maxlen=TREND_POINTS)
        self.setMinimumSize(QSize(80, 18))

    def add(self, value: int) -> None:
        self.values.append(value)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(120, 22)

    def paintEvent(self, event: QPaintEvent) -> None:
        if len(self.values) < 2:
            return
        low, high = min(self.values), max(self.values)
        span = (high - low) or 1
        w, h = self.width() - 2, self.height() - 4
        step = w / (self.values.maxlen - 1 if self.values.maxlen else 1)
        start = w - step * (len(self.values) - 1)
        points = QPolygonF(
            [
                QPointF(1 + start + i * step, 2 + h - (v - low) / span * h)
                for i, v in enumerate(self.values)
            ]
        )
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(
            QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.5, Qt.PenStyle.SolidLine)
        )
        painter.drawPolyline(points)
        painter.end()
