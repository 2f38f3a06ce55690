"""The verification verdict, shown before any byte is sent: a headline and one line per fact."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.gui.icons import icon
from app.gui.models.verdict import UploadCheck
from app.gui.plain_text import plain_label

TONE_COLOR = {"good": "#2e9d5b", "warn": "#c77c0e", "bad": "#d64545"}
TONE_MARK = {"good": "\u2713", "warn": "!", "bad": "\u2717"}


class VerdictView(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("verdict-view")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(24, 24)
        self.headline = plain_label("")
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.headline.setFont(font)
        self.headline.setAccessibleName("Verification verdict")
        top.addWidget(self.icon_label)
        top.addWidget(self.headline, 1)
        layout.addLayout(top)
        self.details = QLabel("")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName("Verification details")
        layout.addWidget(self.details)
        self.check: UploadCheck | None = None

    def show_checking(self, name: str) -> None:
        self.check = None
        self.icon_label.setPixmap(icon("file").pixmap(24, 24))
        self.headline.setText(f"Checking {name}\u2026")
        self.details.setText("Verifying the hash and signature; nothing is sent yet.")

    def show_check(self, check: UploadCheck) -> None:
        self.check = check
        name = "ok" if check.ok else "warning" if check.unsigned else "error"
        self.icon_label.setPixmap(icon(name).pixmap(24, 24))
        self.headline.setText(check.headline)
        rows = []
        for line in check.lines:
            color = TONE_COLOR.get(line.tone, "#6b7785")
            rows.append(
                f"<span style='color:{color}; font-weight:600'>"
                f"{TONE_MARK.get(line.tone, '')}</span>&nbsp; {html.escape(line.text)}"
            )
        self.details.setText("<br>".join(rows))

    def plain_text(self) -> str:
        """Headline and lines as text (tests and screen readers)."""
        if self.check is None:
            return self.headline.text()
        return "\n".join([self.check.headline, *(line.text for line in self.check.lines)])
