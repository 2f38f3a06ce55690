"""What the device list and device view show, as frozen values. Pure: no Qt, no I/O.

Kept apart from session.py (which imports the SMP client) so the window's first paint does
not wait for the core to load.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.smp.groups.img import running_slot
from app.smp.groups.os import BootloaderMode


@dataclass(frozen=True, slots=True)
class DeviceTarget:
    """One row of the device list: where a device is and how to reach it."""

    spec: str
    """udp:HOST:PORT, serial:PORT[@BAUD] or ble:ADDRESS; also the row's identity."""
    kind: str
    name: str
    address: str
    rssi: int | None = None
    answers_smp: bool | None = None
    """None until checked; True once the device answered an SMP echo."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    name: str
    os_info: str
    app_info: str
    bootloader: str
    bootloader_mode: str
    no_downgrade: bool
    buf_size: int | None
    buf_count: int | None
    link_kind: str
    address: str
    mtu: int | None
    max_frame_bytes: int
    mode: BootloaderMode | None = None
    """The bootloader's mode as a value (bootloader_mode is its sentence)."""


@dataclass(frozen=True, slots=True)
class SlotView:
    """One image slot with the sizes from slot_info when the firmware reports them."""

    image: int
    slot: int
    version: str
    hash: bytes | None
    size: int | None
    active: bool
    pending: bool
    confirmed: bool
    permanent: bool
    bootable: bool
    empty: bool = False

    @property
    def absolute(self) -> int:
        return self.image * 2 + self.slot

    @property
    def image_number(self) -> int:
        return self.image


@dataclass(frozen=True, slots=True)
class DeviceSnapshot:
    target: DeviceTarget
    identity: DeviceIdentity
    slots: tuple[SlotView, ...]
    recovery: tuple[str, ...] | None = None
    """MCUboot's serial recovery answers instead of the application: what it showed, in
    lines (app/workflows/recovery.py RecoveryState.describe); None when an application runs."""

    def running(self, image: int = 0) -> SlotView | None:
        """Active, else slot 0 (img `running_slot`); an empty placeholder never runs."""
        return running_slot((s for s in self.slots if not s.empty), image)

    def other(self, slot: SlotView) -> SlotView | None:
        return next(
            (
                s
                for s in self.slots
                if s.image == slot.image and s.slot != slot.slot and not s.empty
            ),
            None,
        )


def target_for_spec(spec: str) -> DeviceTarget:
    """A list row for a device named by its spec (`slotwise -d SPEC` with no subcommand)."""
    kind, _, address = spec.partition(":")
    return DeviceTarget(spec=spec, kind=kind, name=address, address=address)
