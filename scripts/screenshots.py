"""Render the application's main screens to docs/screenshots/*.png (offscreen, no hardware).

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [OUT_DIR]

Runs the demo in-process and drives it like a user: the device list and slots, the
verification verdict of the demo image, the upload in progress (also at 1024x768), the result
after the test boot, the diagnostics' findings and the HTML report's summary, the settings
dialog, and the main window in the dark theme. Exits non-zero if any step
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
from app.gui.diagnostics.findings_page import FindingsPage
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.theme import apply_theme
from app.sim.link import LinkModel

SIZE = (1280, 860)
LAPTOP = (1024, 768)


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


def shoot_report_summary(app: object, window: MainWindow, path: Path) -> None:
    """The HTML report of the demo board as a reader's browser opens it (top of the page)."""
    from app.gui.diagnostics.findings_page import report_page
    from app.workflows.report import collect_report, render_html, report_json

    session = window.controller.session
    assert session is not None and session.client is not None
    client = session.client
    report = window.bridge.wait(collect_report(client), timeout_s=30)
    page = report_page(render_html(report_json(report)))
    page.resize(900, 760)
    page.show()
    wait(app, lambda: True, "the report page")
    shoot(page, path)
    page.close()


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
        shoot(window, out / "upload.png")  # the panel scrolled itself into view
        window.resize(*LAPTOP)
        panel.bring_into_view(panel.progress_box)
        wait(app, lambda: panel.bar.value() > 650, "the upload to pass 65%")
        shoot(window, out / "upload-1024x768.png")
        window.resize(*SIZE)

        wait(app, lambda: panel.confirm_button.isVisible(), "the test boot result", 60)
        shoot(window, out / "result.png")

        window.device_tabs.setCurrentWidget(window.diagnostics)
        findings = window.diagnostics.page(FindingsPage)
        window.diagnostics.tabs.setCurrentWidget(findings)
        wait(app, lambda: findings.findings is not None, "the findings", 30)
        shoot(window, out / "findings.png")
        shoot_report_summary(app, window, out / "report-summary.png")
        window.device_tabs.setCurrentIndex(0)

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
