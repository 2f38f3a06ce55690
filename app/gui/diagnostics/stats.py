"""Statistics groups: pick a group, read its counters, refresh on a timer; a counter that
changed since the last read is highlighted, and each has a small trend chart."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.diagnostics.base import DiagContext, DiagPage
from app.gui.diagnostics.live import AutoRefresh, Sparkline
from app.text import device_text
from app.workflows.diagnostics import Feature

CHANGED = QColor(255, 213, 79, 140)
"""Amber, translucent so it reads on light and dark themes."""
GROUP_NAME = Qt.ItemDataRole.UserRole
HIGHLIGHT_S = 3.0
"""A changed counter stays highlighted this long, so a fast refresh does not make it blink."""


class StatsPage(DiagPage):
    feature = Feature.STATS
    title = "Statistics"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        self.refresher = AutoRefresh(self.refresh)
        layout.addWidget(self.refresher)
        split = QSplitter()
        self.groups = QListWidget()
        self.groups.setAccessibleName("Statistics groups")
        # Items show the device's group names neutralised; the name itself, as the device
        # spells it, is the item's data and the one a read asks for.
        self.groups.currentItemChanged.connect(
            lambda item, _old: self._on_group(item.data(GROUP_NAME) if item is not None else "")
        )
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Counter", "Value", "Change", "Trend"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        split.addWidget(self.groups)
        split.addWidget(self.table)
        split.setStretchFactor(1, 1)
        split.setSizes([180, 500])
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.group = ""
        self.values: dict[str, int] = {}
        self.changed: set[str] = set()
        """Counters that changed in the latest read."""
        self.changed_at: dict[str, tuple[float, int]] = {}
        """Counter -> (when it last changed, by how much)."""
        self.trends: dict[str, Sparkline] = {}

    def device_changed(self) -> None:
        self.groups.clear()
        self._reset_group("")
        self.context.call(
            lambda c: c.stat_list(),
            on_result=self.show_groups,
            on_error=self.show_error,
            feature=Feature.STATS,
        )

    def stop(self) -> None:
        self.refresher.stop()

    def show_groups(self, names: list[str]) -> None:
        self.groups.clear()
        for name in names:
            item = QListWidgetItem(device_text(name))
            item.setData(GROUP_NAME, name)
            self.groups.addItem(item)
        if not names:
            self.show_info("The device has no statistics groups.")
        else:
            self.groups.setCurrentRow(0)

    def _reset_group(self, name: str) -> None:
        self.group = name
        self.values = {}
        self.changed = set()
        self.changed_at = {}
        self.trends = {}
        self.table.setRowCount(0)

    def _on_group(self, name: str) -> None:
        self._reset_group(name)
        if name:
            self.refresh()

    def refresh(self) -> None:
        name = self.group
        if not name:
            self.refresher.done()
            return

        def failed(text: str) -> None:
            self.refresher.done()
            self.show_error(text)

        self.refresher.in_flight = True
        self.context.call(
            lambda c: c.stat_read(name),
            on_result=lambda fields: self.show_fields(name, fields),
            on_error=failed,
            feature=Feature.STATS,
        )

    def show_fields(self, group: str, fields: dict[str, int]) -> None:
        self.refresher.done()
        if group != self.group:  # the user picked another group meanwhile
            return
        first = not self.values
        now = time.monotonic()
        self.changed = {k for k, v in fields.items() if not first and self.values.get(k) != v}
        for counter in self.changed:
            self.changed_at[counter] = (now, fields[counter] - self.values.get(counter, 0))
        self.values = dict(fields)
        if self.table.rowCount() != len(fields):
            self.table.setRowCount(len(fields))
        for row, (counter, value) in enumerate(fields.items()):
            when, delta = self.changed_at.get(counter, (-HIGHLIGHT_S, 0))
            self._set_row(row, counter, value, delta if now - when < HIGHLIGHT_S else None)

    def _set_row(self, row: int, counter: str, value: int, delta: int | None) -> None:
        brush = QBrush(CHANGED) if delta is not None else QBrush()
        for col, text in enumerate(
            (device_text(counter), str(value), f"{delta:+d}" if delta is not None else "")
        ):
            item = QTableWidgetItem(text)
            item.setBackground(brush)
            self.table.setItem(row, col, item)
        spark = self.trends.get(counter)
        if spark is None:
            spark = Sparkline()
            self.trends[counter] = spark
            self.table.setCellWidget(row, 3, spark)
        spark.add(value)
