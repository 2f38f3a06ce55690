"""Zephyr img_mgmt's view of the slots: state flags, next-boot slot, "slot in use", and the
test/confirm rules (spec digest §6.1.1, §6.1.2). Pure: works on a SimDevice's slots.

Slot numbers here are absolute (`image * 2 + slot`), as inside Zephyr.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from app.sim.handlers.base import GroupFailure
from app.sim.slots import SWAP_MODES, SwapType, request_upgrade, swap_type
from app.smp.errors import ImgErr
from app.smp.groups.img import ImageSlot
from app.smp.groups.os import BootloaderMode
from app.smp.header import Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

ACTIVE_IMAGE = 0
"""The image whose code runs the SMP server (img_mgmt_active_image)."""


class NextBoot(Enum):
    NORMAL = "normal"
    TEST = "test"
    REVERT = "revert"


@dataclass(frozen=True, slots=True)
class Flags:
    active: bool = False
    confirmed: bool = False
    pending: bool = False
    permanent: bool = False


def opposite(slot: int) -> int:
    return slot ^ 1


def image_swap_type(dev: SimDevice, image: int) -> SwapType:
    if dev.mode in (BootloaderMode.DIRECT_XIP, BootloaderMode.DIRECT_XIP_WITH_REVERT):
        return SwapType.NONE
    primary, secondary = dev.image_slots(image)
    return swap_type(primary, secondary)


def state_flags(dev: SimDevice, slot: int) -> Flags:
    """`img_mgmt_state_flags` for swap modes; direct-XIP per the digest's rule."""
    image = slot // 2
    active_slot = dev.active_slot(image)
    is_active = image == ACTIVE_IMAGE and slot == active_slot
    if dev.mode in (BootloaderMode.DIRECT_XIP, BootloaderMode.DIRECT_XIP_WITH_REVERT):
        if slot == active_slot:
            return Flags(active=is_active, confirmed=True)
        mine, running = dev.slot(slot).info, dev.slot(active_slot).info
        newer = bool(mine and running and mine.version.key() > running.version.key())
        return Flags(pending=newer, permanent=newer)
    kind = image_swap_type(dev, image)
    mine_active = slot == active_slot
    confirmed = pending = permanent = False
    if kind in (SwapType.NONE, SwapType.TEST, SwapType.PERM) and mine_active:
        confirmed = True
    elif kind is SwapType.TEST:
        pending = True
    elif kind is SwapType.PERM:
        pending = permanent = True
    elif kind is SwapType.REVERT and not mine_active:
        confirmed = True
    return Flags(active=is_active, confirmed=confirmed, pending=pending, permanent=permanent)


def next_boot(dev: SimDevice, image: int) -> tuple[int, NextBoot]:
    """`img_mgmt_get_next_boot_slot`: which slot boots next and how."""
    active_slot = dev.active_slot(image)
    kind = image_swap_type(dev, image)
    if kind is SwapType.NONE:
        return active_slot, NextBoot.NORMAL
    if kind is SwapType.PERM:
        return opposite(active_slot), NextBoot.NORMAL
    if kind is SwapType.REVERT:
        return opposite(active_slot), NextBoot.REVERT
    return opposite(active_slot), NextBoot.TEST


def slot_in_use(dev: SimDevice, slot: int) -> bool:
    """Whether an upload or erase must leave `slot` alone (§6.1.3 step 7)."""
    image = slot // 2
    if not dev.profile.allow_erase_pending:
        # Older img_mgmt: active, confirmed or pending slots are all "in use".
        flags = state_flags(dev, slot)
        return flags.active or flags.confirmed or flags.pending or slot == dev.active_slot(image)
    if slot == dev.active_slot(image):
        return True
    nbs, kind = next_boot(dev, image)
    # The secondary holds the image to revert to while a test image runs unconfirmed.
    return kind is NextBoot.REVERT and slot == nbs


def upload_target(dev: SimDevice, image: int) -> int | None:
    """The slot an upload for `image` goes to, or None when there is no free one."""
    if not 0 <= image < dev.config.images:
        return None
    slot = opposite(dev.active_slot(image))
    return None if slot_in_use(dev, slot) else slot


def find_by_hash(dev: SimDevice, wanted: bytes) -> int | None:
    for slot in range(dev.config.images * 2):
        if dev.slot(slot).hash == wanted:
            return slot
    return None


def set_next_boot(dev: SimDevice, slot: int, confirm: bool) -> None:
    """`img_mgmt_set_next_boot_slot`: the check order of §6.1.2, then the trailer write."""
    image = slot // 2
    active_slot = dev.active_slot(image)
    nbs, kind = next_boot(dev, image)
    if (
        image != ACTIVE_IMAGE
        and confirm
        and not dev.profile.confirm_any_image
        and slot != opposite(active_slot)
    ):
        raise GroupFailure(Group.IMAGE, ImgErr.IMAGE_CONFIRMATION_DENIED)
    if not confirm and slot == active_slot:
        raise GroupFailure(Group.IMAGE, ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED)
    if kind is NextBoot.TEST:
        if not confirm and slot == nbs:
            return
        raise GroupFailure(Group.IMAGE, ImgErr.IMAGE_ALREADY_PENDING)
    if kind is NextBoot.NORMAL:
        if confirm and slot == nbs:
            return
        if (slot == active_slot and active_slot != nbs) or (
            not confirm and slot != active_slot and slot == nbs
        ):
            raise GroupFailure(Group.IMAGE, ImgErr.IMAGE_ALREADY_PENDING)
    if kind is NextBoot.REVERT:
        if confirm and slot == nbs:
            return
        if not confirm:
            raise GroupFailure(Group.IMAGE, ImgErr.IMAGE_ALREADY_PENDING)
    if slot != active_slot:
        target = dev.slot(slot)
        request_upgrade(target, permanent=confirm)
        dev.persist_slot(target)
    elif confirm:
        confirm_running(dev, image)


def confirm_running(dev: SimDevice, image: int) -> None:
    """`boot_write_img_confirmed`: image_ok in the primary trailer, only after a swap."""
    primary = dev.slot(dev.active_slot(image))
    if dev.mode in SWAP_MODES and primary.magic_good and primary.image_ok_unset:
        primary.write_flag("image_ok")
        dev.persist_slot(primary)


def list_images(dev: SimDevice) -> list[ImageSlot]:
    """The state-read list: valid images only, ascending slot order (§6.1.1)."""
    entries = []
    for slot in range(dev.config.images * 2):
        info = dev.slot(slot).info
        if info is None:
            continue
        flags = state_flags(dev, slot)
        entries.append(
            ImageSlot(
                image=slot // 2 if dev.config.images > 1 else None,
                slot=slot % 2,
                version=str(info.version),
                hash=info.hash,
                bootable=info.bootable,
                pending=flags.pending,
                confirmed=flags.confirmed,
                active=flags.active,
                permanent=flags.permanent,
            )
        )
    return entries
