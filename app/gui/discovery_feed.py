"""Feeding the device list from app/client/discovery (plain asyncio, no Qt).

One scan runs `discover()` over BLE, serial and UDP and hands each sighting to `sink` (which
posts it to the GUI thread). BLE boards often take a new random address after a reset, so a
sighting whose name matches a listed BLE device updates that row instead of adding one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from app.gui.targets import DeviceTarget
from app.text import device_text
from app.transport.ble import BleScanner

log = logging.getLogger(__name__)

SCAN_S = 6.0


def default_ble_scanner() -> BleScanner | None:
    """bleak's scanner, or None where bleak cannot run (no Bluetooth stack)."""
    try:
        from app.transport.ble import BleakScannerAdapter
    except ImportError as exc:
        log.info("no BLE scanning: %s", exc)
        return None
    return BleakScannerAdapter()


async def scan(
    sink: Callable[[object], None],
    *,
    ble: BleScanner | None,
    serial: bool,
    udp: Sequence[str],
    timeout_s: float = SCAN_S,
    ble_hci: str | None = None,
) -> int:
    """Run one discovery pass; returns how many sightings were reported. With `ble_hci`, BLE
    is scanned through that Bumble controller instead of `ble`."""
    from app.client.discovery import discover

    count = 0
    async for found in discover(
        ble_scanner=ble, ble_hci=ble_hci, serial=serial, udp=list(udp), timeout_s=timeout_s
    ):
        sink(found)
        count += 1
    return count


def merge_found(
    found: object, known: list[DeviceTarget], ble_filter: str = ""
) -> DeviceTarget | None:
    """The row to upsert for a sighting (None: filtered out)."""
    from app.client.discovery import FoundDevice

    if not isinstance(found, FoundDevice):
        return None
    if found.transport == "ble":
        if ble_filter and ble_filter.lower() not in found.name.lower():
            return None
        for target in known:
            if target.kind == "ble" and (
                target.address == found.address or target.spec == f"ble:{found.name}"
            ):
                return replace(target, address=found.address, rssi=found.rssi)
    for target in known:
        if target.spec == found.spec:
            return replace(
                target,
                rssi=found.rssi,
                answers_smp=found.answers_smp
                if found.answers_smp is not None
                else target.answers_smp,
            )
    return DeviceTarget(
        spec=found.spec,
        kind=found.transport,
        name=device_text(found.name, limit=64),  # an advertised name is anyone's text
        address=found.address,
        rssi=found.rssi,
        answers_smp=found.answers_smp,
    )
