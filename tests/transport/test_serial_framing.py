"""Serial console framing through the real SerialTransport over a real pty (test = device)."""

from __future__ import annotations

import asyncio
import base64
import struct

import pytest

from app.errors import TransportClosed, TransportError
from app.smp.framing import encode_serial_frame
from app.smp.groups import os as smp_os
from app.smp.header import Header, Op
from app.smp.message import encode_packet, encode_request
from app.transport import open_transport
from app.transport.serial import SerialOptions, SerialTransport, parse_serial_spec
from tests.waiting import until

from .conftest import PtyPair


def reply_packet(seq: int, text: str) -> bytes:
    """An echo reply packet as a device would send it."""
    header = Header(op=Op.WRITE_RSP, group=0, command=0, sequence=seq)
    return encode_packet(header, {"r": text})


@pytest.fixture
async def serial_link(pty_pair: PtyPair):
    """A SerialTransport opened on the pty's host side, closed after the test."""
    transport = SerialTransport(SerialOptions(port=pty_pair.path))
    await transport.open()
    yield transport
    await transport.close()


async def test_console_text_goes_to_console_stream(
    pty_pair: PtyPair, serial_link: SerialTransport
) -> None:
    """Console lines around and between frame lines reach the console stream; the packet arrives."""
    packet = reply_packet(1, "x" * 200)  # three lines
    lines = encode_serial_frame(packet).splitlines(keepends=True)
    assert len(lines) >= 3
    seen: list[str] = []
    serial_link.add_console_listener(seen.append)
    wire = (
        b"*** Booting Zephyr OS ***\r\n"
        + lines[0]
        + b"<inf> app: between\r\n"
        + b"".join(lines[1:])
        + b"uart:~$ "
    )
    pty_pair.write(wire + b"\n")
    assert await asyncio.wait_for(serial_link.receive(), 2) == packet
    await until(lambda: len(seen) >= 3)
    assert seen == ["*** Booting Zephyr OS ***", "<inf> app: between", "uart:~$ "]
    assert serial_link.stats.console_lines == 3
    assert serial_link.stats.dropped == 0


async def test_console_lines_async_iterator_ends_on_close(pty_pair: PtyPair) -> None:
    """`console_lines()` yields device output as it arrives and ends when the port closes."""
    transport = SerialTransport(pty_pair.path)
    await transport.open()
    got: list[str] = []

    async def collect() -> None:
        async for line in transport.console_lines():
            got.append(line)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)  # one loop turn: the collector subscribes before the board talks
    pty_pair.write(b"hello from the board\r\nsecond line\n")
    await until(lambda: len(got) >= 2)
    await transport.close()
    await asyncio.wait_for(task, 1)
    assert got == ["hello from the board", "second line"]


async def test_corrupt_frames_are_dropped_and_counted(
    pty_pair: PtyPair, serial_link: SerialTransport
) -> None:
    """Bad CRC, bad base64 and impossible length are dropped and counted; the next one arrives."""
    good = reply_packet(2, "ok")
    bad_crc = bytearray(encode_serial_frame(reply_packet(3, "crc")))
    blob = bytearray(base64.b64decode(bytes(bad_crc[2:-1])))
    blob[-1] ^= 0xFF
    bad_crc_line = b"\x06\x09" + base64.b64encode(bytes(blob)) + b"\n"
    bad_base64_line = b"\x06\x09AB$%!!==\n"
    impossible = struct.pack(">H", 3) + b"\x00\x00\x00"  # length 3 cannot hold a header + CRC
    bad_length_line = b"\x06\x09" + base64.b64encode(impossible) + b"\n"
    pty_pair.write(bad_crc_line + bad_base64_line + bad_length_line + encode_serial_frame(good))
    assert await asyncio.wait_for(serial_link.receive(), 2) == good
    stats = serial_link.stats
    assert (stats.bad_crc, stats.bad_base64, stats.bad_length) == (1, 1, 1)
    assert stats.packets == 1


async def test_host_writes_flush_newline_then_limited_lines(pty_pair: PtyPair) -> None:
    """The host sends a lone newline on open, then frames cut to the configured line length."""
    transport = SerialTransport(SerialOptions(port=pty_pair.path, line_bytes=64))
    await transport.open()
    try:
        frame = encode_request(smp_os.Echo(d="y" * 150), 5)
        await transport.send(frame)
        expected = b"\n" + encode_serial_frame(frame, 64)
        wire = await pty_pair.read_until(len(expected))
    finally:
        await transport.close()
    assert wire == expected
    assert all(len(line) + 1 <= 64 for line in wire[1:].split(b"\n")[:-1])


async def test_vanished_port_ends_receive_quickly(
    pty_pair: PtyPair, serial_link: SerialTransport
) -> None:
    """Closing the device side fails a waiting receive with "device disconnected" within 1 s."""
    waiter = asyncio.create_task(serial_link.receive())
    await asyncio.sleep(0.05)
    pty_pair.close()
    with pytest.raises(TransportClosed, match="device disconnected"):
        await asyncio.wait_for(waiter, 5)
    with pytest.raises(TransportClosed, match="device disconnected"):
        await serial_link.send(encode_request(smp_os.Echo(d="late"), 1))


async def test_raw_mode_sends_bare_packets_and_reassembles(pty_pair: PtyPair) -> None:
    """With `raw`, packets go out unframed and replies split across reads are reassembled."""
    transport = open_transport(f"serial:{pty_pair.path}@921600,raw")
    assert isinstance(transport, SerialTransport)
    await transport.open()
    try:
        frame = encode_request(smp_os.Echo(d="raw"), 9)
        await transport.send(frame)
        assert await pty_pair.read_until(len(frame)) == frame
        reply = reply_packet(9, "raw" * 50)
        pty_pair.write(reply[:5])
        await asyncio.sleep(0.05)
        pty_pair.write(reply[5:] + reply)
        assert await asyncio.wait_for(transport.receive(), 2) == reply
        assert await asyncio.wait_for(transport.receive(), 2) == reply
        assert transport.info.device_buffer_overhead == 0
    finally:
        await transport.close()


async def test_link_info_describes_console_serial(serial_link: SerialTransport) -> None:
    """The console link is reliable, kind "serial", and reserves 4 buffer bytes (length, CRC)."""
    info = serial_link.info
    assert (info.kind, info.reliable, info.device_buffer_overhead) == ("serial", True, 4)
    assert info.address.endswith("@115200")


async def test_oversized_packet_is_refused_before_the_wire(pty_pair: PtyPair) -> None:
    """A packet above the `max=` limit raises TransportError instead of being sent."""
    transport = SerialTransport(f"{pty_pair.path},max=64")
    await transport.open()
    try:
        with pytest.raises(TransportError, match="exceeds the serial limit of 64"):
            await transport.send(encode_request(smp_os.Echo(d="z" * 100), 1))
    finally:
        await transport.close()


async def test_missing_port_gives_a_sentence() -> None:
    """Opening a port that does not exist raises TransportError naming the port."""
    transport = SerialTransport("/dev/does-not-exist-slotwise")
    with pytest.raises(TransportError, match="serial port /dev/does-not-exist-slotwise does not"):
        await transport.open()
    assert not transport.is_open


def test_spec_syntax() -> None:
    """The serial device spec parses baud, raw, flow control, line state, line length and limit."""
    opts = parse_serial_spec("/dev/ttyACM0@921600,raw,rtscts,dtr=0,rts=1,line=256,max=1020")
    assert opts == SerialOptions(
        port="/dev/ttyACM0",
        baud=921600,
        raw=True,
        rtscts=True,
        dtr=False,
        rts=True,
        line_bytes=256,
        max_packet_bytes=1020,
    )
    assert parse_serial_spec("COM4") == SerialOptions(port="COM4")
    for bad in ("@115200", "/dev/x@fast", "/dev/x,dtr=2", "/dev/x,bogus", "/dev/x,line=4"):
        with pytest.raises(ValueError):
            parse_serial_spec(bad)
