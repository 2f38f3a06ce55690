"""`slotwise sim --ble-hci` end to end: the simulated device as a BLE peripheral on a Bumble
virtual controller in another process, reached by a Bumble central on a second controller of
the same link; and the paced link model (app/sim/ble_link.py) those controllers can run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sim_process import running_controllers, running_sim

from app.client import SmpClient
from app.errors import TransportClosed
from app.sim.ble_link import PROFILES, LinkPacing, PacedLink, serve_controllers
from app.sim.bumble_peripheral import BumbleSimServer
from app.sim.device import SimConfig, SimDevice
from app.sim.mcuboot import build_image
from app.sim.runtime import SimRuntime
from app.transport.ble import SMP_SERVICE_UUID, BleOptions, BleTransport
from app.transport.ble_bumble import BumbleHost

from .smp_ops import image_hash, upload

ADDRESS = "C0:B0:00:00:00:01"


@pytest.fixture
def controllers() -> Iterator[list[str]]:
    """Two fresh virtual controllers on one (instant) link, in their own process."""
    with running_controllers(2) as specs:
        yield specs


@pytest.fixture
async def central(controllers: list[str]) -> AsyncIterator[BumbleHost]:
    """Our Bumble host on the second controller."""
    host = BumbleHost(controllers[1])
    try:
        yield host
    finally:
        await host.close()


def transport_on(host: BumbleHost) -> BleTransport:
    options = BleOptions(ADDRESS, reassembly=True, max_packet_bytes=2048, hci=host.hci)
    return BleTransport(options, client_factory=host.client, scanner=host.scanner())


async def next_sighting(host: BumbleHost, address: str) -> tuple[str | None, tuple[str, ...]]:
    """(name, service UUIDs) of the first advertisement from `address`."""
    async for adv in host.scanner().scan(timeout_s=20, smp_only=False):
        if adv.address == address:
            return adv.name, adv.service_uuids
    raise AssertionError(f"{address} never advertised")


async def test_sim_on_a_controller_updates_and_advertises_again_after_reset(
    controllers: list[str], central: BumbleHost, tmp_path: Path
) -> None:
    """The simulator on a virtual controller advertises the SMP service and its name, takes a
    connection at ATT MTU 247 and an upload, test and reset; it drops the link at the reset,
    advertises again once booted, and then runs the uploaded image."""
    with running_sim("--ble-hci", controllers[0], state_dir=tmp_path) as (address, _line):
        assert address == ADDRESS
        name, uuids = await next_sighting(central, ADDRESS)
        assert SMP_SERVICE_UUID in uuids and name == "slotwise"  # 31 bytes: name shortened

        image = build_image("2.0.0", payload=bytes(i * 13 & 0xFF for i in range(60 * 1024)))
        transport = transport_on(central)
        async with SmpClient(transport, timeout_s=10) as client:
            assert transport.info.mtu == 247
            await upload(client, image, 1900)
            tested = await client.image_test(image_hash(image))
            assert tested[1].pending and tested[1].version == "2.0.0"
            await client.reset()
            with pytest.raises(TransportClosed):  # the device drops the link as it reboots
                await asyncio.wait_for(transport.receive(), 10)

        await next_sighting(central, ADDRESS)  # advertising again after the boot
        async with SmpClient(transport, timeout_s=10) as client:
            slots = await client.image_state()
        await transport.close()
    assert slots[0].active and slots[0].version == "2.0.0" and not slots[0].confirmed


async def test_sim_takes_one_central_and_advertises_after_it_leaves(
    controllers: list[str], central: BumbleHost
) -> None:
    """While a central is connected the device does not advertise; when it disconnects the
    device advertises again and the next connection works."""
    runtime = SimRuntime(SimDevice(SimConfig()))
    await runtime.start()
    server = BumbleSimServer(runtime, hci=controllers[0])
    try:
        await server.start()
        transport = transport_on(central)
        async with SmpClient(transport, timeout_s=10) as client:
            assert await client.echo("first") == "first"
            assert not server.device.is_advertising and not server.advertising.is_set()
        await transport.close()
        await asyncio.wait_for(server.advertising.wait(), 10)
        assert server.device.is_advertising
        await next_sighting(central, ADDRESS)
        async with SmpClient(transport, timeout_s=10) as client:
            assert await client.echo("second") == "second"
        await transport.close()
        assert server.connections == 2
    finally:
        await server.stop()
        await runtime.stop()


def test_sim_reports_a_controller_it_cannot_open(controllers: list[str]) -> None:
    """A controller spec that does not answer gives one line and exit 1, no traceback."""
    import subprocess
    import sys

    dead = controllers[0].rsplit(":", 1)[0] + ":1"
    done = subprocess.run(
        [sys.executable, "-m", "app", "sim", "--ble-hci", dead],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("slotwise: cannot open Bluetooth controller")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_discover_through_a_controller_lists_the_sim(controllers: list[str]) -> None:
    """`slotwise discover --hci` scans through a Bumble controller and prints a spec that
    reaches the device through it."""
    import json
    import subprocess
    import sys

    with running_sim("--ble-hci", controllers[0]):
        command = ["discover", "--hci", controllers[1], "--json", "--scan-time", "3"]
        done = subprocess.run(
            [sys.executable, "-m", "app", *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert [d["spec"] for d in found] == [f"ble:{ADDRESS}@{controllers[1]}"]
    assert found[0]["name"] == "slotwise" and found[0]["answers_smp"] is True


# --- the paced link model ------------------------------------------------------------------------


def test_paced_link_limit_arithmetic() -> None:
    """The limit counts full ATT writes per connection event: 244 SMP bytes per 251-byte packet
    at ATT MTU 247; a larger MTU spreads one write over several packets."""
    assert PROFILES["7.5ms-x4"].limit_bps == pytest.approx(4 * 244 / 0.0075)
    assert PROFILES["15ms-x4"].limit_bps == pytest.approx(4 * 244 / 0.015)
    assert PROFILES["30ms-x6"].limit_bps == pytest.approx(6 * 244 / 0.030)
    assert LinkPacing(0.0075, 4, att_mtu=23).limit_bps == pytest.approx(4 * 20 / 0.0075)
    big = LinkPacing(0.015, 6, att_mtu=498)  # 498 + 4 = two full 251-byte packets
    assert big.packets_per_write == 2
    assert big.limit_bps == pytest.approx(3 * 495 / 0.015)


@pytest.fixture
async def paced() -> AsyncIterator[tuple[PacedLink, BleTransport]]:
    """The simulator and our central on two paced controllers (7.5 ms x 4), all in process."""
    pacing = PROFILES["7.5ms-x4"]
    specs, transports, link = await serve_controllers(2, pacing)
    assert isinstance(link, PacedLink)
    runtime = SimRuntime(SimDevice(SimConfig(buf_size=2475)))
    await runtime.start()
    server = BumbleSimServer(runtime, hci=specs[0])
    host = BumbleHost(specs[1])
    try:
        await server.start()
        options = BleOptions(ADDRESS, reassembly=True, max_packet_bytes=2475, hci=specs[1])
        yield link, BleTransport(options, client_factory=host.client)
    finally:
        await host.close()
        await server.stop()
        await runtime.stop()
        link.stop()
        for transport in transports:
            await transport.close()


async def test_upload_over_the_paced_link_is_intact_and_paced(
    paced: tuple[PacedLink, BleTransport],
) -> None:
    """A 40 KiB image crosses the paced link intact; no connection event carried more than 4
    packets one way, and no controller ever held more than its 8 ACL buffers."""
    link, transport = paced
    image = build_image("5.0.0", payload=bytes(i * 31 & 0xFF for i in range(40 * 1024)))
    async with SmpClient(transport, timeout_s=10) as client:
        await upload(client, image, 2300)
        slots = await client.image_state()
    await transport.close()
    assert slots[1].version == "5.0.0" and slots[1].hash == image_hash(image)
    assert link.carried > len(image) // 244  # every write went through the model
    assert 0 < link.busiest_event <= link.pacing.packets_per_event
    assert 0 < link.most_queued <= link.pacing.acl_buffers
