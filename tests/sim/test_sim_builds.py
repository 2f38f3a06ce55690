"""Each zephyr-3.4 build profile answers its whole captured session byte for byte.

The captured requests of tests/data/captures/zephyr-3.4-{stock,fast,full}.json are replayed in
order into the simulator (its runtime: buffers and work queue included) and every reply must
equal the captured reply's bytes. Two things cannot be equal and are substituted, nothing
else: the images' hashes (the capture does not hold the real images' bytes, so the board's
factory image and a built 2.0.0 image of the captured length stand in, and their hashes
replace the captured ones wherever they appear), and the elided middle of the upload (sent
from that stand-in image). Each reply is also read by the decoder (tests/smp covers types).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from capture_replay import BUILDS, load_session

from app.sim.device import SimDevice, profile_config
from app.sim.mcuboot import build_image, read_info
from app.sim.runtime import SimRuntime
from app.smp.codec import decode_body
from app.smp.groups.img import ImageUpload
from app.smp.groups.os import Echo
from app.smp.header import HEADER_SIZE, Header
from app.smp.message import encode_request

CAPTURED_LENGTH = 74_390
"""The captured upload's image size."""
CAPTURED_HASHES = (
    bytes.fromhex("661931b4caba2662ce147d8d6d27e03adabc50ae222f18db51e97d2ec5c11384"),
    bytes.fromhex("ca0465197b57b0df2d59bbde8ac8571c82dce759a5aa090ac6df6968dfc122f0"),
)
"""The captured board's running image (1.0.0) and the uploaded one (2.0.0)."""


class _SecondSecondBoard(SimDevice):
    """A board read in its second second of uptime, as the captured stats were (ticks 1)."""

    def uptime_s(self) -> float:
        return 1.5


def _stand_in_image() -> bytes:
    """A 2.0.0 image of the captured length (header, payload, SHA-256 TLV)."""
    tlv_bytes = 4 + 4 + 32
    payload = bytes(i % 251 for i in range(CAPTURED_LENGTH - 0x200 - tlv_bytes))
    image = build_image("2.0.0", payload)
    assert len(image) == CAPTURED_LENGTH
    return image


class Replay:
    """The captured session against one simulated board, through its runtime."""

    def __init__(self, build: str) -> None:
        self.device = _SecondSecondBoard(profile_config(f"zephyr-3.4-{build}"))
        self.runtime = SimRuntime(self.device, boot_s=0.01)
        self.image = _stand_in_image()
        factory = self.device.slot(0).hash
        assert factory is not None
        self.hashes = dict(zip(CAPTURED_HASHES, (factory, read_info(self.image).hash), strict=True))
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def ours(self, captured: bytes) -> bytes:
        """`captured` with the captured images' hashes replaced by the stand-ins'."""
        for theirs, mine in self.hashes.items():
            captured = captured.replace(theirs, mine)
        return captured

    async def send(self, frame: bytes) -> None:
        self.runtime.deliver(frame, self.replies.put_nowait)

    async def exchange(self, frame: bytes) -> bytes:
        await self.send(frame)
        return await self.replies.get()

    async def burst(self, frames: list[bytes]) -> list[bytes]:
        """Send back to back; every reply that comes, in order (an echo fences the end)."""
        for frame in frames:
            await self.send(frame)
        await self.runtime.wait_idle()
        fence = encode_request(Echo(d="fence"), sequence=0xF0, version=0)
        answers = []
        await self.send(fence)
        while (reply := await self.replies.get())[6] != 0xF0:
            answers.append(reply)
        return answers

    async def upload_rest(self, last_sequence: int) -> bytes:
        """The upload the capture elided: the stand-in image from offset 0, its last chunk
        sent with the captured sequence number; the last reply."""
        sha = hashlib.sha256(self.image).digest()
        off, reply, chunk = 0, b"", 1024
        while off < len(self.image):
            data = self.image[off : off + chunk]
            first = off == 0
            request = ImageUpload(
                off=off,
                data=data,
                length=len(self.image) if first else None,
                image=0 if first else None,
                sha=sha if first else None,
            )
            last = off + len(data) == len(self.image)
            reply = await self.exchange(
                encode_request(request, sequence=last_sequence if last else 0xE0, version=0)
            )
            off = decode_body(reply[HEADER_SIZE:])["off"]
        return reply


@pytest.mark.parametrize("build", BUILDS)
async def test_whole_session_replays_byte_for_byte(build: str) -> None:
    """Every captured reply, bursts included, comes back with the captured bytes."""
    replay = Replay(build)
    await replay.runtime.start()
    mismatches: list[tuple[str, Any, Any]] = []
    try:
        for entry in load_session(build)["exchanges"]:
            request, captured = entry["request_hex"], entry["response_hex"]
            if isinstance(request, list):
                got: Any = [
                    r.hex() for r in await replay.burst([bytes.fromhex(q) for q in request])
                ]
                want: Any = [replay.ours(bytes.fromhex(r)).hex() for r in captured]
            elif request is None:
                sequence = Header.decode(bytes.fromhex(captured)).sequence
                got = (await replay.upload_rest(sequence)).hex()
                want = captured
            else:
                got = (await replay.exchange(replay.ours(bytes.fromhex(request)))).hex()
                want = replay.ours(bytes.fromhex(captured)).hex()
            if got != want:
                mismatches.append((entry["name"], want, got))
    finally:
        await replay.runtime.stop()
    assert mismatches == []
