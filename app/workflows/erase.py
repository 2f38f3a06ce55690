"""Erasing a slot: read the image list first, so an empty slot is said to be empty.

Zephyr 3.4 answers an erase of an already empty slot with `rc 1` (EUNKNOWN), which reads as a
failure; the image list tells the same fact in words before anything is sent. No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.client import SmpClient

DEFAULT_ERASE_SLOT = 1
"""Without a slot, Zephyr's img_mgmt erases the secondary slot of image 0 (absolute slot 1)."""


@dataclass(frozen=True, slots=True)
class EraseResult:
    slot: int
    """The absolute slot (image * 2 + slot) the erase was about."""
    erased: bool
    """False when the slot was already empty and nothing was sent."""

    @property
    def sentence(self) -> str:
        if self.erased:
            return f"erased slot {self.slot}"
        return f"slot {self.slot} is already empty: nothing to erase"


async def erase_slot(client: SmpClient, slot: int | None = None) -> EraseResult:
    """Erase absolute `slot` (default: the device's, slot 1) unless the image list shows it
    already empty."""
    target = DEFAULT_ERASE_SLOT if slot is None else slot
    listed = {s.image_number * 2 + s.slot for s in await client.image_state()}
    if target not in listed:
        return EraseResult(target, erased=False)
    await client.image_erase(slot)
    return EraseResult(target, erased=True)
