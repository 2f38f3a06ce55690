"""Leaving a device (closing its DeviceSession) while a reset wait is polling stops the wait
at once and leaves no link open: the session never reconnects after it was closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.errors import SlotwiseError, TransportClosed
from app.gui.session import DeviceSession
from app.gui.targets import DeviceTarget
from app.sim.device import SimConfig, SimDevice
from app.sim.serve import UdpSimServer
from app.transport import Transport, open_transport
from tests.waiting import until


class CountingOpener:
    """Opens real UDP transports to the simulator and remembers each one."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.made: list[Transport] = []

    def __call__(self) -> Transport:
        transport = open_transport(self.spec)
        self.made.append(transport)
        return transport

    def still_open(self) -> list[Transport]:
        return [t for t in self.made if t.is_open]


@pytest.fixture
async def server() -> AsyncIterator[UdpSimServer]:
    sim = UdpSimServer(SimDevice(SimConfig(name="leave-test")))
    await sim.start()
    yield sim
    await sim.stop()


def session_for(server: UdpSimServer) -> tuple[DeviceSession, CountingOpener]:
    spec = f"udp:{server.address}"
    opener = CountingOpener(spec)
    target = DeviceTarget(spec=spec, kind="udp", name="Leave board", address=server.address)
    return DeviceSession(target, timeout_s=0.5, opener=opener), opener


async def test_closing_mid_reset_wait_stops_it_and_leaves_no_link(server: UdpSimServer) -> None:
    """A reset wait (device silent after its reboot) ends promptly when the session closes,
    and every transport the session opened is closed: no reconnect after close."""
    before = asyncio.all_tasks()  # the simulator's own
    session, opener = session_for(server)
    await session.connect()
    device = server.device
    reset = asyncio.create_task(session.reset(wait_s=60.0))
    await until(lambda: device.counters["reboots"] > 0)  # rebooted; now it stays silent
    assert device.counters["reboots"] == 1
    client = session.client
    assert client is not None
    device.stop_answering()
    await until(lambda: client.stats.timeouts > 0)  # the wait is polling: a probe went unanswered
    assert not reset.done()
    opened_before_close = len(opener.made)
    await session.close()
    # 10 s is a guard far below the 60 s wait: a wait that ignored the close would hit it
    with pytest.raises(SlotwiseError):
        await asyncio.wait_for(reset, 10.0)
    # Whatever could still reconnect would be a task the session left running: let every
    # task the test started end (they were cancelled), then nothing is left to open a link.
    left = [t for t in asyncio.all_tasks() if t not in before and t is not asyncio.current_task()]
    if left:
        await asyncio.wait(left, timeout=10.0)
    assert [t.get_name() for t in left if not t.done()] == []
    assert opener.still_open() == []
    assert len(opener.made) == opened_before_close
    assert session.client is None


async def test_reconnect_after_close_is_refused(server: UdpSimServer) -> None:
    """A reconnect asked of a closed session raises TransportClosed and opens nothing."""
    session, opener = session_for(server)
    await session.connect()
    await session.close()
    with pytest.raises(TransportClosed, match="not reconnecting"):
        await session.reconnect()
    assert len(opener.made) == 1 and opener.still_open() == []
