"""Scale of the production batch engine: 16 boards at once versus one board alone.

Starts 16 simulated boards in one separate process (8 on UDP with a bandwidth and latency
model, 8 behind pty serial ports with a baud-rate model), flashes them in one batch from this
process, and prints
the total time as a ratio to one board alone (the slower of one UDP and one serial board,
measured in the same run) and the CPU this process used. Target: ratio under 1.3.

    python benchmarks/batch.py [--boards 16] [--size 65536]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from app.workflows.batch import BatchRunner, default_connect
from app.workflows.job import make_job

UDP_RATE_BPS = 40_000
UDP_LATENCY_MS = 10
SERIAL_BAUD = 1_000_000


def _imgtool(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "imgtool.main", *args], check=True, capture_output=True)


def make_image(directory: Path, size: int) -> tuple[Path, Path]:
    key = directory / "key.pem"
    _imgtool("keygen", "-k", str(key), "-t", "ecdsa-p256")
    raw = directory / "app.bin"
    raw.write_bytes(os.urandom(size))
    signed = directory / "app.signed.bin"
    _imgtool(
        "sign",
        "-k",
        str(key),
        "--header-size",
        "0x200",
        "--pad-header",
        "--align",
        "4",
        "--version",
        "1.1.0",
        "--slot-size",
        "0x100000",
        str(raw),
        str(signed),
    )
    return signed, key


@contextmanager
def farm(kinds: list[str]) -> Iterator[list[str]]:
    """Simulated boards hosted together in one separate process (as real boards are separate
    hardware, none of them runs in the measured process); yields their device specs."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--farm", ",".join(kinds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().split() if ready else []
        if not line or line[0] != "ready":
            raise RuntimeError(f"the board farm did not start: {line}")
        yield line[1:]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the farm stops when its stdin closes
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _run_farm(kinds: list[str]) -> None:
    from app.sim.device import SimConfig, SimDevice
    from app.sim.link import LinkModel
    from app.sim.serial_endpoint import PtySimServer
    from app.sim.serve import UdpSimServer

    servers: list[UdpSimServer | PtySimServer] = []
    specs = []
    for kind in kinds:
        device = SimDevice(SimConfig(slot_size=1 << 20))
        if kind == "udp":
            link = LinkModel(latency_s=UDP_LATENCY_MS / 1000, rate_bps=UDP_RATE_BPS)
            udp = UdpSimServer(device, link)
            await udp.start()
            servers.append(udp)
            specs.append(f"udp:{udp.address}")
        else:
            pty = PtySimServer(device, LinkModel(), baud=SERIAL_BAUD)
            await pty.start()
            servers.append(pty)
            specs.append(f"serial:{pty.path}")
    print("ready", *specs, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.stop()


async def flash(job_image: Path, key: Path, devices: list[str]) -> tuple[float, int]:
    job = make_job(job_image, [key], mode="test", concurrency=len(devices), retries=0)
    runner = BatchRunner(job, connect=default_connect(5.0))
    started = time.perf_counter()
    rows = await runner.run(devices)
    elapsed = time.perf_counter() - started
    failed = [r for r in rows if not r.passed]
    for row in failed:
        print(f"  FAIL {row.device}: {row.failure_reason}", file=sys.stderr)
    return elapsed, len(rows) - len(failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boards", type=int, default=16)
    parser.add_argument("--size", type=int, default=64 * 1024)
    parser.add_argument("--farm", help=argparse.SUPPRESS)  # internal: host boards, see farm()
    args = parser.parse_args()
    if args.farm:
        asyncio.run(_run_farm(args.farm.split(",")))
        return
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        image, key = make_image(root, args.size)
        kinds = ["udp" if i % 2 == 0 else "serial" for i in range(args.boards)]
        singles = {}
        for kind in ("udp", "serial"):
            with farm([kind]) as alone:
                singles[kind], _ = asyncio.run(flash(image, key, alone))
        specs = stack.enter_context(farm(kinds))
        cpu_before = time.process_time()
        total, passed = asyncio.run(flash(image, key, specs))
        cpu = time.process_time() - cpu_before
        baseline = max(singles.values())
        print(
            f"image {args.size} bytes; UDP boards {UDP_RATE_BPS} B/s, {UDP_LATENCY_MS} ms; "
            f"serial boards {SERIAL_BAUD} baud"
        )
        print(f"one UDP board alone      {singles['udp']:7.2f} s")
        print(f"one serial board alone   {singles['serial']:7.2f} s")
        print(f"{args.boards} boards in one batch  {total:7.2f} s   ({passed} passed)")
        print(f"ratio to one board alone {total / baseline:7.2f}   (target < 1.3)")
        print(
            f"CPU of this process      {cpu:7.2f} s = {100 * cpu / total:.0f}% of one core "
            "during the batch"
        )


if __name__ == "__main__":
    main()
