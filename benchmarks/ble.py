"""BLE benchmark: Slotwise against smpclient on one paced Bumble link, each in its own process.

Run: `python benchmarks/ble.py [--only PROFILE ...] [--size BYTES] [--clients NAME ...]`.

For every profile of app/sim/ble_link.py (7.5 ms x 4, 15 ms x 4, 30 ms x 6 packets per
connection event, ATT MTU 247, 8 controller buffers of 251 bytes) and every client, one run:

1. fresh virtual controllers on a paced link, in their own process (`python -m
   app.sim.ble_link --profile P --controllers 2`): a controller keeps a dead host's
   connection, so nothing is reused between runs;
2. a fresh simulated device on controller C0, in its own process (`--serve-device`: the
   BumbleSimServer behind `slotwise sim --ble-hci`, 2475-byte buffers x 4 with reassembly,
   like Nordic's high-throughput sample), which reports the device-side time: from the first
   upload request complete at the device to the last upload answer handed to the link;
3. the client on controller C1, in its own process (`--client NAME`), which connects, then
   times its own upload of the same imgtool-signed image:
   * `slotwise`: Slotwise's engine (`upload_image`) at its default window (buf_count - 1);
   * `slotwise-w1`: the same at one request in flight;
   * `smpclient`: smpclient 7.3's `SMPClient.upload` over its `SMPBumbleTransport`
     (preferred MTU 247), driven through its public API.

The link limit is `LinkPacing.limit_bps`: SMP bytes per second the link carries one way when
every connection event is full of full ATT writes. The share of it is image bytes over the
client's own time; SMP headers, CBOR and a partly filled last packet per request are overhead
every client pays. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.sim.ble_link import PROFILES, LinkPacing
from app.sim.runtime import ReplySink, SimRuntime
from app.units import format_rate

DEVICE_ADDRESS = "C0:B0:00:00:00:01"
BUF_SIZE, BUF_COUNT = 2475, 4
IMAGE_BYTES = 205_464
CLIENTS = ("slotwise", "slotwise-w1", "smpclient")
START_TIMEOUT_S = 30.0
RUN_TIMEOUT_S = 300.0


# --- the device process ------------------------------------------------------------------------


class TimedRuntime(SimRuntime):
    """A SimRuntime that notes when the first upload request arrives and the last answer leaves."""

    first_s: float | None = None
    last_s: float | None = None

    def deliver(self, frame: bytes, reply: ReplySink) -> None:
        if not _is_image_upload(frame):
            super().deliver(frame, reply)
            return
        if self.first_s is None:
            self.first_s = time.monotonic()

        def answered(answer: bytes) -> None:
            self.last_s = time.monotonic()
            reply(answer)

        super().deliver(frame, answered)


def _is_image_upload(frame: bytes) -> bool:
    from app.smp.header import Group, Header

    try:
        header = Header.decode(frame)
    except Exception:  # a broken frame is the runtime's business, not the clock's
        return False
    return header.group == Group.IMAGE and header.command == 1


async def serve_device(hci: str) -> None:
    """Serve a fresh device on `hci` until SIGTERM; then print the device-side time as JSON."""
    from app.sim.bumble_peripheral import BumbleSimServer
    from app.sim.device import SimConfig, SimDevice

    runtime = TimedRuntime(SimDevice(SimConfig(buf_size=BUF_SIZE, buf_count=BUF_COUNT)))
    await runtime.start()
    server = BumbleSimServer(runtime, hci=hci, address=DEVICE_ADDRESS)
    await server.start()
    print(f"listening ble {server.address}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    await runtime.stop()
    span = None
    if runtime.first_s is not None and runtime.last_s is not None:
        span = runtime.last_s - runtime.first_s
    print(json.dumps({"device_s": span}), flush=True)


# --- the client processes -----------------------------------------------------------------------


async def run_slotwise(hci: str, image: Path, window: int | None) -> float:
    from app.client import SmpClient
    from app.client.sizing import read_buffers
    from app.client.upload import UploadOptions, file_sha256, upload_image
    from app.image.source import FileSource
    from app.transport import open_transport

    transport = open_transport(f"ble:{DEVICE_ADDRESS},reassembly,max={BUF_SIZE}@{hci}")
    options = UploadOptions(window=window, max_window=window)
    async with SmpClient(transport) as client:
        buffers = await read_buffers(client)  # the update's pre-flight reads them once
        with FileSource(image) as source:
            sha = file_sha256(source)
            start = time.monotonic()
            await upload_image(client, source, sha=sha, buffers=buffers, options=options)
            elapsed = time.monotonic() - start
    await transport.close()
    return elapsed


async def run_smpclient(hci: str, image: Path) -> float:
    from smpclient import SMPClient
    from smpclient.transport.bumble import SMPBumbleTransport

    data = image.read_bytes()
    transport = SMPBumbleTransport(hci=hci, preferred_mtu=247)
    async with SMPClient(transport, DEVICE_ADDRESS, timeout_s=10) as client:
        start = time.monotonic()
        async for _offset in client.upload(data):
            pass
        return time.monotonic() - start


async def run_client(name: str, hci: str, image: Path) -> None:
    if name == "smpclient":
        elapsed = await run_smpclient(hci, image)
    else:
        elapsed = await run_slotwise(hci, image, 1 if name == "slotwise-w1" else None)
    print(json.dumps({"client_s": elapsed}), flush=True)


# --- the orchestrator ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    profile: str
    client: str
    client_s: float | None
    device_s: float | None
    error: str = ""


class Process:
    """A child Python process whose stdout lines we read; always stopped by `stop()`."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self._buffer = b""

    def line(self, timeout_s: float) -> str:
        """The next stdout line ('' at exit or after `timeout_s`)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                return ""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode().strip()

    def stop(self) -> str:
        """Terminate (if still running) and return the rest of stdout."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=10)
        return (self._buffer + (out or b"")).decode()

    def stderr_tail(self) -> str:
        assert self.proc.stderr is not None
        with contextlib.suppress(ValueError, OSError):
            return self.proc.stderr.read().decode()[-400:]
        return ""


def _json_field(text: str, key: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("{"):
            value = json.loads(line).get(key)
            if value is not None:
                return float(value)
    return None


def one_run(profile: str, client: str, image: Path) -> Result:
    """Fresh controllers, a fresh device and one client, each in its own process."""
    script = str(Path(__file__).resolve())
    controllers = Process("-m", "app.sim.ble_link", "--profile", profile, "--controllers", "2")
    device = client_proc = None
    try:
        specs = [controllers.line(START_TIMEOUT_S).split()[-1:] for _ in range(2)]
        if not all(specs):
            return Result(profile, client, None, None, "controllers did not start")
        device = Process(script, "--serve-device", specs[0][0])
        if not device.line(START_TIMEOUT_S).startswith("listening ble"):
            return Result(profile, client, None, None, "device did not start")
        client_proc = Process(script, "--client", client, specs[1][0], str(image))
        client_s = _json_field(client_proc.line(RUN_TIMEOUT_S), "client_s")
        client_out = client_proc.stop()
        error = "" if client_s is not None else (client_out + client_proc.stderr_tail())[-300:]
        device_s = _json_field(device.stop(), "device_s")
        return Result(profile, client, client_s, device_s, error)
    finally:
        for proc in (client_proc, device, controllers):
            if proc is not None:
                proc.stop()


def table(results: list[Result], size: int) -> str:
    lines = [
        f"Image: {size} bytes, signed by imgtool (ecdsa-p256); device buffers "
        f"{BUF_COUNT} x {BUF_SIZE} bytes with reassembly.",
        "",
        "| profile | link limit | client | client time | throughput | of limit | device time "
        "| vs smpclient |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(r.profile, r.client): r for r in results}
    for r in results:
        pacing: LinkPacing = PROFILES[r.profile]
        limit = pacing.limit_bps
        if r.client_s is None:
            lines.append(
                f"| {pacing.describe()} | {format_rate(limit)} | {r.client} | failed: "
                f"{r.error.splitlines()[-1] if r.error else '?'} | | | | |"
            )
            continue
        rate = size / r.client_s
        device = f"{r.device_s:.2f} s" if r.device_s is not None else "-"
        reference = by_key.get((r.profile, "smpclient"))
        ratio = "-"
        if reference is not None and reference.client_s and r.client != "smpclient":
            ratio = f"{reference.client_s / r.client_s:.2f}x faster"
        lines.append(
            f"| {pacing.describe()} | {format_rate(limit)} | {r.client} | {r.client_s:.2f} s "
            f"| {format_rate(rate)} | {rate / limit:.0%} | {device} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(PROFILES), default=None)
    parser.add_argument("--clients", nargs="*", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--size", type=int, default=IMAGE_BYTES)
    parser.add_argument("--serve-device", metavar="HCI", help=argparse.SUPPRESS)
    parser.add_argument(
        "--client", nargs=3, metavar=("NAME", "HCI", "IMAGE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_device:
        asyncio.run(serve_device(args.serve_device))
        return 0
    if args.client:
        name, hci, image = args.client
        asyncio.run(run_client(name, hci, Path(image)))
        return 0

    from upload import make_image  # benchmarks/upload.py: the same imgtool-signed image

    profiles = args.only or list(PROFILES)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        image = make_image(Path(tmp), args.size)
        size = image.stat().st_size
        for profile in profiles:
            for client in args.clients:
                result = one_run(profile, client, image)
                results.append(result)
                shown = f"{result.client_s:.2f} s" if result.client_s else result.error[-200:]
                print(f"{profile:9} {client:12} {shown}", file=sys.stderr, flush=True)
    print(table(results, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
