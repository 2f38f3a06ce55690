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
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from app.client.client import SmpClient
from app.client.sizing import DeviceBuffers, read_buffers, read_window, request_limit
from app.client.upload import Reconnect, UploadOptions, UploadStats, UploadTick, upload_image
from app.errors import DecodeError, TransportError, TransportTimeout
from app.image.verify import VerdictKind
from app.smp.errors import DeviceError
from app.smp.groups.img import ImageSlot
from app.smp.groups.os import BootloaderMode
from app.transport.base import LinkInfo
from app.workflows.advice import tuning_advice
from app.workflows.preflight import (
    YES_FLAGS,
    Check,
    CheckKind,
    CheckSeverity,
    Choices,
    PreflightImage,
    preflight,
)
from app.workflows.progress import ProgressCallback, ProgressMeter, Stage
from app.workflows.recovery import read_image_list
from app.workflows.update_types import (
    DeviceState,
    DowngradeRefused,
    HashMismatch,
    Mode,
    Outcome,
    UpdateError,
    UpdateImage,
)
from app.workflows.watch import classify_boot, read_slots, wait_for_device

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    mode: Mode = Mode.TEST
    image: int | None = None
    """Target image number for a single-image file (None: 0, or the package's numbers)."""
    reset: bool = True
    allow_downgrade: bool = False
    allow_encrypted_unproven: bool = False
    """The user chose to upload an encrypted image whose contents could not be checked
    (verdict encrypted-unproven); read by whoever loads the images (the GUI session)."""
    allow_clear_payload: bool = False
    """The user chose to upload an `imgtool sign --clear` image to the secondary slot."""
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


# --- the device side ---------------------------------------------------------------------------


async def read_device_state(client: SmpClient) -> DeviceState:
    """Params, bootloader info and mode, slot info and image state (all but the last optional).

    Params first (they say how many requests the device takes at once), then the other four
    together, at most buf_count - 1 in flight: two round trips instead of five where the
    device has the buffers, the same five where it has two (more would be refused)."""
    buffers = await read_buffers(client)
    limited = read_window(buffers)

    # The mode query is sent beside the name: MCUboot answers it, and its answer is
    # used only when the name says MCUboot (or no name comes).
    loader, mode_answer, slot_info, (images, recovery) = await asyncio.gather(
        _optional(limited(client.bootloader_info())),
        _optional(limited(client.bootloader_info("mode"))),
        _optional(limited(client.slot_info())),
        limited(read_image_list(client)),
    )
    if recovery is not None:  # its upload lands in the primary slot, with no test or confirm
        raise UpdateError(
            "the board is in MCUboot serial recovery (the bootloader answers, not the "
            "application): restore it with `recover` (GUI: Restore firmware), which writes the "
            "primary slot; nothing was sent"
        )
    name = loader.bootloader if loader is not None else None
    mode = None
    no_downgrade = False
    if mode_answer is not None and (name is None or name.lower() == "mcuboot"):
        mode = BootloaderMode.parse(mode_answer.mode)
        no_downgrade = bool(mode_answer.no_downgrade)
    sizes: dict[tuple[int, int], int] = {}
    for entry in slot_info or ():
        for slot in entry.slots:
            sizes[(entry.image, slot.slot)] = slot.size
    return DeviceState(buffers, tuple(images), name, mode, no_downgrade, sizes)


async def _optional(read: Awaitable[T]) -> T | None:
    """A read the pre-flight can do without: None when the device refuses or does not say."""
    try:
        return await read
    except (DeviceError, DecodeError, TransportTimeout) as exc:
        log.debug("optional pre-flight read: %s", exc)
        return None


def describe_plan(
    state: DeviceState,
    images: list[UpdateImage],
    options: UpdateOptions,
    link: LinkInfo | None = None,
) -> list[str]:
    """What the chosen mode will do on this device, in plain sentences."""
    lines = []
    mode = state.mode
    if mode is not None:
        lines.append(f"The device's bootloader: MCUboot in {mode.description} mode.")
    elif state.bootloader is None:
        lines.append(
            "The device does not report its bootloader (no bootloader info in its firmware)."
        )
    else:
        lines.append(f"The device's bootloader: {state.bootloader} (its mode is not reported).")
    for item in images:
        running = state.running(item.image)
        now = f"runs {running.version}" if running else "reports no running image"
        lines.append(
            f"Image {item.image} {now}; the file holds {item.version.smp_text} "
            f"({item.size} bytes, hash {item.image_hash.hex()[:16]}...)."
        )
    lines.append(_mode_sentence(options, mode))
    if state.no_downgrade:
        lines.append("The bootloader refuses downgrades (no-downgrade is set).")
    if link is not None:
        limit = request_limit(link, state.buffers, options.upload.max_request_bytes)
        window = options.upload.window or state.buffers.in_flight
        said = "reports" if state.buffers.reported else "does not report its buffers; assuming"
        lines.append(
            f"The device {said} {state.buffers.buf_count} buffers of "
            f"{state.buffers.buf_size} bytes: requests of up to "
            f"{limit.max_request_bytes} bytes ({limit.limited_by}), {window} in flight."
        )
    return lines


def _mode_sentence(options: UpdateOptions, mode: BootloaderMode | None) -> str:
    if options.mode is Mode.NONE:
        return (
            "Upload only: the image is written to the spare slot and its hash checked; "
            "nothing is marked and the device is not reset."
        )
    reset = (
        "then the device is reset and watched until it is back"
        if options.reset
        else "the device is not reset (--no-reset): the change takes effect at the next reset"
    )
    if mode is BootloaderMode.OVERWRITE_ONLY:
        return (
            "Overwrite-only bootloader: there is no rollback; at the next boot the new "
            f"image replaces the old one for good whatever the mode; {reset}."
        )
    if mode in (BootloaderMode.DIRECT_XIP, BootloaderMode.DIRECT_XIP_WITH_REVERT):
        return (
            "Direct-XIP: the bootloader boots the slot with the higher version; the image "
            f"is uploaded to the slot that is not running; {reset}."
        )
    if mode is BootloaderMode.FIRMWARE_LOADER:
        return (
            "Firmware-loader mode: the image goes to the application slot through the "
            f"loader; {reset}."
        )
    if options.mode is Mode.CONFIRM:
        return (
            "Confirm mode: the new image is marked permanent, so MCUboot swaps it in with "
            f"no way back if it fails; {reset}."
        )
    return (
        "Test mode: the new image is marked for one trial boot; MCUboot swaps it in and "
        f"reverts at the following reset unless it is confirmed; {reset}."
    )


# --- the run -----------------------------------------------------------------------------------


async def run_update(
    client: SmpClient,
    images: list[UpdateImage],
    options: UpdateOptions | None = None,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
    reconnect: Reconnect | None = None,
) -> UpdateResult:
    """Pre-flight, upload, verify, mark, reset and watch, for every image in order.

    Raises:
        UpdateError (HashMismatch, DowngradeRefused), UploadError, UploadCancelled,
        DeviceError, TransportError: with a sentence; a revert is a result, not an error.
    """
    run = _Run(client, options or UpdateOptions(), ProgressMeter(on_progress), cancel, reconnect)
    return await run.execute(images)


class _Run:
    def __init__(
        self,
        client: SmpClient,
        options: UpdateOptions,
        meter: ProgressMeter,
        cancel: asyncio.Event | None,
        reconnect: Reconnect | None,
    ) -> None:
        self.client = client
        self.options = options
        # What reaches the run was loaded by load_update_images, which let an encrypted image
        # with unproven contents through only on the caller's explicit choice, and an image
        # unchecked for origin only when the caller gave no trusted key.
        self.choices = Choices(
            allow_downgrade=options.allow_downgrade,
            allow_clear_payload=options.allow_clear_payload,
            allow_encrypted_unproven=True,
            allow_unchecked_origin=True,
        )
        self.meter = meter
        self.cancel = cancel
        self.reconnect = reconnect
        self.outcomes: dict[int, ImageOutcome] = {}
        self.stats: list[UploadStats] = []
        self.uploads: dict[int, UploadStats] = {}

    def say(self, stage: Stage, message: str, image: int = 0) -> None:
        log.info("%s: %s", stage, message)
        self.meter.update(stage, message=message, image=image)

    async def execute(self, images: list[UpdateImage]) -> UpdateResult:
        if not images:
            raise UpdateError("there is no image to upload")
        self.say(Stage.CHECKING, "reading what the device has")
        state = await read_device_state(self.client)
        plan = describe_plan(state, images, self.options, self.client.link)
        for line in plan:
            self.say(Stage.CHECKING, line)
        to_mark = []
        for item in images:
            if await self._prepare_and_upload(state, item):
                to_mark.append(item)
        advice = tuple(a for s in self.stats for a in tuning_advice(s, state))
        if self.options.mode is Mode.NONE or not to_mark:
            return self._finish(state.slots, plan, advice)
        if state.mode is BootloaderMode.DIRECT_XIP:
            # No image-state write in direct-XIP without revert: the higher version boots.
            self.say(
                Stage.CHECKING,
                "direct-XIP: nothing to mark; the bootloader boots the "
                "slot with the higher version",
            )
            slots = tuple(await read_slots(self.client))
        else:
            slots = await self._mark(to_mark)
        if not self.options.reset:
            for item in to_mark:
                self._outcome(item, Outcome.PENDING, "marked; it takes effect at the next reset")
            return self._finish(slots, plan, advice)
        slots = await self._reset_and_watch(to_mark)
        for item in to_mark:
            outcome, message = classify_boot(slots, item, self.options.mode)
            self._outcome(item, outcome, message)
        return self._finish(slots, plan, advice)

    async def _prepare_and_upload(self, state: DeviceState, item: UpdateImage) -> bool:
        """The pre-flight policy, then the upload and its hash check; False when nothing is
        left to mark. Nobody is here to answer a question, so an ASK refuses like a BLOCK."""
        checks = preflight(_image_facts(item), state.facts(), self.choices)
        for check in checks:
            if check.severity in (CheckSeverity.BLOCK, CheckSeverity.ASK):
                raise _refusal(check)
            if check.severity is CheckSeverity.WARN and check.kind in _SAID_HERE:
                self.say(Stage.CHECKING, f"warning: {check.sentence}", item.image)
        already = next((c for c in checks if c.kind is CheckKind.ALREADY_RUNS), None)
        if already is not None:
            confirmed = already.numbers.get("confirmed") == "yes"
            outcome = Outcome.ALREADY_PRESENT if confirmed else Outcome.TESTING
            self._outcome(item, outcome, already.sentence)
            return False
        held = next((c for c in checks if c.kind is CheckKind.ALREADY_HELD), None)
        if held is not None:
            self.say(Stage.CHECKING, held.sentence, item.image)
        else:
            await self._upload(item, state.buffers)
        await self._verify(item)
        if self.options.mode is Mode.NONE:
            done = (
                "uploaded (encrypted: its contents were not checked here, the bootloader "
                "checks them); nothing marked"
                if item.contents_unproven
                else "uploaded and verified; nothing marked"
            )
            self._outcome(item, Outcome.UPLOADED, done)
        return True

    async def _upload(self, item: UpdateImage, buffers: DeviceBuffers) -> None:
        source = item.open_source()
        try:
            if source.size != item.size:  # changed since its check: not one byte goes out
                raise UpdateError(
                    f"{item.label} is {source.size} bytes now but {item.size} bytes when it was "
                    "verified: it changed on disk; nothing was uploaded"
                )
            self.meter.restart()
            self.say(Stage.UPLOADING, f"uploading {item.label} to image {item.image}", item.image)

            def tick(t: UploadTick) -> None:
                self.meter.update(
                    Stage.UPLOADING,
                    t.acked,
                    t.total,
                    message=t.message,
                    retries=t.retries,
                    resumes=t.resumes,
                    image=item.image,
                    window=t.window,
                )

            result = await upload_image(
                self.client,
                source,
                options=replace(self.options.upload, image=item.image),
                buffers=buffers,  # read by the pre-flight: not asked again
                sha=item.file_sha256,
                on_progress=tick,
                cancel=self.cancel,
                reconnect=self.reconnect,
            )
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self.client = result.client
        self.stats.append(result.stats)
        self.uploads[item.image] = result.stats
        if result.stats.match is False:
            raise HashMismatch(
                f"the device reports that the bytes in its slot differ from the uploaded file "
                f"(match: false) for image {item.image}; the image was not marked"
            )

    async def _verify(self, item: UpdateImage) -> None:
        """The device's hash of a non-running slot must equal the image's before marking."""
        self.say(Stage.CHECKING, "checking the device's hash of the uploaded slot", item.image)
        slots = await read_slots(self.client)
        mine = [s for s in slots if s.image_number == item.image and not s.active]
        if any(s.hash == item.image_hash for s in mine):
            return
        listed = (
            ", ".join(f"slot {s.slot}: {s.hash.hex()[:16] if s.hash else 'no hash'}" for s in mine)
            or "no image in the spare slot"
        )
        raise HashMismatch(
            f"the device's hash of image {item.image} ({listed}) does not match the image's "
            f"{item.image_hash.hex()[:16]}...; the image was not marked"
        )

    async def _mark(self, items: list[UpdateImage]) -> tuple[ImageSlot, ...]:
        slots: list[ImageSlot] = []
        done: list[UpdateImage] = []
        for item in items:
            verb = "permanent" if self.options.mode is Mode.CONFIRM else "for test"
            self.say(Stage.CHECKING, f"marking image {item.image} {verb}", item.image)
            try:
                slots = await self._mark_one(item)
            except (UpdateError, TransportError) as exc:
                if not done:
                    raise
                # Images are marked one by one: the earlier ones stay pending and would swap
                # alone at the next reset (e.g. a new net core under an old app); say so.
                raise UpdateError(_half_marked(item, exc, done, slots)) from exc
            done.append(item)
        return tuple(slots)

    async def _mark_one(self, item: UpdateImage) -> list[ImageSlot]:
        """Test or confirm once; a lost or garbled answer is checked by reading the list
        (marking is not blindly repeated, transports.md §3)."""
        permanent = self.options.mode is Mode.CONFIRM
        for _attempt in range(3):
            try:
                if permanent:
                    return await self.client.image_confirm(item.image_hash)
                return await self.client.image_test(item.image_hash)
            except DeviceError as exc:
                raise UpdateError(f"the device refused to mark image {item.image}: {exc}") from exc
            except (TransportTimeout, DecodeError) as exc:
                log.info("marking image %d: %s; reading the list to see", item.image, exc)
            slots = await read_slots(self.client)
            if any(
                s.hash == item.image_hash and s.pending and s.permanent == permanent for s in slots
            ):
                return slots
        raise UpdateError(f"the device did not confirm that image {item.image} is marked")

    async def _reset_and_watch(self, items: list[UpdateImage]) -> tuple[ImageSlot, ...]:
        self.say(Stage.RESETTING, "resetting the device")
        await self.client.reset()
        self.say(Stage.WAITING, "waiting for the device to come back")
        marked = {i.image_hash for i in items}

        def rebooted(slots: list[ImageSlot]) -> bool:
            # Before the reboot the marked slots are pending; after it MCUboot has acted.
            return not any(s.pending and s.hash in marked for s in slots)

        self.client, slots = await wait_for_device(
            self.client,
            self.reconnect,
            timeout_s=self.options.reboot_timeout_s,
            poll_interval_s=self.options.poll_interval_s,
            ready=rebooted,
            cancel=self.cancel,
        )
        return tuple(slots)

    def _outcome(self, item: UpdateImage, outcome: Outcome, message: str) -> None:
        self.outcomes[item.image] = ImageOutcome(
            item.image, item.label, outcome, message, self.uploads.get(item.image)
        )
        self.say(Stage.CHECKING, message, item.image)

    def _finish(
        self, slots: tuple[ImageSlot, ...], plan: list[str], advice: tuple[str, ...]
    ) -> UpdateResult:
        outcomes = tuple(self.outcomes.values())
        ok = all(o.outcome not in (Outcome.REVERTED, Outcome.FAILED) for o in outcomes)
        message = " ".join(o.message[:1].upper() + o.message[1:] + "." for o in outcomes)
        can_confirm = any(o.outcome is Outcome.TESTING for o in outcomes)
        self.meter.update(Stage.DONE if ok else Stage.FAILED, message=message)
        return UpdateResult(
            ok, message, outcomes, tuple(plan), advice, slots, can_confirm, self.client
        )


_SAID_HERE = (CheckKind.DOWNGRADE, CheckKind.VERSION_UNKNOWN, CheckKind.SAME_VERSION)
"""Warnings about the device the workflow says; the image's own were said when it was loaded."""


def _image_facts(item: UpdateImage) -> PreflightImage:
    """The policy's view of an image to install (built from its verdict when it was loaded)."""
    if item.facts is not None:
        return replace(item.facts, image=item.image)
    kind = VerdictKind.ENCRYPTED_UNPROVEN if item.contents_unproven else VerdictKind.VALID
    return PreflightImage(
        image=item.image,
        label=item.label,
        kind=kind,
        version=item.version,
        hash=item.image_hash,
        mcuboot=item.mcuboot,
    )


def _refusal(check: Check) -> UpdateError:
    """The error a refused pre-flight check ends the run with, naming the way to say yes."""
    flag = YES_FLAGS.get(check.kind)
    text = f"{check.sentence}; use {flag} to install it anyway" if flag else check.sentence
    if check.kind in (CheckKind.DOWNGRADE, CheckKind.VERSION_UNKNOWN):
        return DowngradeRefused(text)
    if check.kind is CheckKind.TOO_LARGE:
        return UpdateError(f"image {check.image}: {text}")
    return UpdateError(text)


def _half_marked(
    failed: UpdateImage, exc: Exception, done: list[UpdateImage], slots: list[ImageSlot]
) -> str:
    """The sentence for a multi-image mark that stopped part way: what is marked, and how
    to undo it (erase of a pending secondary is allowed, smp-protocol.md §6.1.3 step 7)."""
    numbers = ", ".join(str(i.image) for i in done)
    absolute = []
    for item in done:
        held = next(
            (
                s
                for s in slots
                if s.image_number == item.image and not s.active and s.hash == item.image_hash
            ),
            None,
        )
        absolute.append(str(item.image * 2 + (held.slot if held is not None else 1)))
    return (
        f"marking image {failed.image} failed ({exc}); image(s) {numbers} ARE marked and "
        "will be installed alone at the next reset: do not reset; erase absolute slot(s) "
        f"{', '.join(absolute)} (slotwise erase --slot N) to undo"
    )
