"""Log viewer for devices with the log group (Mynewt-style log_mgmt; Zephyr has none, so
this page says so on most devices)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.diagnostics.base import DiagContext, DiagPage
from app.smp.groups.log import LogShowResponse
from app.text import device_text
from app.workflows.diagnostics import Feature


class LogPage(DiagPage):
    feature = Feature.LOG
    title = "Log"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        row = QHBoxLayout()
        self.logs = QComboBox()
        self.logs.setAccessibleName("Log name")
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self.show_log)
        row.addWidget(self.logs, 1)
        row.addWidget(self.show_button)
        layout.addLayout(row)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Index", "Time", "Level", "Message"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

    def device_changed(self) -> None:
        self.context.call(
            lambda c: c.log_list(),
            on_result=self._show_names,
            on_error=self.show_error,
            feature=Feature.LOG,
        )

    def _show_names(self, names: list[str]) -> None:
        self.logs.clear()
        self.logs.addItems(names)

    def show_log(self) -> None:
        name = self.logs.currentText() or None
        self.context.call(
            lambda c: c.log_show(name),
            on_result=self._show_entries,
            on_error=self.show_error,
            feature=Feature.LOG,
        )

    def _show_entries(self, reply: LogShowResponse) -> None:
        entries = [e for log in reply.logs for e in log.entries]
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            when = _when(entry.ts)
            message = device_text(entry.msg) if isinstance(entry.msg, str) else entry.msg.hex(" ")
            for col, text in enumerate((str(entry.index), when, str(entry.level), message)):
                self.table.setItem(row, col, QTableWidgetItem(text))


def _when(ts: int) -> str:
    """Mynewt log timestamps are microseconds since the epoch; anything else stays a number."""
    try:
        return dt.datetime.fromtimestamp(ts / 1e6, dt.UTC).isoformat() if ts > 0 else str(ts)
    except (OverflowError, OSError, ValueError):
        return str(ts)
