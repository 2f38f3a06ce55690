"""`slotwise` CLI against `slotwise sim` subprocesses, and smpmgr (PyPI) against our simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sim_process import free_loopback_host, running_sim


def slotwise(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout
    )


def smpmgr(host: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("smpmgr")
    return subprocess.run(
        [str(exe), "--ip", host, "--timeout", "5", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sim_prints_its_endpoint_and_images_json_lists_slots(tmp_path: Path) -> None:
    """`slotwise sim` announces `listening udp HOST:PORT`; `images --json` lists SMP fields."""
    host = free_loopback_host()
    with running_sim("--udp", f"{host}:1337", state_dir=tmp_path) as (address, line):
        assert line == f"listening udp {host}:1337"
        result = slotwise("-d", f"udp:{address}", "images", "--json")
        assert result.returncode == 0, result.stderr
        slots = json.loads(result.stdout)
        assert slots == [
            {
                "image": 0,
                "slot": 0,
                "version": "1.0.0",
                "hash": slots[0]["hash"],
                "bootable": True,
                "pending": False,
                "confirmed": True,
                "active": True,
                "permanent": False,
            }
        ]
        assert len(bytes.fromhex(slots[0]["hash"])) == 32


def test_cli_exit_status_and_one_line_errors() -> None:
    """Unreachable device exits 1 with one stderr line; a bad device spec or command exits 2."""
    silent = slotwise("-d", f"udp:{free_loopback_host()}:9", "--timeout", "0.5", "echo")
    assert silent.returncode == 1
    assert silent.stderr.startswith("slotwise: no answer from") and "Traceback" not in silent.stderr
    assert silent.stderr.count("\n") == 1
    assert slotwise("-d", "carrier-pigeon:1", "echo").returncode == 2
    assert slotwise("echo").returncode == 2  # no device
    assert slotwise("no-such-command").returncode == 2
    bad_hash = slotwise("-d", "udp:127.0.0.1:9", "test", "xyz")
    assert bad_hash.returncode == 2 and "not a hexadecimal hash" in bad_hash.stderr
    permanent = slotwise("-d", "udp:127.0.0.1:9", "confirm", "ab" * 32)
    assert permanent.returncode == 2 and "--yes" in permanent.stderr
    assert slotwise("-d", "udp:127.0.0.1:9", "erase", "--slot", "-1").returncode == 2
    assert slotwise("--timeout", "0", "-d", "udp:127.0.0.1:9", "echo").returncode == 2


def test_gui_without_a_display_says_what_to_do_instead_of_aborting() -> None:
    """With no X11/Wayland display, `slotwise --demo` explains itself and exits 1."""
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "app", "--demo"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1
    assert "no display" in result.stderr and "--screenshot" in result.stderr


def test_test_reset_confirm_through_the_cli(tmp_path: Path, signed_image: Path) -> None:
    """CLI test, reset, confirm: the image boots unconfirmed, then is confirmed."""
    host = free_loopback_host()
    with running_sim("--udp", f"{host}:1337", state_dir=tmp_path) as (address, _):
        dev = ("-d", f"udp:{address}")
        upload = slotwise(*dev, "upload", str(signed_image), "--mode", "none")
        assert upload.returncode == 0, upload.stderr
        assert "signature was NOT checked" in upload.stderr  # no --key given
        slots = json.loads(slotwise(*dev, "images", "--json").stdout)
        new = next(s for s in slots if s["slot"] == 1)
        assert new["version"] == "1.1.0"
        assert slotwise(*dev, "test", new["hash"]).returncode == 0
        assert slotwise(*dev, "reset").returncode == 0
        booted = _wait_for_slots(dev, lambda s: s["hash"] == new["hash"] and s["active"])
        assert not booted["confirmed"]
        assert slotwise(*dev, "confirm").returncode == 0
        slots = json.loads(slotwise(*dev, "images", "--json").stdout)
        assert next(s for s in slots if s["active"])["confirmed"]


def _wait_for_slots(dev: tuple[str, str], wanted: object) -> dict[str, object]:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = slotwise(*dev, "--timeout", "1", "images", "--json")
        if result.returncode == 0:
            for slot in json.loads(result.stdout):
                if wanted(slot):  # type: ignore[operator]
                    return slot  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError("device did not come back with the expected image")


def test_smpmgr_talks_to_our_simulator(tmp_path: Path, signed_image: Path) -> None:
    """smpmgr (an independent SMP client) echoes, reads state and uploads to `slotwise sim`."""
    host = free_loopback_host()
    with running_sim("--udp", f"{host}:1337", state_dir=tmp_path):
        echo = smpmgr(host, "os", "echo", "interop")
        assert echo.returncode == 0, echo.stdout + echo.stderr
        assert "interop" in echo.stdout
        before = smpmgr(host, "image", "state-read")
        assert before.returncode == 0, before.stdout + before.stderr
        assert "1.0.0" in before.stdout
        upload = smpmgr(host, "image", "upload", str(signed_image))
        assert upload.returncode == 0, upload.stdout + upload.stderr
        after = smpmgr(host, "image", "state-read")
        assert after.returncode == 0, after.stdout + after.stderr
        assert "1.1.0" in after.stdout
        # our own client agrees: slot 1 now holds the uploaded version
        slots = json.loads(slotwise("-d", f"udp:{host}:1337", "images", "--json").stdout)
        assert [(s["slot"], s["version"]) for s in slots] == [(0, "1.0.0"), (1, "1.1.0")]
