"""Upload benchmark: Slotwise against smpmgr on the simulator's link profiles.

Run: `python benchmarks/upload.py [--size BYTES] [--only NAME ...] [--no-smpmgr]`, or
`python benchmarks/upload.py --memory 16777216` for the peak memory of a 16 MiB upload.

For each profile a fresh simulated device is served and timed three ways:
* Slotwise's engine in process (`upload_image`, buffers and file SHA-256 read beforehand as
  the update's pre-flight does): its time, and that time as a fraction of the link limit;
* the `slotwise ... upload --mode none` command and `smpmgr ... image upload` as subprocesses,
  wall clock from start to exit (both pay interpreter start-up and their own pre-flight), on
  the same profile in the same run, where smpmgr supports the link (UDP, serial; not BLE).

Link limit: the shortest possible upload on that profile with the device's buffers: one round
trip for the first request (it goes alone: the device erases the slot, a blank one here, or
finds the session to resume before it answers), then the image at the goodput the link allows
after unavoidable framing (SMP header + CBOR per request; base64 lines, length and CRC on
serial; ATT packets per connection event on BLE), or, where bandwidth is ample, what a full
window of buf_count - 1 requests per measured round trip allows; and the modelled flash write
speed where one is set. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.client import SmpClient
from app.client.sizing import DeviceBuffers, chunk_data_bytes, read_buffers, request_limit
from app.client.upload import file_sha256, upload_image
from app.image.source import FileSource
from app.sim.device import SimConfig, SimDevice, profile_config
from app.sim.link import LinkModel
from app.sim.runtime import SimRuntime
from app.smp.framing import encode_serial_frame
from app.transport import open_transport
from app.transport.base import LinkInfo, Transport
from app.units import format_rate

SMPMGR_IP = "127.0.0.37"
"""smpmgr always uses UDP port 1337; a loopback address of our own avoids clashes."""


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    latency_s: float = 0.0
    rate_bps: float | None = None
    baud: int | None = None
    ble_mtu: int = 247
    ble_interval_s: float = 0.015
    ble_packets: int = 4
    buf_size: int = 2048
    buf_count: int = 8
    flash_bps: float | None = None
    note: str = ""
    firmware: str | None = None
    """A simulator firmware profile (app/sim/profiles.py): its buffers and behaviour."""


def captured_build(firmware: str, note: str) -> Profile:
    """A captured Zephyr 3.4 build's shape: its profile and buffers, over UDP with a 50 ms round
    trip (its native network driver polls every 50 ms)."""
    from app.sim.profiles import get_profile

    buffers = get_profile(firmware).buffers
    assert buffers is not None
    return Profile(
        firmware,
        "udp",
        latency_s=0.025,
        buf_size=buffers[0],
        buf_count=buffers[1],
        note=note,
        firmware=firmware,
    )


PROFILES = [
    Profile("udp-rtt20", "udp", latency_s=0.010, note="20 ms round trip, ample bandwidth"),
    Profile(
        "udp-rtt100-25kBps",
        "udp",
        latency_s=0.050,
        rate_bps=25_000,
        note="100 ms round trip, 25 000 B/s (24.4 KiB/s)",
    ),
    Profile("serial-115200", "serial", baud=115_200, buf_count=4),
    Profile("serial-1M", "serial", baud=1_000_000, buf_count=4),
    Profile(
        "ble-mtu247",
        "ble",
        buf_size=2475,
        buf_count=4,
        note="ATT MTU 247, 15 ms interval, 4 packets per interval, reassembly",
    ),
    Profile(
        "udp-rtt20-flash50k",
        "udp",
        latency_s=0.010,
        flash_bps=50_000,
        note="flash writes at 50 000 B/s (48.8 KiB/s)",
    ),
    captured_build("zephyr-3.4-stock", "captured build: 2 x 2048 buffers, 50 ms round trip"),
    captured_build("zephyr-3.4-fast", "captured build: 8 x 1536 buffers, 50 ms round trip"),
    captured_build("zephyr-3.4-full", "captured build: 4 x 2048 buffers, every group"),
]


# --- the link limit ----------------------------------------------------------------------------


def link_info(profile: Profile) -> LinkInfo:
    """What the real transport reports for this profile (sizes only)."""
    if profile.kind == "udp":
        return LinkInfo("udp", "sim", 1472, False, mtu=1500)
    if profile.kind == "serial":
        return LinkInfo("serial", "sim", 0xFFFD, True, device_buffer_overhead=4)
    payload = profile.ble_mtu - 3
    return LinkInfo(
        "ble", "sim", profile.buf_size, True, mtu=profile.ble_mtu, fragment_bytes=payload
    )


def limit_bps(profile: Profile, size: int, rtt_s: float) -> tuple[float, float, str]:
    """(goodput limit in bytes/s, time of the lone first request in s, what bounds it).

    The window bound uses the measured round trip (`rtt_s`), not just the modelled latency:
    the simulator's own processing is part of the link the engine sees."""
    buffers = DeviceBuffers(profile.buf_size, profile.buf_count, True)
    limit = request_limit(link_info(profile), buffers).max_request_bytes
    chunk = chunk_data_bytes(limit, off=size // 2, total=size, alignment=4)
    window = max(profile.buf_count - 1, 1)
    bounds: list[tuple[float, str]] = []
    if profile.kind == "udp":
        if profile.rate_bps:
            bounds.append((profile.rate_bps * chunk / limit, "bandwidth"))
        if profile.latency_s:
            bounds.append(
                (
                    window * chunk / rtt_s,
                    f"window {window} per {rtt_s * 1000:.1f} ms "
                    f"measured round trip, {2000 * profile.latency_s:.0f} ms modelled",
                )
            )
    elif profile.kind == "serial":
        wire = len(encode_serial_frame(bytes(limit)))
        bounds.append((profile.baud / 10 * chunk / wire, "baud rate after base64 framing"))
    else:
        writes = math.ceil(limit / (profile.ble_mtu - 3))
        per_request_s = writes * profile.ble_interval_s / profile.ble_packets
        bounds.append((chunk / per_request_s, "ATT packets per connection event"))
    if profile.flash_bps:
        bounds.append((profile.flash_bps, "flash write speed"))
    rate, reason = min(bounds)
    # The first request goes alone (the device erases, or finds the session to resume, before
    # it answers); a fresh simulated slot is blank, so that costs one round trip.
    first_s = rtt_s
    return rate, first_s, reason


# --- serving a profile -------------------------------------------------------------------------


def device_for(profile: Profile) -> SimDevice:
    if profile.firmware is not None:
        return SimDevice(profile_config(profile.firmware, slot_size=1024 * 1024))
    return SimDevice(
        SimConfig(
            slot_size=1024 * 1024,
            buf_size=profile.buf_size,
            buf_count=profile.buf_count,
            flash_write_bps=profile.flash_bps,
        )
    )


@dataclass
class Served:
    spec: str | None
    """Device spec for subprocess clients (None: in-process only, the BLE fake)."""
    smpmgr_args: list[str] | None
    transport: object


@asynccontextmanager
async def serve(profile: Profile, *, smpmgr_port: bool = False) -> AsyncIterator[Served]:
    link = LinkModel(latency_s=profile.latency_s, rate_bps=profile.rate_bps)
    device = device_for(profile)
    if profile.kind == "udp":
        from app.sim.serve import UdpSimServer

        host, port = (SMPMGR_IP, 1337) if smpmgr_port else ("127.0.0.1", 0)
        server = UdpSimServer(device, link, host=host, port=port)
        await server.start()
        try:
            yield Served(
                f"udp:{server.address}",
                ["--ip", SMPMGR_IP],
                lambda: open_transport(f"udp:{server.address}"),
            )
        finally:
            await server.stop()
    elif profile.kind == "serial":
        from app.sim.serial_endpoint import PtySimServer

        pty = PtySimServer(device, link, baud=profile.baud)
        await pty.start()
        try:
            spec = f"serial:{pty.path}@{profile.baud}"
            yield Served(
                spec,
                [
                    "--port",
                    pty.path,
                    "--baudrate",
                    str(profile.baud),
                    "--line-length",
                    "128",
                    "--line-buffers",
                    str(profile.buf_size // 128),
                ],
                lambda: open_transport(spec),
            )
        finally:
            await pty.stop()
    else:
        from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral
        from app.transport.ble import BleOptions, BleTransport

        runtime = SimRuntime(device, link)
        await runtime.start()
        radio = FakeRadio()
        peripheral = radio.add(
            SimBlePeripheral(
                runtime,
                mtu=profile.ble_mtu,
                conn_interval_s=profile.ble_interval_s,
                packets_per_interval=profile.ble_packets,
                reassembly=True,
            )
        )

        def transport() -> Transport:
            options = BleOptions(
                peripheral.address,
                name=peripheral.name,
                reassembly=True,
                max_packet_bytes=profile.buf_size,
            )
            return BleTransport(options, client_factory=radio.client, scanner=radio.scanner())

        try:
            yield Served(None, None, transport)
        finally:
            await runtime.stop()


# --- the three runs ----------------------------------------------------------------------------


async def run_engine(profile: Profile, image: Path) -> tuple[float, int, float]:
    """(seconds, final window, measured round trip of a full-size request)."""
    async with serve(profile) as served:
        client = SmpClient(served.transport())  # type: ignore[operator]
        async with client:
            rtt = await measure_rtt(client)
            buffers = await read_buffers(client)  # the update's pre-flight reads them once
            with FileSource(image) as source:
                sha = file_sha256(source)
                start = time.monotonic()
                result = await upload_image(client, source, sha=sha, buffers=buffers)
                elapsed = time.monotonic() - start
    return elapsed, result.stats.final_window, rtt


async def measure_rtt(client: SmpClient, count: int = 15) -> float:
    """Median round trip of a ~1.4 kB echo: the simulated link as it really runs (the modelled
    latency plus the simulator's own per-packet work on both ends)."""
    samples = []
    for _ in range(count):
        start = time.monotonic()
        await client.echo("x" * 1400)
        samples.append(time.monotonic() - start)
    return sorted(samples)[count // 2]


async def run_command(argv: list[str], timeout_s: float = 900) -> tuple[float, bool, str]:
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return time.monotonic() - start, False, "timed out"
    return time.monotonic() - start, process.returncode == 0, out.decode(errors="replace")


async def run_slotwise_cli(profile: Profile, image: Path) -> float | None:
    if profile.kind == "ble":
        return None
    async with serve(profile) as served:
        assert served.spec is not None
        elapsed, ok, out = await run_command(
            [sys.executable, "-m", "app", "-d", served.spec, "upload", str(image), "--mode", "none"]
        )
    if not ok:
        print(f"  slotwise CLI failed on {profile.name}: {out.strip()[-300:]}", file=sys.stderr)
        return None
    return elapsed


async def run_smpmgr(profile: Profile, image: Path) -> float | None:
    if profile.kind == "ble":
        return None
    smpmgr = shutil.which("smpmgr") or str(Path(sys.executable).with_name("smpmgr"))
    async with serve(profile, smpmgr_port=True) as served:
        assert served.smpmgr_args is not None
        elapsed, ok, out = await run_command(
            [smpmgr, *served.smpmgr_args, "--timeout", "5", "image", "upload", str(image)]
        )
    if not ok:
        print(f"  smpmgr failed on {profile.name}: {out.strip()[-300:]}", file=sys.stderr)
        return None
    return elapsed


def make_image(directory: Path, size: int, slot_bytes: int = 1024 * 1024) -> Path:
    """A 1.1.0 image signed by imgtool with a fresh ecdsa-p256 key, about `size` bytes."""
    imgtool = shutil.which("imgtool") or str(Path(sys.executable).with_name("imgtool"))
    key = directory / "key.pem"
    subprocess.run(
        [imgtool, "keygen", "-k", str(key), "-t", "ecdsa-p256"], check=True, capture_output=True
    )
    raw, signed = directory / "app.bin", directory / "signed.bin"
    raw.write_bytes(random.Random(1).randbytes(size - 0x200 - 200))
    subprocess.run(
        [
            imgtool,
            "sign",
            "--key",
            str(key),
            "--header-size",
            "0x200",
            "--pad-header",
            "--align",
            "4",
            "--version",
            "1.1.0",
            "--slot-size",
            hex(slot_bytes),
            str(raw),
            str(signed),
        ],
        check=True,
        capture_output=True,
    )
    return signed


# --- report ------------------------------------------------------------------------------------


@dataclass
class Row:
    profile: Profile
    engine_s: float
    window: int
    cli_s: float | None
    smpmgr_s: float | None
    limit_bps: float
    limit_s: float
    reason: str


def table(rows: list[Row], size: int, skipped: bool = False) -> str:
    lines = [
        f"Image: {size} bytes ({size // 1024} KiB), signed by imgtool (ecdsa-p256).",
        "",
        "| profile | Slotwise engine | of link limit | limit (bound by) | slotwise CLI | smpmgr "
        "| smpmgr / slotwise CLI |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rate = size / r.engine_s
        cli = f"{r.cli_s:.2f} s" if r.cli_s else "n/a"
        smp = (
            f"{r.smpmgr_s:.2f} s"
            if r.smpmgr_s
            else (
                "not supported" if r.profile.kind == "ble" else "skipped" if skipped else "failed"
            )
        )
        ratio = f"{r.smpmgr_s / r.cli_s:.1f}x" if r.smpmgr_s and r.cli_s else "-"
        lines.append(
            f"| {r.profile.name} | {r.engine_s:.2f} s, {format_rate(rate)} (window "
            f"{r.window}) | {100 * r.limit_s / r.engine_s:.0f}% | {format_rate(r.limit_bps)},"
            f" {r.limit_s:.2f} s ({r.reason}) | {cli} | {smp} | {ratio} |"
        )
    return "\n".join(lines)


def peak_rss_bytes() -> int:
    """VmHWM of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


async def memory_run(size: int) -> None:
    """Peak resident memory of the client above idle for one upload of `size` bytes; the
    simulator runs in a subprocess so only the uploading process is measured."""
    with tempfile.TemporaryDirectory() as tmp:
        slot = 2 * size
        image = make_image(Path(tmp), size, slot_bytes=slot)
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "sim",
                "--udp",
                "127.0.0.1:0",
                "--buf-count",
                "8",
                "--slot-size",
                str(slot),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sim.stdout is not None
            address = sim.stdout.readline().split()[-1]
            async with SmpClient(open_transport(f"udp:{address}")) as client:
                Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
                idle = peak_rss_bytes()
                start = time.monotonic()
                with FileSource(image) as source:
                    result = await upload_image(client, source)
                elapsed = time.monotonic() - start
                peak = peak_rss_bytes()
        finally:
            sim.terminate()
            sim.wait(10)
    print(
        f"{size / 2**20:.0f} MiB upload in {elapsed:.1f} s (match {result.stats.match}): "
        f"peak RSS {(peak - idle) / 2**20:.1f} MiB above the idle process "
        f"({idle / 2**20:.0f} MiB idle)"
    )


async def main(args: argparse.Namespace) -> int:
    if args.memory:
        await memory_run(args.memory)
        return 0
    profiles = [p for p in PROFILES if not args.only or p.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        image = make_image(Path(tmp), args.size)
        size = image.stat().st_size
        for profile in profiles:
            print(f"{profile.name}: {profile.note or profile.kind} ...", file=sys.stderr)
            engine_s, window, rtt = await run_engine(profile, image)
            cli_s = await run_slotwise_cli(profile, image)
            smp_s = None if args.no_smpmgr else await run_smpmgr(profile, image)
            rate, first_s, reason = limit_bps(profile, size, rtt)
            rows.append(
                Row(profile, engine_s, window, cli_s, smp_s, rate, first_s + size / rate, reason)
            )
            print(f"  engine {engine_s:.2f} s, cli {cli_s}, smpmgr {smp_s}", file=sys.stderr)
    print(table(rows, size, args.no_smpmgr))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256 * 1024)
    parser.add_argument("--only", nargs="*", help="profile names")
    parser.add_argument("--no-smpmgr", action="store_true")
    parser.add_argument(
        "--memory",
        type=int,
        metavar="BYTES",
        help="instead: peak memory of one upload of this size (e.g. 16777216)",
    )
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    sys.exit(asyncio.run(main(parser.parse_args())))
