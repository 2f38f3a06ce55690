"""The update workflow against the simulator: verified completion, modes, reset and watch,
revert detection, skipping, downgrades, packages and multi-image devices."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest

from app.client.upload import SentBytesMismatch, UploadOptions
from app.image.errors import ImageError
from app.image.keys import KeyStore
from app.sim.device import SimDevice
from app.smp.groups.os import BootloaderMode
from app.workflows.images import load_update_images
from app.workflows.progress import ProgressEvent, Stage
from app.workflows.update import UpdateOptions, run_update
from app.workflows.update_types import (
    DowngradeRefused,
    HashMismatch,
    Mode,
    Outcome,
    UpdateError,
)
from app.workflows.watch import classify_boot, confirm_running, wait_for_device
from tests.upload.conftest import ImageFactory, serve, sim_device, two_image_package


def running(device: SimDevice, image: int = 0) -> str | None:
    return device.running_version(image)


async def test_test_mode_flow_then_confirm(transport_kind: str, images: ImageFactory) -> None:
    """Upload, test, reset, wait: the new image runs unconfirmed; confirming makes it stay."""
    path = images("1.2.0", 40 * 1024)
    events: list[ProgressEvent] = []
    async with serve(transport_kind, sim_device()) as rig:
        client = await rig.connect()
        result = await run_update(
            client, load_update_images(path), reconnect=rig.connect, on_progress=events.append
        )
        assert result.ok and result.can_confirm
        assert result.images[0].outcome is Outcome.TESTING
        assert running(rig.device) == "1.2.0"
        active = next(s for s in result.slots if s.active)
        assert active.version == "1.2.0" and not active.confirmed
        stages = [e.stage for e in events]
        for stage in (Stage.CHECKING, Stage.UPLOADING, Stage.RESETTING, Stage.WAITING, Stage.DONE):
            assert stage in stages
        assert stages.index(Stage.UPLOADING) < stages.index(Stage.RESETTING)
        assert result.client is not None
        slots = await confirm_running(result.client)
        assert next(s for s in slots if s.active).confirmed
        await result.client.reset()
        _, after = await wait_for_device(
            result.client,
            rig.connect,
            timeout_s=10,
            ready=lambda s: rig.device.counters["reboots"] == 2,
        )
        assert next(s for s in after if s.active).version == "1.2.0"


async def test_revert_is_detected(images: ImageFactory) -> None:
    """When the new image does not boot the device comes back on the old one, and the run
    says so instead of claiming success."""
    path = images("1.2.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:

        def break_image_at_reset(event: ProgressEvent) -> None:
            if event.stage is Stage.RESETTING:
                rig.device.corrupt_slot(1)  # MCUboot's hash check at boot now fails

        client = await rig.connect()
        result = await run_update(
            client,
            load_update_images(path),
            reconnect=rig.connect,
            on_progress=break_image_at_reset,
        )
        assert not result.ok
        assert result.images[0].outcome is Outcome.REVERTED
        assert "came back on 1.0.0" in result.message
        assert running(rig.device) == "1.0.0"


async def test_unconfirmed_test_image_reverts_on_next_reset(images: ImageFactory) -> None:
    """A test image left unconfirmed is gone after the next reset, and classify_boot says so."""
    path = images("1.2.0", 40 * 1024)
    item = load_update_images(path)[0]
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        result = await run_update(client, [item], reconnect=rig.connect)
        assert result.images[0].outcome is Outcome.TESTING
        client = result.client
        assert client is not None
        await client.reset()
        client, slots = await wait_for_device(
            client,
            rig.connect,
            timeout_s=10,
            ready=lambda slots: any(s.active and s.version == "1.0.0" for s in slots),
        )
        outcome, message = classify_boot(slots, item, Mode.TEST)
        assert outcome is Outcome.REVERTED
        assert "did not boot or was not confirmed" in message


async def test_hash_mismatch_is_never_marked(transport_kind: str, images: ImageFactory) -> None:
    """A slot whose bytes differ from the file (device reports match: false) is not marked,
    not reset, and the error says why."""
    path = images("1.2.0", 40 * 1024)
    async with serve(transport_kind, sim_device()) as rig:
        rig.device.corrupt_after_upload()
        client = await rig.connect()
        with pytest.raises(HashMismatch, match="not marked"):
            await run_update(client, load_update_images(path), reconnect=rig.connect)
        slots = await client.image_state()
        assert not any(s.pending for s in slots)
        assert rig.device.counters["reboots"] == 0


async def test_listed_hash_must_match_before_marking(images: ImageFactory) -> None:
    """When the device lists another image hash for the uploaded slot nothing is marked."""
    path = images("1.2.0", 40 * 1024)
    other = images("1.3.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        item = load_update_images(path)[0]
        wrong = load_update_images(other)[0]
        # The other image's bytes, sent whole and consistently (its own size and SHA-256), so only
        # the device's listing can tell: it names the other image's hash.
        liar = dataclasses.replace(
            item, open_source=wrong.open_source, size=wrong.size, file_sha256=wrong.file_sha256
        )
        client = await rig.connect()
        with pytest.raises(HashMismatch, match="does not match"):
            await run_update(client, [liar], reconnect=rig.connect)
        assert not any(s.pending for s in await client.image_state())


async def test_file_swapped_after_verification_is_never_reported_uploaded(
    images: ImageFactory, tmp_path: Path
) -> None:
    """A file changed on disk between its verification and the upload (payload bytes only, so
    its hash TLV, which the device lists, is unchanged): the engine hashes what it sends,
    finds another file, and fails; nothing is marked."""
    path = tmp_path / "app.bin"
    good = images("1.2.0", 40 * 1024).read_bytes()
    path.write_bytes(good)
    item = load_update_images(path)[0]
    tampered = bytearray(good)
    tampered[0x200 + 1000] ^= 0xFF
    path.write_bytes(bytes(tampered))
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        with pytest.raises(SentBytesMismatch, match="not the file that was verified"):
            await run_update(client, [item], reconnect=rig.connect)
        assert not any(s.pending for s in await client.image_state())
        assert rig.device.counters["reboots"] == 0


async def test_file_of_another_size_is_refused_before_sending(
    images: ImageFactory, tmp_path: Path
) -> None:
    """A file whose size changed since its verification is refused before a byte is sent."""
    path = tmp_path / "app.bin"
    path.write_bytes(images("1.2.0", 40 * 1024).read_bytes())
    item = load_update_images(path)[0]
    path.write_bytes(images("1.3.0", 60 * 1024).read_bytes())
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        with pytest.raises(UpdateError, match="changed on disk; nothing was uploaded"):
            await run_update(client, [item], reconnect=rig.connect)
        assert rig.device.counters["bytes_written"] == 0


@pytest.mark.parametrize("mode", [Mode.CONFIRM, Mode.NONE])
async def test_confirm_and_none_modes(mode: Mode, images: ImageFactory) -> None:
    """Confirm makes the image permanent across the reset; none uploads and touches nothing."""
    path = images("1.2.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        result = await run_update(
            client, load_update_images(path), UpdateOptions(mode=mode), reconnect=rig.connect
        )
        assert result.ok
        if mode is Mode.CONFIRM:
            assert result.images[0].outcome is Outcome.CONFIRMED
            assert running(rig.device) == "1.2.0"
            assert next(s for s in result.slots if s.active).confirmed
        else:
            assert result.images[0].outcome is Outcome.UPLOADED
            assert running(rig.device) == "1.0.0"
            assert rig.device.counters["reboots"] == 0
            assert rig.device.slot(1).version == "1.2.0"


async def test_no_reset_leaves_it_pending(images: ImageFactory) -> None:
    """--no-reset marks the image and stops: pending, device not rebooted."""
    path = images("1.2.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        result = await run_update(client, load_update_images(path), UpdateOptions(reset=False))
        assert result.images[0].outcome is Outcome.PENDING
        assert any(s.pending and s.slot == 1 for s in result.slots)
        assert rig.device.counters["reboots"] == 0


async def test_image_already_in_slot_is_not_uploaded_again(images: ImageFactory) -> None:
    """When slot 1 already holds this exact image the upload is skipped and it is marked."""
    path = images("1.2.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        rig.device.install(1, path.read_bytes())
        client = await rig.connect()
        result = await run_update(client, load_update_images(path), reconnect=rig.connect)
        assert result.images[0].upload is None
        assert rig.device.counters["write_calls"] == 0
        assert result.images[0].outcome is Outcome.TESTING


async def test_running_image_is_already_present(images: ImageFactory) -> None:
    """Uploading what already runs (confirmed) does nothing and says so."""
    path = images("1.2.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        first = await run_update(
            client,
            load_update_images(path),
            UpdateOptions(mode=Mode.CONFIRM),
            reconnect=rig.connect,
        )
        assert first.client is not None
        again = await run_update(first.client, load_update_images(path))
        assert again.images[0].outcome is Outcome.ALREADY_PRESENT
        assert "already runs" in again.message


async def test_downgrade_needs_permission(images: ImageFactory) -> None:
    """An older image is refused unless downgrades are allowed."""
    path = images("0.9.0", 40 * 1024)
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect()
        with pytest.raises(DowngradeRefused, match="allow-downgrade"):
            await run_update(client, load_update_images(path))
        assert rig.device.counters["write_calls"] == 0
        result = await run_update(
            client,
            load_update_images(path),
            UpdateOptions(allow_downgrade=True),
            reconnect=rig.connect,
        )
        assert result.images[0].outcome is Outcome.TESTING


async def test_package_uploads_network_core_first(images: ImageFactory, tmp_path: Path) -> None:
    """A two-image package goes to both images, image 1 (network core) first, then one reset
    activates both."""
    package = two_image_package(images, tmp_path)
    with zipfile.ZipFile(package) as archive:
        app_bytes, net_bytes = (archive.getinfo(n).file_size for n in ("app.bin", "net.bin"))
    items = load_update_images(package)
    assert [i.image for i in items] == [1, 0]
    uploading: list[int] = []
    async with serve("udp", sim_device(images=2)) as rig:
        client = await rig.connect()
        result = await run_update(
            client,
            items,
            reconnect=rig.connect,
            on_progress=lambda e: (
                uploading.append(e.image)
                if (e.stage is Stage.UPLOADING and not uploading)
                or (e.stage is Stage.UPLOADING and uploading[-1] != e.image)
                else None
            ),
        )
        assert uploading == [1, 0]
        assert rig.device.counters["reboots"] == 1
        assert {o.image: o.outcome for o in result.images} == {
            0: Outcome.TESTING,
            1: Outcome.TESTING,
        }
        sizes = {o.image: o.upload.total_bytes for o in result.images if o.upload}
        assert sizes == {0: app_bytes, 1: net_bytes}
        assert running(rig.device, 0) == "1.2.0" and running(rig.device, 1) == "1.2.0"


async def test_image_option_targets_image_one(images: ImageFactory) -> None:
    """--image 1 sends a single file to image 1 of a two-image device."""
    path = images("1.2.0", 20 * 1024, seed=4)
    async with serve("udp", sim_device(images=2)) as rig:
        client = await rig.connect()
        result = await run_update(
            client, load_update_images(path, image=1), UpdateOptions(mode=Mode.NONE)
        )
        assert result.ok
        assert rig.device.slot(3).version == "1.2.0"
        assert rig.device.slot(1).version is None


async def test_plan_describes_overwrite_only(images: ImageFactory) -> None:
    """The pre-flight says in words that an overwrite-only bootloader has no rollback."""
    path = images("1.2.0", 20 * 1024)
    async with serve("udp", sim_device(mode=BootloaderMode.OVERWRITE_ONLY)) as rig:
        client = await rig.connect()
        result = await run_update(client, load_update_images(path), UpdateOptions(mode=Mode.NONE))
        assert any("no rollback" in line for line in result.plan)
        assert any("overwrite-only" in line for line in result.plan)


def test_invalid_or_untrusted_images_are_refused(
    images: ImageFactory, other_key: Path, tmp_path: Path
) -> None:
    """A corrupted image, and a good one with a key it was not signed by, are refused."""
    good = images("1.2.0", 20 * 1024)
    broken = tmp_path / "broken.bin"
    data = bytearray(good.read_bytes())
    data[0x300] ^= 0xFF
    broken.write_bytes(bytes(data))
    with pytest.raises(ImageError):
        load_update_images(broken)
    keys = KeyStore()
    keys.add("other", other_key)
    with pytest.raises(ImageError):
        load_update_images(good, keys)
    signer = KeyStore()
    signer.add("signer", images.public_key)
    assert load_update_images(good, signer)[0].version.smp_text == "1.2.0"


async def test_window_option_reaches_the_engine(images: ImageFactory) -> None:
    """The workflow's upload options (window) are the ones the engine uses."""
    path = images("1.2.0", 20 * 1024)
    async with serve("udp", sim_device(buf_count=8)) as rig:
        client = await rig.connect()
        result = await run_update(
            client,
            load_update_images(path),
            UpdateOptions(mode=Mode.NONE, upload=UploadOptions(window=2, max_window=2)),
        )
        stats = result.images[0].upload
        assert stats is not None and stats.max_window == 2


async def test_direct_xip_boots_the_higher_version_without_marking(images: ImageFactory) -> None:
    """On a direct-XIP bootloader nothing is marked; after the reset the newer slot runs."""
    path = images("1.2.0", 20 * 1024)
    async with serve("udp", sim_device(mode=BootloaderMode.DIRECT_XIP)) as rig:
        client = await rig.connect()
        result = await run_update(client, load_update_images(path), reconnect=rig.connect)
        assert any("Direct-XIP" in line for line in result.plan)
        assert result.images[0].outcome is Outcome.CONFIRMED
        assert running(rig.device) == "1.2.0"
