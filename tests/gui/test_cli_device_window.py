"""`slotwise -d DEVICE` with no subcommand opens the window on that device, and with
`--screenshot` renders it once its slots are read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sim_process import free_loopback_host

from tests.upload.conftest import ThreadedSim, sim_device


def slotwise(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=90
    )


def test_the_window_opens_on_the_named_device_and_renders_it(tmp_path: Path) -> None:
    """The device is added, selected and read (the simulator sees its requests), then saved."""
    out = tmp_path / "board.png"
    with ThreadedSim(sim_device()) as sim:
        done = slotwise(tmp_path, "-d", sim.spec, "--screenshot", str(out))
        requests = sim.device.counters["requests"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"saved {out}"
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert requests >= 3  # image list, OS info, parameters: the window read this board


def test_a_device_that_cannot_be_read_says_why_without_a_screenshot(tmp_path: Path) -> None:
    """Nothing listens there: one line with the reason, exit 1, no file."""
    out = tmp_path / "board.png"
    host = free_loopback_host()
    done = slotwise(tmp_path, "-d", f"udp:{host}:9", "--screenshot", str(out))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("slotwise: ") and "nothing listens on that port" in last
    assert last.endswith("; no screenshot") and not out.exists()


def test_a_malformed_device_spec_is_a_usage_error_before_any_window(tmp_path: Path) -> None:
    """A spec no transport accepts exits 2 with the transport's sentence."""
    done = slotwise(tmp_path, "-d", "carrier-pigeon:1", "--screenshot", str(tmp_path / "x.png"))
    assert done.returncode == 2
    assert done.stderr.startswith("slotwise: unknown link 'carrier-pigeon'")
