"""Checks of an image against a device, for the upload flow: slot fit and version relation.

Pure: no I/O. Slot sizes come from SMP slot info; trailer sizing follows imgtool's `--pad`
model (spec §8.4) and is a sizing check only — the real limit depends on the upgrade mode (§9).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.image.model import ImageVersion, McubootImage

DEFAULT_MAX_ALIGN = 8
"""BOOT_MAX_ALIGN unless the flash write size is larger (§8.1)."""
DEFAULT_MAX_SECTORS = 128
"""imgtool's `-M` default."""


def trailer_size(
    *,
    write_align: int = 8,
    max_sectors: int = DEFAULT_MAX_SECTORS,
    max_align: int = DEFAULT_MAX_ALIGN,
    overwrite_only: bool = False,
    encrypted: bool = False,
) -> int:
    """Bytes the image trailer takes at the end of the slot (imgtool `--pad` model, §8.4)."""
    max_align = max(max_align, write_align)
    magic_area = -(-16 // max_align) * max_align
    if overwrite_only:
        return 2 * max_align + magic_area
    size = max_sectors * 3 * write_align
    if encrypted:
        size += 2 * (-(-16 // max_align) * max_align)
    return size + 4 * max_align + magic_area


@dataclass(frozen=True, slots=True)
class SlotFit:
    """Whether an image fits a slot; `problem` is the sentence to show when it does not."""

    fits: bool
    needed_bytes: int
    slot_bytes: int
    problem: str | None = None


def check_slot_fit(
    image: McubootImage,
    slot_bytes: int,
    *,
    slot: int = 1,
    write_align: int = 8,
    max_sectors: int = DEFAULT_MAX_SECTORS,
    overwrite_only: bool = False,
) -> SlotFit:
    """Does `image` fit a slot of `slot_bytes`, leaving room for MCUboot's trailer?

    A padded file (it carries its own trailer) must simply be no larger than the slot; an
    unpadded image needs its bytes plus the trailer.
    """
    if image.trailer is not None:
        needed = image.file_size
    else:
        needed = image.tlv_end + trailer_size(
            write_align=write_align,
            max_sectors=max_sectors,
            overwrite_only=overwrite_only,
            encrypted=image.encrypted,
        )
    if needed <= slot_bytes:
        return SlotFit(True, needed, slot_bytes)
    what = "padded image" if image.trailer is not None else "image plus its trailer"
    return SlotFit(
        False,
        needed,
        slot_bytes,
        (
            f"image too large for slot {slot} ({_kib(needed)} > {_kib(slot_bytes)}; the {what} "
            f"needs {needed} bytes)"
        ),
    )


def _kib(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size % 1024 else f"{size // 1024} KiB"


class VersionRelation(Enum):
    """How an image's version compares with what the device runs."""

    DOWNGRADE = "downgrade"
    SAME = "same"
    UPGRADE = "upgrade"
    UNKNOWN = "unknown"
    """The device's version is not a version number, so older or not cannot be told: treated
    like a downgrade (the user is asked, a job or the CLI without --allow-downgrade refuses),
    never skipped."""


def compare_version(
    image: ImageVersion, device_version: str, *, use_build: bool = False
) -> VersionRelation:
    """Compare with a device version as SMP lists it ("1.2.3" or "1.2.3.4").

    Like MCUboot, the build number counts only when `use_build` is set (§2.2). A device
    version that does not parse gives UNKNOWN.
    """
    try:
        running = ImageVersion.parse(device_version)
    except ValueError:
        return VersionRelation.UNKNOWN
    mine, theirs = image.key(use_build), running.key(use_build)
    if mine < theirs:
        return VersionRelation.DOWNGRADE
    if mine == theirs:
        return VersionRelation.SAME
    return VersionRelation.UPGRADE
