"""What happens between reset and the application running again: MCUboot per image."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.sim.slots import SWAP_MODES, boot_direct_xip, boot_overwrite, boot_swap
from app.smp.groups.os import BootloaderMode

if TYPE_CHECKING:
    from app.sim.device import SimDevice

log = logging.getLogger(__name__)


def boot_all(dev: SimDevice) -> list[int]:
    """Run the simulated MCUboot for every image; returns each image's running slot (0/1)."""
    active = []
    for image in range(dev.config.images):
        primary, secondary = dev.image_slots(image)
        if dev.mode in SWAP_MODES:
            outcome = boot_swap(primary, secondary)
            active.append(0)
        elif dev.mode is BootloaderMode.OVERWRITE_ONLY:
            outcome = boot_overwrite(primary, secondary, dev.no_downgrade)
            active.append(0)
        elif dev.mode in (BootloaderMode.DIRECT_XIP, BootloaderMode.DIRECT_XIP_WITH_REVERT):
            chosen = boot_direct_xip((primary, secondary))
            outcome = f"run slot {chosen}"
            active.append(chosen)
        else:
            outcome = "single slot"
            active.append(0)
        log.info("sim mcuboot: image %d: %s", image, outcome)
    return active
