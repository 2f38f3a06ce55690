"""Task statistics: one row per thread with its stack use as a bar, refreshed on demand or on
a timer."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHeaderView,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.gui.diagnostics.base import DiagContext, DiagPage
from app.gui.diagnostics.live import AutoRefresh
from app.text import device_text
from app.workflows.diagnostics import Feature, TaskRow, task_rows

COLUMNS = ("Name", "Priority", "State", "Stack use", "Context switches", "Runtime")
STACK_COLUMN = 3
WARN_FRACTION = 0.85
"""Stack use above this is drawn as a warning: an overflow is near."""


class TasksPage(DiagPage):
    feature = Feature.TASK_STATS
    title = "Tasks"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        self.refresher = AutoRefresh(self.refresh)
        layout.addWidget(self.refresher)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            STACK_COLUMN, QHeaderView.ResizeMode.Stretch
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        self.rows: tuple[TaskRow, ...] = ()
        self.reads = 0

    def device_changed(self) -> None:
        self.refresh()

    def stop(self) -> None:
        self.refresher.stop()

    def refresh(self) -> None:
        async def read(client: SmpClient) -> tuple[TaskRow, ...]:
            return task_rows(await client.task_stats())

        def failed(text: str) -> None:
            self.refresher.done()
            self.show_error(text)

        self.refresher.in_flight = True
        self.context.call(
            read, on_result=self.show_rows, on_error=failed, feature=Feature.TASK_STATS
        )

    def show_rows(self, rows: tuple[TaskRow, ...]) -> None:
        self.refresher.done()
        self.reads += 1
        self.rows = rows
        self.status.setText("")
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            name = device_text(row.name, limit=64)
            cells = (name, row.prio, row.state_text, None, row.context_switches, row.runtime)
            for col, value in enumerate(cells):
                if col == STACK_COLUMN:
                    continue
                text = "\u2014" if value is None else str(value)
                self.table.setItem(index, col, QTableWidgetItem(text))
            self.table.setCellWidget(index, STACK_COLUMN, self._stack_bar(row))

    def _stack_bar(self, row: TaskRow) -> QProgressBar:
        bar = QProgressBar()
        if row.stack_fraction is None or row.stack_size_bytes is None:
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat("not reported")
            return bar
        bar.setRange(0, row.stack_size_bytes)
        bar.setValue(row.stack_used_bytes or 0)
        bar.setFormat(f"{row.stack_used_bytes} / {row.stack_size_bytes} B (%p%)")
        if row.stack_fraction >= WARN_FRACTION:
            bar.setStyleSheet("QProgressBar::chunk { background: #c62828; }")
        return bar
