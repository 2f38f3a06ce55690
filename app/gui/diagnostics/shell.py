"""Shell console: run a command on the device, show its output as plain text with line
endings, carriage returns and terminal colour codes handled; Up and Down walk the history."""

from __future__ import annotations

import re
import shlex

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFontDatabase, QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.diagnostics.base import DiagContext, DiagPage
from app.smp.groups.shell import ShellExecResponse
from app.text import BLOCK_CHARS, device_text
from app.workflows.diagnostics import Feature

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]")
MAX_HISTORY = 200
MAX_BLOCKS = 5000


def clean_output(text: str) -> str:
    """Device output as lines: CRLF and CR line ends, a bare CR overwriting its line, escape
    sequences and other control characters removed (tabs kept)."""
    text = ANSI.sub("", text).replace("\r\n", "\n")
    lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    out = "\n".join(lines)
    kept = "".join(ch for ch in out if ch in "\n\t" or ch >= " ")
    return device_text(kept, limit=BLOCK_CHARS, multiline=True)  # C1, bidi overrides, DEL


class ShellPage(DiagPage):
    feature = Feature.SHELL
    title = "Shell"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_BLOCKS)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setAccessibleName("Shell output")
        layout.addWidget(self.output, 1)
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setPlaceholderText("command, e.g. kernel uptime (Up/Down: history)")
        self.input.setAccessibleName("Shell command")
        self.input.returnPressed.connect(self.run_input)
        self.input.installEventFilter(self)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run_input)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.output.clear)
        row.addWidget(self.input, 1)
        row.addWidget(self.run_button)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.history: list[str] = []
        self._cursor = 0
        self.pending = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.input and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Up:
                self._walk(-1)
                return True
            if event.key() == Qt.Key.Key_Down:
                self._walk(1)
                return True
        return super().eventFilter(watched, event)

    def _walk(self, step: int) -> None:
        if not self.history:
            return
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.input.setText(self.history[self._cursor] if self._cursor < len(self.history) else "")

    def _append(self, text: str) -> None:
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        self.output.setTextCursor(cursor)
        self.output.insertPlainText(text if text.endswith("\n") else text + "\n")
        self.output.ensureCursorVisible()

    def run_input(self) -> None:
        line = self.input.text().strip()
        if not line:
            return
        try:
            argv = shlex.split(line)
        except ValueError as exc:  # an unclosed quote
            self.show_error(f"Cannot split the command: {exc}.")
            return
        if not self.history or self.history[-1] != line:
            self.history = [*self.history, line][-MAX_HISTORY:]
        self._cursor = len(self.history)
        self.input.clear()
        self.pending += 1
        self.show_info(f"Running {line}\u2026")

        # The prompt is printed with its answer, so quick successive commands never
        # interleave their output with later prompts.
        def show(reply: ShellExecResponse) -> None:
            self._finish()
            self._append(f"$ {line}")
            self._append(clean_output(reply.o))
            if reply.ret:
                self._append(f"[exit status {reply.ret}]")

        def failed(text: str) -> None:
            self._finish()
            self._append(f"$ {line}")
            self._append(f"[{text}]")

        self.context.call(
            lambda c: c.shell_exec(argv), on_result=show, on_error=failed, feature=Feature.SHELL
        )

    def _finish(self) -> None:
        self.pending -= 1
        if not self.pending:
            self.show_info("")
