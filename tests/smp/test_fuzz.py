"""Hostile input: decoders return a value or raise DecodeError/DeviceError, nothing else."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from smp_values import cbor_map, cbor_tree, request_classes, struct_strategy

from app.smp import DecodeError, DeviceError, Header, decode_body, decode_packet
from app.smp.errors import error_from_body
from app.smp.message import Request, Struct, decode_reply

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_CLASS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=16))
def test_header_decode_any_bytes(data: bytes) -> None:
    """Header.decode on any bytes gives a header or DecodeError."""
    try:
        header = Header.decode(data)
    except DecodeError:
        return
    assert header.encode() == bytes([data[0] & 0b11111, *data[1:8]])


@FUZZ
@given(st.one_of(st.binary(max_size=200), cbor_tree.map(cbor2.dumps)))
@example(b"\xc1\x1a\x00\x00\x00\x00")  # tag 1: a datetime
@example(b"\xa1\xa0\x00")  # a map as map key
@example(b"\xa1\x61a\xfb\x7f\xf8\x00\x00\x00\x00\x00\x00")  # NaN
@example(b"\xa1\x61a\xc2\x49\x01" + bytes(8))  # bignum tag
@example(b"\xa1\x61a\xf7")  # undefined
@example(b"\xa1\x61a\xf0")  # simple value 16
@example(b"\x7f\x61a\x41b\xff")  # indefinite text with a bytes chunk
@example(b"\xbf" * 5000)
def test_decode_body_any_bytes(data: bytes) -> None:
    """decode_body on arbitrary bytes or arbitrary CBOR gives a text-keyed map or DecodeError."""
    try:
        body = decode_body(data)
    except DecodeError:
        return
    assert isinstance(body, dict) and all(isinstance(k, str) for k in body)


@FUZZ
@given(
    st.binary(max_size=8).flatmap(
        lambda head: st.one_of(st.binary(max_size=64), cbor_map.map(cbor2.dumps)).map(
            lambda body: head + body
        )
    )
)
def test_decode_packet_any_bytes(data: bytes) -> None:
    """decode_packet on arbitrary bytes gives (header, map) or DecodeError."""
    try:
        header, body = decode_packet(data)
    except DecodeError:
        return
    assert header.length == len(data) - 8 and isinstance(body, dict)


def _mutate(data: st.DataObject, value: Any) -> Any:
    """`value` with one node somewhere inside replaced by an arbitrary CBOR tree."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: _mutate(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _mutate(data, value[index]), *value[index + 1 :]]
    return data.draw(cbor_tree)


def _hostile_body(data: st.DataObject, cls: type[Struct]) -> dict[str, Any]:
    """A map that is nearly a valid `cls` body, or its keys with wrong values, or random."""
    kind = data.draw(st.sampled_from(["mutated", "own keys", "random"]))
    if kind == "mutated":
        valid = data.draw(struct_strategy(cls)).to_body()
        mutated = _mutate(data, valid)
        return mutated if isinstance(mutated, dict) else valid
    if kind == "own keys":
        keys = [f.metadata.get("key", f.name) for f in dataclasses.fields(cls)]
        return data.draw(
            st.dictionaries(
                st.sampled_from([*keys, "rc", "err", "rsn"]), cbor_tree, max_size=len(keys) + 2
            )
        )
    return data.draw(cbor_map)


@pytest.mark.parametrize("cls", request_classes(), ids=lambda c: c.__name__)
@PER_CLASS
@given(data=st.data())
def test_request_and_reply_decoding_any_map(cls: type[Request], data: st.DataObject) -> None:
    """Request.from_body, Response.from_body and decode_response on hostile maps give a value,
    DecodeError or (replies) DeviceError, never another exception."""
    with contextlib.suppress(DecodeError):
        assert isinstance(cls.from_body(_hostile_body(data, cls)), cls)
    body = _hostile_body(data, cls.RESPONSE)
    with contextlib.suppress(DecodeError):
        assert isinstance(cls.RESPONSE.from_body(body), cls.RESPONSE)
    header = Header(op=cls.OP.response(), group=cls.GROUP, command=cls.COMMAND, sequence=0)
    request = object.__new__(cls)  # decode_response reads only class variables
    with contextlib.suppress(DecodeError, DeviceError):
        assert isinstance(request.decode_response(header, body), cls.RESPONSE)


@FUZZ
@given(
    body=st.dictionaries(st.sampled_from(["rc", "err", "rsn", "group", "x"]), cbor_tree, max_size=4)
)
def test_error_from_body_any_map(body: dict[str, Any]) -> None:
    """error_from_body returns None or a DeviceError with a sentence, or raises DecodeError."""
    try:
        err = error_from_body(body, group=1, command=0)
    except DecodeError:
        return
    if err is not None:
        assert isinstance(err.rc, int) and str(err) and err.code_name


@FUZZ
@given(st.binary(max_size=120))
def test_decode_reply_any_bytes(data: bytes) -> None:
    """A whole reply packet of any bytes decodes, or raises DecodeError or DeviceError."""
    from app.smp.groups.img import ImageState

    with contextlib.suppress(DecodeError, DeviceError):
        decode_reply(ImageState(), data)
