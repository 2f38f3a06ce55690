"""Typed requests and responses survive encode -> bytes -> decode for every command."""

from __future__ import annotations

from typing import Any, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smp_values import request_classes, response_classes, struct_strategy

from app.smp import Header, Op, Version, decode_packet, encode_packet, encode_request
from app.smp.groups.img import ImageSlot, ImageStateResponse
from app.smp.groups.os import Echo, EmptyResponse
from app.smp.message import Request, Response, decode_reply, request_class

REQUESTS = request_classes()
RESPONSES = response_classes()
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_group_registers_requests() -> None:
    """Importing app.smp.groups registers the commands of every group in the quick reference."""
    groups = {cls.GROUP for cls in REQUESTS}
    assert groups >= {0, 1, 2, 3, 4, 8, 9, 10, 63}
    assert len(REQUESTS) >= 40
    assert EmptyResponse in RESPONSES


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
@FAST
@given(data=st.data(), sequence=st.integers(0, 255), version=st.sampled_from(list(Version)))
def test_request_round_trip(
    cls: type[Request], data: st.DataObject, sequence: int, version: Version
) -> None:
    """A request encodes to a packet whose header names its command and whose body decodes back."""
    request = data.draw(struct_strategy(cls))
    packet = encode_request(request, sequence=sequence, version=version)
    header, body = decode_packet(packet)
    assert (header.op, header.group, header.command) == (cls.OP, cls.GROUP, cls.COMMAND)
    assert (header.sequence, header.version, header.flags) == (sequence, version, 0)
    assert header.length == len(packet) - 8
    assert request_class(header.group, header.command, header.op) is cls
    assert cls.from_body(body) == request


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
@FAST
@given(data=st.data(), sequence=st.integers(0, 255))
def test_response_round_trip(cls: type[Request], data: st.DataObject, sequence: int) -> None:
    """A request's response type encodes to a reply packet that decode_reply reads back equal."""
    request = data.draw(struct_strategy(cls))
    response = data.draw(struct_strategy(cls.RESPONSE))
    header = Header(op=cls.OP.response(), group=cls.GROUP, command=cls.COMMAND, sequence=sequence)
    # A reply whose keys may repeat (task names) round-trips as Zephyr writes it (zcbor).
    packet = encode_packet(header, response.to_body(), zcbor=cls.KEEP_DUPLICATE_KEYS)
    assert decode_reply(request, packet) == response
    body = decode_packet(packet, keep_duplicates=cls.KEEP_DUPLICATE_KEYS)[1]
    assert cls.RESPONSE.from_body(body) == response


@pytest.mark.parametrize("cls", RESPONSES, ids=lambda c: c.__name__)
@FAST
@given(data=st.data())
def test_response_body_round_trip(cls: type[Response], data: st.DataObject) -> None:
    """to_body -> from_body is the identity for every response type."""
    response = data.draw(struct_strategy(cls))
    assert cls.from_body(response.to_body()) == response


def test_argumentless_request_sends_empty_map() -> None:
    """A request without arguments carries the empty map 0xA0 with length 1 (spec §2)."""
    from app.smp.groups.img import ImageState

    packet = encode_request(ImageState(), sequence=3)
    assert packet == bytes.fromhex("08 00 00 01 00 01 03 00 a0")


def test_none_fields_are_left_out_and_keys_renamed() -> None:
    """Optional fields left None are omitted; `len` and `no-downgrade` use their CBOR names."""
    from app.smp.groups.img import ImageUpload
    from app.smp.groups.os import BootloaderInfoResponse

    assert ImageUpload(off=0, data=b"x", length=9).to_body() == {"off": 0, "data": b"x", "len": 9}
    assert BootloaderInfoResponse.from_body({"mode": 3, "no-downgrade": True}).no_downgrade


def test_missing_flags_mean_false_and_legacy_rc_zero_is_ignored() -> None:
    """A frugal image list (flags omitted) reads as all-false, with a legacy rc 0 beside it."""
    body: dict[str, Any] = {"rc": 0, "images": [{"slot": 1, "version": "1.2.3"}]}
    response = ImageStateResponse.from_body(body)
    assert response.images == [ImageSlot(slot=1, version="1.2.3")]
    slot = response.images[0]
    assert not (slot.bootable or slot.pending or slot.confirmed or slot.active or slot.permanent)
    assert slot.image_number == 0


def test_echo_answers_both_ops() -> None:
    """Echo is found for both read and write requests (spec §6.0.1)."""
    assert request_class(0, 0, Op.READ) is Echo
    assert request_class(0, 0, Op.WRITE) is Echo
    assert request_class(0, 0, Op.READ_RSP) is None


@pytest.mark.parametrize("cls", REQUESTS, ids=lambda c: c.__name__)
def test_a_request_names_its_reply_once_as_its_type_argument(cls: type[Request]) -> None:
    """RESPONSE is the type argument of the request's base, so the type checker and the decoder
    read the same declaration."""
    (base,) = (b for b in cls.__orig_bases__ if get_origin(b) is Request)  # type: ignore[attr-defined]
    assert get_args(base) == (cls.RESPONSE,)


def test_a_concrete_request_without_a_reply_type_is_refused() -> None:
    """A command declared without `Request[SomeResponse]` fails at definition, not on a reply."""
    with pytest.raises(TypeError, match="must name its reply"):

        class Nameless(Request):  # type: ignore[type-arg]
            GROUP = 64
            COMMAND = 0
            OP = Op.READ
