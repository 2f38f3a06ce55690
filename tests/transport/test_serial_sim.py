"""SmpClient against the simulator over a real pty, through the real SerialTransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.client import SmpClient
from app.errors import TransportClosed
from app.sim.device import SimConfig, SimDevice
from app.sim.serial_endpoint import PtySimServer, UartPacer
from app.transport.serial import SerialOptions, SerialTransport
from tests.waiting import until

from .smp_ops import run_every_operation


@pytest.fixture
def device() -> SimDevice:
    """A fresh simulated board running its factory image."""
    return SimDevice(SimConfig())


@pytest.fixture
async def pty_sim(device: SimDevice) -> AsyncIterator[PtySimServer]:
    """The simulator served on a new pty, stopped after the test."""
    server = PtySimServer(device)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def serial_client(pty_sim: PtySimServer) -> AsyncIterator[SmpClient]:
    """A client connected to the pty simulator."""
    async with SmpClient(SerialTransport(pty_sim.path), timeout_s=5) as client:
        yield client


async def test_every_operation_over_a_pty(serial_client: SmpClient, device: SimDevice) -> None:
    """Every typed operation works over the console framing, multi-line packets included."""
    await run_every_operation(serial_client, device)


async def test_raw_uart_mode_round_trips(device: SimDevice) -> None:
    """A raw-UART simulator and a `raw` port exchange bare packets, large ones included."""
    async with (
        PtySimServer(device, raw=True) as server,
        SmpClient(SerialTransport(SerialOptions(port=server.path, raw=True))) as client,
    ):
        assert await client.echo("r" * 900) == "r" * 900
        assert (await client.image_state())[0].active


async def test_log_lines_interleave_without_harm(device: SimDevice) -> None:
    """With the simulator's log output on, requests succeed and the logs reach the console."""
    async with PtySimServer(device, log_lines=True) as server:
        transport = SerialTransport(server.path)
        seen: list[str] = []
        transport.add_console_listener(seen.append)
        async with SmpClient(transport) as client:
            for n in range(10):
                assert await client.echo(f"{n}" * 200) == f"{n}" * 200
            await until(lambda: any("heartbeat" in line for line in seen))
    assert transport.stats.dropped == 0


async def test_baud_model_limits_throughput(device: SimDevice) -> None:
    """At 9600 baud every framed byte of a ~700-byte exchange crosses the modelled UART, which
    schedules it at the wire's pace (~0.7 s), not loopback speed. Checked on the model's own
    accounting, never on a clock."""
    async with (
        PtySimServer(device, baud=9600) as server,
        SmpClient(SerialTransport(server.path)) as client,
    ):
        await client.echo("b" * 250)  # ~360 framed bytes each way
    rx, tx = server.rx_pacer, server.tx_pacer
    assert rx.bytes >= 350 and tx.bytes >= 350  # both directions went through the model
    assert rx.wire_s == pytest.approx(rx.bytes * 10 / 9600)  # 8N1: 10 bits a byte
    assert tx.wire_s == pytest.approx(tx.bytes * 10 / 9600)
    assert rx.wire_s + tx.wire_s > 0.6


def test_uart_pacer_sends_one_chunk_after_another_at_the_rate() -> None:
    """Chunks handed over together leave one wire time apart; after an idle line the next
    one starts when it is handed over, not at the old schedule."""
    pacer = UartPacer()
    assert pacer.done_at(0.0, 96, 960.0) == pytest.approx(0.1)
    assert pacer.done_at(0.0, 96, 960.0) == pytest.approx(0.2)  # waits for the first
    assert pacer.done_at(0.15, 48, 960.0) == pytest.approx(0.25)  # still queued behind it
    assert pacer.done_at(5.0, 96, 960.0) == pytest.approx(5.1)  # idle line: no credit saved
    assert pacer.bytes == 336 and pacer.wire_s == pytest.approx(0.35)


async def test_without_a_baud_nothing_is_paced(
    pty_sim: PtySimServer, serial_client: SmpClient
) -> None:
    """No baud: the pty runs at loopback speed and the model carries nothing."""
    assert await serial_client.echo("fast") == "fast"
    assert pty_sim.rx_pacer.bytes == 0 and pty_sim.tx_pacer.bytes == 0


async def test_pty_closed_mid_request_fails_fast(
    pty_sim: PtySimServer, serial_client: SmpClient, device: SimDevice
) -> None:
    """Unplugging mid-request fails it with "device disconnected" in well under a second."""
    device.stop_answering()
    sent = serial_client.stats.sent
    request = asyncio.create_task(serial_client.echo("never answered"))
    await until(lambda: serial_client.stats.sent > sent)  # the request is on its way
    pty_sim.hangup()
    # the client's own timeout is far longer; ending within this bound proves the hang-up did
    with pytest.raises(TransportClosed, match="device disconnected"):
        await asyncio.wait_for(request, 3)


async def test_unplug_while_draining_a_write_is_a_disconnect(
    pty_sim: PtySimServer, serial_client: SmpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board vanishing while the OS drains a write (tcdrain: EIO, a termios.error, which is
    no OSError) ends the request as a disconnect, never as a raw termios traceback."""
    import termios

    import serial.serialposix

    def unplugged(fd: int) -> None:
        raise termios.error(5, "Input/output error")

    monkeypatch.setattr(serial.serialposix.termios, "tcdrain", unplugged)
    with pytest.raises(TransportClosed, match="device disconnected"):
        await serial_client.echo("into the void")
