"""The log drawer: timestamped operations and errors, SMP traffic, and the device console."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.text import BLOCK_CHARS, device_text

if TYPE_CHECKING:
    from app.gui.traffic import TrafficRecord

MAX_LINES = 5000
"""Older lines scroll away; the saved log holds what is shown."""
LEVEL_WORD = {"info": "", "warn": "WARNING ", "error": "ERROR "}


def _stamp(at: float | None = None) -> str:
    now = time.time() if at is None else at
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"


def _text_view(name: str) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(True)
    view.setMaximumBlockCount(MAX_LINES)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setAccessibleName(name)
    return view


class LogDrawer(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("log-drawer")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 2, 4, 4)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Log views")
        self.operations = _text_view("Operations log")
        self.traffic_view = _text_view("SMP traffic")
        self.console_view = _text_view("Device console")
        self.tabs.addTab(self.operations, "Operations")
        self.tabs.addTab(self.traffic_view, "SMP traffic")
        self.tabs.addTab(self.console_view, "Device console")
        layout.addWidget(self.tabs, 1)
        layout.addLayout(self._build_buttons())
        self.setWidget(body)

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.traffic_box = QCheckBox("Record SMP traffic")
        self.traffic_box.setAccessibleName("Record SMP traffic")
        self.traffic_box.setToolTip("Decode every request and reply (slows large uploads a little)")
        copy = QPushButton(icon("copy"), "Copy")
        copy.setAccessibleName("Copy the shown log")
        copy.clicked.connect(self.copy_current)
        save = QPushButton("Save\u2026")
        save.setAccessibleName("Save the shown log to a file")
        save.clicked.connect(self._ask_save)
        clear = QPushButton("Clear")
        clear.setAccessibleName("Clear the shown log")
        clear.clicked.connect(lambda: self._current().clear())
        row.addWidget(self.traffic_box)
        row.addStretch(1)
        for button in (copy, save, clear):
            row.addWidget(button)
        return row

    def _current(self) -> QPlainTextEdit:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, QPlainTextEdit) else self.operations

    # --- feeding ----------------------------------------------------------------------------

    def add(self, level: str, text: str) -> None:
        self.operations.appendPlainText(f"{_stamp()}  {LEVEL_WORD.get(level, '')}{text}")

    def add_traffic(self, records: list[TrafficRecord]) -> None:
        from app.gui.traffic import describe_frame  # the SMP decoder loads on first use

        lines = [f"{_stamp(r.at)}  {describe_frame(r.direction, r.frame)}" for r in records]
        self.traffic_view.appendPlainText("\n".join(lines))

    def add_console(self, line: str) -> None:
        self.console_view.appendPlainText(device_text(line, limit=BLOCK_CHARS))

    # --- copy and save ----------------------------------------------------------------------

    def copy_current(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self._current().toPlainText())

    def _ask_save(self) -> None:
        dialog = QFileDialog(self, "Save log", "slotwise-log.txt", "Text files (*.txt)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda text: self.save(Path(text)))
        dialog.open()

    def save(self, path: Path) -> None:
        path.write_text(self._current().toPlainText() + "\n", encoding="utf-8")
        self.add("info", f"Saved the {self.tabs.tabText(self.tabs.currentIndex())} log to {path}")
