"""The production line in the GUI: device cards, job summary, operator mode, barcode entry.

`open_production(main)` opens it from the main window; `run(job)` is `slotwise --production`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QMainWindow

from app.gui.production.window import ProductionWindow

__all__ = ["ProductionWindow", "open_production", "run"]


def open_production(main: QMainWindow, job_path: Path | None = None) -> ProductionWindow:
    """Show the main window's production window (one per main window); load `job_path`."""
    window = main.findChild(ProductionWindow)
    if window is None:
        window = ProductionWindow(
            main.bridge,
            getattr(main, "settings", None),  # type: ignore[attr-defined]
            main,
        )
    window.show()
    window.raise_()
    window.activateWindow()
    if job_path is not None:
        window.load_job_file(job_path)
    elif window.job is None:
        window.choose_job()
    return window


def run(job_path: Path, *, settings_path: Path | None = None) -> int:
    """The GUI opened straight into production for `job_path` (no main window).

    Operator mode is entered as soon as the job is verified when the job sets a supervisor
    password: a job that carries one is meant for the line."""
    if not job_path.is_file():
        print(f"slotwise: job file {job_path} not found", file=sys.stderr)
        return 1
    from app.gui.app import application
    from app.gui.bridge import CoreBridge
    from app.gui.settings import AppSettings
    from app.gui.theme import apply_theme

    app = application()
    settings = AppSettings(settings_path)
    apply_theme(app, settings.load().theme)
    bridge = CoreBridge()
    window = ProductionWindow(bridge, settings)
    window.show()
    window.load_job_file(job_path, operator=True)
    code = app.exec()
    bridge.stop()
    return code
