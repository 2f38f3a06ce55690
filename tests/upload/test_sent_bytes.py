"""The upload's hash of what it sends (app/client/sent.py) and the sources' read bounds."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from app.client.sent import SentBytes
from app.image.source import BytesSource, FileSource

DATA = random.Random(7).randbytes(10_000)


class ChangingSource(BytesSource):
    """Bytes that change after `after` reads: a file rewritten on disk mid-upload."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self.reads = 0
        self.after = after

    def read_at(self, offset: int, length: int) -> bytes:
        self.reads += 1
        data = super().read_at(offset, length)
        return bytes(b ^ 1 for b in data) if self.reads > self.after else data


def test_in_order_reads_hash_the_file() -> None:
    """Chunks read in order hash to the file's SHA-256."""
    sent = SentBytes(BytesSource(DATA))
    for off in range(0, len(DATA), 700):
        sent.read(off, 700)
        sent.acknowledged(off)
    assert sent.digest(len(DATA)) == hashlib.sha256(DATA).digest()


def test_rewinds_skips_and_resets_keep_the_stream_hash() -> None:
    """Going back to an earlier chunk, forward past unread bytes (a resumed session) or back
    to 0 (a device reset) still ends with the hash of the file as the device holds it."""
    sent = SentBytes(BytesSource(DATA))
    for off in (0, 1000, 2000, 3000):  # a window ahead of the device
        sent.read(off, 1000)
    sent.acknowledged(1000)
    sent.read(1000, 500)  # the device lost the chunk at 1000; smaller chunks now
    sent.read(1500, 500)
    sent.read(6000, 1000)  # the device skipped ahead: [2000, 6000) is read to be hashed
    sent.read(0, 1000)  # the device reset
    sent.read(1000, 9000)
    assert sent.digest(len(DATA)) == hashlib.sha256(DATA).digest()


def test_a_source_that_changes_mid_upload_changes_the_hash() -> None:
    """Bytes that differ on a later read make the stream hash differ from the file's."""
    sent = SentBytes(ChangingSource(DATA, after=3))
    for off in range(0, len(DATA), 1000):
        sent.read(off, 1000)
    assert sent.digest(len(DATA)) != hashlib.sha256(DATA).digest()


def test_checkpoints_are_dropped_once_acknowledged() -> None:
    """Only the unacknowledged window is kept, however long the image."""
    sent = SentBytes(BytesSource(DATA))
    for off in range(0, len(DATA), 100):
        sent.read(off, 100)
        sent.acknowledged(off)
    assert sent.checkpoints <= 3


@pytest.mark.parametrize("offset", [-1, -4096, len(DATA) + 1])
def test_reads_outside_the_image_are_refused(offset: int, tmp_path: Path) -> None:
    """A negative offset, or one past the end, raises ValueError in every source: no read
    from the end of an in-memory image (.hex, .zip), no OSError from a file."""
    path = tmp_path / "image.bin"
    path.write_bytes(DATA)
    with FileSource(path) as file_source:
        for source in (BytesSource(DATA), file_source):
            with pytest.raises(ValueError, match="outside"):
                source.read_at(offset, 16)
    with pytest.raises(ValueError):
        SentBytes(BytesSource(DATA)).read(offset, 16)
