"""MCUboot serial recovery: recognise that the bootloader answers instead of the application,
and restore firmware through it. Plain asyncio, no Qt; the CLI and the GUI render the results.

The recovery (MCUboot boot/boot_serial) speaks a small SMP subset: image list, upload straight
into the primary slot, reset, and optionally echo and storage erase. It has one small buffer,
answers only SMP v1 `rc` errors, never reports `match`, and lists only slots holding a valid
image, without `active` flags. The restore flow: verify the file (the same verification as
upload), write it to the primary slot one request at a time in chunks that fit the
recovery's buffer, check the listed image, reset, and watch the application come back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.client.client import SmpClient
from app.client.sizing import DeviceBuffers
from app.client.upload import (
    Reconnect,
    UploadCancelled,
    UploadError,
    UploadOptions,
    UploadStats,
    UploadTick,
    upload_image,
)
from app.errors import DecodeError, TransportError, TransportTimeout
from app.smp.errors import DeviceError, MgmtErr
from app.smp.groups.img import ImageListEntries, ImageSlot, ImageStateEntries, running_slot
from app.smp.header import Version
from app.text import device_text
from app.workflows.progress import ProgressCallback, ProgressMeter, Stage
from app.workflows.update_types import HashMismatch, UpdateError, UpdateImage
from app.workflows.watch import wait_for_device

log = logging.getLogger(__name__)

RECOVERY_BUFFER_BYTES = 512
"""The recovery's receive buffer when it does not say (boot_serial.c's fallback for
MCUBOOT_SERIAL_MAX_RECEIVE_SIZE; Zephyr builds default to 1024): what every build takes."""

RECOVERY_SENTENCE = (
    "MCUboot serial recovery: the bootloader answers, not the application. "
    "Only restoring firmware into the primary slot works here."
)
"""What the CLI and the device view say about a board in recovery."""


@dataclass(frozen=True, slots=True)
class RecoveryState:
    """What a board in MCUboot serial recovery showed when it was recognised."""

    slots: tuple[ImageSlot, ...]
    """Only slots holding an image MCUboot validated; no `active`/`confirmed` flags."""
    lists_hashes: bool | None
    """CONFIG_BOOT_SERIAL_IMG_GRP_HASH: the list carries each image's hash (None: no image
    listed, so it cannot tell)."""
    echo: bool
    """CONFIG_BOOT_MGMT_ECHO: the recovery answers echo."""
    evidence: tuple[str, ...]
    """Why Slotwise believes it is the bootloader, in words."""

    def describe(self) -> list[str]:
        """Lines for `info` and the device view's details."""
        images = ", ".join(
            f"image {s.image_number} slot {s.slot} {device_text(s.version)}" for s in self.slots
        ) or ("no valid image in any slot")
        hashes = {
            True: "listed",
            False: "not listed (only versions can be checked)",
            None: "unknown until an image is listed",
        }[self.lists_hashes]
        return [
            RECOVERY_SENTENCE,
            f"valid images: {images}",
            f"echo {'answers' if self.echo else 'not built in'}; image hashes {hashes}",
            "recognised by: " + "; ".join(self.evidence),
        ]


def looks_like_recovery(listing: ImageListEntries) -> bool:
    """The image list's shape: Zephyr's img_mgmt always sends `splitStatus` and flags the
    running image `active`; MCUboot's serial recovery does neither."""
    return listing.split_status is None and not any("active" in e for e in listing.images)


async def detect_recovery(client: SmpClient) -> RecoveryState | None:
    """The board's recovery state, or None when an application answers.

    Reads the image list, and only if its shape says bootloader, asks OS info (never built
    into the recovery) and echo (optional there) to make sure.

    Raises:
        TransportError: the board does not answer.
        DecodeError: the image list is not one.
    """
    return (await read_image_list(client))[1]


async def read_image_list(client: SmpClient) -> tuple[list[ImageSlot], RecoveryState | None]:
    """The image list, and the recovery state when the bootloader's recovery answered it
    (one list read serves both, so the device view and `info` pay no extra round trip)."""
    try:
        listing = await client.request(ImageStateEntries())
    except TransportTimeout:
        if client.version == Version.V1:
            raise
        # MCUboot's serial recovery before PR #1751 ignores SMP v2 headers: ask once in v1,
        # and keep v1 for this link if that answers (every SMP server accepts v1).
        client.version = Version.V1
        try:
            listing = await client.request(ImageStateEntries())
        except TransportTimeout:
            client.version = Version.V2
            raise
        log.info("the device answers only SMP v1 headers; using v1 on this link")
    slots = [ImageSlot.from_body(entry) for entry in listing.images]
    if not looks_like_recovery(listing):
        return slots, None
    return slots, await _confirm_recovery(client, slots)


async def _confirm_recovery(client: SmpClient, slots: list[ImageSlot]) -> RecoveryState | None:
    evidence = ['the image list has no "active" image and no "splitStatus"']
    try:
        await client.os_info()
        return None  # an application with an unusual image list; OS info answers
    except DeviceError as exc:
        if not exc.not_supported:
            return None
        evidence.append("OS info is not supported")
    echo = True
    try:
        await client.echo("slotwise")
    except DeviceError:
        echo = False
    return RecoveryState(
        slots=tuple(slots),
        lists_hashes=any(s.hash is not None for s in slots) if slots else None,
        echo=echo,
        evidence=tuple(evidence),
    )


@dataclass(frozen=True, slots=True)
class RecoverOptions:
    buffer_bytes: int | None = None
    """The recovery's receive buffer (CONFIG_BOOT_SERIAL_MAX_RECEIVE_SIZE); None: what it
    reports through OS params, else RECOVERY_BUFFER_BYTES."""
    first_timeout_s: float = 5.0
    """The first chunk erases the whole primary slot before the answer comes."""
    watch_timeout_s: float = 30.0
    """How long to wait for the application after the reset."""
    bound_waits: Callable[[UploadOptions], UploadOptions] | None = None
    """Applied to the write's upload options: the CLI bounds every wait by its --timeout
    (app/cli/options.upload_waits), so a recovery that stops answering is not waited on for
    the upload's default 60 s."""


@dataclass(frozen=True, slots=True)
class RecoverResult:
    upload: UploadStats
    running: ImageSlot
    """What the application lists as running after the reset."""
    message: str


async def recover(
    client: SmpClient,
    item: UpdateImage,
    options: RecoverOptions | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    reconnect: Reconnect | None = None,
) -> RecoverResult:
    """Write a verified image through MCUboot's serial recovery and watch the application
    start from it.

    Raises:
        UpdateError: the board is not in recovery, refused or damaged the image, or did not
            come back running it; the sentence says which and what the board holds now.
        UpdateError: also when the transfer failed; the sentence then says that the slot
            holds a partial image and the board stays in recovery.
    """
    opts = options or RecoverOptions()
    meter = ProgressMeter(on_progress)
    # The recovery answers SMP v1; MCUboot before PR #1751 ignores v2 headers altogether.
    client.version = Version.V1
    meter.update(Stage.CHECKING, message="checking that the board is in serial recovery")
    state = await detect_recovery(client)
    if state is None:
        raise UpdateError(
            "the board's application answers, not MCUboot's serial recovery: update it with "
            "`upload` instead (recovery is entered with the board's button or boot-time wait)"
        )
    buffers = await _recovery_buffers(client, opts)
    stats = await _write(client, item, buffers, opts, meter)
    meter.update(Stage.CHECKING, message="checking the image the bootloader now lists")
    await _check_written(client, item)
    meter.update(Stage.RESETTING, message="resetting the board out of recovery")
    await client.reset()
    meter.update(Stage.WAITING, message="waiting for the application to start")
    client, running = await _watch(client, item, opts, reconnect)
    message = (
        f"the application is back: image {item.image} runs {running.version} "
        f"(restored through MCUboot serial recovery)"
    )
    meter.update(Stage.DONE, item.size, item.size, message=message, image=item.image)
    return RecoverResult(upload=stats, running=running, message=message)


async def _recovery_buffers(client: SmpClient, opts: RecoverOptions) -> DeviceBuffers:
    if opts.buffer_bytes is not None:
        return DeviceBuffers(opts.buffer_bytes, 1, reported=False)
    try:
        params = await client.params()
    except (DeviceError, DecodeError):
        return DeviceBuffers(RECOVERY_BUFFER_BYTES, 1, reported=False)
    return DeviceBuffers(params.buf_size, 1, reported=True)  # one buffer, whatever it says


async def _write(
    client: SmpClient,
    item: UpdateImage,
    buffers: DeviceBuffers,
    opts: RecoverOptions,
    meter: ProgressMeter,
) -> UploadStats:
    meter.update(
        Stage.UPLOADING,
        0,
        item.size,
        message=f"writing {item.label} into the primary slot of image {item.image} "
        f"({buffers.buf_size}-byte requests, one at a time)",
        image=item.image,
    )

    def tick(t: UploadTick) -> None:
        meter.update(
            Stage.UPLOADING,
            t.acked,
            t.total,
            message=t.message,
            retries=t.retries,
            image=item.image,
        )

    upload_options = UploadOptions(
        image=item.image, window=1, max_window=1, first_timeout_s=opts.first_timeout_s
    )
    if opts.bound_waits is not None:
        upload_options = opts.bound_waits(upload_options)
    source = item.open_source()
    try:
        result = await upload_image(
            client, source, options=upload_options, buffers=buffers, on_progress=tick
        )
    except UploadCancelled:
        raise  # asked for; the caller says what it left
    except UploadError as exc:
        cause = exc.__cause__
        if isinstance(cause, DeviceError) and cause.rc == MgmtErr.EINVAL and not cause.group_error:
            # boot_serial.c checks `len` against the slot before it erases anything
            raise UpdateError(
                f"MCUboot's recovery refused the image before writing it (rc 3, EINVAL), as it "
                f"does when {item.size} bytes exceed the primary slot of image {item.image} "
                f"(or the board has no image {item.image}); the slot was not erased"
            ) from exc
        raise UpdateError(f"{exc}; {_PARTIAL.format(image=item.image)}") from exc
    except TransportError as exc:
        raise UpdateError(f"{exc}; {_PARTIAL.format(image=item.image)}") from exc
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return result.stats


_PARTIAL = (
    "the recovery writes straight into the primary slot, so image {image}'s primary slot is "
    "now partly written (or erased): the board stays in serial recovery until a restore "
    "completes; run recover again"
)
"""Said after any failed write: "nothing was marked" alone reads as "nothing changed"."""


async def _check_written(client: SmpClient, item: UpdateImage) -> None:
    """The primary slot must list the image: the recovery lists only images MCUboot validates
    (hash, and signature with the board's key), so a missing entry is a refused image."""
    state = await detect_recovery(client)
    slots = state.slots if state is not None else ()
    primary = next((s for s in slots if s.image_number == item.image and s.slot == 0), None)
    if primary is None:
        raise UpdateError(
            f"the whole image was written, but MCUboot does not accept what its primary slot "
            f"now holds (no valid image {item.image} listed): the image is not signed with this "
            f"board's key or the write was damaged. The board stays in serial recovery."
        )
    if primary.hash is not None and primary.hash != item.image_hash:
        listed = primary.hash.hex()[:16] if primary.hash else "none"
        raise HashMismatch(
            f"the bootloader lists hash {listed}... in the primary slot, not the image's "
            f"{item.image_hash.hex()[:16]}...; the board stays in serial recovery"
        )
    if primary.version != item.version.smp_text:
        raise UpdateError(
            f"the bootloader lists version {primary.version} in the primary slot, not "
            f"{item.version.smp_text}; the board stays in serial recovery"
        )


async def _watch(
    client: SmpClient, item: UpdateImage, opts: RecoverOptions, reconnect: Reconnect | None
) -> tuple[SmpClient, ImageSlot]:
    def application_runs(slots: list[ImageSlot]) -> bool:  # the recovery never lists `active`
        return any(s.active for s in slots)

    try:
        client, slots = await wait_for_device(
            client, reconnect, timeout_s=opts.watch_timeout_s, ready=application_runs
        )
    except UpdateError as exc:
        still = None
        with contextlib.suppress(TransportError, DecodeError, DeviceError):
            still = await detect_recovery(client)
        if still is not None:
            raise UpdateError(
                "the image was written and checked, but after the reset the board is still in "
                "serial recovery: release its recovery button (or stop the boot-time wait) "
                "and reset it"
            ) from exc
        raise UpdateError(
            f"the image was written and checked, but the application did not answer after the "
            f"reset ({exc})"
        ) from exc
    running = running_slot(slots, item.image)
    if running is None or running.hash != item.image_hash:
        what = running.version if running is not None else "nothing"
        raise UpdateError(
            f"after the reset the board runs {what} as image {item.image}, not the restored "
            f"{item.version.smp_text}"
        )
    return client, running
