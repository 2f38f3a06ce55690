"""The Bumble backend end to end: BleTransport on a Bumble host, the simulator as a Bumble GATT
server, both on in-process virtual controllers joined by a LocalLink (real host stack, no radio)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from bumble.link import LocalLink

from app.client import SmpClient
from app.errors import TransportClosed, TransportError
from app.sim.bumble_peripheral import BumbleSimServer
from app.sim.device import SimConfig, SimDevice
from app.sim.mcuboot import build_image
from app.sim.runtime import ReplySink, SimRuntime
from app.transport import open_transport
from app.transport.ble import BleOptions, BleTransport
from app.transport.ble_bumble import BumbleHost

from .smp_ops import image_hash, upload


@dataclass
class BumbleRig:
    server: BumbleSimServer
    host: BumbleHost
    transport: BleTransport


@pytest.fixture
async def rig() -> AsyncIterator[BumbleRig]:
    """A simulated device served by Bumble and a Bumble central, on one virtual link."""
    runtime = SimRuntime(SimDevice(SimConfig(buf_size=2048)))
    await runtime.start()
    link = LocalLink()
    server = BumbleSimServer(runtime, link=link, mtu=247)
    host = BumbleHost.virtual(link)
    try:
        await server.start()
        transport = BleTransport(
            BleOptions(server.address, reassembly=True, max_packet_bytes=2048),
            client_factory=host.client,
            scanner=host.scanner(),
        )
        yield BumbleRig(server, host, transport)
        await transport.close()
    finally:
        await host.close()
        await server.stop()
        await runtime.stop()


async def test_echo_and_image_state(rig: BumbleRig) -> None:
    """Echo (multi-fragment) and image state work; the ATT MTU was exchanged to the server's 247."""
    async with SmpClient(rig.transport) as client:
        assert rig.transport.info.mtu == 247
        assert await client.echo("bumble " * 100) == "bumble " * 100
        slots = await client.image_state()
    assert slots[0].active and slots[0].version == "1.0.0"


async def test_upload_200_kib(rig: BumbleRig) -> None:
    """A 200 KiB image uploads through the real host stack and lands in slot 1 intact."""
    image = build_image("3.0.0", payload=bytes(i * 7 & 0xFF for i in range(200 * 1024)))
    async with SmpClient(rig.transport, timeout_s=10) as client:
        await upload(client, image, 1900)
        listed = await client.image_state()
    assert listed[1].version == "3.0.0" and listed[1].hash == image_hash(image)


async def test_disconnect_mid_upload(rig: BumbleRig) -> None:
    """A link drop during an upload fails the waiting request at once, and reconnecting works.

    The device goes silent after its third packet, so the upload cannot finish before the drop
    whatever the machine's speed; the test waits for that packet, not for a time."""
    image = build_image("4.0.0", payload=bytes(64 * 1024))
    third_packet = asyncio.Event()
    runtime = rig.server.runtime
    deliver = runtime.deliver
    packets = 0

    def count_then_fall_silent(frame: bytes, reply: ReplySink) -> None:
        nonlocal packets
        packets += 1
        if packets == 3:
            runtime.device.stop_answering()
            third_packet.set()
        deliver(frame, reply)

    runtime.deliver = count_then_fall_silent  # type: ignore[method-assign]
    async with SmpClient(rig.transport, timeout_s=10) as client:
        uploading = asyncio.create_task(upload(client, image, 1900))
        await asyncio.wait_for(third_packet.wait(), 10)
        assert not uploading.done()
        await rig.server.disconnect_all()
        with pytest.raises(TransportClosed):
            await asyncio.wait_for(uploading, 5)
    runtime.device.resume_answering()
    async with SmpClient(rig.transport) as client:
        assert await client.echo("back") == "back"


def test_without_bumble_an_hci_spec_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bumble is an extra: when it is missing, a `ble:...@HCI` device fails with the install
    line (a TransportError the CLI prints on one line), not an ImportError traceback."""
    monkeypatch.setitem(sys.modules, "bumble", None)  # `import bumble` now raises ImportError
    with pytest.raises(TransportError, match=r"pip install 'slotwise\[bumble\]'"):
        open_transport("ble:AA:BB:CC:DD:EE:FF@usb:0")
