"""Render the restore flow on a board in MCUboot serial recovery to docs/screenshots/.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_recovery.py [OUT_DIR]

A simulated board with a damaged application, powered on in serial recovery, is served on a
pty; the window selects it and restores the demo image (signed with the demo key, which the
demo mode trusts). Writes recovery.png (the device view in recovery with the warning open)
and recovery-done.png (the application back). Exits non-zero if a step does not happen.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.gui.application import application
from app.gui.bridge import CoreBridge
from app.gui.demo import DEMO_IMAGE
from app.gui.dialogs.confirm import grab_with, press_yes
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.targets import DeviceTarget
from app.gui.theme import apply_theme
from app.sim.device import SimConfig, SimDevice
from app.sim.serial_endpoint import PtySimServer
from scripts.screenshots import SIZE, shoot, wait


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
        device = SimDevice(SimConfig(name="sensor-node-7", recovery="mcuboot-recovery"))
        device.corrupt_slot(0)
        server = PtySimServer(device, baud=1_000_000)
        bridge.wait(server.start())
        bridge.add_cleanup(server.stop)
        spec = f"serial:{server.path}@1000000"
        wait(app, lambda: window.device_pane is not None, "the window")
        window.add_targets([DeviceTarget(spec, "serial", "sensor-node-7 (bricked)", server.path)])
        wait(app, lambda: window.device_pane.select_spec(spec), "the board in the list")
        wait(app, lambda: window.recovery_panel.isVisible(), "the recovery panel")

        panel = window.recovery_panel
        panel.verify(DEMO_IMAGE)
        wait(app, lambda: panel.warning is not None and panel.warning.isVisible(), "the warning")
        box = panel.warning
        assert box is not None
        path = out / "recovery.png"
        if not grab_with(window, box).save(str(path)):
            raise SystemExit(f"screenshots: cannot write {path}")
        print(f"wrote {path}")

        press_yes(box)
        wait(app, lambda: window.recovery_panel.done_button.isVisible(), "the restore", 120)
        shoot(window, out / "recovery-done.png")
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
