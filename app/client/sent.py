"""The hash of the bytes an upload actually sends, kept as the engine reads them.

Pure apart from reading the `ImageSource`. The engine reads chunk by chunk, ahead of the
device, and goes back when the device names an earlier offset (a lost chunk, a reset); the
device's slot then holds, at each offset, the bytes last sent there. `SentBytes` keeps a
SHA-256 of exactly that stream: a checkpoint (a copy of the hash state) at the end of every
chunk not yet acknowledged, so going back restores the state at that offset instead of
re-reading the image from 0. Acknowledged checkpoints are dropped, so it holds a window's worth.
"""

from __future__ import annotations

import hashlib
from typing import Any

from app.image.source import CHUNK_BYTES, ImageSource


class SentBytes:
    """Reads an image for upload and hashes the bytes in the order the device keeps them."""

    def __init__(self, source: ImageSource) -> None:
        self.source = source
        self._hasher: Any = hashlib.sha256()
        self._end = 0
        """The hash covers [0, _end) as last read."""
        self._checkpoints: dict[int, Any] = {0: hashlib.sha256()}

    def read(self, offset: int, length: int) -> bytes:
        """The bytes at [offset, offset + length), hashed as the stream's bytes at that offset.

        Raises:
            ValueError: `offset` is outside the image (the source refuses it).
        """
        self._move_to(offset)
        data = self.source.read_at(offset, length)
        self._take(data)
        return data

    def acknowledged(self, offset: int) -> None:
        """The device holds [0, offset) for good: forget checkpoints below it (but 0, which a
        device reset returns to)."""
        keep = max(k for k in self._checkpoints if k <= offset) if offset >= 0 else 0
        for key in [k for k in self._checkpoints if 0 < k < keep]:
            del self._checkpoints[key]

    @property
    def checkpoints(self) -> int:
        """Hash states held: the chunks in flight, plus offset 0."""
        return len(self._checkpoints)

    def digest(self, total: int) -> bytes:
        """SHA-256 of the stream [0, total): what the device's slot now holds."""
        self._move_to(total)
        return bytes(self._hasher.digest())

    def _take(self, data: bytes) -> None:
        self._hasher.update(data)
        self._end += len(data)
        self._checkpoints[self._end] = self._hasher.copy()

    def _move_to(self, offset: int) -> None:
        """Make the hash cover exactly [0, offset): step back to a checkpoint, then read
        forward what lies between (bytes the device kept from an earlier send or session)."""
        if offset < self._end:
            start = max(k for k in self._checkpoints if k <= offset)
            self._hasher = self._checkpoints[start].copy()
            self._end = start
            for key in [k for k in self._checkpoints if k > start]:  # the old stream's
                del self._checkpoints[key]
        while self._end < offset:
            gap = self.source.read_at(self._end, min(CHUNK_BYTES, offset - self._end))
            if not gap:
                raise ValueError(f"offset {offset} is past the end of the image")
            self._take(gap)
