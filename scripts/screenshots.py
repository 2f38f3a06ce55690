"""Render the application's main screens to docs/screenshots/*.png (offscreen, no hardware).

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [OUT_DIR]

Runs the demo in-process and drives it like a user: the device list and slots, the
verification verdict of the demo image, the upload in progress, the result after the test
boot, the settings dialog, and the main window in the dark theme. Exits non-zero if any step
does not happen in time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gui.application import application
from app.gui.bridge import CoreBridge
from app.gui.demo import DEMO_IMAGE
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.theme import apply_theme
from app.sim.link import LinkModel

SIZE = (1280, 860)


def wait(app: object, condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
    for _ in range(20):  # let layouts settle and paint
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.005)


def shoot(widget: object, path: Path) -> None:
    if not widget.grab().save(str(path)):  # type: ignore[attr-defined]
        raise SystemExit(f"screenshots: cannot write {path}")
    print(f"wrote {path}")


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = application()
    apply_theme(app, "light")
    with tempfile.TemporaryDirectory() as tmp:
        settings = AppSettings(Path(tmp) / "slotwise.ini", keys_dir=Path(tmp) / "keys")
        bridge = CoreBridge()
        window = MainWindow(bridge, settings, demo=True)
        window.remember_geometry = False
        window.resize(*SIZE)
        window.show()
        # slower than the interactive demo, so the progress shot catches the upload mid-way
        window.start_demo(link=LinkModel(latency_s=0.002, rate_bps=12_000))
        wait(
            app,
            lambda: window.controller.snapshot is not None and window.devices.rowCount() >= 1,
            "the first demo device",
        )
        shoot(window, out / "main.png")

        window.open_image(DEMO_IMAGE)
        panel = window.upload_panel
        wait(app, lambda: panel.check is not None, "the verdict")
        shoot(window, out / "verdict.png")

        panel.start()
        wait(
            app,
            lambda: panel.bar.value() > 550 and panel.chart.series.count() > 20,
            "the upload to pass 55%",
        )
        window.right_scroll.verticalScrollBar().setValue(
            window.right_scroll.verticalScrollBar().maximum()
        )
        shoot(window, out / "upload.png")

        wait(app, lambda: panel.confirm_button.isVisible(), "the test boot result", 60)
        window.right_scroll.verticalScrollBar().setValue(0)
        shoot(window, out / "result.png")

        dialog = window.open_settings()
        wait(app, dialog.isVisible, "the settings dialog")
        shoot(dialog, out / "settings.png")
        dialog.reject()

        apply_theme(app, "dark")
        window.upload_panel.chart.apply_palette_text(window.palette().windowText().color())
        wait(app, lambda: True, "the dark theme")
        shoot(window, out / "dark.png")
        window.close()
        bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(
        main(
            Path(sys.argv[1])
            if len(sys.argv) > 1
            else Path(__file__).resolve().parents[1] / "docs" / "screenshots"
        )
    )
