"""Content that makes a simulated board worth exploring in `--demo`: a boot log and a crash
dump on its file system, and a few settings. Kept out of SimDevice so tests start empty."""

from __future__ import annotations

from app.sim.device import SimDevice

_BOOT_LOG = """\
*** Booting MCUboot v2.1.0 ***
I: Starting bootloader
I: Primary image: magic=good, swap_type=0x1, copy_done=0x3, image_ok=0x1
I: Boot source: none
I: Image index: 0, Swap type: none
I: Bootloader chainload address offset: 0xc000
*** Booting Zephyr OS build v4.1.0 ***
[00:00:00.012,000] <inf> smp_sample: build time: Jan  1 2026 00:00:00
[00:00:00.015,000] <inf> smp_sample: SMP over UDP, serial and Bluetooth ready
[00:00:03.402,000] <wrn> sensor: I2C NACK from 0x44, retrying
[00:00:03.405,000] <inf> sensor: humidity sensor online
"""


def seed_demo_content(device: SimDevice) -> None:
    """Add demo files and settings unless the board already has some (a kept state dir)."""
    if not device.files:
        device.files["/lfs/log.txt"] = _BOOT_LOG.encode()
        device.files["/lfs/coredump.bin"] = bytes(range(256)) * 16
        device.files["/lfs/config/calibration.json"] = b'{"offset": -0.42, "gain": 1.013}\n'
    if not device.stored_settings:
        seeded = {
            "device/serial": b"SW-2026-000123",
            "app/name": b"greenhouse-7",
            "app/interval_s": (30).to_bytes(4, "little"),
        }
        device.stored_settings.update(seeded)
        device.settings.update(seeded)


def demo_board(name: str) -> SimDevice:
    """A modern-Zephyr board with demo content, as `slotwise --demo` shows it."""
    from app.sim.device import SimConfig

    device = SimDevice(SimConfig(name=name))
    seed_demo_content(device)
    return device
