"""The 8-byte SMP header and the packet codec at their limits (spec digest §1, §2)."""

from __future__ import annotations

import pytest

from app.smp import DecodeError, Header, Op, Version, decode_packet, encode_packet, encode_request
from app.smp.codec import decode_body
from app.smp.groups.os import Echo

ECHO_VECTOR = bytes.fromhex("0a 00 00 09 00 00 2a 00 a1 61 64 65 68 65 6c 6c 6f")


def test_echo_vector() -> None:
    """Echo v2 write, seq 0x2A, {"d": "hello"} encodes to the §1.1 test vector and back."""
    assert encode_request(Echo(d="hello"), sequence=0x2A) == ECHO_VECTOR
    header, body = decode_packet(ECHO_VECTOR)
    assert header == Header(
        op=Op.WRITE, group=0, command=0, sequence=0x2A, length=9, version=Version.V2
    )
    assert body == {"d": "hello"}


@pytest.mark.parametrize(
    ("op", "version", "first_byte"),
    [
        (Op.READ, Version.V1, 0x00),
        (Op.READ, Version.V2, 0x08),
        (Op.READ_RSP, Version.V1, 0x01),
        (Op.READ_RSP, Version.V2, 0x09),
        (Op.WRITE, Version.V1, 0x02),
        (Op.WRITE, Version.V2, 0x0A),
        (Op.WRITE_RSP, Version.V1, 0x03),
        (Op.WRITE_RSP, Version.V2, 0x0B),
        (Op.WRITE_RSP, 3, 0x1B),
    ],
)
def test_first_byte_is_version_and_op(op: Op, version: int, first_byte: int) -> None:
    """Byte 0 is (version << 3) | op, for every op and version, both ways (§1 table)."""
    header = Header(op=op, group=0, command=0, sequence=0, version=version)
    assert header.encode()[0] == first_byte
    assert Header.decode(header.encode()) == header


@pytest.mark.parametrize(
    "fields",
    [
        {"sequence": 0},
        {"sequence": 255},
        {"group": 0},
        {"group": 0xFFFF},
        {"length": 0},
        {"length": 0xFFFF},
        {"command": 255},
        {"flags": 0xFF},
        {"version": 0},
        {"version": 3},
    ],
)
def test_fields_at_their_limits_round_trip(fields: dict[str, int]) -> None:
    """Every header field at its smallest and largest value encodes big-endian and decodes back."""
    header = Header(**{"op": Op.READ_RSP, "group": 1, "command": 2, "sequence": 3, **fields})
    data = header.encode()
    assert len(data) == 8
    assert Header.decode(data) == header


def test_multi_byte_fields_are_big_endian() -> None:
    """Length and group are big-endian u16 at bytes 2-3 and 4-5 (§1)."""
    data = Header(
        op=Op.READ,
        group=0x1234,
        command=0x56,
        sequence=0x78,
        length=0xABCD,
        flags=0x9A,
        version=Version.V2,
    ).encode()
    assert data == bytes([0x08, 0x9A, 0xAB, 0xCD, 0x12, 0x34, 0x78, 0x56])


@pytest.mark.parametrize(
    "fields",
    [
        {"sequence": 256},
        {"sequence": -1},
        {"group": 0x10000},
        {"group": -1},
        {"length": 0x10000},
        {"command": 256},
        {"flags": 256},
        {"version": 4},
        {"version": -1},
        {"op": 4},
        {"op": -1},
        {"op": 7},
    ],
)
def test_out_of_range_fields_are_rejected(fields: dict[str, int]) -> None:
    """A header field outside its bit width raises ValueError instead of wrapping silently."""
    with pytest.raises(ValueError):
        Header(**{"op": Op.READ, "group": 0, "command": 0, "sequence": 0, **fields})


def test_plain_int_op_becomes_enum() -> None:
    """An op given as an int is stored as the Op enum."""
    assert Header(op=3, group=0, command=0, sequence=0).op is Op.WRITE_RSP


@pytest.mark.parametrize("op_bits", [4, 5, 6, 7])
def test_decode_rejects_unknown_op(op_bits: int) -> None:
    """Op bits 4..7 are not SMP operations: DecodeError."""
    with pytest.raises(DecodeError, match="op"):
        Header.decode(bytes([op_bits, 0, 0, 0, 0, 0, 0, 0]))


def test_decode_ignores_reserved_bits() -> None:
    """Reserved bits 7..5 of byte 0 are ignored on receipt (senders set them to 0)."""
    assert Header.decode(bytes([0xE9, 0, 0, 1, 0, 0, 0, 0])).op is Op.READ_RSP


@pytest.mark.parametrize("size", range(8))
def test_decode_needs_eight_bytes(size: int) -> None:
    """Fewer than 8 bytes cannot be a header: DecodeError naming the size."""
    with pytest.raises(DecodeError, match="8 bytes"):
        Header.decode(bytes(size))


def test_packet_length_must_match_body() -> None:
    """A body shorter or longer than the header's length is a DecodeError (§1)."""
    with pytest.raises(DecodeError, match="declares 9"):
        decode_packet(ECHO_VECTOR[:-1])
    with pytest.raises(DecodeError, match="declares 9"):
        decode_packet(ECHO_VECTOR + b"\xa0")


def test_encode_packet_fills_length_and_rejects_oversized_body() -> None:
    """encode_packet writes the body length into the header and refuses a body over 0xFFFF."""
    header = Header(op=Op.WRITE, group=8, command=0, sequence=1, length=999)
    packet = encode_packet(header, {"data": b"x" * 100})
    assert Header.decode(packet).length == len(packet) - 8
    with pytest.raises(ValueError, match="16-bit"):
        encode_packet(header, {"data": b"x" * 0x10000})


def test_body_must_be_one_text_keyed_map() -> None:
    """Empty bodies, non-maps, non-text keys, stray bytes and tags are DecodeErrors (§2)."""
    for bad in [
        b"",
        bytes.fromhex("80"),
        bytes.fromhex("a1 01 02"),
        bytes.fromhex("a0 a0"),
        bytes.fromhex("bf 61"),
        bytes.fromhex("c1 a0"),
        bytes.fromhex("a1 61 61 c0 61 78"),
    ]:
        with pytest.raises(DecodeError):
            decode_body(bad)


def test_indefinite_and_definite_maps_decode_alike() -> None:
    """zcbor's indefinite-length maps and arrays decode like definite ones (§2)."""
    indefinite = bytes.fromhex("bf 61 61 9f 01 02 ff ff")
    definite = bytes.fromhex("a1 61 61 82 01 02")
    assert decode_body(indefinite) == decode_body(definite) == {"a": [1, 2]}


def test_deep_nesting_is_rejected() -> None:
    """Hostile nesting far beyond what Zephyr produces is a DecodeError, not a RecursionError."""
    deep = b"\xa1\x61a" * 40 + b"\xa0"
    with pytest.raises(DecodeError):
        decode_body(deep)
    very_deep = b"\x81" * 100_000 + b"\x00"
    with pytest.raises(DecodeError):
        decode_body(b"\xa1\x61a" + very_deep)
