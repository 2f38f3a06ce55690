"""Starting the application: QApplication, theme, the core bridge, the window, the demo."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer

from app.gui.application import application, route_qt_messages
from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.startup_checks import render_offscreen, startup_problem
from app.gui.theme import apply_theme

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_MS = 20_000
SCREENSHOT_SIZE = (1280, 860)


def run(
    *,
    demo: bool = False,
    screenshot: Path | None = None,
    settings_path: Path | None = None,
    ble_hci: str | None = None,
    device: str | None = None,
    say_error: Callable[[str], None] | None = None,
) -> int:
    """The GUI's main(): returns the process exit status.

    `device` (a spec, from `slotwise -d SPEC`) is added to the list and selected once the
    window is built, so its slots are read first and `screenshot` renders it. `say_error`
    prints a failure as the command line's one line (default: as it is)."""
    if screenshot is not None:
        render_offscreen()
    problem = startup_problem()
    if problem is not None:
        print(f"slotwise: {problem}", file=sys.stderr)
        return 1
    route_qt_messages()
    app = application()
    settings = AppSettings(settings_path)
    apply_theme(app, settings.load().theme)
    bridge = CoreBridge()
    window = MainWindow(bridge, settings, demo=demo, deferred=True)
    if ble_hci:
        window.feed.use_ble_controller(ble_hci)
    status = {"code": 0}
    if screenshot is not None:
        window.remember_geometry = False  # a scripted render must not move the user's window
        window.resize(SCREENSHOT_SIZE[0], SCREENSHOT_SIZE[1])
        say = say_error or (lambda text: print(f"slotwise: {text}", file=sys.stderr))
        window.when_ready(lambda: _arm_screenshot(window, screenshot, status, say))
    window.show()
    if device is not None:
        window.when_ready(lambda: _open_device(window, device))
    window.when_ready(window.start_demo if demo else window.start_discovery)
    code = app.exec()
    bridge.stop()
    return status["code"] or code


def _open_device(window: MainWindow, spec: str) -> None:
    from app.gui.targets import target_for_spec

    window.add_targets([target_for_spec(spec)])
    window.device_pane.select_spec(spec)


def _arm_screenshot(
    window: MainWindow, path: Path, status: dict[str, int], say: Callable[[str], None]
) -> None:
    """Save the window once the first device's slots are on screen, then quit."""

    def shoot() -> None:
        if status.get("done"):
            return
        status["done"] = 1
        QTimer.singleShot(300, lambda: _save(window, path, status))

    def give_up(reason: str | None = None) -> None:
        if not status.get("done"):
            status["done"] = 1
            why = reason or f"no device read within {SCREENSHOT_TIMEOUT_MS // 1000} s"
            say(f"{why.rstrip('.')}; no screenshot")
            status["code"] = 1
            window.close()

    window.controller.snapshot_changed.connect(lambda _snap: shoot())
    window.controller.failed.connect(give_up)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, give_up)


def _save(window: MainWindow, path: Path, status: dict[str, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        print(f"slotwise: cannot write {path}", file=sys.stderr)
        status["code"] = 1
    else:
        print(f"saved {path}")
    window.close()
