"""A live throughput chart (QtCharts): upload rate in KiB/s over elapsed seconds."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

MIN_SPAN_S = 1.0
"""The shortest time axis: a fraction of a second of data still draws as a line."""
MAX_POINTS = 600
"""A minute at ten updates a second; older points scroll away."""


class ThroughputChart(QChartView):
    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        chart.legend().hide()
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.setBackgroundRoundness(4)
        chart.setBackgroundVisible(False)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(170)
        self.setMaximumHeight(200)
        self.setAccessibleName("Upload throughput chart")
        self.series = QLineSeries()
        pen = QPen(QColor("#2f7ed8"))
        pen.setWidthF(2.0)
        self.series.setPen(pen)
        chart.addSeries(self.series)
        self.x_axis = QValueAxis()
        self.x_axis.setTitleText("seconds")
        self.x_axis.setLabelFormat("%.0f")
        self.y_axis = QValueAxis()
        self.y_axis.setTitleText("KiB/s")
        self.y_axis.setLabelFormat("%.0f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        self.series.attachAxis(self.x_axis)
        self.series.attachAxis(self.y_axis)
        self._peak = 1.0
        self._scrolled = False
        """Points older than MAX_POINTS were dropped: the axis follows the oldest one kept."""
        self.clear()

    def clear(self) -> None:
        self.series.clear()
        self._peak = 1.0
        self._scrolled = False
        self.x_axis.setRange(0, MIN_SPAN_S)
        self.x_axis.setLabelFormat("%.1f")
        self.y_axis.setRange(0, 10)

    def add_point(self, elapsed_s: float, rate_bps: float) -> None:
        kib = rate_bps / 1024
        self.series.append(elapsed_s, kib)
        if self.series.count() > MAX_POINTS:
            self.series.removePoints(0, self.series.count() - MAX_POINTS)
            self._scrolled = True
        self._peak = max(self._peak, kib)
        # the axis spans the upload so far (no fixed 10 s: a 1 s upload filled a tenth of it),
        # from 0 s, the upload's start, not the first measured rate (about 0.3 s in);
        # no applyNiceNumbers() here, it rounded a 1 s span up to 12 s
        start = self.series.at(0).x() if self._scrolled else 0.0
        span = max(MIN_SPAN_S, elapsed_s - start)
        self.x_axis.setRange(start, start + span)
        self.x_axis.setLabelFormat("%.1f" if span < 5 else "%.0f")
        self.y_axis.setRange(0, self._peak * 1.2)
        self.y_axis.applyNiceNumbers()  # round tick labels: 0, 5, 10, 15 rather than 0, 3, 7

    def apply_palette_text(self, color: QColor) -> None:
        """Axis text follows the window text colour, so the chart reads in dark mode too."""
        for axis in (self.x_axis, self.y_axis):
            axis.setLabelsColor(color)
            axis.setTitleBrush(color)
