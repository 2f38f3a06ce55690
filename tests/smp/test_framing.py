"""Serial console, raw-UART and BLE framing (app.smp.framing) against transports.md §1, §2.2."""

from __future__ import annotations

import base64
import itertools
import random
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.smp.framing import (
    CONTINUATION_MARKER,
    START_MARKER,
    FrameAssembler,
    PacketAssembler,
    RawPacketAssembler,
    SerialFrameDecoder,
    crc16_xmodem,
    encode_serial_frame,
    split_for_att,
)
from app.smp.header import Header, Op

ECHO_PACKET = bytes.fromhex("0a 00 00 09 00 00 2a 00 a1 61 64 65 68 65 6c 6c 6f")
ECHO_LINE = b"\x06\x09ABMKAAAJAAAqAKFhZGVoZWxsbwo4\x0a"

# Body sizes that put the blob (2 + 8 + body + 2) on and around 93-byte line boundaries.
EDGE_BODIES = sorted(
    {0, 1, 2, 3, 79, 80, 81, 82, 83, 172, 173, 174, 175, 176, 371, 372, 373, 1000, 2047, 2048, 3000}
)
BODY_SIZES = sorted(set(range(0, 3001, 97)) | set(EDGE_BODIES))


def make_packet(body_bytes: int, seq: int = 7, fill: int | None = None) -> bytes:
    """A well-formed SMP packet (header + arbitrary body) with a body of `body_bytes`."""
    rng = random.Random(body_bytes * 1000 + seq)
    body = (
        bytes([fill]) * body_bytes
        if fill is not None
        else bytes(rng.randrange(256) for _ in range(body_bytes))
    )
    header = Header(op=Op.WRITE_RSP, group=1, command=1, sequence=seq, length=body_bytes)
    return header.encode() + body


def zephyr_style_lines(packet: bytes) -> bytes:
    """The device transmit style of §1.4: 93 raw bytes per line, each base64-encoded alone."""
    blob = struct.pack(">H", len(packet) + 2) + packet + struct.pack(">H", crc16_xmodem(packet))
    pieces = [blob[i : i + 93] for i in range(0, len(blob), 93)]
    return b"".join(
        (START_MARKER if i == 0 else CONTINUATION_MARKER) + base64.b64encode(piece) + b"\n"
        for i, piece in enumerate(pieces)
    )


def feed_in_chunks(
    decoder: SerialFrameDecoder | PacketAssembler, data: bytes, sizes: list[int]
) -> list[bytes]:
    """Feed `data` cut into chunks cycling through `sizes`; collect every packet returned."""
    out: list[bytes] = []
    pos, i = 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        out += decoder.feed(data[pos : pos + size])
        pos += size
        i += 1
    return out


# --- serial: known answers and encoder shape -------------------------------------------------


def test_crc16_xmodem_check_value() -> None:
    """The serial CRC is CRC-16/XMODEM: check value 0x31C3 for "123456789" (§1.2)."""
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert crc16_xmodem(ECHO_PACKET) == 0x0A38


def test_encode_worked_example() -> None:
    """Encoding the echo packet gives exactly the worked example line of §1.5."""
    assert encode_serial_frame(ECHO_PACKET) == ECHO_LINE


def test_decode_worked_example() -> None:
    """Decoding the worked example line yields the echo packet and nothing else."""
    decoder = SerialFrameDecoder()
    assert decoder.feed(ECHO_LINE) == [ECHO_PACKET]
    assert decoder.stats.packets == 1 and decoder.stats.dropped == 0
    assert decoder.feed(ECHO_LINE[:-1] + b"\r\n") == [ECHO_PACKET]  # a terminal's CRLF


@pytest.mark.parametrize("max_line", [7, 8, 127, 128, 200, 512, 4096])
def test_encoded_lines_respect_limit_and_markers(max_line: int) -> None:
    """Every line fits the limit, carries 4n base64 chars, the right marker, and pads only last."""
    for body in BODY_SIZES:
        packet = make_packet(body)
        lines = encode_serial_frame(packet, max_line_bytes=max_line).split(b"\n")
        assert lines[-1] == b""
        lines = lines[:-1]
        assert lines[0].startswith(START_MARKER)
        text = b""
        for index, line in enumerate(lines):
            assert len(line) + 1 <= max_line
            assert index == 0 or line.startswith(CONTINUATION_MARKER)
            chunk = line[2:]
            assert len(chunk) % 4 == 0 and chunk
            assert b"=" not in chunk or index == len(lines) - 1
            text += chunk
        blob = base64.b64decode(text, validate=True)
        assert blob[:2] == struct.pack(">H", len(packet) + 2)
        assert blob[2:-2] == packet
        assert blob[-2:] == struct.pack(">H", crc16_xmodem(packet))


def test_default_line_limit_uses_124_chars() -> None:
    """At the default 127-byte limit each full line is exactly 2 + 124 + 1 bytes (§1.3)."""
    lines = encode_serial_frame(make_packet(500)).split(b"\n")[:-1]
    assert all(len(line) == 126 for line in lines[:-1])


@pytest.mark.parametrize(("size", "max_line"), [(7, 127), (8 + 0xFFFF + 1, 127), (8, 6)])
def test_encoder_rejects_impossible_input(size: int, max_line: int) -> None:
    """Packets shorter than a header or beyond the u16 length, or a tiny line limit, raise."""
    with pytest.raises(ValueError):
        encode_serial_frame(bytes(size), max_line_bytes=max_line)


# --- serial: round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("max_line", [127, 128, 300, 4096])
def test_round_trip_all_sizes_and_chunkings(max_line: int) -> None:
    """Every packet size 8..3008 survives encode -> decode whatever the chunking of the stream."""
    packets = [make_packet(body, seq=body & 0xFF) for body in BODY_SIZES]
    wire = b"".join(encode_serial_frame(p, max_line_bytes=max_line) for p in packets)
    for sizes in ([1], [2, 3, 5], [64], [127], [1000, 1, 7], [len(wire)]):
        decoder = SerialFrameDecoder()
        assert feed_in_chunks(decoder, wire, sizes) == packets
        assert decoder.stats.dropped == 0


def test_round_trip_split_at_every_offset() -> None:
    """A multi-line packet split in two at every byte offset decodes exactly once."""
    packet = make_packet(300)
    wire = encode_serial_frame(packet)
    for cut in range(len(wire) + 1):
        decoder = SerialFrameDecoder()
        assert decoder.feed(wire[:cut]) + decoder.feed(wire[cut:]) == [packet]


def test_zephyr_transmit_style_decodes() -> None:
    """Device-style lines (93 raw bytes each, CRC possibly alone on a last line) decode (§1.4)."""
    for body in EDGE_BODIES:
        packet = make_packet(body)
        decoder = SerialFrameDecoder()
        assert decoder.feed(zephyr_style_lines(packet)) == [packet], body


def test_crc_alone_on_extra_line() -> None:
    """When length + packet fill whole lines, the CRC on its own padded line still decodes."""
    packet = make_packet(93 * 2 - 2 - 8)  # 2 + packet == 186 raw bytes: two full lines
    lines = zephyr_style_lines(packet).split(b"\n")
    assert len(lines) == 4 and len(lines[2]) == 2 + 4  # marker + 4 chars carrying the CRC
    assert SerialFrameDecoder().feed(zephyr_style_lines(packet)) == [packet]


def test_base64_split_off_four_char_boundaries_decodes() -> None:
    """Lines whose base64 is cut at arbitrary (non-4n) places are decoded as one stream."""
    packet = make_packet(200)
    text = encode_serial_frame(packet, max_line_bytes=10_000)[2:-1]
    cuts = [0, 5, 66, 67, 131, 200, len(text)]
    wire = b"".join(
        (START_MARKER if i == 0 else CONTINUATION_MARKER) + text[a:b] + b"\n"
        for i, (a, b) in enumerate(itertools.pairwise(cuts))
    )
    assert SerialFrameDecoder().feed(wire) == [packet]


# --- serial: console output ------------------------------------------------------------------


def test_console_lines_are_passed_on_between_packet_lines() -> None:
    """Log lines before, between the lines of one packet, and after it reach the callback."""
    seen: list[str] = []
    decoder = SerialFrameDecoder(on_console_line=seen.append)
    packet = make_packet(400)
    lines = encode_serial_frame(packet).split(b"\n")[:-1]
    wire = b"*** Booting Zephyr OS ***\r\n" + lines[0] + b"\n"
    for index, line in enumerate(lines[1:]):
        wire += f"[00:00:0{index}.000] <inf> app: tick {index}\n".encode() + line + b"\n"
    wire += b"uart:~$ done\n"
    assert feed_in_chunks(decoder, wire, [13]) == [packet]
    assert seen == ["*** Booting Zephyr OS ***"] + [
        f"[00:00:0{i}.000] <inf> app: tick {i}" for i in range(len(lines) - 1)
    ] + ["uart:~$ done"]
    assert decoder.stats.console_lines == len(seen) and decoder.stats.dropped == 0


def test_prompt_without_newline_before_frame() -> None:
    """Console text with no newline before a start marker is output; the packet decodes."""
    seen: list[str] = []
    decoder = SerialFrameDecoder(on_console_line=seen.append)
    assert decoder.feed(b"uart:~$ " + ECHO_LINE) == [ECHO_PACKET]
    assert seen == ["uart:~$ "]


def test_non_utf8_console_bytes_do_not_raise() -> None:
    """Binary noise on the console is reported as text with replacement characters."""
    seen: list[str] = []
    decoder = SerialFrameDecoder(on_console_line=seen.append)
    assert decoder.feed(b"\xff\xfe\x80boot\n") == []
    assert seen == ["\ufffd\ufffd\ufffdboot"]


# --- serial: drops, counted, and recovery ----------------------------------------------------


def _frame_with_blob(blob: bytes) -> bytes:
    return START_MARKER + base64.b64encode(blob) + b"\n"


def _crc(packet: bytes) -> bytes:
    return struct.pack(">H", crc16_xmodem(packet))


@pytest.mark.parametrize(
    ("wire", "counter"),
    [
        (_frame_with_blob(b"\x00\x13" + ECHO_PACKET + b"\x0a\x39"), "bad_crc"),
        (START_MARKER + b"ABMKAAAJAA!qAKFhZGVoZWxsbwo4\n", "bad_base64"),
        (START_MARKER + b"AB=KAAAJ\n", "bad_base64"),
        (_frame_with_blob(b"\x00\x05abc"), "bad_length"),
        (_frame_with_blob(b"\x00\x02" + _crc(b"")), "bad_length"),
        (_frame_with_blob(b"\x00\x13" + ECHO_PACKET + b"\x0a\x38XYZ"), "overrun"),
        (CONTINUATION_MARKER + b"ABMKAAAJAAAqAKFhZGVoZWxsbwo4\n", "orphan_continuation"),
        (ECHO_LINE[:20] + b"\n", "interrupted"),  # incomplete packet, then the next start line
    ],
)
def test_bad_frames_are_counted_dropped_and_decoder_recovers(wire: bytes, counter: str) -> None:
    """Each kind of bad frame is dropped and counted, and the next good packet still decodes."""
    decoder = SerialFrameDecoder()
    assert decoder.feed(wire) == []
    assert decoder.feed(ECHO_LINE) == [ECHO_PACKET]
    assert getattr(decoder.stats, counter) == 1
    assert decoder.stats.dropped == 1


def test_oversized_length_prefix_is_dropped() -> None:
    """A length prefix above max_packet_bytes drops the packet as soon as it is read."""
    decoder = SerialFrameDecoder(max_packet_bytes=64)
    wire = encode_serial_frame(make_packet(100))
    assert decoder.feed(wire) == []
    assert decoder.stats.oversized == 1 and not decoder.in_packet
    assert decoder.feed(ECHO_LINE) == [ECHO_PACKET]


def test_overlong_line_is_discarded_up_to_its_newline() -> None:
    """A line past max_line_bytes is dropped whole; the following line decodes normally."""
    decoder = SerialFrameDecoder(max_line_bytes=100)
    assert decoder.feed(START_MARKER + b"A" * 60) == []
    assert decoder.feed(b"A" * 60) == []
    assert decoder.feed(b"AAAA\n" + ECHO_LINE) == [ECHO_PACKET]
    assert decoder.stats.overlong_line == 1


def test_overlong_line_abandons_packet_in_progress() -> None:
    """An over-long line between a packet's lines abandons that packet (it lost bytes)."""
    lines = encode_serial_frame(make_packet(300)).split(b"\n")
    decoder = SerialFrameDecoder(max_line_bytes=200)
    assert decoder.feed(lines[0] + b"\n" + b"x" * 300 + b"\n") == []
    assert not decoder.in_packet
    assert decoder.feed(b"\n".join(lines[1:])) == []
    assert decoder.stats.interrupted == 1 and decoder.stats.overlong_line == 1
    assert decoder.stats.orphan_continuation == len(lines) - 2


def test_reset_abandons_partial_packet() -> None:
    """reset() drops a packet in progress, so a late continuation is an orphan."""
    wire = encode_serial_frame(make_packet(300)).split(b"\n")
    decoder = SerialFrameDecoder()
    decoder.feed(wire[0] + b"\n")
    decoder.reset()
    assert decoder.feed(wire[1] + b"\n") == []
    assert decoder.stats.interrupted == 1 and decoder.stats.orphan_continuation == 1


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) edits: 0 flip a byte, 1 delete a byte, 2 insert a byte."""
    buf = bytearray(data)
    for kind, pos, value in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] ^= value or 1
        elif kind == 1:
            del buf[pos]
        else:
            buf.insert(pos, value)
    return bytes(buf)


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    bodies=st.lists(st.integers(0, 400), min_size=1, max_size=5),
    edits=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), max_size=6
    ),
    chunk=st.integers(1, 200),
    max_line=st.sampled_from([127, 200, 1000]),
)
@example(bodies=[1], edits=[(1, 31, 0)], chunk=1, max_line=127)  # the frame's newline lost
def test_corrupted_stream_never_yields_a_packet_that_was_not_sent(
    bodies: list[int], edits: list[tuple[int, int, int]], chunk: int, max_line: int
) -> None:
    """Flipped, lost or inserted bytes never crash the decoder or produce a foreign packet."""
    packets = [make_packet(body, seq=i) for i, body in enumerate(bodies)]
    wire = b"".join(b"log line\n" + encode_serial_frame(p, max_line) for p in packets)
    decoder = SerialFrameDecoder(on_console_line=lambda _line: None)
    received = feed_in_chunks(decoder, _mutate(wire, edits), [chunk])
    assert all(packet in packets for packet in received)
    if not edits:
        assert received == packets
    # Recovery: after any damage a fresh packet decodes. Before it may come a packet that was
    # sent whose frame lost only its newline: the "\n" fed here ends that line, so it decodes.
    recovered = decoder.feed(b"\n" + ECHO_LINE)
    assert recovered[-1:] == [ECHO_PACKET]
    assert all(packet in packets for packet in recovered[:-1])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(
                [START_MARKER, CONTINUATION_MARKER, b"\n", b"\r\n", b"ABMK", b"AAAA", b"===="]
            ),
        ),
        max_size=40,
    )
)
def test_arbitrary_bytes_never_raise(chunks: list[bytes]) -> None:
    """Any byte soup fed in any chunks is either packets or counted drops, never an exception."""
    decoder = SerialFrameDecoder(on_console_line=lambda _line: None)
    for data in chunks:
        for packet in decoder.feed(data):
            assert len(packet) >= 8
    assert decoder.feed(b"\n" + ECHO_LINE) == [ECHO_PACKET]


# --- raw serial and BLE: header-length assembly ----------------------------------------------


@pytest.mark.parametrize("assembler_type", [RawPacketAssembler, FrameAssembler])
def test_header_length_round_trip_all_sizes(assembler_type: type[PacketAssembler]) -> None:
    """Packets with bodies 0..3000 bytes, concatenated and chunked anyhow, come out whole."""
    packets = [make_packet(body, seq=body & 0xFF) for body in BODY_SIZES]
    stream = b"".join(packets)
    for sizes in ([1], [3, 8, 9], [20], [244], [495, 7], [len(stream)]):
        assembler = assembler_type(max_packet_bytes=4096)
        assert feed_in_chunks(assembler, stream, sizes) == packets
        assert assembler.pending_bytes == 0 and assembler.stats.dropped == 0


@pytest.mark.parametrize("payload", [1, 20, 182, 244, 495, 3000])
def test_split_for_att_and_reassemble(payload: int) -> None:
    """split_for_att slices fit the ATT payload, keep order, and reassemble to the packet."""
    for body in EDGE_BODIES:
        packet = make_packet(body)
        pieces = split_for_att(packet, payload)
        assert b"".join(pieces) == packet
        assert all(0 < len(p) <= payload for p in pieces)
        assert len(pieces) == -(-len(packet) // payload)
        assembler = FrameAssembler()
        out = [p for piece in pieces for p in assembler.feed(piece)]
        assert out == [packet]


def test_split_for_att_rejects_zero_payload() -> None:
    """An ATT payload size below one byte is a programming error and raises ValueError."""
    with pytest.raises(ValueError):
        split_for_att(ECHO_PACKET, 0)


def test_extra_bytes_start_the_next_packet() -> None:
    """A notification carrying the end of one packet and the start of the next splits correctly."""
    first, second = make_packet(30, seq=1), make_packet(50, seq=2)
    stream = first + second
    assembler = FrameAssembler()
    assert assembler.feed(stream[:45]) == [first]
    assert assembler.pending_bytes == 45 - len(first)
    assert assembler.feed(stream[45:]) == [second]


def test_short_first_fragment_waits_for_a_header() -> None:
    """Fewer than 8 bytes are held until the header is complete, not dropped."""
    assembler = FrameAssembler()
    assert assembler.feed(ECHO_PACKET[:5]) == []
    assert assembler.pending_bytes == 5 and assembler.stats.dropped == 0
    assert assembler.feed(ECHO_PACKET[5:]) == [ECHO_PACKET]


def test_absurd_declared_length_resets_and_counts() -> None:
    """A header declaring more than max_packet_bytes discards the buffer, counts, and recovers."""
    assembler = FrameAssembler(max_packet_bytes=512)
    bogus = Header(op=Op.READ_RSP, group=0, command=0, sequence=0, length=0xFFFF).encode()
    assert assembler.feed(bogus + b"junk") == []
    assert assembler.stats.oversized == 1 and assembler.pending_bytes == 0
    assert assembler.feed(ECHO_PACKET) == [ECHO_PACKET]


def test_impossible_op_bits_reset_and_count() -> None:
    """Bytes whose op bits are 4..7 cannot start a packet: dropped, counted, then recovery."""
    assembler = RawPacketAssembler()
    assert assembler.feed(b"\x07" + bytes(10)) == []
    assert assembler.stats.bad_header == 1
    assert assembler.feed(ECHO_PACKET) == [ECHO_PACKET]


def test_assembler_reset_abandons_partial_packet() -> None:
    """reset() (input timeout, reconnect) drops a partial packet and counts it."""
    assembler = RawPacketAssembler()
    assembler.feed(ECHO_PACKET[:12])
    assembler.reset()
    assert assembler.stats.interrupted == 1 and assembler.pending_bytes == 0
    assert assembler.feed(ECHO_PACKET) == [ECHO_PACKET]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=600), max_size=30), st.integers(8, 4096))
def test_assembler_arbitrary_bytes_never_raise(chunks: list[bytes], limit: int) -> None:
    """Any chunks yield only packets whose size matches their header, never an exception."""
    assembler = FrameAssembler(max_packet_bytes=limit)
    for data in chunks:
        for packet in assembler.feed(data):
            assert len(packet) == 8 + struct.unpack_from(">H", packet, 2)[0] <= limit
