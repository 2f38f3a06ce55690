"""Restore through MCUboot serial recovery against a normal upload to the application, side by
side on the same simulated serial link.

Run: `python benchmarks/recovery.py [--size BYTES] [--baud N ...]`.

For each baud rate a fresh simulated board is served on a pty (app/sim/serial_endpoint.py, its
UART model at N/10 bytes per second each way) and timed three ways in one run:
* `recover()` on a bricked board in recovery (the default build, 1024-byte buffer), with the
  buffer it assumes when the recovery does not say (512 bytes, what every build takes);
* the same with `buffer_bytes=1024` (CONFIG_BOOT_SERIAL_MAX_RECEIVE_SIZE's Zephyr default);
* the application's own upload engine (`upload_image`, 2048-byte buffers, 4 of them) on a board
  running its application, the fastest path when the application still answers.
The recovery times are end to end (recognition, transfer, check, reset, the application back);
the application's is the transfer alone. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.client import SmpClient
from app.client.upload import upload_image
from app.image.source import FileSource
from app.sim.device import SimConfig, SimDevice
from app.sim.serial_endpoint import PtySimServer
from app.transport import open_transport
from app.units import KIB
from app.workflows.images import load_update_images
from app.workflows.recovery import RecoverOptions, recover


def signed_image(folder: Path, size: int) -> Path:
    raw, signed = folder / "payload.bin", folder / "signed.bin"
    raw.write_bytes(random.Random(1).randbytes(size))
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [
            *(str(imgtool), "sign", "--header-size", "0x200", "--pad-header", "--align", "4"),
            *("--version", "1.3.0", "--slot-size", "0x100000", str(raw), str(signed)),
        ],
        check=True,
        capture_output=True,
    )
    return signed


Timing = tuple[float, float | None, int]
"""Transfer seconds, end-to-end seconds (None: transfer only), data bytes per chunk."""


async def time_recovery(path: Path, baud: int, buffer_bytes: int | None) -> Timing:
    device = SimDevice(SimConfig(slot_size=1024 * 1024, recovery="mcuboot-recovery"))
    device.corrupt_slot(0)
    (item,) = load_update_images(path)
    async with (
        PtySimServer(device, baud=baud) as server,
        SmpClient(open_transport(f"serial:{server.path}@{baud}"), timeout_s=10) as client,
    ):
        started = time.perf_counter()
        result = await recover(client, item, RecoverOptions(buffer_bytes=buffer_bytes))
        elapsed = time.perf_counter() - started
    if device.running_version() != "1.3.0" or device.in_recovery:
        raise SystemExit("recovery benchmark: the board did not come back on the image")
    return result.upload.elapsed_s, elapsed, result.upload.chunk_bytes


async def time_application(path: Path, baud: int) -> Timing:
    device = SimDevice(SimConfig(slot_size=1024 * 1024, buf_size=2048, buf_count=4))
    async with (
        PtySimServer(device, baud=baud) as server,
        SmpClient(open_transport(f"serial:{server.path}@{baud}"), timeout_s=10) as client,
    ):
        source = FileSource(path)
        try:
            started = time.perf_counter()
            result = await upload_image(client, source)
            elapsed = time.perf_counter() - started
        finally:
            source.close()
    return elapsed, None, result.stats.chunk_bytes


async def run(size: int, bauds: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = signed_image(Path(tmp), size)
        total = path.stat().st_size
        print(f"image {total} bytes; rates in KiB/s (1024 bytes)")
        print(
            f"{'link':<15}{'path':<40}{'transfer':>9}{'KiB/s':>7}{'vs app':>8}"
            f"{'end to end':>11}{'chunk':>7}"
        )
        for baud in bauds:
            app = await time_application(path, baud)
            rows = [
                ("recovery, 512-byte buffer (assumed)", await time_recovery(path, baud, None)),
                ("recovery, 1024-byte buffer", await time_recovery(path, baud, 1024)),
                ("application upload, 4 x 2048 buffers", app),
            ]
            for name, (transfer_s, whole_s, chunk) in rows:
                whole = f"{whole_s:.2f} s" if whole_s is not None else "-"
                print(
                    f"{'serial ' + str(baud):<15}{name:<40}{transfer_s:>7.2f} s"
                    f"{total / transfer_s / KIB:>7.1f}{transfer_s / app[0]:>7.2f}x"
                    f"{whole:>11}{chunk:>7}"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128 * 1024, help="payload bytes")
    parser.add_argument("--baud", type=int, action="append", help="baud rates (repeatable)")
    args = parser.parse_args()
    asyncio.run(run(args.size, args.baud or [115_200, 1_000_000]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
