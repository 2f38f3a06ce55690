"""Random access to image bytes without loading a whole file (file, or bytes already in memory).

A `.bin` is read in chunks straight from disk so verifying a 16 MiB image holds only a chunk
at a time; HEX and zip members are decoded into memory once and served from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_BYTES = 1 << 20
"""Read size for streaming: large enough that per-call overhead vanishes next to hashing."""


class ImageSource(Protocol):
    """Bytes of one image, read by offset. `read_at` returns fewer bytes only past the end."""

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
        return bytes(self._data[offset:offset + length])

    def chunks(self, start: int, end: int) -> Iterator[memoryview]:
        for pos in range(start, min(end, self.size), CHUNK_BYTES):
            yield self._data[pos:min(pos + CHUNK_BYTES, end)]


class FileSource:
    """A file on disk, read on demand; close it (or use `with`) when done."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO = path.open("rb")
        self._size = os.fstat(self._file.fileno()).st_size
        # One reusable buffer: chunks() hands out views of it, so no per-chunk allocation.
        self._buffer = bytearray(CHUNK_BYTES)

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
        self._file.seek(offset)
        return self._file.read(max(0, length))

    def chunks(self, start: int, end: int) -> Iterator[memoryview]:
        """Views of [start, end) one chunk at a time; each view is valid until the next one."""
        self._file.seek(start)
        view = memoryview(self._buffer)
        remaining = min(end, self._size) - start
        while remaining > 0:
            got = self._file.readinto(view[:min(CHUNK_BYTES, remaining)])
            if not got:
                return
            remaining -= got
            yield view[:got]
