"""The upload engine against the simulator on real links: loss, resets, bad and duplicate
answers, the window, cancel and resume."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from app.client import SmpClient
from app.client.upload import (
    UploadCancelled,
    UploadError,
    UploadOptions,
    UploadTick,
    upload_image,
)
from app.image.source import FileSource
from app.sim.device import SimDevice
from app.sim.link import LinkModel
from app.transport import open_transport
from tests.upload.conftest import ImageFactory, serve, sim_device
from tests.upload.udp_proxy import duplicating_relay


def slot_holds(device: SimDevice, slot: int, image: Path) -> bool:
    data = image.read_bytes()
    return bytes(device.slot(slot).flash[: len(data)]) == data


async def test_upload_lands_byte_for_byte(transport_kind: str, images: ImageFactory) -> None:
    """A clean upload leaves the secondary slot equal to the file and the device says match."""
    image = images("1.1.0", 60 * 1024)
    async with serve(transport_kind, sim_device()) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source)
        assert slot_holds(rig.device, 1, image)
        assert result.stats.match is True
        assert result.stats.requests >= result.stats.total_bytes // 2048


@pytest.mark.parametrize("loss", [0.0, 0.05, 0.2])
async def test_upload_survives_udp_loss(loss: float, images: ImageFactory) -> None:
    """Lost requests and answers are resent from the device's offset until the slot matches."""
    image = images("1.1.0", 40 * 1024)
    link = LinkModel(latency_s=0.002, loss=loss, seed=7)
    async with serve("udp", sim_device(buf_count=8), link) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source)
        assert slot_holds(rig.device, 1, image)
        if loss:
            assert rig.runtime.stats.lost_in + rig.runtime.stats.lost_out > 0
            assert result.stats.retries > 0


async def test_reset_at_half_resumes(transport_kind: str, images: ImageFactory) -> None:
    """A device reset at 50% is survived: the upload starts a new session and completes."""
    image = images("1.1.0", 48 * 1024)
    messages: list[str] = []
    async with serve(transport_kind, sim_device()) as rig:
        rig.device.reset_at_upload_offset(image.stat().st_size // 2)
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(
                client,
                source,
                reconnect=rig.connect,
                on_progress=lambda t: messages.append(t.message) if t.message else None,
                options=UploadOptions(stall_timeout_s=20),
            )
        assert rig.device.counters["reboots"] == 1
        assert result.stats.resumes >= 1
        assert slot_holds(rig.device, 1, image)
        assert (
            hashlib.sha256(image.read_bytes()).digest()
            == hashlib.sha256(bytes(rig.device.slot(1).flash[: image.stat().st_size])).digest()
        )


async def test_corrupted_answer_is_resent(transport_kind: str, images: ImageFactory) -> None:
    """An answer that cannot be decoded costs a resend, never the upload."""
    image = images("1.1.0", 40 * 1024)
    async with serve(transport_kind, sim_device()) as rig:
        corrupted = False

        def corrupt_midway(tick: UploadTick) -> None:
            nonlocal corrupted
            if not corrupted and tick.acked > tick.total // 3:
                rig.device.corrupt_next_response()
                corrupted = True

        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(
                client,
                source,
                on_progress=corrupt_midway,
                options=UploadOptions(progress_interval_s=0),
            )
        assert corrupted and not rig.device.faults.corrupt_next_response
        assert slot_holds(rig.device, 1, image)
        assert result.stats.retries >= 1


async def test_duplicate_and_late_answers(images: ImageFactory) -> None:
    """Every request and answer arriving twice, the copy late, still ends with the right slot
    and the run stops at the first `off == len` (a late copy answered `off: 0` is ignored)."""
    image = images("1.1.0", 40 * 1024)
    async with serve("udp", sim_device(buf_count=8), LinkModel(latency_s=0.002)) as rig:
        async with duplicating_relay(rig.spec.removeprefix("udp:"), late_s=0.02) as relay:
            client = SmpClient(open_transport(f"udp:{relay.address}"))
            async with client:
                with FileSource(image) as source:
                    result = await upload_image(client, source)
                # every late copy of the last chunks is sent on before the state read, which
                # the device answers after them (one socket each way, handled in order)
                await relay.drained()
                slots = await client.image_state()
        assert relay.duplicates > 10
        assert slot_holds(rig.device, 1, image)
        assert result.stats.total_bytes == image.stat().st_size
        assert rig.device.upload is None  # late duplicates did not start a new session
        assert any(s.slot == 1 and s.version == "1.1.0" for s in slots)


async def test_reordered_datagrams(images: ImageFactory) -> None:
    """Every fifth datagram each way overtaken by the ones after it: the engine follows the
    device's offsets and the slot ends equal to the file."""
    image = images("1.1.0", 40 * 1024)
    async with serve("udp", sim_device(buf_count=8), LinkModel(latency_s=0.002)) as rig:
        relay_cm = duplicating_relay(
            rig.spec.removeprefix("udp:"),
            late_s=0.015,
            hold_every=5,
            duplicate_requests=False,
            duplicate_replies=False,
        )
        async with relay_cm as relay:
            client = SmpClient(open_transport(f"udp:{relay.address}"))
            async with client:
                with FileSource(image) as source:
                    result = await upload_image(client, source)
        assert relay.duplicates > 5
        assert result.stats.rewinds + result.stats.retries > 0
        assert slot_holds(rig.device, 1, image)


@pytest.mark.parametrize("window", [1, 7])
async def test_window_one_and_maximum(window: int, images: ImageFactory) -> None:
    """Stop-and-wait and the device's maximum window (buf_count - 1) both upload cleanly."""
    image = images("1.1.0", 40 * 1024)
    async with serve("udp", sim_device(buf_count=8), LinkModel(latency_s=0.002)) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source, options=UploadOptions(window=window))
        assert result.stats.max_window == window
        assert result.stats.enomem == 0
        assert slot_holds(rig.device, 1, image)


async def test_default_window_is_buf_count_minus_one(images: ImageFactory) -> None:
    """Without --window the engine starts at the device's buffer count - 1."""
    image = images("1.1.0", 20 * 1024)
    async with serve("udp", sim_device(buf_count=5)) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source)
        assert result.stats.start_window == 4
        assert result.stats.buffers.reported


async def test_enomem_shrinks_the_window(images: ImageFactory) -> None:
    """A window larger than two buffers allow is answered ENOMEM, shrunk, never fatal."""
    image = images("1.1.0", 40 * 1024)
    async with serve("udp", sim_device(buf_count=2), LinkModel(latency_s=0.002)) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source, options=UploadOptions(window=4))
        assert result.stats.enomem >= 1
        assert result.stats.final_window == 1
        assert rig.runtime.stats.enomem >= 1
        assert slot_holds(rig.device, 1, image)


async def test_cancel_then_resume(transport_kind: str, images: ImageFactory) -> None:
    """Cancel stops cleanly at the device's offset; the same image then resumes there."""
    image = images("1.1.0", 60 * 1024)
    cancel = asyncio.Event()
    messages: list[str] = []
    async with serve(transport_kind, sim_device()) as rig:
        client = await rig.connect()

        def stop_at_40(tick: UploadTick) -> None:
            if tick.acked > tick.total * 0.4:
                cancel.set()

        with FileSource(image) as source:
            with pytest.raises(UploadCancelled) as stopped:
                await upload_image(
                    client,
                    source,
                    cancel=cancel,
                    on_progress=stop_at_40,
                    options=UploadOptions(progress_interval_s=0),
                )
            assert stopped.value.offset > 0
            assert "cancelled at" in str(stopped.value)
            result = await upload_image(
                client,
                source,
                on_progress=lambda t: messages.append(t.message) if t.message else None,
            )
        assert result.stats.resumed_from >= stopped.value.offset
        assert any(m.startswith("resumed at") for m in messages)
        assert slot_holds(rig.device, 1, image)


async def test_device_that_stops_answering_fails_with_a_sentence(images: ImageFactory) -> None:
    """A device that goes silent ends the upload with where it stopped, not a hang."""
    image = images("1.1.0", 20 * 1024)
    async with serve("udp", sim_device()) as rig:
        client = await rig.connect(timeout_s=0.5)
        rig.device.stop_answering()
        with FileSource(image) as source, pytest.raises(UploadError, match="stopped taking"):
            await upload_image(client, source, options=UploadOptions(stall_timeout_s=1.0))


async def test_refused_first_chunk_is_an_error(images: ImageFactory) -> None:
    """An image larger than the slot is refused by the device with its reason."""
    image = images("1.1.0", 80 * 1024)
    async with serve("udp", sim_device(slot_size=64 * 1024)) as rig:
        client = await rig.connect()
        with FileSource(image) as source, pytest.raises(UploadError, match="refused"):
            await upload_image(client, source)


async def test_ble_without_reassembly_falls_back_to_mtu_sized_requests(
    images: ImageFactory,
) -> None:
    """A BLE device that takes every ATT write as a packet answers ECORRUPT to a large request;
    the engine then sends requests that fit one write, and the upload completes."""
    image = images("1.1.0", 20 * 1024)
    async with serve("ble", sim_device(), ble_reassembly=False) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(client, source)
        assert result.stats.limit.max_request_bytes == 244
        assert slot_holds(rig.device, 1, image)


async def test_link_drop_reconnects_and_resumes(images: ImageFactory) -> None:
    """A BLE link lost at 40% is reconnected and the device resumes its session there:
    the progress says "resumed at", and nothing before that offset is sent again."""
    image = images("1.1.0", 60 * 1024)
    messages: list[str] = []
    async with serve("ble", sim_device()) as rig:
        assert rig.drop_link is not None
        dropped = False

        def drop_at_40(tick: UploadTick) -> None:
            nonlocal dropped
            if tick.message:
                messages.append(tick.message)
            if not dropped and tick.acked > tick.total * 0.4:
                dropped = True
                asyncio.get_running_loop().call_soon(rig.drop_link)  # type: ignore[arg-type]

        client = await rig.connect()
        with FileSource(image) as source:
            result = await upload_image(
                client,
                source,
                reconnect=rig.connect,
                on_progress=drop_at_40,
                options=UploadOptions(progress_interval_s=0),
            )
        assert result.stats.reconnects == 1
        assert result.client is not client
        assert any(m.startswith("link dropped at") for m in messages)
        assert any(m.startswith("resumed at") for m in messages)
        assert result.stats.sent_bytes < image.stat().st_size * 1.5
        assert rig.device.counters["reboots"] == 0
        assert slot_holds(rig.device, 1, image)


async def test_task_cancellation_stops_cleanly_and_resumes(images: ImageFactory) -> None:
    """Cancelling the upload task leaves nothing in flight; the next upload resumes."""
    image = images("1.1.0", 60 * 1024)
    async with serve("udp", sim_device(), LinkModel(latency_s=0.002)) as rig:
        client = await rig.connect()
        with FileSource(image) as source:
            started = asyncio.Event()

            def note(tick: UploadTick) -> None:
                if tick.acked > tick.total // 3:
                    started.set()

            task = asyncio.create_task(
                upload_image(
                    client, source, on_progress=note, options=UploadOptions(progress_interval_s=0)
                )
            )
            await asyncio.wait_for(started.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            offset = rig.device.upload.off if rig.device.upload else 0
            assert offset > 0
            result = await upload_image(client, source)
        assert result.stats.resumed_from >= offset  # what was in flight may have landed too
        assert slot_holds(rig.device, 1, image)
