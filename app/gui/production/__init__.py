"""The production line in the GUI: device cards, job summary, operator mode, barcode entry.

`MainWindow.open_production()` opens it from the main window; `run(job)` is
`slotwise --production`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.gui.production.window import ProductionWindow

__all__ = ["ProductionWindow", "run"]


def run(job_path: Path, *, settings_path: Path | None = None) -> int:
    """The GUI opened straight into production for `job_path` (no main window).

    Operator mode is entered as soon as the job is verified when the job sets a supervisor
    password: a job that carries one is meant for the line."""
    if not job_path.is_file():
        print(f"slotwise: job file {job_path} not found", file=sys.stderr)
        return 1
    from app.gui.application import application
    from app.gui.bridge import CoreBridge
    from app.gui.settings import AppSettings
    from app.gui.startup_checks import startup_problem
    from app.gui.theme import apply_theme

    problem = startup_problem()
    if problem is not None:
        print(f"slotwise: {problem}", file=sys.stderr)
        return 1
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
