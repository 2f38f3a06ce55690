"""The image upload engine: chunks sized to the limit, a pipelining window, resume, cancel.

What it does (spec transports.md §5, smp-protocol.md §6.1.3):
* each request is as large as the device buffer and the link allow, measured by encoding the
  request (`app.smp.message.encode_request`), with data lengths rounded to a flash alignment;
* several requests are kept in flight (the window: buf_count - 1, or 1 when params are not
  answered); ENOMEM, a timeout or an offset rewind shrink it, a run of clean answers grows it;
* only the device's `off` is trusted: whatever it says, the upload continues from there;
* a dropped link is reconnected (if a `reconnect` factory is given) and the first chunk is
  sent again with the file's SHA-256, so the device resumes from its offset;
* the image is read chunk by chunk from an `ImageSource`, never held whole.

It does not judge the image or mark it: that is app/workflows/update.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from app.client.client import SmpClient
from app.errors import SlotwiseError, TransportTimeout
from app.image.source import ImageSource
from app.smp.errors import DecodeError, DeviceError
from app.smp.groups import img
from app.smp.message import encode_request
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)

FALLBACK_BUFFERS = (384, 4)
"""Zephyr defaults when MCUmgr params is not built in (smp-protocol.md §6.0.5)."""
FALLBACK_BUFFERS_UDP = (2048, 2)
"""Defaults of UDP builds (transports.md §3)."""
IMAGE_HEADER_BYTES = 32
"""The first chunk must hold the whole MCUboot header (§6.1.3 check 2)."""

Reconnect = Callable[[], Awaitable[SmpClient]]
"""Makes a new, connected client to the same device (per transport: re-open, re-scan)."""


class UploadError(SlotwiseError):
    """The upload could not finish; the sentence says why and where it stopped."""


class UploadCancelled(UploadError):
    """The caller cancelled; `offset` is where the device stands (a later upload resumes)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class DeviceBuffers:
    """The device's MCUmgr buffer pool (OS params), or the assumed fallback."""

    buf_size: int
    buf_count: int
    reported: bool
    """False when the device did not answer params and the defaults are assumed."""


@dataclass(frozen=True, slots=True)
class RequestLimit:
    """The largest upload request (header + CBOR) and what sets it."""

    max_request_bytes: int
    limited_by: str
    """"device buffer", "link frame" or "option": named in tuning advice."""


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """How to upload. Defaults suit every transport; tests and the CLI override a few."""

    image: int = 0
    """Target image number (the `image` field of the first chunk)."""
    upgrade: bool = False
    """Ask the device to refuse anything not newer than what runs (`upgrade` field)."""
    window: int | None = None
    """Requests in flight at the start; None: buf_count - 1 (1 when params are unknown)."""
    max_window: int | None = None
    """Ceiling for growth; None: the start window (or `window` when larger)."""
    alignment: int = 4
    """Chunk data lengths are rounded down to this (flash write block); the last is not."""
    max_request_bytes: int | None = None
    """Cap below what device and link allow (None: no extra cap)."""
    first_timeout_s: float = 1.0
    """First wait for the first chunk; doubled per resend up to `max_timeout_s`, because the
    device erases the slot before it answers (§5.4)."""
    min_timeout_s: float = 0.2
    """Floor of the adaptive per-request timeout on lossy links; reliable links use 4x."""
    max_timeout_s: float = 16.0
    grow_after: int = 8
    """Clean answers in a row before the window grows by one."""
    stall_timeout_s: float = 60.0
    """Give up when the device's offset has not moved for this long."""
    reconnect_timeout_s: float = 30.0
    """How long to keep trying to reconnect after the link dropped."""
    max_session_restarts: int = 4
    """Device errors in mid-upload (which reset its upload state) tolerated before failing."""
    progress_interval_s: float = 0.05
    """Minimum time between progress ticks (state changes are always reported)."""


@dataclass(frozen=True, slots=True)
class UploadTick:
    """Raw progress from the engine; app.workflows.progress adds rate and ETA."""

    acked: int
    total: int
    retries: int
    resumes: int
    window: int
    message: str = ""


ProgressHook = Callable[[UploadTick], None]


@dataclass(frozen=True, slots=True)
class UploadStats:
    """What one upload measured; link tuning advice is derived from it."""

    total_bytes: int
    elapsed_s: float
    buffers: DeviceBuffers
    limit: RequestLimit
    link: LinkInfo
    chunk_bytes: int
    """Data bytes in a full continuation chunk."""
    start_window: int
    max_window: int
    final_window: int
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    enomem: int = 0
    rewinds: int = 0
    resumes: int = 0
    reconnects: int = 0
    resumed_from: int = 0
    """Offset the device already had when this upload started (0: a fresh upload)."""
    sent_bytes: int = 0
    """Data bytes sent, resends included."""
    srtt_s: float | None = None
    """Smoothed round trip of one request at the windows used."""
    match: bool | None = None
    """The device's `match` on the last chunk (only with CONFIG_IMG_ENABLE_IMAGE_CHECK)."""

    @property
    def rate_bps(self) -> float:
        moved = self.total_bytes - self.resumed_from
        return moved / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class UploadResult:
    stats: UploadStats
    client: SmpClient
    """The client the upload finished on (a new one after a reconnect)."""


# --- sizing ------------------------------------------------------------------------------------


async def read_buffers(client: SmpClient) -> DeviceBuffers:
    """The device's buffer size and count, or the documented fallback when it does not say."""
    try:
        params = await client.params()
    except (DeviceError, DecodeError, TransportTimeout) as exc:
        size, count = FALLBACK_BUFFERS_UDP if client.link.kind == "udp" else FALLBACK_BUFFERS
        log.info("MCUmgr params unavailable (%s); assuming %d x %d-byte buffers", exc,
                 count, size)
        return DeviceBuffers(size, count, reported=False)
    return DeviceBuffers(params.buf_size, max(params.buf_count, 1), reported=True)


def request_limit(link: LinkInfo, buffers: DeviceBuffers,
                  cap: int | None = None) -> RequestLimit:
    """The largest request: device buffer minus framing overhead, the link frame, a cap."""
    candidates = [(buffers.buf_size - link.device_buffer_overhead, "device buffer"),
                  (link.max_frame_bytes, "link frame")]
    if cap is not None:
        candidates.append((cap, "option"))
    size, reason = min(candidates, key=lambda c: c[0])
    return RequestLimit(size, reason)


def first_chunk(off: int, data: bytes, *, total: int, sha: bytes | None, image: int,
                upgrade: bool) -> img.ImageUpload:
    """The request for `data` at `off`; at offset 0 it carries len, sha, image and upgrade."""
    if off:
        return img.ImageUpload(off=off, data=data)
    return img.ImageUpload(off=0, data=data, length=total, sha=sha,
                           image=image or None, upgrade=True if upgrade else None)


def chunk_data_bytes(limit: int, *, off: int, total: int, sha: bytes | None = None,
                     image: int = 0, upgrade: bool = False, alignment: int = 1) -> int:
    """Data bytes for the chunk at `off` so that the encoded request is at most `limit` bytes.

    Measured by encoding the request, so CBOR integer and byte-string headers are exact.
    Rounded down to `alignment` unless the chunk is the last one.
    """
    probe = first_chunk(off, b"", total=total, sha=sha, image=image, upgrade=upgrade)
    room = _room(limit, probe)
    room -= room % max(alignment, 1)
    return max(0, min(room, total - off))


@lru_cache(maxsize=64)
def _room(limit: int, probe: img.ImageUpload) -> int:
    """Largest data length that fits; the byte-string header grows by at most 2 bytes."""
    room = limit - len(encode_request(probe, 0))
    while room > 0 and len(encode_request(replace(probe, data=bytes(room)), 0)) > limit:
        room -= 1
    return max(room, 0)


def file_sha256(source: ImageSource) -> bytes:
    """SHA-256 of the whole file, streamed (the upload `sha`, not the image hash TLV)."""
    digest = hashlib.sha256()
    for chunk in source.chunks(0, source.size):
        digest.update(chunk)
    return digest.digest()


# --- the engine --------------------------------------------------------------------------------


async def upload_image(client: SmpClient, source: ImageSource, *,
                       options: UploadOptions | None = None, sha: bytes | None = None,
                       buffers: DeviceBuffers | None = None,
                       on_progress: ProgressHook | None = None,
                       cancel: asyncio.Event | None = None,
                       reconnect: Reconnect | None = None) -> UploadResult:
    """Upload `source` to the device and return when the device reports `off == len`.

    Args:
        client: a connected client.
        source: the image bytes, read chunk by chunk.
        options: sizing, window and timeouts.
        sha: SHA-256 of the file (computed when None); the device resumes a session with it.
        buffers: the device's buffers if already read (else read here).
        on_progress: called with raw ticks (acknowledged bytes, retries, resumes, window).
        cancel: set it to stop cleanly; the next upload of the same image resumes.
        reconnect: makes a new connected client when the link drops; without it a drop fails.

    Raises:
        UploadCancelled: `cancel` was set.
        UploadError: the device refused the image, stopped answering, or the link is gone.
    """
    opts = options or UploadOptions()
    if buffers is None:
        buffers = await read_buffers(client)
    if sha is None:
        sha = await asyncio.to_thread(file_sha256, source)
    uploader = _Uploader(client, source, opts, sha=sha, buffers=buffers,
                        on_progress=on_progress, cancel=cancel, reconnect=reconnect)
    return await uploader.run()


class _Uploader:
    """One upload run: the window, the device's offset, reconnects. Filled in below."""

    def __init__(self, client: SmpClient, source: ImageSource, options: UploadOptions, *,
                 sha: bytes, buffers: DeviceBuffers, on_progress: ProgressHook | None,
                 cancel: asyncio.Event | None, reconnect: Reconnect | None) -> None:
        self.client = client
        self.source = source
        self.options = options
        self.sha = sha
        self.buffers = buffers
        self.on_progress = on_progress
        self.cancel = cancel
        self.reconnect = reconnect

    async def run(self) -> UploadResult:
        raise NotImplementedError
