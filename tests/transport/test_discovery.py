"""Discovery of several simulators at once: loopback UDP, ptys and the fake BLE radio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.client.discovery import FoundDevice, discover, parse_udp_target
from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral
from app.sim.device import SimConfig, SimDevice
from app.sim.runtime import SimRuntime
from app.sim.serial_endpoint import PtySimServer
from app.sim.serve import UdpSimServer

from .conftest import PtyPair


@pytest.fixture
async def udp_sims() -> AsyncIterator[list[UdpSimServer]]:
    """Three UDP simulators on 127.0.0.2-4, one shared free port."""
    first = UdpSimServer(SimDevice(SimConfig(name="udp-a")), host="127.0.0.2")
    await first.start()
    servers = [first]
    try:
        for host in ("127.0.0.3", "127.0.0.4"):
            server = UdpSimServer(SimDevice(SimConfig()), host=host, port=first.port)
            await server.start()
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def pty_sims() -> AsyncIterator[list[PtySimServer]]:
    """Two simulators on ptys."""
    servers = [PtySimServer(SimDevice(SimConfig())) for _ in range(2)]
    try:
        for server in servers:
            await server.start()
        yield servers
    finally:
        for server in servers:
            await server.stop()


async def collect(source: AsyncIterator[FoundDevice]) -> list[FoundDevice]:
    return [found async for found in source]


async def test_udp_ptys_and_ble_at_once(
    udp_sims: list[UdpSimServer], pty_sims: list[PtySimServer], pty_pair: PtyPair
) -> None:
    """One discovery finds every UDP simulator in a block, marks which ports answer SMP, and BLE."""
    port = udp_sims[0].port
    runtime = SimRuntime(SimDevice(SimConfig()))
    await runtime.start()
    radio = FakeRadio()
    smp = radio.add(SimBlePeripheral(runtime, name="ble-sim", rssi=-40))
    radio.add(SimBlePeripheral(runtime, name="heart-rate", advertises_smp=False))
    try:
        found = await asyncio.wait_for(
            collect(
                discover(
                    udp=[f"127.0.0.0/29:{port}", f"127.0.0.9:{port}"],
                    serial_ports=[s.path for s in pty_sims] + [pty_pair.path],
                    probe_serial=True,
                    ble_scanner=radio.scanner(),
                    timeout_s=0.3,
                    probe_timeout_s=0.4,
                )
            ),
            10,
        )
    finally:
        await runtime.stop()
    udp = {f.address: f.answers_smp for f in found if f.transport == "udp"}
    assert udp == {f"127.0.0.{n}:{port}": True for n in (2, 3, 4)} | {
        f"127.0.0.9:{port}": False
    }  # a named host is listed even when silent
    serial = {f.address: f.answers_smp for f in found if f.transport == "serial"}
    assert serial == {pty_sims[0].path: True, pty_sims[1].path: True, pty_pair.path: False}
    ble = [f for f in found if f.transport == "ble"]
    assert {f.name for f in ble} == {"ble-sim"}  # filtered to the SMP service
    assert ble[0].rssi == -40 and ble[0].address == smp.address and ble[0].answers_smp


async def test_ble_updates_while_scanning() -> None:
    """A BLE device is reported again when its RSSI changes; `ble_all` shows non-SMP devices."""
    runtime = SimRuntime(SimDevice(SimConfig()))
    radio = FakeRadio()
    board = radio.add(SimBlePeripheral(runtime, name="board", rssi=-70))
    radio.add(SimBlePeripheral(runtime, name="watch", advertises_smp=False))
    seen: list[FoundDevice] = []
    async for found in discover(ble_scanner=radio.scanner(), ble_all=True, timeout_s=0.3):
        seen.append(found)
        if found.name == "board" and found.rssi == -70:
            board.rssi = -45
    rssi = [f.rssi for f in seen if f.name == "board"]
    assert rssi == [-70, -45]
    assert [f.answers_smp for f in seen if f.name == "watch"] == [False]


def test_udp_target_syntax() -> None:
    """UDP targets parse as a host, a CIDR block or a range, with an optional port."""
    assert parse_udp_target("10.0.0.7").hosts == ("10.0.0.7",)
    block = parse_udp_target("192.168.1.0/30:5000")
    assert (block.hosts, block.port, block.single) == (("192.168.1.1", "192.168.1.2"), 5000, False)
    assert len(parse_udp_target("10.0.0.250-10.0.1.5").hosts) == 12
    for bad in ("10.0.0.0/8", "10.0.0.9-10.0.0.1", "10.0.0.0/33", "10.0.0.0/30:x"):
        with pytest.raises(ValueError):
            parse_udp_target(bad)
