"""Chunk sizing by encoding, the progress meter, tuning advice, streaming memory, and a
property test over random fault schedules."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import subprocess
import sys
import tracemalloc
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.client import SmpClient
from app.client.sizing import (
    DeviceBuffers,
    RequestLimit,
    chunk_data_bytes,
    request_limit,
    upload_request,
)
from app.client.upload import UploadStats, UploadTick, upload_image
from app.errors import SlotwiseError
from app.image.source import FileSource
from app.sim.link import LinkModel
from app.smp.message import encode_request
from app.transport import open_transport
from app.transport.base import LinkInfo
from app.workflows.advice import tuning_advice
from app.workflows.images import load_update_images
from app.workflows.progress import ProgressMeter, Stage
from app.workflows.update import UpdateOptions, run_update
from app.workflows.update_types import Mode
from app.workflows.watch import read_slots
from tests.upload.conftest import ImageFactory, serve, sim_device

SHA = bytes(range(32))


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(100, 5000),
    off=st.integers(0, 2**32 - 1),
    align=st.sampled_from([1, 4, 8, 16]),
    image=st.integers(0, 3),
    upgrade=st.booleans(),
)
def test_chunk_fills_the_limit_exactly(
    limit: int, off: int, align: int, image: int, upgrade: bool
) -> None:
    """The encoded request never exceeds the limit, and one more aligned step would."""
    total = off + 10**6 if off else 10**6
    size = chunk_data_bytes(
        limit, off=off, total=total, sha=SHA, image=image, upgrade=upgrade, alignment=align
    )
    assert size % align == 0

    def encoded(n: int) -> int:
        request = upload_request(off, bytes(n), total=total, sha=SHA, image=image, upgrade=upgrade)
        return len(encode_request(request, 0))

    assert encoded(size) <= limit
    assert encoded(size + align) > limit


def test_last_chunk_is_not_aligned() -> None:
    """The final chunk carries exactly the bytes that are left, aligned or not."""
    assert chunk_data_bytes(2048, off=1000, total=1003, alignment=8) == 3


def test_request_limit_takes_the_smallest() -> None:
    """Device buffer minus framing overhead, link frame and a cap: the smallest wins, named."""
    serial = LinkInfo("serial", "/dev/x", 65533, True, device_buffer_overhead=4)
    assert request_limit(serial, DeviceBuffers(384, 4, True)) == RequestLimit(380, "device buffer")
    ble = LinkInfo("ble", "C0:00", 244, True, mtu=247)
    assert request_limit(ble, DeviceBuffers(2475, 4, True)) == RequestLimit(244, "link frame")
    udp = LinkInfo("udp", "h:1", 1472, False, mtu=1500)
    assert request_limit(udp, DeviceBuffers(2048, 8, True), cap=512).limited_by == "option"


def test_request_limit_fills_whole_ble_packets() -> None:
    """With reassembly a request spanning several ATT writes is cut to whole writes (2475 would
    need 11 writes of 244, the last nearly empty; 2440 fills 10); one write is left alone."""
    reassembly = LinkInfo("ble", "C0:00", 2475, True, mtu=247, fragment_bytes=244)
    limit = request_limit(reassembly, DeviceBuffers(2475, 4, True))
    assert limit == RequestLimit(2440, "device buffer")
    one_write = LinkInfo("ble", "C0:00", 244, True, mtu=247, fragment_bytes=244)
    assert request_limit(one_write, DeviceBuffers(2475, 4, True)) == RequestLimit(244, "link frame")
    small = LinkInfo("ble", "C0:00", 2048, True, mtu=23, fragment_bytes=20)
    assert request_limit(small, DeviceBuffers(384, 4, True)).max_request_bytes == 380


def test_meter_smooths_rate_and_estimates_time() -> None:
    """Rate is an average over intervals; ETA is what is left over that rate."""
    now = [0.0]
    events = []
    meter = ProgressMeter(events.append, smoothing=0.5, min_interval_s=0.1, clock=lambda: now[0])
    for step in range(1, 5):
        now[0] = step * 1.0
        meter.update(Stage.UPLOADING, step * 1000, 10000)
    assert events[-1].rate_bps == 1000
    assert events[-1].eta_s == 6.0
    now[0] = 4.05  # too soon for a new sample: the rate holds
    meter.update(Stage.UPLOADING, 9000, 10000)
    assert events[-1].rate_bps == 1000


def _stats(**changes: object) -> UploadStats:
    base = UploadStats(
        total_bytes=100_000,
        elapsed_s=10.0,
        buffers=DeviceBuffers(2048, 8, True),
        limit=RequestLimit(1472, "link frame"),
        link=LinkInfo("udp", "h:1", 1472, False),
        chunk_bytes=1444,
        start_window=7,
        max_window=7,
        final_window=7,
        requests=70,
        srtt_s=0.02,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_advice_names_the_setting() -> None:
    """Each measured limitation is explained with the firmware option to change."""
    assert tuning_advice(_stats()) == []
    no_params = " ".join(tuning_advice(_stats(buffers=DeviceBuffers(2048, 2, False))))
    assert "CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS" in no_params
    two = " ".join(
        tuning_advice(_stats(buffers=DeviceBuffers(2048, 2, True), final_window=1, elapsed_s=1.5))
    )
    assert "CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT=2" in two
    small = " ".join(
        tuning_advice(
            _stats(buffers=DeviceBuffers(384, 4, True), limit=RequestLimit(380, "device buffer"))
        )
    )
    assert "CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE is 384" in small
    lossy = " ".join(tuning_advice(_stats(timeouts=10, rewinds=5)))
    assert "lost or rejected" in lossy


async def test_upload_memory_does_not_grow_with_the_image(images: ImageFactory) -> None:
    """Streaming: uploading a 4x larger image needs only a fraction of the extra bytes in
    Python memory (the simulator runs in a subprocess so only the client counts)."""
    small, big = images("1.1.0", 256 * 1024), images("1.1.0", 1024 * 1024)
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "sim",
            "--udp",
            "127.0.0.1:0",
            "--buf-count",
            "8",
            "--slot-size",
            str(4 * 1024 * 1024),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks = []
    try:
        assert sim.stdout is not None
        address = sim.stdout.readline().split()[-1]
        async with SmpClient(open_transport(f"udp:{address}")) as client:
            for path in (small, big):
                with FileSource(path) as source:
                    gc.collect()
                    tracemalloc.start()
                    try:
                        result = await upload_image(client, source)
                        peaks.append(tracemalloc.get_traced_memory()[1])
                    finally:
                        tracemalloc.stop()
                assert result.stats.match is True
    finally:
        sim.terminate()
        sim.wait(10)
    extra = big.stat().st_size - small.stat().st_size
    # Holding the image once would add `extra`; what grows is interpreter free lists.
    assert peaks[1] - peaks[0] < extra // 3, f"peaks {peaks} for {extra} more bytes"


FAULTS = st.fixed_dictionaries(
    {
        "loss": st.sampled_from([0.0, 0.02, 0.1]),
        "reset_at": st.none() | st.floats(0.1, 0.9),
        "corrupt_at": st.none() | st.floats(0.0, 0.9),
        "silence_at": st.none() | st.floats(0.1, 0.9),
        "corrupt_slot": st.booleans(),
        "window": st.sampled_from([None, 1, 3, 8]),
        "seed": st.integers(0, 1000),
    }
)


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(faults=FAULTS)
def test_random_faults_end_matched_or_with_a_clear_error(
    images: ImageFactory, faults: dict[str, object]
) -> None:
    """Whatever the fault schedule, a run ends with the device holding the exact image or
    with a SlotwiseError sentence, and never with a marked slot whose bytes differ."""
    path = images("1.2.0", 12 * 1024)
    asyncio.run(_faulty_run(path.read_bytes(), path, faults))


async def _faulty_run(data: bytes, path: object, faults: dict[str, object]) -> None:
    link = LinkModel(
        latency_s=0.001,
        loss=float(faults["loss"]),  # type: ignore[arg-type]
        seed=int(faults["seed"]),
    )  # type: ignore[call-overload]
    total = len(data)
    async with serve("udp", sim_device(buf_count=4), link) as rig:
        device = rig.device
        armed = {k for k in ("reset_at", "corrupt_at", "silence_at") if faults[k] is not None}
        if faults["corrupt_slot"]:
            device.corrupt_after_upload()

        def inject(event: object) -> None:
            acked = getattr(event, "bytes_acked", 0)
            for name in list(armed):
                if acked >= float(faults[name]) * total:  # type: ignore[arg-type]
                    armed.discard(name)
                    if name == "reset_at":
                        device.reset_at_upload_offset(acked + 1)
                    elif name == "corrupt_at":
                        device.corrupt_next_response()
                    else:
                        device.stop_answering()
                        asyncio.get_running_loop().call_later(0.3, device.resume_answering)

        client = await rig.connect(timeout_s=1.0)
        window = faults["window"]
        options = UpdateOptions(
            mode=Mode.TEST,
            reset=False,
            upload=replace(
                UpdateOptions().upload,
                window=window,
                max_window=window,
                stall_timeout_s=5.0,
                progress_interval_s=0,
            ),
        )  # type: ignore[arg-type]
        error: SlotwiseError | None = None
        try:
            await run_update(
                client,
                load_update_images(path),
                options,  # type: ignore[arg-type]
                on_progress=inject,
                reconnect=rig.connect,
            )
        except SlotwiseError as exc:
            error = exc
        device.resume_answering()
        device.faults.corrupt_next_response = False  # a fault the run did not reach
        secondary = bytes(device.slot(1).flash[:total])
        checker = await rig.connect(timeout_s=2.0)
        pending = any(s.pending for s in await read_slots(checker, attempts=5))
        if error is None:
            assert secondary == data
            assert pending
        else:
            assert str(error).strip()
        if pending:
            assert hashlib.sha256(secondary).digest() == hashlib.sha256(data).digest()


_ = UploadTick
