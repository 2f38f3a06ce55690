"""BleTransport (the real code) through the fake GATT seam wired to the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.client import SmpClient
from app.errors import TransportClosed, TransportError
from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral, simulated_ble_transport
from app.sim.device import SimConfig, SimDevice
from app.sim.runtime import SimRuntime
from app.smp.errors import DeviceError
from app.smp.groups import os as smp_os
from app.smp.message import encode_request
from app.transport.ble import BleOptions, BlePairingRequired, BleTransport, parse_ble_spec
from tests.waiting import until

from .smp_ops import run_every_operation


@pytest.fixture
async def runtime() -> AsyncIterator[SimRuntime]:
    """A started simulator runtime around a fresh device."""
    rt = SimRuntime(SimDevice(SimConfig()))
    await rt.start()
    yield rt
    await rt.stop()


def ble_transport(
    radio: FakeRadio,
    peripheral: SimBlePeripheral,
    *,
    reassembly: bool = True,
    by_name: bool = False,
) -> BleTransport:
    """A BleTransport to `peripheral`, by address (remembering its name) or by name only."""
    target = peripheral.name if by_name else peripheral.address
    options = BleOptions(
        target,
        name=peripheral.name,
        reassembly=reassembly,
        max_packet_bytes=peripheral.runtime.device.config.buf_size,
    )
    return BleTransport(
        options, client_factory=radio.client, scanner=radio.scanner(), scan_timeout_s=1.0
    )


@pytest.mark.parametrize("mtu", [23, 185, 247, 498])
async def test_every_operation_at_mtu(runtime: SimRuntime, mtu: int) -> None:
    """Every operation works at this ATT MTU, requests split into writes, replies reassembled."""
    radio = FakeRadio()
    peripheral = radio.add(
        SimBlePeripheral(runtime, mtu=mtu, conn_interval_s=0.001, packets_per_interval=6)
    )
    transport = ble_transport(radio, peripheral)
    async with SmpClient(transport) as client:
        assert transport.info.mtu == mtu
        await run_every_operation(client, runtime.device)
        big = "L" * 1500  # one reply of many notifications
        assert await client.echo(big) == big
    assert peripheral.writes > 1 and peripheral.notifications > 1
    if mtu == 23:
        assert peripheral.notifications > 1500 // 20
    assert transport.stats.dropped == 0


async def test_without_device_reassembly_requests_are_capped(runtime: SimRuntime) -> None:
    """Without device reassembly the link limit is ATT_MTU - 3 and larger packets are refused."""
    radio = FakeRadio()
    peripheral = radio.add(SimBlePeripheral(runtime, mtu=185, reassembly=False))
    transport = ble_transport(radio, peripheral, reassembly=False)
    async with SmpClient(transport) as client:
        assert transport.info.max_frame_bytes == 182
        assert await client.echo("s" * 150) == "s" * 150  # fits in one write
        with pytest.raises(TransportError, match="exceeds the BLE limit of 182"):
            await transport.send(encode_request(smp_os.Echo(d="t" * 400), 1))


async def test_oversized_write_without_reassembly_gets_ecorrupt(runtime: SimRuntime) -> None:
    """A device without reassembly answers the first fragment of a split request with an error."""
    radio = FakeRadio()
    peripheral = radio.add(SimBlePeripheral(runtime, mtu=185, reassembly=False))
    # The host wrongly believes the device reassembles (a misconfigured `reassembly` option).
    transport = ble_transport(radio, peripheral, reassembly=True)
    async with SmpClient(transport, timeout_s=1) as client:
        with pytest.raises(DeviceError) as caught:
            await client.echo("u" * 400)
    assert caught.value.rc == 9  # ECORRUPT, as Zephyr without reassembly (§2.2)


async def test_disconnect_mid_request_fails_at_once(runtime: SimRuntime) -> None:
    """A link drop ends a waiting request with "device disconnected" immediately."""
    radio = FakeRadio()
    peripheral = radio.add(SimBlePeripheral(runtime, mtu=247))
    async with SmpClient(ble_transport(radio, peripheral), timeout_s=10) as client:
        runtime.device.stop_answering()
        sent = client.stats.sent
        request = asyncio.create_task(client.echo("lost"))
        await until(lambda: client.stats.sent > sent)  # the request is on its way
        peripheral.disconnect()
        # the client would wait 10 s; ending well before that proves the drop ended it
        with pytest.raises(TransportClosed, match="device disconnected"):
            await asyncio.wait_for(request, 5)


async def test_reconnect_after_address_change(runtime: SimRuntime) -> None:
    """After a reset with a new random address, open() finds the device again by its name."""
    radio = FakeRadio()
    peripheral = radio.add(SimBlePeripheral(runtime, mtu=247, name="thingy-42"))
    old = peripheral.address
    transport = ble_transport(radio, peripheral)
    client = SmpClient(transport)
    await client.open()
    try:
        assert await client.echo("before") == "before"
        new = peripheral.change_address()
        with pytest.raises(TransportClosed):
            await client.echo("during")
        await client.close()
        await client.open()
        assert await client.echo("after") == "after"
        assert transport.address == new != old
    finally:
        await client.close()


async def test_connect_by_name_scans(runtime: SimRuntime) -> None:
    """A `ble:NAME` target is resolved to the advertiser's address by scanning."""
    radio = FakeRadio()
    radio.add(SimBlePeripheral(runtime, name="other-board"))
    wanted = radio.add(SimBlePeripheral(runtime, name="my-board", mtu=185))
    transport = ble_transport(radio, wanted, by_name=True)
    async with SmpClient(transport) as client:
        assert await client.echo("found") == "found"
    assert transport.address == wanted.address


async def test_unknown_name_gives_a_sentence(runtime: SimRuntime) -> None:
    """Scanning for a name nobody advertises ends with a clear TransportError."""
    radio = FakeRadio()
    transport = BleTransport(
        "nobody-home", client_factory=radio.client, scanner=radio.scanner(), scan_timeout_s=0.1
    )
    with pytest.raises(TransportError, match="no BLE device named 'nobody-home'"):
        await transport.open()


async def test_pairing_required_is_plain_words(runtime: SimRuntime) -> None:
    """A protected SMP characteristic gives the pairing sentence; pairing then fixes it."""
    radio = FakeRadio()
    peripheral = radio.add(SimBlePeripheral(runtime, requires_pairing=True))
    transport = ble_transport(radio, peripheral)
    with pytest.raises(BlePairingRequired, match="requires pairing: pair it in the system"):
        await transport.open()
    assert not peripheral.connected
    radio.pair(peripheral)
    async with SmpClient(transport) as client:
        assert await client.echo("paired") == "paired"


async def test_simulated_ble_transport_for_demo(runtime: SimRuntime) -> None:
    """`simulated_ble_transport()` gives a working BLE link to the simulator with its MTU."""
    transport = simulated_ble_transport(runtime, mtu=185, conn_interval_s=0.001)
    async with SmpClient(transport) as client:
        assert await client.echo("demo") == "demo"
    assert transport.info.kind == "ble" and transport.info.mtu == 185


def test_ble_spec_syntax() -> None:
    """The BLE device spec parses address vs name, reassembly, name, max and a Bumble HCI."""
    opts = parse_ble_spec("C0:FF:EE:00:00:01,reassembly,name=thingy,max=1024@usb:0")
    assert opts == BleOptions(
        "C0:FF:EE:00:00:01", name="thingy", reassembly=True, max_packet_bytes=1024, hci="usb:0"
    )
    assert parse_ble_spec("thingy").name == "thingy"
    assert parse_ble_spec("C0:FF:EE:00:00:01").name is None
    for bad in ("", ",reassembly", "x,bogus", "x,max=3", "x@"):
        with pytest.raises(ValueError):
            parse_ble_spec(bad)
