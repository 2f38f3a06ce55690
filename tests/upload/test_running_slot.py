"""One rule for "which slot runs" (active, else slot 0) and one parser for the bootloader
mode, shared by the workflow, diagnostics and the GUI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.client.sizing import DeviceBuffers
from app.gui.targets import DeviceIdentity, DeviceSnapshot, DeviceTarget, SlotView
from app.smp.groups.img import ImageSlot, running_slot
from app.smp.groups.os import BootloaderMode
from app.workflows.diagnostics import mode_text
from app.workflows.images import load_update_images
from app.workflows.update import run_update
from app.workflows.update_types import DeviceState, Mode, Outcome, UpdateImage
from app.workflows.watch import classify_boot, confirm_running
from tests.upload.conftest import ImageFactory, serve, sim_device


def slot(image: int, number: int, *, active: bool = False, digest: bytes = b"") -> ImageSlot:
    return ImageSlot(
        slot=number,
        version=f"1.{image}.{number}",
        hash=digest or None,
        image=image,
        active=active,
        confirmed=active,
    )


def test_running_slot_prefers_the_active_flag_even_in_slot_one() -> None:
    """On direct-XIP slot 1 can run: the listed active flag wins over "slot 0"."""
    slots = [slot(0, 0), slot(0, 1, active=True), slot(1, 0, active=True)]
    assert running_slot(slots, 0) is slots[1]
    assert running_slot(slots, 1) is slots[2]


def test_running_slot_falls_back_to_slot_zero_and_to_none() -> None:
    """Without any active flag the primary runs; an unlisted image has no running slot."""
    slots = [slot(0, 1), slot(0, 0), slot(1, 1, active=True)]
    assert running_slot(slots, 0) is slots[1]
    assert running_slot(slots, 2) is None


def test_workflow_and_gui_use_the_same_rule() -> None:
    """DeviceState.running, classify_boot and DeviceSnapshot.running all see slot 1 running
    when it is the active one."""
    new = b"\x11" * 32
    slots = (slot(0, 0, digest=b"\x22" * 32), slot(0, 1, active=True, digest=new))
    state = DeviceState(DeviceBuffers(2048, 4, True), slots)
    assert state.running(0) is slots[1]
    item = UpdateImage("x", 0, 100, new, None, lambda: None)  # type: ignore[arg-type]
    assert classify_boot(slots, item, Mode.TEST)[0] is Outcome.CONFIRMED
    views = tuple(
        SlotView(
            s.image_number,
            s.slot,
            s.version,
            s.hash,
            None,
            s.active,
            False,
            s.confirmed,
            False,
            True,
        )
        for s in slots
    )
    empty = SlotView(1, 0, "", None, 4096, False, False, False, False, False, empty=True)
    target = DeviceTarget(spec="udp:x", kind="udp", name="x", address="x")
    snapshot = DeviceSnapshot(target, _identity(), (*views, empty))
    assert snapshot.running(0) is views[1]
    assert snapshot.running(1) is None  # an empty placeholder never runs


def _identity() -> DeviceIdentity:
    return DeviceIdentity(
        name="x",
        os_info="",
        app_info="",
        bootloader="",
        bootloader_mode="",
        no_downgrade=False,
        buf_size=None,
        buf_count=None,
        link_kind="udp",
        address="x",
        mtu=None,
        max_frame_bytes=None,
    )


def test_bootloader_mode_parse() -> None:
    """Known numbers become the enum; None and numbers from a newer MCUboot become None."""
    assert BootloaderMode.parse(4) is BootloaderMode.DIRECT_XIP
    assert BootloaderMode.parse(None) is None
    assert BootloaderMode.parse(42) is None
    assert mode_text(3) == BootloaderMode.SWAP_USING_MOVE.description
    assert mode_text(42) == "mode 42 (unknown to Slotwise)"
    assert mode_text(None) == "not reported"


async def test_confirm_running_confirms_image_one_by_its_running_slot(images: ImageFactory) -> None:
    """After a test-mode update of image 1, confirm_running(client, 1) confirms the image
    that runs there (found by running_slot), not image 0."""
    path: Path = images("1.3.0", 20 * 1024, seed=7)
    device = sim_device(images=2)
    # CONFIG_MCUMGR_GRP_IMG_ALLOW_CONFIRM_NON_ACTIVE_IMAGE_ANY: image 1 may be confirmed
    device.profile = replace(device.profile, confirm_any_image=True)
    async with serve("udp", device) as rig:
        client = await rig.connect()
        result = await run_update(client, load_update_images(path, image=1), reconnect=rig.connect)
        assert result.images[0].outcome is Outcome.TESTING
        assert result.client is not None
        slots = await confirm_running(result.client, 1)
        running = running_slot(slots, 1)
        assert running is not None and running.version == "1.3.0" and running.confirmed
