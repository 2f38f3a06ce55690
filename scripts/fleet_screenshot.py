"""Render the Fleet tab to docs/screenshots/fleet.png (offscreen, no hardware, no network).

    QT_QPA_PLATFORM=offscreen python scripts/fleet_screenshot.py [OUT_DIR]

Runs the demo in-process, serves the demo image from the hawkBit-shaped DDI server of the
contract tests (tests/fleet/ddi_server.py) on 127.0.0.1, checks the server for the first demo
board, installs the assigned update, and shoots the tab once the server was told success.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.gui.application import application  # noqa: E402
from app.gui.bridge import CoreBridge  # noqa: E402
from app.gui.demo import DEMO_IMAGE  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.settings import AppSettings  # noqa: E402
from app.gui.theme import apply_theme  # noqa: E402
from scripts.screenshots import SIZE, shoot, wait  # noqa: E402
from tests.fleet.ddi_server import TENANT, DdiServer, HawkbitLike  # noqa: E402


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app = application()
    apply_theme(app, "light")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = tmp  # the fleet state dir, never the user's
        os.environ["SLOTWISE_NO_KEYRING"] = "1"
        state = HawkbitLike(artifact=DEMO_IMAGE.read_bytes(), artifact_name="demo-app.bin")
        with DdiServer(state) as server:
            settings = AppSettings(Path(tmp) / "slotwise.ini", keys_dir=Path(tmp) / "keys")
            bridge = CoreBridge()
            window = MainWindow(bridge, settings, demo=True)
            window.remember_geometry = False
            window.resize(*SIZE)
            window.show()
            window.start_demo(serial=False, ble=False)
            wait(app, lambda: window.controller.snapshot is not None, "the first demo device")
            panel = window.fleet_panel
            window.device_tabs.setCurrentIndex(window.device_tabs.count() - 1)
            panel.url_edit.setText(server.url)
            panel.tenant_edit.setText(TENANT)
            panel.check()
            wait(app, lambda: panel.plan is not None, "the server's assignment")
            panel.install()
            wait(app, lambda: panel.outcome is not None, "the install", 60)
            shoot(window, out / "fleet.png")
            window.close()
            bridge.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
