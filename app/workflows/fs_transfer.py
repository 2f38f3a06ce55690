"""File transfers over the SMP file-system group: chunked download and upload with progress,
and the device's hash or checksum compared with the local bytes (spec digest §6.5).

Chunks are sized from the device's MCUmgr buffer and the link's frame limit. Plain asyncio;
no Qt and no local file I/O (callers read and write the bytes).
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from app.client import SmpClient
from app.errors import SlotwiseError
from app.smp.errors import DeviceError, FsErr, MgmtErr
from app.smp.header import Group

log = logging.getLogger(__name__)

UPLOAD_OVERHEAD_BYTES = 8 + 40
"""SMP header plus the CBOR keys and integers of an upload request ("off", "len", "data"...),
rounded up; the path length is added per request."""
MIN_CHUNK_BYTES = 32
DEFAULT_BUF_SIZE = 384
"""Assumed MCUmgr buffer when params are not supported (spec digest §6.0.5)."""
MAX_STALLS = 3


class TransferError(SlotwiseError):
    """A file transfer could not complete; str() says why in one sentence."""


@dataclass(frozen=True, slots=True)
class TransferProgress:
    path: str
    done_bytes: int
    total_bytes: int
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0

    @property
    def rate_bps(self) -> float | None:
        return self.done_bytes / self.elapsed_s if self.elapsed_s > 0 else None


ProgressCallback = Callable[[TransferProgress], None]


@dataclass(frozen=True, slots=True)
class HashCheck:
    """The device's digest of a file next to the digest of the local bytes."""

    path: str
    algorithm: str
    device_digest: str
    local_digest: str
    device_length: int
    local_length: int

    @property
    def matches(self) -> bool:
        return self.device_digest == self.local_digest and self.device_length == self.local_length


class _Meter:
    def __init__(self, path: str, total: int, callback: ProgressCallback | None) -> None:
        self.path, self.total, self.callback = path, total, callback
        self.start = time.monotonic()

    def report(self, done: int) -> None:
        if self.callback is not None:
            self.callback(
                TransferProgress(self.path, done, self.total, time.monotonic() - self.start)
            )


async def download(
    client: SmpClient, path: str, *, progress: ProgressCallback | None = None
) -> bytes:
    """The whole file at `path`, following the offsets the device answers."""
    first = await client.file_download_chunk(path, 0)
    if first.length is None:
        raise TransferError(f"the device did not say how long {path} is")
    total = first.length
    meter = _Meter(path, total, progress)
    parts = [first.data]
    done = len(first.data)
    meter.report(min(done, total))
    stalls = 0
    while done < total:
        reply = await client.file_download_chunk(path, done)
        if reply.off != done:
            raise TransferError(
                f"the device answered offset {reply.off} for {path} when {done} was asked"
            )
        if not reply.data:
            stalls += 1
            if stalls >= MAX_STALLS:  # the file shrank while we read it
                raise TransferError(
                    f"the device sent no data for {path} at offset {done} of {total}"
                )
            continue
        stalls = 0
        parts.append(reply.data)
        done += len(reply.data)
        meter.report(min(done, total))
    data = b"".join(parts)
    if len(data) != total:
        raise TransferError(
            f"{path} grew while downloading: got {len(data)} bytes, the device announced {total}"
        )
    return data


async def upload_chunk_bytes(client: SmpClient, path: str) -> int:
    """Data bytes per upload request: the device buffer and the link frame, minus overhead."""
    try:
        params = await client.params()
        buf_size = params.buf_size
    except DeviceError as exc:
        if not exc.not_supported:
            raise
        buf_size = DEFAULT_BUF_SIZE
    link = client.link
    frame = min(buf_size - link.device_buffer_overhead, link.max_frame_bytes)
    return max(frame - UPLOAD_OVERHEAD_BYTES - len(path.encode()), MIN_CHUNK_BYTES)


async def upload(
    client: SmpClient,
    path: str,
    data: bytes,
    *,
    progress: ProgressCallback | None = None,
    chunk_bytes: int | None = None,
) -> None:
    """Write `data` to `path` on the device (replacing it), chunk by chunk.

    A device that lost track of the file (FILE_OFFSET_NOT_VALID with its length) is followed
    from the length it reports; ENOMEM halves the chunk size.
    """
    size = chunk_bytes or await upload_chunk_bytes(client, path)
    meter = _Meter(path, len(data), progress)
    off = 0
    restarts = stalls = 0
    while True:
        chunk = data[off : off + size]
        sent_at = off
        try:
            off = await client.file_upload_chunk(path, off, chunk, len(data) if off == 0 else None)
        except DeviceError as exc:
            if not exc.group_error and exc.rc == MgmtErr.ENOMEM and size > MIN_CHUNK_BYTES:
                size = max(size // 2, MIN_CHUNK_BYTES)
                log.info("device out of memory; upload chunks now %d bytes", size)
                continue
            device_len = exc.extra.get("len")
            if (
                exc.group_error
                and exc.error_group == Group.FS
                and exc.rc == FsErr.FILE_OFFSET_NOT_VALID
                and restarts < MAX_STALLS
                and isinstance(device_len, int)
            ):
                restarts += 1
                # Only a prefix we wrote ourselves in this upload can be continued.
                off = device_len if 0 < device_len <= off else 0
                continue
            raise
        meter.report(min(off, len(data)))
        if off >= len(data):
            return
        stalls = stalls + 1 if off <= sent_at else 0
        if stalls >= MAX_STALLS:
            raise TransferError(f"the device stopped accepting {path} at offset {off}")


def local_digest(data: bytes, algorithm: str) -> str:
    """The hex digest the device would report for `data`: crc32 as 8 hex digits, sha256 as 64."""
    if algorithm == "crc32":
        return f"{zlib.crc32(data) & 0xFFFFFFFF:08x}"
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    raise TransferError(f"Slotwise cannot compute a {algorithm!r} digest locally")


def device_digest(output: int | bytes) -> str:
    return f"{output & 0xFFFFFFFF:08x}" if isinstance(output, int) else output.hex()


async def pick_algorithm(client: SmpClient) -> str | None:
    """sha256 when the device lists it, else crc32 if listed; None lets the device choose."""
    try:
        types = await client.file_hash_types()
    except DeviceError as exc:
        log.info("hash types not available: %s", exc)
        return None
    for name in ("sha256", "crc32"):
        if name in types:
            return name
    return None


async def hash_check(
    client: SmpClient, path: str, data: bytes, algorithm: str | None = None
) -> HashCheck:
    """Ask the device to hash `path` and compare with `data`."""
    if algorithm is None:
        algorithm = await pick_algorithm(client)
    try:
        reply = await client.file_hash(path, algorithm)
    except DeviceError as exc:
        if not (exc.group_error and exc.error_group == Group.FS and exc.rc == FsErr.FILE_EMPTY):
            raise
        # Zephyr refuses to hash an empty file; an empty file has the empty input's digest.
        kind = algorithm or "crc32"
        empty = local_digest(b"", kind)
        return HashCheck(
            path=path,
            algorithm=kind,
            device_digest=empty,
            local_digest=local_digest(data, kind),
            device_length=0,
            local_length=len(data),
        )
    return HashCheck(
        path=path,
        algorithm=reply.type,
        device_digest=device_digest(reply.output),
        local_digest=local_digest(data, reply.type),
        device_length=reply.length,
        local_length=len(data),
    )
