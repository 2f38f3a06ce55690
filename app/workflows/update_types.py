"""The update workflow's vocabulary: modes, outcomes, errors, the image to install and the
device state the pre-flight read.

Kept apart from update.py so the watch and advice modules can use them without importing
the run itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from app.client.sizing import DeviceBuffers
from app.errors import SlotwiseError
from app.image.model import ImageVersion, McubootImage
from app.image.source import ImageSource
from app.smp.groups.img import ImageSlot, running_slot
from app.smp.groups.os import BootloaderMode

if TYPE_CHECKING:
    # preflight loads app.image.verify (cryptography); `slotwise echo` must not
    from app.workflows.preflight import PreflightDevice, PreflightImage


class Mode(StrEnum):
    """What to do after a verified upload."""

    TEST = "test"
    """Mark pending for one boot, reset, check the new image runs unconfirmed (default)."""
    CONFIRM = "confirm"
    """Mark permanent: no rollback (the CLI asks for --yes)."""
    NONE = "none"
    """Upload and verify only."""


class Outcome(StrEnum):
    """How an image's update ended, for the GUI badge and batch result rows."""

    UPLOADED = "uploaded"
    """Mode none: in the slot, hash verified, nothing marked."""
    PENDING = "pending"
    """Marked (test or permanent) but not reset (--no-reset)."""
    TESTING = "testing"
    """The new image runs and is not confirmed yet: confirm it, or the next reset reverts."""
    CONFIRMED = "confirmed"
    ALREADY_PRESENT = "already-present"
    """The slot held this exact image (hash match); nothing uploaded."""
    REVERTED = "reverted"
    """After the reset the device runs the old image."""
    FAILED = "failed"


class UpdateError(SlotwiseError):
    """The update stopped; the sentence says why (the device was not marked unless it says)."""


class HashMismatch(UpdateError):
    """The device's hash of the uploaded slot differs from the image's: nothing was marked."""


class DowngradeRefused(UpdateError):
    """The image is older than what runs and downgrades were not allowed."""


class WaitCancelled(UpdateError):
    """The caller stopped the wait for the device after a reset (e.g. it left the device)."""


@dataclass(frozen=True, slots=True)
class UpdateImage:
    """One image to install, verified locally; its bytes are opened on demand (streamed)."""

    label: str
    image: int
    """Target image number (0 = application core, 1 = e.g. network core)."""
    size: int
    image_hash: bytes
    """The image's SHA-256 TLV: what the device lists and what test/confirm name."""
    version: ImageVersion
    open_source: Callable[[], ImageSource]
    """Opens the bytes for reading (the caller closes a FileSource when done)."""
    order: int = 0
    """Position in the file (manifest order)."""
    mcuboot: McubootImage | None = field(default=None, compare=False, repr=False)
    """The parsed image, for the slot-fit check."""
    file_sha256: bytes | None = None
    """SHA-256 of the bytes verified: the upload's `sha`, and what the bytes it actually sends
    must hash to (a file changed on disk after verification is never reported uploaded)."""
    clear_payload: bool = False
    """Flagged encrypted, stored in clear (`imgtool sign --clear`): meant for the primary slot;
    a bootloader built with encryption rejects it in the secondary slot."""
    facts: PreflightImage | None = field(default=None, compare=False, repr=False)
    """What the pre-flight policy needs of the image (its verdict, where it goes)."""
    contents_unproven: bool = False
    """Encrypted and let through by explicit choice: its hash was never checked against its
    bytes (verdict encrypted-unproven); only the bootloader will check them."""


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What the pre-flight read learned."""

    buffers: DeviceBuffers
    slots: tuple[ImageSlot, ...]
    bootloader: str | None = None
    mode: BootloaderMode | None = None
    no_downgrade: bool = False
    slot_sizes: dict[tuple[int, int], int] = field(default_factory=dict)
    """(image, slot) -> partition bytes, from slot info when the device has it."""

    def slot(self, image: int, slot: int) -> ImageSlot | None:
        return next((s for s in self.slots if s.image_number == image and s.slot == slot), None)

    def running(self, image: int) -> ImageSlot | None:
        """The active slot of `image` (slot 0 when no slot says active)."""
        return running_slot(self.slots, image)

    def facts(self) -> PreflightDevice:
        """The pre-flight policy's view of this device."""
        from app.workflows.preflight import PreflightDevice

        return PreflightDevice(
            slots=self.slots,
            slot_sizes=self.slot_sizes,
            no_downgrade=self.no_downgrade,
            overwrite_only=self.mode is BootloaderMode.OVERWRITE_ONLY,
        )
