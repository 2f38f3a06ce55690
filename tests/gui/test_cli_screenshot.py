"""`slotwise --demo --screenshot PATH`: the scripted self-check of the whole application."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_screenshot_exits_zero_and_writes_png(tmp_path: Path) -> None:
    """The CLI opens the demo, reads the first device's slots, saves a PNG and exits 0,
    without touching the user's settings (HOME points at tmp_path)."""
    out = tmp_path / "shot.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app", "--demo", "--screenshot", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # Qt's warnings go to the log (-v), not the terminal
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 860)
