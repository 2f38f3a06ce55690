"""The one QApplication, shared by the main window's and the production window's start-up."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from app.gui.icons import app_icon


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The one QApplication (created on first call)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("Slotwise")
    app.setOrganizationName("Slotwise")
    app.setWindowIcon(app_icon())
    return app
