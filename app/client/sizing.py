"""Sizing upload requests: the device's buffers, the link's frame, and exact CBOR overhead.

Pure apart from `read_buffers` (one params request) and `read_window` (how many independent
reads may go to the device at once). The engine in upload.py asks here how
many data bytes fit in the next chunk; the update workflow asks here what limits the link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from app.client.client import SmpClient
from app.errors import DecodeError, TransportTimeout
from app.smp.errors import DeviceError
from app.smp.groups import img
from app.smp.message import encode_request
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)
T = TypeVar("T")

FALLBACK_BUFFERS = (384, 4)
"""Zephyr defaults when MCUmgr params is not built in (smp-protocol.md §6.0.5)."""
FALLBACK_BUFFERS_UDP = (2048, 2)
"""Defaults of UDP builds (transports.md §3)."""


@dataclass(frozen=True, slots=True)
class DeviceBuffers:
    """The device's MCUmgr buffer pool (OS params), or the assumed fallback."""

    buf_size: int
    buf_count: int
    reported: bool
    """False when the device did not answer params and the defaults are assumed."""

    @property
    def in_flight(self) -> int:
        """Requests the device takes at once: buf_count - 1, so one buffer stays free for the
        reply (transports.md §5.1); one when it did not report its buffers."""
        return max(self.buf_count - 1, 1) if self.reported else 1


@dataclass(frozen=True, slots=True)
class RequestLimit:
    """The largest upload request (header + CBOR) and what sets it."""

    max_request_bytes: int
    limited_by: str
    """"device buffer", "link frame" or "option": named in tuning advice."""


async def read_buffers(client: SmpClient) -> DeviceBuffers:
    """The device's buffer size and count, or the documented fallback when it does not say."""
    try:
        params = await client.params()
    except (DeviceError, DecodeError, TransportTimeout) as exc:
        size, count = FALLBACK_BUFFERS_UDP if client.link.kind == "udp" else FALLBACK_BUFFERS
        log.info("MCUmgr params unavailable (%s); assuming %d x %d-byte buffers", exc, count, size)
        return DeviceBuffers(size, count, reported=False)
    return DeviceBuffers(params.buf_size, max(params.buf_count, 1), reported=True)


def read_window(buffers: DeviceBuffers) -> Callable[[Awaitable[T]], Coroutine[Any, Any, T]]:
    """A wrapper for independent reads, so that `asyncio.gather` sends them together but at
    most `buffers.in_flight` at once: a request beyond the device's free buffers is refused
    (ENOMEM) or dropped (transports.md §5.1; captured on Zephyr 3.4, where even two at once on
    a 2-buffer build get one ENOMEM)."""
    slots = asyncio.Semaphore(buffers.in_flight)

    async def limited(read: Awaitable[T]) -> T:
        async with slots:
            return await read

    return limited


def request_limit(link: LinkInfo, buffers: DeviceBuffers, cap: int | None = None) -> RequestLimit:
    """The largest request: device buffer minus framing overhead, the link frame, a cap.

    On a fragmenting link (BLE with reassembly) a request longer than one fragment is cut to a
    whole number of fragments: 2475 bytes over 244-byte ATT writes would take 11 link packets,
    the last carrying 35 bytes; 2440 bytes take 10 full ones, so 9% fewer packets carry 1.4%
    fewer bytes (benchmarks/ble.py: 90% -> 97% of the link's limit)."""
    candidates = [
        (buffers.buf_size - link.device_buffer_overhead, "device buffer"),
        (link.max_frame_bytes, "link frame"),
    ]
    if cap is not None:
        candidates.append((cap, "option"))
    size, reason = min(candidates, key=lambda c: c[0])
    piece = link.fragment_bytes
    if piece and size > piece:
        size -= size % piece
    return RequestLimit(size, reason)


def upload_request(
    off: int, data: bytes, *, total: int, sha: bytes | None, image: int, upgrade: bool
) -> img.ImageUpload:
    """The request for `data` at `off`; the first (offset 0) also carries len, sha, image and
    upgrade."""
    if off:
        return img.ImageUpload(off=off, data=data)
    return img.ImageUpload(
        off=0,
        data=data,
        length=total,
        sha=sha,
        image=image or None,
        upgrade=True if upgrade else None,
    )


def chunk_data_bytes(
    limit: int,
    *,
    off: int,
    total: int,
    sha: bytes | None = None,
    image: int = 0,
    upgrade: bool = False,
    alignment: int = 1,
) -> int:
    """Data bytes for the chunk at `off` so that the encoded request is at most `limit` bytes.

    Measured by encoding the request, so CBOR integer and byte-string headers are exact.
    Rounded down to `alignment` unless the chunk is the last one.
    """
    probe = upload_request(off, b"", total=total, sha=sha, image=image, upgrade=upgrade)
    room = _room(limit, probe)
    room -= room % max(alignment, 1)
    return max(0, min(room, total - off))


def _room(limit: int, probe: img.ImageUpload) -> int:
    """Largest data length that fits: encode the request with empty data, then grow it by
    what is left; the byte-string header grows by at most 2 bytes, so at most 2 steps back.
    Cached per encoded size of the empty request (the offset's CBOR width), not per offset."""
    empty = len(encode_request(probe, 0))
    key = (limit, empty, probe.off == 0)
    room = _ROOM_CACHE.get(key)
    if room is None:
        room = limit - empty
        while room > 0 and len(encode_request(replace(probe, data=bytes(room)), 0)) > limit:
            room -= 1
        room = max(room, 0)
        if len(_ROOM_CACHE) > 256:
            _ROOM_CACHE.clear()
        _ROOM_CACHE[key] = room
    return room


_ROOM_CACHE: dict[tuple[int, int, bool], int] = {}
