"""`slotwise discover`: list devices on BLE, serial ports and UDP hosts as they are found."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json

from app.cli.connect import UsageError
from app.cli.messages import say_error
from app.cli.options import positive_seconds
from app.client.discovery import FoundDevice, discover
from app.errors import SlotwiseError
from app.text import device_text


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("discover", help="find devices on BLE, serial ports and UDP")
    p.add_argument("--ble", action="store_true", help="scan BLE for the SMP service")
    p.add_argument("--all", action="store_true", help="with --ble: show every advertiser")
    p.add_argument(
        "--hci",
        metavar="SPEC",
        help="scan BLE through this Bumble HCI controller (usb:0, tcp-client:HOST:PORT, ...) "
        "instead of the system Bluetooth stack; implies --ble, and the specs printed use it",
    )
    p.add_argument(
        "--serial", action="store_true", help="list serial ports (default when no link is named)"
    )
    p.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="PATH",
        help="also consider this serial port (repeatable)",
    )
    p.add_argument(
        "--probe",
        action="store_true",
        help="send an SMP echo to each serial port to see which answer",
    )
    p.add_argument(
        "--udp",
        action="append",
        default=[],
        metavar="TARGET",
        help="probe HOST[:PORT], CIDR[:PORT] or FIRST-LAST[:PORT] (repeatable)",
    )
    p.add_argument(
        "--scan-time",
        type=positive_seconds,
        default=5.0,
        metavar="S",
        help="seconds to scan BLE (default 5)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON list at the end")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_discover(args))


async def _discover(args: argparse.Namespace) -> int:
    scanner = None
    if args.hci:
        args.ble = True
    elif args.ble:
        from app.transport.ble import BleakScannerAdapter

        scanner = BleakScannerAdapter()
    serial = args.serial or not (args.ble or args.udp or args.port)
    found: list[FoundDevice] = []
    failed: list[str] = []

    def link_failed(exc: SlotwiseError) -> None:  # said once, at the end
        failed.append(str(exc))

    try:
        async for device in discover(
            ble_scanner=scanner,
            ble_all=args.all,
            ble_hci=args.hci,
            serial=serial,
            serial_ports=args.port,
            probe_serial=args.probe,
            udp=args.udp,
            timeout_s=args.scan_time,
            on_error=link_failed,
        ):
            found.append(device)
            if not args.json:
                print(describe(device), flush=True)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps([{**dataclasses.asdict(d), "spec": d.spec} for d in found], indent=2))
    elif not any(d.answers_smp is not False for d in found) and (found or not failed):
        print(f"no devices answered (searched {_searched(args, serial)})", flush=True)
    for reason in failed:
        say_error(reason)
    return 1 if failed and not found else 0


def _searched(args: argparse.Namespace, serial: bool) -> str:
    places = []
    if args.ble:
        places.append(f"Bluetooth for {args.scan_time:g} s")
    if serial or args.port:
        places.append("serial ports" + (" with an SMP echo" if args.probe else ""))
    places.extend(f"udp {target}" for target in args.udp)
    return ", ".join(places)


def describe(device: FoundDevice) -> str:
    """One line: the device spec to pass to -d, then what is known about it."""
    details = [device_text(device.name, limit=64)] if device.name != device.address else []
    if device.rssi is not None:
        details.append(f"RSSI {device.rssi} dBm")
    if device.vid_pid:
        details.append(f"USB {device.vid_pid}")
    if device.serial_number:
        details.append(f"SN {device_text(device.serial_number, limit=64)}")
    if device.manufacturer:
        details.append(device_text(device.manufacturer, limit=64))
    if device.answers_smp is not None:
        details.append("answers SMP" if device.answers_smp else "no SMP answer")
    return f"{device.spec:40} {', '.join(details)}".rstrip()
