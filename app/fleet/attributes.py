"""What a device tells about itself: its identity facts and the DDI attributes sent when the
server asks (`configData`). Attribute names are documented in docs/fleet.md.

`hw_boardname` and `sw_version` are the names gooseBit (and SWUpdate's suricatta) read to pick
compatible software and record what runs; the rest are Slotwise's own.
"""

from __future__ import annotations

import contextlib
import logging
import re

from app.client.client import SmpClient
from app.client.discovery import list_serial_ports
from app.errors import DecodeError, TransportTimeout
from app.fleet.identity import DeviceFacts
from app.smp.errors import DeviceError
from app.smp.groups.img import running_slot
from app.workflows.update_types import DeviceState

log = logging.getLogger(__name__)

_QUIET = (DeviceError, DecodeError, TransportTimeout)


async def read_facts(client: SmpClient, device: str, settings: list[str]) -> DeviceFacts:
    """OS info `i` and `n`, the named settings, and what the link spec says."""
    platform = node = None
    with contextlib.suppress(*_QUIET):
        platform = (await client.os_info("i")).strip() or None
    with contextlib.suppress(*_QUIET):
        node = (await client.os_info("n")).strip() or None
    values: dict[str, str] = {}
    for name in settings:
        try:
            raw = await client.setting_read(name)
        except _QUIET as exc:
            log.info("setting %s not read: %s", name, exc)
            continue
        text = raw.decode("utf-8", "replace").strip("\x00 \r\n")
        if text:
            values[name] = text
    kind, _, rest = device.partition(":")
    return DeviceFacts(
        platform=platform,
        node=node,
        ble=rest if kind == "ble" else None,
        usb_serial=_usb_serial(rest.split("@", 1)[0]) if kind == "serial" else None,
        address=device.replace(":", "-"),
        settings=values,
    )


def _usb_serial(port: str) -> str | None:
    for found in list_serial_ports():
        if found.address == port:
            return found.serial_number
    return None


def board_name(platform: str | None) -> str:
    """The board as a libconfig-safe name (`nrf52840dk/nrf52840` -> `nrf52840dk_nrf52840`), so
    an .swu's `hardware-compatibility` block can name it (gooseBit matches on it)."""
    if not platform:
        return "default"
    return re.sub(r"[^A-Za-z0-9_-]", "_", platform)


def device_attributes(facts: DeviceFacts, state: DeviceState) -> dict[str, str]:
    """The configData attributes for a device whose pre-flight read gave `state`."""
    attributes = {
        "hw_boardname": board_name(facts.platform),
        "hw_revision": "default",
        "slotwise.bootloader": state.bootloader or "unknown",
        "slotwise.bootloader_mode": state.mode.description if state.mode else "not reported",
        "slotwise.mcumgr_buf_size": str(state.buffers.buf_size),
        "slotwise.mcumgr_buf_count": str(state.buffers.buf_count),
    }
    if facts.platform:
        attributes["slotwise.platform"] = facts.platform
    if facts.node:
        attributes["slotwise.node"] = facts.node
    running = running_slot(state.slots, 0)
    if running is not None:
        attributes["sw_version"] = running.version
    for slot in state.slots:
        prefix = f"slotwise.image{slot.image_number}.slot{slot.slot}"
        attributes[f"{prefix}.version"] = slot.version
        if slot.hash:
            attributes[f"{prefix}.hash"] = slot.hash.hex()
        flags = [
            name
            for name, on in (
                ("active", slot.active),
                ("confirmed", slot.confirmed),
                ("pending", slot.pending),
                ("permanent", slot.permanent),
            )
            if on
        ]
        attributes[f"{prefix}.state"] = ",".join(flags) or "-"
    return attributes
