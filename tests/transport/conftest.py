"""Fixtures for the serial, BLE and discovery tests: real ptys, real sockets, one fake radio."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest


@dataclass
class PtyPair:
    """A raw pseudo-terminal: the test plays the device on `master`, the host opens `path`."""

    master: int
    slave: int
    path: str

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    async def read_until(self, count: int, timeout_s: float = 2.0) -> bytes:
        """At least `count` bytes the host wrote, or what arrived before the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        data = b""
        while len(data) < count and loop.time() < deadline:
            try:
                data += os.read(self.master, 4096)
            except BlockingIOError:
                await asyncio.sleep(0.01)
        return data

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """A raw pty pair, closed after the test."""
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    os.set_blocking(master, False)
    pair = PtyPair(master, slave, os.ttyname(slave))
    yield pair
    pair.close()


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fails a test that leaves an asyncio task of its own running."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leaked = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    assert not leaked, f"test left tasks running: {[t.get_name() for t in leaked]}"
