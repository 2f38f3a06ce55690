"""The fixed cost of a command: `slotwise upload` end to end against smpmgr, on a simulated
device shaped like the captured 8-buffer Zephyr 3.4 build (8 x 1536-byte MCUmgr buffers, its
buffer behaviour, a 50 ms round trip as its native network driver polls every 50 ms).

Run: `python benchmarks/command.py [--size BYTES] [--runs N] [--slotwise-root DIR]`.

Each run serves a fresh board and times, as subprocesses from start to exit:
* `slotwise -d ... upload IMAGE --key KEY --mode none --json`, split by the moment each of its
  JSON lines arrives: start-up (interpreter, imports, local verification, connecting: until
  the pre-flight starts), pre-flight (until the first chunk goes), transfer (until the hash
  check starts), final check (the device's hash, the result) and exit;
* `smpmgr --ip ... image upload IMAGE` (stop-and-wait; no pre-flight to split).
The median of the runs is printed with the ratio. `--slotwise-root` runs the slotwise command
from another checkout (e.g. the code before a change) against the same simulator. A benchmark,
not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from upload import SMPMGR_IP, make_image  # noqa: E402  (benchmarks/upload.py)

from app.sim.device import SimDevice, profile_config  # noqa: E402
from app.sim.link import LinkModel  # noqa: E402
from app.sim.serve import UdpSimServer  # noqa: E402
from app.units import format_rate  # noqa: E402

FIRMWARE = "zephyr-3.4-fast"
LATENCY_S = 0.025
"""Each way: a 50 ms round trip."""
PHASES = ("start-up", "pre-flight", "transfer", "final check", "exit")


@dataclass(frozen=True)
class Split:
    phases: dict[str, float]

    @property
    def total_s(self) -> float:
        return sum(self.phases.values())


def _board() -> UdpSimServer:
    device = SimDevice(profile_config(FIRMWARE, slot_size=1024 * 1024))
    return UdpSimServer(device, LinkModel(latency_s=LATENCY_S), host=SMPMGR_IP, port=1337)


async def run_slotwise(image: Path, key: Path, root: Path) -> Split:
    server = _board()
    await server.start()
    try:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(root)}
        argv = [sys.executable, "-m", "app", "-d", f"udp:{server.address}", "upload"]
        argv += [str(image), "--key", str(key), "--mode", "none", "--json"]
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        marks: dict[str, float] = {}
        assert process.stdout is not None
        async for raw in process.stdout:
            now = time.monotonic()
            line = json.loads(raw)
            message, stage = line.get("message", ""), line.get("stage")
            if stage == "checking" and "pre-flight" not in marks:
                marks["pre-flight"] = now
            elif stage == "uploading" and "transfer" not in marks:
                marks["transfer"] = now
            elif "checking the device's hash" in message:
                marks["final check"] = now
            elif line.get("event") == "result":
                marks["exit"] = now
        code = await process.wait()
        end = time.monotonic()
    finally:
        await server.stop()
    if code != 0 or len(marks) != 4:
        raise SystemExit(f"slotwise upload failed (exit {code}, saw {sorted(marks)})")
    points = [start, *(marks[p] for p in PHASES[1:]), end]
    return Split({p: b - a for p, a, b in zip(PHASES, points[:-1], points[1:], strict=True)})


async def run_smpmgr(image: Path) -> float:
    smpmgr = shutil.which("smpmgr") or str(Path(sys.executable).with_name("smpmgr"))
    server = _board()
    await server.start()
    try:
        start = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            smpmgr, "--ip", SMPMGR_IP, "--timeout", "5", "image", "upload", str(image),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
        elapsed = time.monotonic() - start
    finally:
        await server.stop()
    if process.returncode != 0:
        raise SystemExit(f"smpmgr failed: {err.decode(errors='replace')[-300:]}")
    return elapsed


def public_key(directory: Path) -> Path:
    imgtool = shutil.which("imgtool") or str(Path(sys.executable).with_name("imgtool"))
    pub = directory / "key.pub.pem"
    out = subprocess.run(
        [imgtool, "getpub", "-k", str(directory / "key.pem"), "-e", "pem"],
        check=True,
        capture_output=True,
        text=True,
    )
    pub.write_text(out.stdout)
    return pub


async def main(args: argparse.Namespace) -> int:
    root = (args.slotwise_root or ROOT).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        image = make_image(Path(tmp), args.size)
        key = public_key(Path(tmp))
        size = image.stat().st_size
        splits, smp = [], []
        for run in range(args.runs):
            splits.append(await run_slotwise(image, key, root))
            smp.append(await run_smpmgr(image))
            print(
                f"run {run + 1}: slotwise {splits[-1].total_s:.2f} s, smpmgr {smp[-1]:.2f} s",
                file=sys.stderr,
            )
    median = {p: statistics.median(s.phases[p] for s in splits) for p in PHASES}
    total = statistics.median(s.total_s for s in splits)
    smpmgr_s = statistics.median(smp)
    print(
        f"Image {size} bytes ({size // 1024} KiB), device shaped like {FIRMWARE} (8 x 1536-byte "
        f"buffers), {2000 * LATENCY_S:.0f} ms round trip; median of {args.runs} runs; "
        f"slotwise from {root}."
    )
    print()
    print("| " + " | ".join(PHASES) + " | slotwise upload | smpmgr | smpmgr / slotwise |")
    print("|" + "---|" * (len(PHASES) + 3))
    print(
        "| "
        + " | ".join(f"{median[p]:.2f} s" for p in PHASES)
        + f" | {total:.2f} s, {format_rate(size / total)} | {smpmgr_s:.2f} s, "
        f"{format_rate(size / smpmgr_s)} | {smpmgr_s / total:.1f}x |"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=300 * 1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slotwise-root", type=Path, help="run slotwise from this checkout")
    sys.exit(asyncio.run(main(parser.parse_args())))
