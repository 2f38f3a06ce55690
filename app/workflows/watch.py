"""After the marks: read the slots, watch the device come back from a reset, say what runs,
and confirm the running image. Plain asyncio, no Qt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from app.client.client import SmpClient
from app.client.upload import Reconnect
from app.errors import DecodeError, TransportError, TransportTimeout
from app.smp.errors import DeviceError
from app.smp.groups.img import ImageSlot, ImageState, running_slot
from app.workflows.update_types import Mode, Outcome, UpdateError, UpdateImage, WaitCancelled

log = logging.getLogger(__name__)


async def read_slots(client: SmpClient, attempts: int = 3) -> list[ImageSlot]:
    """The image list; a garbled or lost answer is asked again (reading is harmless)."""
    for attempt in range(attempts):
        try:
            return await client.image_state()
        except (TransportTimeout, DecodeError):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def classify_boot(
    slots: list[ImageSlot] | tuple[ImageSlot, ...], item: UpdateImage, mode: Mode
) -> tuple[Outcome, str]:
    """After a reset: does the new image run (confirmed or not), or did the device revert?"""
    running = running_slot(slots, item.image)
    if running is not None and running.hash == item.image_hash:
        if running.confirmed:
            how = "it is confirmed" if mode is Mode.CONFIRM else "it confirmed itself"
            return Outcome.CONFIRMED, f"image {item.image} now runs {running.version}; {how}"
        return Outcome.TESTING, (
            f"image {item.image} now runs {running.version}, not confirmed yet: confirm it, "
            "or the next reset reverts to the previous image"
        )
    old = running.version if running is not None else "its previous image"
    return Outcome.REVERTED, (
        f"the device came back on {old}: the new image {item.version.smp_text} did not boot "
        "or was not confirmed"
    )


async def confirm_running(client: SmpClient, image: int = 0) -> tuple[ImageSlot, ...]:
    """Confirm the running (test) image of `image` and return the new slot list.

    Image 0 is confirmed without a hash (the device confirms what it runs); another image by
    the hash of its running slot, which on direct-XIP can be slot 1.
    """
    if image == 0:
        return tuple(await client.image_confirm())
    running = running_slot(await client.image_state(), image)
    if running is None or running.hash is None:
        raise UpdateError(f"the device lists no running image {image} to confirm")
    return tuple(await client.image_confirm(running.hash))


async def wait_for_device(
    client: SmpClient,
    reconnect: Reconnect | None,
    *,
    timeout_s: float,
    poll_interval_s: float = 0.2,
    ready: Callable[[list[ImageSlot]], bool] | None = None,
    cancel: asyncio.Event | None = None,
) -> tuple[SmpClient, list[ImageSlot]]:
    """Watch the device come back after a reset: poll its image list (reconnecting when the
    link dropped) until it answers and `ready(slots)` holds. Returns the client and the list.

    Raises:
        UpdateError: it did not come back within `timeout_s`.
        WaitCancelled: `cancel` was set (checked before every poll and reconnect, so a left
            device is not reconnected behind the caller's back).
    """
    deadline = time.monotonic() + timeout_s
    probe_s = max(poll_interval_s * 2, 0.5)
    last = "no answer"
    while time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            raise WaitCancelled("stopped watching the device come back after the reset")
        try:
            if not client.is_connected:
                if reconnect is None:
                    raise UpdateError(
                        "the link dropped during the reset and there is no way to reconnect"
                    )
                with contextlib.suppress(TransportError):
                    await client.close()
                client = await reconnect()
            slots = await client.request(ImageState(), timeout_s=probe_s, retries=0)
            if ready is None or ready(slots.images):
                return client, slots.images
            last = "it has not rebooted yet"
        except (TransportError, DecodeError, DeviceError) as exc:
            last = str(exc)
        if cancel is None:
            await asyncio.sleep(poll_interval_s)
        else:  # wake at once when cancelled
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cancel.wait(), poll_interval_s)
    raise UpdateError(
        f"the device did not come back within {timeout_s:g} s after the reset ({last})"
    )
