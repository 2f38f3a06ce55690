"""Device commands: echo, info, images, test, confirm, reset, erase."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.cli.connect import UsageError, with_client
from app.cli.options import whole_number
from app.client import SmpClient
from app.client.sizing import DeviceBuffers, read_window
from app.smp.errors import DeviceError
from app.smp.groups.img import ImageSlot
from app.smp.groups.os import BootloaderMode
from app.text import BLOCK_CHARS, device_text
from app.workflows.recovery import RecoveryState, read_image_list

T = TypeVar("T")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("echo", help="check that the device answers SMP")
    p.add_argument("text", nargs="?", default="hello")
    p.set_defaults(func=with_client(_echo))

    p = commands.add_parser("info", help="what the device, its OS and its bootloader say")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=with_client(_info))

    p = commands.add_parser("images", help="list the image slots")
    p.add_argument("--json", action="store_true", help="print a JSON list with SMP field names")
    p.set_defaults(func=with_client(_images))

    p = commands.add_parser("test", help="boot the image with this hash once on the next reset")
    p.add_argument("hash", help="image hash (hex), as `images` lists it")
    p.set_defaults(func=with_client(_test))

    p = commands.add_parser("confirm", help="confirm the running image, or make HASH permanent")
    p.add_argument("hash", nargs="?", help="image hash (hex); omit to confirm the running image")
    p.add_argument(
        "--yes",
        action="store_true",
        help="with HASH: yes, make it permanent (no rollback if it fails to start)",
    )
    p.set_defaults(func=_checked(_permanent_needs_yes, with_client(_confirm)))

    p = commands.add_parser("reset", help="reboot the device")
    p.add_argument("--force", action="store_true", help="ask the app not to refuse the reset")
    p.set_defaults(func=with_client(_reset))

    p = commands.add_parser("erase", help="erase a slot (default: the non-running slot)")
    p.add_argument("--slot", type=whole_number(0), help="absolute slot index (image * 2 + slot)")
    p.set_defaults(func=with_client(_erase))


def _checked(
    check: Callable[[argparse.Namespace], None], run: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    """Validate the command line before anything connects to the device."""

    def checked(args: argparse.Namespace) -> int:
        check(args)
        return run(args)

    return checked


def _permanent_needs_yes(args: argparse.Namespace) -> None:
    if args.hash and not args.yes:
        raise UsageError(
            "confirm HASH makes that image permanent with no way back if it fails "
            "to start; add --yes if that is what you want (without HASH it "
            "confirms the running image)"
        )


def _hash_arg(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a hexadecimal hash") from None
    if len(value) != 32:
        raise UsageError(f"an image hash is 32 bytes (64 hex digits), got {len(value)}")
    return value


def slot_json(slot: ImageSlot) -> dict[str, Any]:
    """One slot with the SMP field names, hash as hex."""
    return {
        "image": slot.image_number,
        "slot": slot.slot,
        "version": slot.version,
        "hash": slot.hash.hex() if slot.hash is not None else None,
        "bootable": slot.bootable,
        "pending": slot.pending,
        "confirmed": slot.confirmed,
        "active": slot.active,
        "permanent": slot.permanent,
    }


def format_slots(slots: list[ImageSlot]) -> str:
    if not slots:
        return "no images listed"
    lines = []
    for slot in slots:
        flags = [
            name for name in ("active", "confirmed", "pending", "permanent") if getattr(slot, name)
        ]
        if not slot.bootable:
            flags.append("not bootable")
        digest = slot.hash.hex() if slot.hash else "(no hash)"
        lines.append(
            f"image {slot.image_number} slot {slot.slot}  {device_text(slot.version):<12} "
            f"{digest}  {' '.join(flags)}".rstrip()
        )
    return "\n".join(lines)


async def _echo(client: SmpClient, args: argparse.Namespace) -> int:
    print(device_text(await client.echo(args.text), limit=BLOCK_CHARS))
    return 0


NOT_IN_FIRMWARE = "not in this firmware"
"""What `info` says of a group the firmware was built without (said once per line)."""


async def _optional(read: Awaitable[T]) -> T | str:
    """The value, or a plain sentence when the firmware lacks the command."""
    try:
        return await read
    except DeviceError as exc:
        return NOT_IN_FIRMWARE if exc.not_supported else str(exc)


def _bootloader_line(loader: Any, mode: Any) -> str:
    """The bootloader in words: its name and mode, or once why it is not reported."""
    if isinstance(loader, str) and loader == NOT_IN_FIRMWARE:
        return "not reported (this firmware has no bootloader info)"
    name = device_text(loader if isinstance(loader, str) else (loader.bootloader or "a bootloader"))
    if isinstance(mode, str) or mode.mode is None:
        return f"{name}, mode not reported"
    parsed = BootloaderMode.parse(mode.mode)
    text = parsed.description if parsed is not None else f"mode {mode.mode} (unknown to Slotwise)"
    return f"{name}, {text}" + (", downgrades refused" if mode.no_downgrade else "")


async def _info(client: SmpClient, args: argparse.Namespace) -> int:
    slots, recovery = await read_image_list(client)
    if recovery is not None:
        return _recovery_info(client, recovery, as_json=args.json)
    params = await _optional(client.params())
    # Then the rest together, as many at once as the device has buffers for.
    limited = read_window(
        DeviceBuffers(params.buf_size, params.buf_count, reported=True)
        if not isinstance(params, str)
        else DeviceBuffers(0, 1, reported=False)
    )
    os_info, loader, mode = await asyncio.gather(
        _optional(limited(client.os_info("a"))),
        _optional(limited(client.bootloader_info())),
        _optional(limited(client.bootloader_info("mode"))),
    )
    if loader == NOT_IN_FIRMWARE:  # the mode query is the same command: said once
        mode = NOT_IN_FIRMWARE
    report: dict[str, Any] = {
        "link": client.link.kind,
        "address": client.link.address,
        "os": os_info,
    }
    report["mcumgr_buffers"] = (
        params if isinstance(params, str) else {"size": params.buf_size, "count": params.buf_count}
    )
    report["bootloader"] = loader if isinstance(loader, str) else loader.bootloader
    if isinstance(mode, str) or mode.mode is None:
        report["bootloader_mode"] = mode if isinstance(mode, str) else "not reported"
    else:
        parsed = BootloaderMode.parse(mode.mode)
        report["bootloader_mode"] = (
            parsed.description if parsed is not None else f"mode {mode.mode} (unknown to Slotwise)"
        )
        report["no_downgrade"] = bool(mode.no_downgrade)
    report["images"] = [slot_json(s) for s in slots]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    buffers = report["mcumgr_buffers"]
    print(f"device      {report['address']} over {report['link']}")
    print(f"os          {device_text(os_info, limit=BLOCK_CHARS)}")
    print(
        "buffers     "
        + (buffers if isinstance(buffers, str) else f"{buffers['count']} x {buffers['size']} bytes")
    )
    print(f"bootloader  {_bootloader_line(loader, mode)}")
    print(format_slots(slots))
    return 0


def _recovery_info(client: SmpClient, state: RecoveryState, *, as_json: bool) -> int:
    """A board in MCUboot serial recovery: say so, what it holds, and what works there."""
    if as_json:
        report = {
            "link": client.link.kind,
            "address": client.link.address,
            "mode": "mcuboot-serial-recovery",
            "echo": state.echo,
            "lists_hashes": state.lists_hashes,
            "evidence": list(state.evidence),
            "images": [slot_json(s) for s in state.slots],
        }
        print(json.dumps(report, indent=2))
        return 0
    print(f"device      {client.link.address} over {client.link.kind}")
    lines = state.describe()
    print(f"mode        {lines[0]}")
    for line in lines[1:]:
        print(f"            {line}")
    print("            restore firmware with: slotwise -d DEVICE recover FILE --key KEY")
    return 0


async def _images(client: SmpClient, args: argparse.Namespace) -> int:
    slots = await client.image_state()
    print(json.dumps([slot_json(s) for s in slots], indent=2) if args.json else format_slots(slots))
    return 0


async def _test(client: SmpClient, args: argparse.Namespace) -> int:
    slots = await client.image_test(_hash_arg(args.hash))
    print(
        "marked for test: the device boots it on the next reset and reverts unless it is confirmed"
    )
    print(format_slots(slots))
    return 0


async def _confirm(client: SmpClient, args: argparse.Namespace) -> int:
    image_hash = _hash_arg(args.hash) if args.hash else None
    slots = await client.image_confirm(image_hash)
    print(
        "confirmed the running image"
        if image_hash is None
        else "marked permanent: the device switches to it on the next reset, with no way back"
    )
    print(format_slots(slots))
    return 0


async def _reset(client: SmpClient, args: argparse.Namespace) -> int:
    await client.reset(force=args.force)
    print("reset requested")
    return 0


async def _erase(client: SmpClient, args: argparse.Namespace) -> int:
    from app.workflows.erase import erase_slot

    print((await erase_slot(client, args.slot)).sentence)
    return 0
