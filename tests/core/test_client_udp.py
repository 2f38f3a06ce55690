"""SmpClient against the simulated device over real UDP sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from app.client import SmpClient
from app.errors import DecodeError, TransportClosed, TransportTimeout
from app.sim.device import SimDevice
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer
from app.smp.errors import DeviceError, ImgErr
from app.smp.groups.os import BootloaderMode, Echo
from app.transport.udp import UdpTransport
from tests.waiting import until


async def test_echo_round_trips_text(client: SmpClient) -> None:
    """Echo returns exactly the text sent, including non-ASCII."""
    assert await client.echo("hello") == "hello"
    assert await client.echo("grüße ✓") == "grüße ✓"


async def test_identity_commands_answer_typed_values(client: SmpClient) -> None:
    """Params, OS info, bootloader info and slot info come back as typed values."""
    params = await client.params()
    assert (params.buf_size, params.buf_count) == (2048, 4)
    assert (await client.os_info("s")) == "Zephyr"
    assert (await client.bootloader_info()).bootloader == "MCUboot"
    mode = await client.bootloader_info("mode")
    assert mode.mode is not None and BootloaderMode(mode.mode).name.startswith("SWAP")
    (image,) = await client.slot_info()
    assert image.image == 0 and [s.slot for s in image.slots] == [0, 1]
    assert all(s.size == 512 * 1024 for s in image.slots)


async def test_image_state_lists_the_running_confirmed_image(client: SmpClient) -> None:
    """A fresh board lists only slot 0, active and confirmed, with a 32-byte hash."""
    (slot,) = await client.image_state()
    assert (slot.slot, slot.version) == (0, "1.0.0")
    assert slot.active and slot.confirmed and slot.bootable
    assert not slot.pending and not slot.permanent
    assert slot.hash is not None and len(slot.hash) == 32


async def test_diagnostic_groups_answer(client: SmpClient) -> None:
    """Stats, settings, files, shell, enum, datetime and task stats work end to end."""
    groups = await client.stat_list()
    assert groups and isinstance(await client.stat_read(groups[0]), dict)
    await client.setting_write("app/name", b"bench-7")
    assert await client.setting_read("app/name") == b"bench-7"
    await client.setting_delete("app/name")
    with pytest.raises(DeviceError):
        await client.setting_read("app/name")
    assert await client.file_upload_chunk("/lfs/note.txt", 0, b"abc", total=3) == 3
    assert await client.file_status("/lfs/note.txt") == 3
    chunk = await client.file_download_chunk("/lfs/note.txt", 0)
    assert (chunk.data, chunk.length) == (b"abc", 3)
    assert "sha256" in await client.file_hash_types()
    shell = await client.shell_exec(["echo", "hi"])
    assert "hi" in shell.o
    groups_listed = await client.enum_list()
    assert {0, 1} <= set(groups_listed) and await client.enum_count() == len(groups_listed)
    now = dt.datetime(2026, 11, 28, 12, 30, 5)
    await client.datetime_set(now)
    assert (await client.datetime_get()).startswith("2026-11-28T12:30")
    assert await client.task_stats()


async def test_device_errors_carry_group_code_and_sentence(client: SmpClient) -> None:
    """Testing an unknown hash fails with the image group's HASH_NOT_FOUND and a sentence."""
    with pytest.raises(DeviceError) as caught:
        await client.image_test(bytes(32))
    err = caught.value
    assert err.group_error and err.error_group == 1 and err.rc == ImgErr.HASH_NOT_FOUND
    assert "no slot on the device holds an image with that hash" in str(err)


async def test_testing_the_running_image_is_refused_with_33(client: SmpClient) -> None:
    """Marking the active image for test is IMAGE_SETTING_TEST_TO_ACTIVE_DENIED (33)."""
    (running,) = await client.image_state()
    assert running.hash is not None
    with pytest.raises(DeviceError) as caught:
        await client.image_test(running.hash)
    assert caught.value.rc == ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED


async def test_many_requests_in_flight_are_matched_by_sequence(client: SmpClient) -> None:
    """Concurrent requests each get their own answer, even across the 8-bit wrap."""
    for batch in range(3):  # 3 x 100 requests: sequence numbers wrap past 255
        texts = [f"msg-{batch}-{i}" for i in range(100)]
        answers = await asyncio.gather(*(client.echo(t) for t in texts))
        assert answers == texts
    assert client.stats.sent >= 300


@pytest.mark.parametrize("link", [LinkModel(loss=0.2, seed=7)])
async def test_lost_packets_are_retransmitted(server: UdpSimServer, link: LinkModel) -> None:
    """With 20% loss each way, requests still succeed through retransmission."""
    transport = UdpTransport(server.host, server.port)
    async with SmpClient(transport, timeout_s=1.8, retries=8) as client:  # 0.2 s per try
        results = [await client.echo(f"n{i}") for i in range(20)]
        assert results == [f"n{i}" for i in range(20)]
        assert client.stats.retransmitted > 0


@pytest.mark.parametrize("link", [LinkModel(latency_s=0.15)])
async def test_late_replies_are_dropped_not_misdelivered(
    client: SmpClient, link: LinkModel
) -> None:
    """A reply arriving after its request timed out is counted and ignored."""
    with pytest.raises(TransportTimeout):
        await client.request(Echo(d="late"), timeout_s=0.1, retries=0)
    await until(lambda: client.stats.unmatched >= 1)  # the late reply came and was dropped
    assert await client.echo("fresh") == "fresh"


async def test_a_device_that_stops_answering_times_out_cleanly(
    server: UdpSimServer, device: SimDevice
) -> None:
    """When the device goes silent the request ends in TransportTimeout with a sentence."""
    transport = UdpTransport(server.host, server.port)
    async with SmpClient(transport, timeout_s=0.4) as client:
        assert await client.echo("up") == "up"
        device.stop_answering()
        with pytest.raises(TransportTimeout, match=r"no answer from 127\.0\.0\.1"):
            await client.echo("anyone?")


async def test_a_closed_port_fails_at_once_on_the_hosts_refusals(
    server: UdpSimServer,
) -> None:
    """When the device's port closes, ICMP refusals end the request long before its timeout.

    The client would otherwise wait out the whole minute; the refusal is confirmed by
    sending again before the link is given up.
    """
    transport = UdpTransport(server.host, server.port)
    async with SmpClient(transport, timeout_s=60.0) as client:
        assert await client.echo("up") == "up"
        await server.stop()
        with pytest.raises(TransportClosed, match=r"nothing listens on that port") as caught:
            await client.echo("anyone?")
        assert "refused 3 datagrams in a row" in str(caught.value)
        assert client.stats.timeouts == 0  # ended by the refusals, not by waiting


async def test_closing_the_client_fails_pending_requests(
    server: UdpSimServer, device: SimDevice
) -> None:
    """Closing the link wakes a waiting request with TransportClosed instead of a hang."""
    await server.stop()  # nothing answers, so the request stays pending
    transport = UdpTransport(server.host, server.port)
    client = SmpClient(transport, timeout_s=10.0)
    await client.open()
    pending = asyncio.create_task(client.echo("x"))
    await until(lambda: client.stats.sent == 1)  # the request is waiting for its answer
    await client.close()
    with pytest.raises(TransportClosed):
        await asyncio.wait_for(pending, 1.0)


class _Hostile(asyncio.DatagramProtocol):
    """Answers every request with bytes chosen by the test."""

    def __init__(self, answer: bytes, mode: str) -> None:
        self.answer = answer
        self.mode = mode
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # 3.11: not a DatagramTransport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert self.transport is not None
        if self.mode in ("echo-header", "short-body"):  # this request's header, bad body
            declared = len(self.answer) + (5 if self.mode == "short-body" else 0)
            reply = bytes([data[0] | 1, 0]) + declared.to_bytes(2, "big") + data[4:8]
            self.transport.sendto(reply + self.answer, addr)
        else:
            self.transport.sendto(self.answer, addr)


async def _hostile_client(answer: bytes, mode: str) -> tuple[SmpClient, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Hostile(answer, mode), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    client = SmpClient(UdpTransport("127.0.0.1", port), timeout_s=0.5, retries=0)
    await client.open()
    return client, transport


@pytest.mark.parametrize("body", [b"\xbf\x61", b"\x83\x01\x02\x03", b"\xa1\x01\x02", b"\xff"])
async def test_malformed_cbor_in_a_matched_reply_raises_decode_error(body: bytes) -> None:
    """A reply whose body is not one CBOR map with text keys raises DecodeError, nothing else."""
    client, server = await _hostile_client(body, "echo-header")
    try:
        with pytest.raises(DecodeError):
            await client.echo("x")
    finally:
        await client.close()
        server.close()


@pytest.mark.parametrize(
    ("answer", "mode"),
    [
        (
            b"\xa1\x61\x72",
            "short-body",
        ),  # this request's header, but fewer body bytes than declared
        (b"\x01\x02\x03", "raw"),  # too short to be a header at all
    ],
)
async def test_undecodable_frames_are_counted_and_dropped(answer: bytes, mode: str) -> None:
    """Truncated or headerless frames are counted and dropped; the request then times out
    cleanly (on a lossy link a retransmission could still have been answered)."""
    client, server = await _hostile_client(answer, mode)
    try:
        with pytest.raises(TransportTimeout):
            await client.echo("x")
        assert client.stats.undecodable >= 1
    finally:
        await client.close()
        server.close()
