"""Scale of the production batch engine: 16 boards at once versus one board alone.

Starts 16 `slotwise sim` processes (8 on UDP with a bandwidth and latency model, 8 behind pty
serial ports with a baud-rate model), flashes them in one batch from this process, and prints
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
    subprocess.run([sys.executable, "-m", "imgtool.main", *args], check=True,
                   capture_output=True)


def make_image(directory: Path, size: int) -> tuple[Path, Path]:
    key = directory / "key.pem"
    _imgtool("keygen", "-k", str(key), "-t", "ecdsa-p256")
    raw = directory / "app.bin"
    raw.write_bytes(os.urandom(size))
    signed = directory / "app.signed.bin"
    _imgtool("sign", "-k", str(key), "--header-size", "0x200", "--pad-header", "--align", "4",
             "--version", "1.1.0", "--slot-size", "0x100000", str(raw), str(signed))
    return signed, key


@contextmanager
def board(kind: str, state: Path) -> Iterator[str]:
    """One simulated board in its own process; yields its device spec."""
    args = [sys.executable, "-m", "app", "sim", "--state-dir", str(state), "--slot-size",
            str(1 << 20), "--udp", "127.0.0.1:0"]
    if kind == "udp":
        args += ["--rate-bps", str(UDP_RATE_BPS), "--latency-ms", str(UDP_LATENCY_MS)]
    else:
        args += ["--serial-pty", "--baud", str(SERIAL_BAUD)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        wanted = "listening udp" if kind == "udp" else "listening serial"
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                line = proc.stdout.readline().strip()
                if line.startswith(wanted):
                    address = line.split()[-1]
                    yield f"udp:{address}" if kind == "udp" else f"serial:{address}"
                    break
        else:
            raise RuntimeError(f"simulator for {kind} did not start")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        image, key = make_image(root, args.size)
        kinds = ["udp" if i % 2 == 0 else "serial" for i in range(args.boards)]
        specs = [stack.enter_context(board(k, root / f"b{i}")) for i, k in enumerate(kinds)]
        singles = {}
        for kind in ("udp", "serial"):
            alone = [stack.enter_context(board(kind, root / f"alone-{kind}"))]
            singles[kind], _ = asyncio.run(flash(image, key, alone))
        cpu_before = time.process_time()
        total, passed = asyncio.run(flash(image, key, specs))
        cpu = time.process_time() - cpu_before
        baseline = max(singles.values())
        print(f"image {args.size} bytes; UDP boards {UDP_RATE_BPS} B/s, {UDP_LATENCY_MS} ms; "
              f"serial boards {SERIAL_BAUD} baud")
        print(f"one UDP board alone      {singles['udp']:7.2f} s")
        print(f"one serial board alone   {singles['serial']:7.2f} s")
        print(f"{args.boards} boards in one batch  {total:7.2f} s   ({passed} passed)")
        print(f"ratio to one board alone {total / baseline:7.2f}   (target < 1.3)")
        print(f"CPU of this process      {cpu:7.2f} s = {100 * cpu / total:.0f}% of one core "
              "during the batch")


if __name__ == "__main__":
    main()
