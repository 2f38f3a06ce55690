"""The update workflow: pre-flight, upload, verified completion, test/confirm, reset and watch.

Sequence (smp-protocol.md §8): read what the device is and has (params, bootloader mode, slot
info, image state) and say in plain words what will happen; skip an image the slot already
holds; refuse a downgrade unless allowed; upload with the engine; read the image state and
require the device's hash of the target slot to equal the image's hash before marking
anything; then by mode mark for test or confirm, reset, watch the device come back and say
what runs — or that it reverted. Plain asyncio, no Qt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from app.client.client import SmpClient
from app.client.upload import DeviceBuffers, Reconnect, UploadOptions, UploadStats
from app.errors import SlotwiseError
from app.image.keys import KeyStore
from app.image.model import ImageVersion
from app.image.source import ImageSource
from app.smp.groups.img import ImageSlot
from app.smp.groups.os import BootloaderMode
from app.workflows.progress import ProgressCallback

log = logging.getLogger(__name__)


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
    """Upload order within a package (network core first on nRF5340-style devices)."""


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
        return next((s for s in self.slots
                     if s.image_number == image and s.slot == slot), None)

    def running(self, image: int) -> ImageSlot | None:
        """The active slot of `image` (slot 0 when no slot says active)."""
        listed = [s for s in self.slots if s.image_number == image]
        return next((s for s in listed if s.active), next(
            (s for s in listed if s.slot == 0), None))


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    mode: Mode = Mode.TEST
    image: int | None = None
    """Target image number for a single-image file (None: 0, or the package's numbers)."""
    reset: bool = True
    allow_downgrade: bool = False
    upload: UploadOptions = field(default_factory=UploadOptions)
    reboot_timeout_s: float = 60.0
    """How long to watch for the device after a reset before calling it lost."""
    poll_interval_s: float = 0.2


@dataclass(frozen=True, slots=True)
class ImageOutcome:
    image: int
    label: str
    outcome: Outcome
    message: str
    upload: UploadStats | None = None


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The whole run, in sentences and values."""

    ok: bool
    message: str
    images: tuple[ImageOutcome, ...]
    plan: tuple[str, ...] = ()
    """Pre-flight sentences: what the chosen mode does on this device."""
    advice: tuple[str, ...] = ()
    """Why the upload was slower than it could be, and which firmware setting to change."""
    slots: tuple[ImageSlot, ...] = ()
    """The image list after the run."""
    can_confirm: bool = False
    """A test image runs unconfirmed: offer `confirm_running`."""
    client: SmpClient | None = field(default=None, compare=False)
    """The client the run ended on (a new one after a reset or reconnect)."""


def load_update_images(path: Path, keys: KeyStore | None = None, *,
                       image: int | None = None) -> list[UpdateImage]:
    """Verify the file with app/image and describe each image to install, in upload order.

    Raises:
        ImageError: an image is invalid (bad hash, untrusted key or bad signature when `keys`
            is given); the sentence is the verdict's reason.
    """
    raise NotImplementedError


async def read_device_state(client: SmpClient) -> DeviceState:
    """Params, bootloader info and mode, slot info and image state (each optional)."""
    raise NotImplementedError


def describe_plan(state: DeviceState, images: list[UpdateImage],
                  options: UpdateOptions) -> list[str]:
    """What the chosen mode will do on this device, in plain sentences."""
    raise NotImplementedError


async def run_update(client: SmpClient, images: list[UpdateImage],
                     options: UpdateOptions | None = None, *,
                     on_progress: ProgressCallback | None = None,
                     cancel: asyncio.Event | None = None,
                     reconnect: Reconnect | None = None) -> UpdateResult:
    """Pre-flight, upload, verify, mark, reset and watch, for every image in order.

    Raises:
        UpdateError (HashMismatch, DowngradeRefused), UploadError, UploadCancelled,
        DeviceError, TransportError: with a sentence; a revert is a result, not an error.
    """
    raise NotImplementedError


async def confirm_running(client: SmpClient, image: int = 0) -> tuple[ImageSlot, ...]:
    """Confirm the running (test) image of `image` and return the new slot list."""
    raise NotImplementedError


async def wait_for_device(client: SmpClient, reconnect: Reconnect | None, *,
                          timeout_s: float, poll_interval_s: float = 0.2) -> SmpClient:
    """Watch the device come back after a reset: reconnect if needed, poll echo until it
    answers. Returns the client that answered.

    Raises:
        UpdateError: it did not answer within `timeout_s`.
    """
    raise NotImplementedError


def tuning_advice(stats: UploadStats, state: DeviceState | None = None) -> list[str]:
    """Why this upload was slower than it could be and which firmware setting to change."""
    raise NotImplementedError
