"""A multi-image update whose second mark fails says which images are already marked and
how to undo it, instead of a bare "refused to mark image 0"."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workflows.images import load_update_images
from app.workflows.update import UpdateOptions, run_update
from app.workflows.update_types import Mode, UpdateError
from tests.upload.conftest import ImageFactory, serve, sim_device, two_image_package


@pytest.mark.parametrize("mode", [Mode.TEST, Mode.CONFIRM])
async def test_failed_second_mark_names_the_marked_image_and_the_undo(
    mode: Mode, images: ImageFactory, tmp_path: Path
) -> None:
    """Image 1 is marked, image 0's mark is refused: the error says image 1 IS marked and to
    erase absolute slot 3, no reset happens, and that erase does undo it."""
    items = load_update_images(two_image_package(images, tmp_path, seeds=(5, 6)))
    device = sim_device(images=2, profile="zephyr-modern")
    device.refuse_state_write_for_image(0)
    async with serve("udp", device) as rig:
        client = await rig.connect()
        with pytest.raises(UpdateError) as caught:
            await run_update(client, items, UpdateOptions(mode=mode), reconnect=rig.connect)
        text = str(caught.value)
        assert "marking image 0 failed" in text
        assert "image(s) 1 ARE marked" in text
        assert "erase absolute slot(s) 3" in text
        assert device.counters["reboots"] == 0
        assert device.flags(3).pending and not device.flags(1).pending
        await client.image_erase(3)  # the advice works: nothing is left to swap
        assert not any(s.pending for s in await client.image_state())


async def test_failed_first_mark_keeps_its_own_sentence(
    images: ImageFactory, tmp_path: Path
) -> None:
    """When the very first mark fails nothing is marked, and the error does not claim so."""
    items = load_update_images(two_image_package(images, tmp_path, seeds=(5, 6)))
    device = sim_device(images=2)
    device.refuse_state_write_for_image(1)
    async with serve("udp", device) as rig:
        client = await rig.connect()
        with pytest.raises(UpdateError) as caught:
            await run_update(client, items, reconnect=rig.connect)
        assert "refused to mark image 1" in str(caught.value)
        assert "ARE marked" not in str(caught.value)
        assert not any(s.pending for s in await client.image_state())
