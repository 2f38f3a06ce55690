"""Light, dark or the system's look: Fusion with a palette, or the platform style."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

_SYSTEM_STYLE: dict[str, str] = {}


def apply_theme(app: QApplication, theme: str) -> None:
    """light / dark / system: Fusion with a palette, or the platform's own look."""
    hints = QGuiApplication.styleHints()
    _SYSTEM_STYLE.setdefault("name", app.style().name())
    if theme == "system":
        if hasattr(hints, "unsetColorScheme"):
            hints.unsetColorScheme()
        app.setStyle(_SYSTEM_STYLE["name"])
        app.setPalette(app.style().standardPalette())
        return
    scheme = Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if theme == "dark" else app.style().standardPalette())


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, "#25282c"),
        (role.WindowText, "#e6e6e6"),
        (role.Base, "#1c1e21"),
        (role.AlternateBase, "#2b2f33"),
        (role.Text, "#e6e6e6"),
        (role.Button, "#30343a"),
        (role.ButtonText, "#e6e6e6"),
        (role.Highlight, "#2f7ed8"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#30343a"),
        (role.ToolTipText, "#e6e6e6"),
        (role.PlaceholderText, "#9aa3ad"),
        (role.Link, "#6aa8f0"),
    ):
        p.setColor(r, QColor(c))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor("#7a8088"))  # greyed controls must look greyed
    p.setColor(disabled, role.Button, QColor("#2a2d31"))
    return p
