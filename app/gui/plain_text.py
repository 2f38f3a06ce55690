"""Labels and tooltips that show device, file and server text literally, never as markup.

Qt guesses rich text (Qt.TextFormat.AutoText) for labels, message boxes and tooltips: a device
name or version holding `<b>`, `<img ...>` or `<a href>` would be rendered, load images or
show links. Every label that can hold such text is made with `plain_label`.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel whose text is always shown as written."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tip(text: str) -> str:
    """A tooltip that shows `text` as written (tooltips have no text format of their own)."""
    if not text:
        return ""
    return '<p style="white-space:pre-wrap">' + html.escape(text) + "</p>"
