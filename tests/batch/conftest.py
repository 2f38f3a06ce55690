"""Several simulated boards on real UDP sockets, for batch and station runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest

from app.sim.device import SimConfig, SimDevice
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer

Boards = Callable[..., "AsyncIterator[UdpSimServer]"]


@pytest.fixture
async def boards() -> AsyncIterator[Callable[..., object]]:
    """Starts boards on demand: `await start(SimConfig(...))` -> a running UdpSimServer."""
    async with AsyncExitStack() as stack:

        async def start(
            config: SimConfig | None = None, port: int = 0, link: LinkModel | None = None
        ) -> UdpSimServer:
            server = UdpSimServer(SimDevice(config or SimConfig()), link, port=port, boot_s=0.05)
            await stack.enter_async_context(server)
            return server

        yield start
