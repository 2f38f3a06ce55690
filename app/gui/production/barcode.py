"""The barcode field: a keyboard-wedge scanner types into it and presses Enter.

It keeps the keyboard focus while a board waits for its scan, says which board that is, and
hands the text to whoever listens; between scans it is disabled so a stray scan goes nowhere.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QWidget

SCANNED_MAX = 128
"""Longer than any serial label; a stuck scanner must not fill the field forever."""


class BarcodeBar(QFrame):
    """`scanned(device, text)` when Enter ends a scan for the board shown as waiting."""

    scanned = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("barcode-bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.device = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        self.prompt = QLabel()
        self.prompt.setObjectName("barcode-prompt")
        font = self.prompt.font()
        font.setBold(True)
        self.prompt.setFont(font)
        self.field = QLineEdit()
        self.field.setObjectName("barcode-field")
        self.field.setAccessibleName("Barcode")
        self.field.setMaxLength(SCANNED_MAX)
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(260)
        self.field.returnPressed.connect(self._enter)
        label = QLabel("Barcode:")
        label.setBuddy(self.field)
        row.addWidget(self.prompt, 1)
        row.addWidget(label)
        row.addWidget(self.field)
        self.wait_for("")

    def wait_for(self, device: str) -> None:
        """Show that `device` waits for its scan and take the focus ("" when none waits)."""
        self.device = device
        self.field.setEnabled(bool(device))
        if device:
            self.prompt.setText(f"\u25b6 Scan the barcode of board {device}, then Enter")
            self.setStyleSheet("QFrame#barcode-bar { border: 2px solid #a15c00; }")
            self.field.clear()
            self.field.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.prompt.setText("No board is waiting for a barcode.")
            self.setStyleSheet("")

    def _enter(self) -> None:
        text = self.field.text().strip()
        if not self.device or not text:
            return  # an empty Enter (a scanner's double Enter) is not a scan
        device = self.device
        self.field.clear()
        self.scanned.emit(device, text)
