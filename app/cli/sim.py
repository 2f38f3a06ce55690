"""`slotwise sim`: run simulated devices on real endpoints until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.connect import UsageError
from app.cli.options import non_negative_number, positive_number, whole_number
from app.sim.device import SimConfig, SimDevice, profile_config
from app.sim.link import LinkModel
from app.sim.profiles import PROFILES
from app.sim.runtime import SimRuntime
from app.sim.serial_endpoint import PtySimServer
from app.sim.serve import UdpSimServer
from app.transport.udp import parse_udp_address

if TYPE_CHECKING:
    from app.sim.bumble_peripheral import BumbleSimServer


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("sim", help="run a simulated Zephyr/MCUboot device")
    p.add_argument(
        "--udp",
        action="append",
        metavar="HOST:PORT",
        help="serve SMP over UDP here (repeatable; default 127.0.0.1:1337)",
    )
    p.add_argument(
        "--serial-pty",
        action="store_true",
        help="also serve SMP over the serial console framing on a new pseudo-terminal "
        "(prints `listening serial /dev/pts/N`; UDP then only with --udp)",
    )
    p.add_argument(
        "--ble-hci",
        metavar="SPEC",
        help="also serve SMP as a BLE peripheral on this Bumble HCI transport: a virtual "
        "controller (tcp-client:127.0.0.1:PORT, see python -m app.sim.ble_link), a USB "
        "dongle (usb:0) or a serial one (serial:/dev/ttyACM0,1000000); it advertises the SMP "
        "service and the device name, takes one central at a time and advertises again after "
        "a disconnect or reset (prints `listening ble ADDRESS`; UDP then only with --udp)",
    )
    p.add_argument(
        "--baud",
        type=whole_number(1),
        default=None,
        metavar="N",
        help="pty speed model: N/10 bytes per second each way (default unlimited)",
    )
    p.add_argument(
        "--log-lines", action="store_true", help="interleave log lines with the pty's SMP frames"
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="pty speaks raw-UART SMP (bare packets) instead of console framing",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="keep slots, settings and files here, like a board's flash",
    )
    p.add_argument(
        "--profile",
        default="zephyr-modern",
        help="firmware behaviour: " + ", ".join(PROFILES) + " (the zephyr-3.4-stock, -fast "
        "and -full builds answer like the captured real firmware, buffers included)",
    )
    p.add_argument(
        "--recovery",
        nargs="?",
        const="mcuboot-recovery",
        metavar="BUILD",
        help="MCUboot has serial recovery and the board powers on in it (button held); after "
        "a reset it runs the application if the primary slot is valid. BUILD: "
        "mcuboot-recovery (default), mcuboot-recovery-minimal or mcuboot-recovery-legacy",
    )
    p.add_argument(
        "--images", type=int, default=1, choices=(1, 2), help="number of images (slot pairs)"
    )
    p.add_argument(
        "--slot-size", type=whole_number(1), default=512 * 1024, metavar="N", help="bytes per slot"
    )
    p.add_argument(
        "--buf-size",
        type=whole_number(1),
        metavar="N",
        help="MCUmgr buffer size in bytes (default: the profile's build, else 2048)",
    )
    p.add_argument(
        "--buf-count",
        type=whole_number(1),
        metavar="N",
        help="MCUmgr buffer count (default: the profile's build, else 4)",
    )
    p.add_argument(
        "--latency-ms",
        type=non_negative_number,
        default=0.0,
        metavar="N",
        help="one-way link latency",
    )
    p.add_argument(
        "--rate-bps",
        type=positive_number,
        default=None,
        metavar="N",
        help="link bandwidth in bytes per second, each direction",
    )
    p.add_argument(
        "--loss",
        type=non_negative_number,
        default=0.0,
        metavar="P",
        help="packet loss probability, each direction",
    )
    p.add_argument(
        "--flash-bps",
        type=positive_number,
        default=None,
        metavar="N",
        help="flash write speed in bytes per second",
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Raises ValueError for an unknown profile."""
    return profile_config(
        args.profile,
        images=args.images,
        slot_size=args.slot_size,
        buf_size=args.buf_size,
        buf_count=args.buf_count,
        flash_write_bps=args.flash_bps,
        state_dir=args.state_dir,
        recovery=args.recovery,
    )


def link_from_args(args: argparse.Namespace) -> LinkModel:
    if not 0.0 <= args.loss < 1.0:
        raise UsageError("--loss is a probability from 0 up to (not including) 1")
    return LinkModel(latency_s=args.latency_ms / 1000.0, rate_bps=args.rate_bps, loss=args.loss)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    try:
        device = SimDevice(config_from_args(args))
    except ValueError as exc:  # impossible sizes, unknown profile
        raise UsageError(str(exc)) from exc
    except OSError as exc:  # --state-dir names a file, or one we may not write
        raise UsageError(f"cannot use --state-dir {args.state_dir}: {exc.strerror or exc}") from exc
    link = link_from_args(args)
    servers: list[UdpSimServer | PtySimServer | BumbleSimServer] = []
    runtimes: list[SimRuntime] = []
    try:
        if args.serial_pty:
            pty = PtySimServer(device, link, baud=args.baud, raw=args.raw, log_lines=args.log_lines)
            try:
                await pty.start()
            except OSError as exc:
                raise UsageError(f"cannot open a pseudo-terminal: {exc}") from exc
            servers.append(pty)
            print(f"listening serial {pty.path}", flush=True)
        if args.ble_hci:
            runtimes.append(SimRuntime(device, link))
            servers.append(await _start_ble(runtimes[-1], args.ble_hci))
        only_others = args.serial_pty or args.ble_hci
        for text in args.udp or ([] if only_others else ["127.0.0.1:1337"]):
            try:
                host, port = parse_udp_address(text)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            server = UdpSimServer(device, link, host=host, port=port)
            try:
                await server.start()
            except OSError as exc:
                raise UsageError(f"cannot listen on udp {text}: {exc.strerror or exc}") from exc
            servers.append(server)
            print(f"listening udp {server.address}", flush=True)
        await _wait_for_stop()
    finally:
        for endpoint in servers:
            await endpoint.stop()
        for runtime in runtimes:
            await runtime.stop()  # the BLE server's (the UDP and pty servers own theirs)
    return 0


async def _start_ble(runtime: SimRuntime, hci: str) -> BumbleSimServer:
    """The device as a BLE peripheral on a Bumble controller (its stack in this process)."""
    try:
        from app.sim.bumble_peripheral import BumbleSimServer
    except ImportError as exc:
        raise UsageError(
            "--ble-hci needs Bumble, an optional dependency: "
            f"pip install 'slotwise[bumble]' ({exc})"
        ) from exc
    await runtime.start()
    server = BumbleSimServer(runtime, hci=hci)
    await server.start()
    print(f"listening ble {server.address}", flush=True)
    return server


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still raises
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
