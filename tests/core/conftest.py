"""A simulated device on a real UDP socket on 127.0.0.1, and a client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.client import SmpClient
from app.sim.device import SimConfig, SimDevice
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer
from app.transport.udp import UdpTransport


@pytest.fixture
def device() -> SimDevice:
    """A modern-Zephyr board running its factory image 1.0.0 in slot 0, slot 1 empty."""
    return SimDevice(SimConfig(buf_count=4))


@pytest.fixture
def link() -> LinkModel:
    return LinkModel()


@pytest.fixture
async def server(device: SimDevice, link: LinkModel) -> AsyncIterator[UdpSimServer]:
    async with UdpSimServer(device, link, boot_s=0.01) as running:
        yield running


@pytest.fixture
async def client(server: UdpSimServer) -> AsyncIterator[SmpClient]:
    transport = UdpTransport(server.host, server.port)
    async with SmpClient(transport, timeout_s=2.0) as connected:
        yield connected
