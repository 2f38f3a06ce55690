"""A real UDP relay between client and simulator that duplicates, delays and reorders
datagrams.

The simulator's link model loses packets but never duplicates or reorders them; this relay
adds that on real sockets: every datagram is passed on at once and, for the chosen
directions, sent a second time `late_s` later (a late duplicate, arriving after newer ones).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: DuplicatingRelay, upstream: bool) -> None:
        self.relay = relay
        self.upstream = upstream

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.relay.received(data, addr, self.upstream)


class DuplicatingRelay:
    """Listens on 127.0.0.1:<port>; forwards to `target`; answers go back to the client."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        duplicate_requests: bool = True,
        duplicate_replies: bool = True,
        late_s: float = 0.03,
        hold_every: int = 0,
    ) -> None:
        self.target = target
        self.duplicate_requests = duplicate_requests
        self.duplicate_replies = duplicate_replies
        self.late_s = late_s
        self.hold_every = hold_every
        """When > 0, every n-th datagram (each way) is only sent `late_s` later: reordering."""
        self._seen = 0
        self.client_addr: tuple[str | int, ...] | None = None
        self.duplicates = 0
        self._front: asyncio.DatagramTransport | None = None
        self._back: asyncio.DatagramTransport | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._all_sent = asyncio.Event()
        self._all_sent.set()

    @property
    def address(self) -> str:
        assert self._front is not None
        return f"127.0.0.1:{self._front.get_extra_info('sockname')[1]}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._front, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, upstream=True), local_addr=("127.0.0.1", 0)
        )
        self._back, _ = await loop.create_datagram_endpoint(
            lambda: _Side(self, upstream=False), remote_addr=self.target
        )

    async def drained(self) -> None:
        """Until every late copy scheduled so far has been sent on."""
        await self._all_sent.wait()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for side in (self._front, self._back):
            if side is not None:
                side.close()

    def received(self, data: bytes, addr: tuple[str | int, ...], upstream: bool) -> None:
        if upstream:
            self.client_addr = addr
        elif self.client_addr is None:
            return
        self._seen += 1
        if self.hold_every and self._seen % self.hold_every == 0:
            self._later(data, upstream)  # overtaken by the datagrams that follow it
            return
        self._forward(data, upstream)
        if self.duplicate_requests if upstream else self.duplicate_replies:
            self._later(data, upstream)

    def _forward(self, data: bytes, upstream: bool) -> None:
        if upstream and self._back is not None and not self._back.is_closing():
            self._back.sendto(data)
        elif not upstream and self._front is not None and not self._front.is_closing():
            self._front.sendto(data, self.client_addr)

    def _later(self, data: bytes, upstream: bool) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            self.duplicates += 1  # counts held-back datagrams too
            self._forward(data, upstream)
            if not self._timers:
                self._all_sent.set()

        handle = loop.call_later(self.late_s, fire)
        self._timers.add(handle)
        self._all_sent.clear()


@contextlib.asynccontextmanager
async def duplicating_relay(target: str, **kwargs: object) -> AsyncIterator[DuplicatingRelay]:
    host, _, port = target.rpartition(":")
    relay = DuplicatingRelay((host, int(port)), **kwargs)  # type: ignore[arg-type]
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
