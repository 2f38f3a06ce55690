"""SVG icons from app/resources/icons (scaled by Qt, so they stay sharp on HiDPI screens)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
"""app/resources: package data, so a source tree, an editable or a plain install and the frozen
bundle all find it beside the modules."""
ICONS = RESOURCES / "icons"
DEMO = RESOURCES / "demo"


@cache
def icon(name: str) -> QIcon:
    """The icon `name` (file stem in resources/icons); an empty icon if it is missing."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def app_icon() -> QIcon:
    return icon("slotwise")
