"""Random access to image bytes without loading a whole file (file, or bytes already in memory).

A `.bin` is read in chunks straight from disk so verifying a 16 MiB image holds only a chunk
at a time; HEX and zip members are decoded into memory once and served from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

CHUNK_BYTES = 256 * 1024
"""Read size for streaming: per-call overhead vanishes next to hashing, and it stays in cache."""


class ImageSource(Protocol):
    """Bytes of one image, read by offset. `read_at` returns fewer bytes only past the end,
    and raises ValueError for an offset outside [0, size] (never reads other bytes)."""

    @property
    def size(self) -> int: ...

    def read_at(self, offset: int, length: int) -> bytes: ...

    def chunks(self, start: int, end: int) -> Iterator[memoryview]: ...


class BytesSource:
    """An image held in memory (decoded HEX, zip member, or a test's bytes)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    @property
    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, length: int) -> bytes:
        _check_range(offset, length, self.size)
        return bytes(self._data[offset : offset + length])

    def chunks(self, start: int, end: int) -> Iterator[memoryview]:
        _check_range(start, 0, self.size)
        for pos in range(start, min(end, self.size), CHUNK_BYTES):
            yield self._data[pos : min(pos + CHUNK_BYTES, end)]


class FileSource:
    """A file on disk, read on demand; close it (or use `with`) when done."""

    def __init__(self, path: Path) -> None:
        # Unbuffered: we read either a few small header/TLV pieces or whole chunks.
        self._file = path.open("rb", buffering=0)
        self._size = os.fstat(self._file.fileno()).st_size
        self._buffer: bytearray | None = None

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        _check_range(offset, length, self._size)
        self._file.seek(offset)
        parts = []
        while length > 0:  # a raw file may return short reads
            part = self._file.read(length)
            if not part:
                break
            parts.append(part)
            length -= len(part)
        return b"".join(parts)

    def chunks(self, start: int, end: int) -> Iterator[memoryview]:
        """Views of [start, end) one chunk at a time; each view is valid until the next one."""
        _check_range(start, 0, self._size)
        self._file.seek(start)
        remaining = min(end, self._size) - start
        if self._buffer is None or len(self._buffer) < min(CHUNK_BYTES, remaining):
            # One reusable buffer, no larger than needed: no per-chunk allocation.
            self._buffer = bytearray(min(CHUNK_BYTES, max(remaining, 1)))
        view = memoryview(self._buffer)
        while remaining > 0:
            got = self._file.readinto(view[: min(len(view), remaining)])
            if not got:
                return
            remaining -= got
            yield view[:got]


def _check_range(offset: int, length: int, size: int) -> None:
    """A negative offset would read from the end of a slice, or fail deep in `seek`: refuse
    both, so a device's bogus offset can never select bytes of another part of the image."""
    if offset < 0 or length < 0 or offset > size:
        raise ValueError(
            f"read of {length} bytes at offset {offset} is outside the {size}-byte image"
        )
