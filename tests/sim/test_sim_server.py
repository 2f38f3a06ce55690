"""SMP server rules of the simulated device (spec digest §1, §4): headers, versions, errors."""

from __future__ import annotations

import logging
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sim_helpers import Bench

from app.sim.device import SimConfig, SimDevice
from app.smp.groups import img
from app.smp.groups import os as osg
from app.smp.header import Header, Op
from app.smp.message import all_request_classes, decode_packet, encode_packet, encode_request


def _answer(bench: Bench, frame: bytes) -> tuple[Header, dict]:
    reply = bench.raw(frame)
    assert reply.frame is not None
    return decode_packet(reply.frame)


def test_echo_vector_from_the_digest(bench: Bench) -> None:
    """The digest's v2 echo request is answered as a v2 write response with the same seq."""
    header, body = _answer(
        bench, bytes.fromhex("0a000009 00002a00 a16164 6568656c6c6f".replace(" ", ""))
    )
    assert (header.op, header.version, header.sequence, header.group, header.command) == (
        Op.WRITE_RSP,
        1,
        0x2A,
        0,
        0,
    )
    assert body == {"r": "hello"}


@pytest.mark.parametrize(
    ("version", "want_version", "want_body"),
    [
        (0, 0, {"rc": 3}),
        (1, 1, {"err": {"group": 0, "rc": 2}}),
        (2, 1, {"rc": 13}),
    ],
)
def test_zephyr_os_info_vectors(
    bench: Bench, version: int, want_version: int, want_body: dict
) -> None:
    """OS info with format "8" gives v1 EINVAL, a v2 OS group error, and rc 13 for "v3"."""
    frame = encode_packet(
        Header(op=Op.READ, group=0, command=7, sequence=1, version=version), {"format": "8"}
    )
    header, body = _answer(bench, frame)
    assert header.version == want_version and header.op is Op.READ_RSP
    assert body == want_body


@pytest.mark.parametrize("version", [0, 1])
def test_unknown_group_and_command_are_enotsup_in_both_versions(bench: Bench, version: int) -> None:
    """Unknown groups and commands answer SMP-level rc 8, also to v2 requests."""
    for group, command in ((77, 0), (0, 42), (4, 0), (1, 2)):
        frame = encode_packet(
            Header(op=Op.READ, group=group, command=command, sequence=3, version=version), {}
        )
        header, body = _answer(bench, frame)
        assert body == {"rc": 8}
        assert (header.group, header.command, header.sequence) == (group, command, 3)


def test_response_ops_and_undefined_ops_are_enotsup(bench: Bench) -> None:
    """A request carrying a response op (or an undefined op) is answered rc 8."""
    for first in (0x09, 0x0B, 0x0D, 0x0F):
        frame = bytes([first]) + bytes.fromhex("000001 0000 05 00") + b"\xa0"
        header, body = _answer(bench, frame)
        assert body == {"rc": 8} and header.op is Op.WRITE_RSP


def test_length_mismatch_is_ecorrupt(bench: Bench) -> None:
    """A header declaring more body bytes than arrived is answered rc 9."""
    header, body = _answer(bench, bytes.fromhex("0a000020000007 00") + b"\xa1adbhi")
    assert body == {"rc": 9} and header.sequence == 7


def test_malformed_cbor_is_einval(bench: Bench) -> None:
    """A body that is not CBOR is answered rc 3 even to a v2 request."""
    _, body = _answer(bench, bytes.fromhex("0a00000200004f00bf61"))
    assert body == {"rc": 3}


def test_short_frames_get_no_reply(bench: Bench) -> None:
    """Fewer bytes than a header produce no reply at all."""
    for frame in (b"", b"\x0a", bytes(7)):
        assert bench.raw(frame).frame is None


def test_read_only_handlers_ignore_an_unreadable_body(bench: Bench) -> None:
    """Image list, like Zephyr's, does not decode its body, so garbage still lists slots."""
    frame = encode_packet(Header(op=Op.READ, group=1, command=0, sequence=1), {})[:8]
    frame = bytes([frame[0], 0, 0, 1]) + frame[4:] + b"\xff"
    _, body = _answer(bench, frame)
    assert [e["slot"] for e in body["images"]] == [0]


@pytest.mark.parametrize(
    ("version", "want"), [(0, {"rc": 6, "rsn": "no slot"}), (1, {"err": {"group": 1, "rc": 9}})]
)
def test_no_free_slot_while_test_image_unconfirmed(
    bench: Bench, new_image: bytes, version: int, want: dict
) -> None:
    """While an unconfirmed test image runs, an upload is refused: v2 err 9, v1 rc 6."""
    from app.sim.mcuboot import build_image, read_info

    bench.upload(new_image)
    bench.test(read_info(new_image).hash)
    bench.device.reboot()
    third = build_image("1.3.0", b"third" * 500)
    assert bench.upload(third, version=version) == want
    bench.confirm()
    assert bench.upload(third)["off"] == len(third)


@pytest.mark.parametrize(
    ("request_", "v2", "v1"),
    [
        (img.ImageStateWrite(hash=b"\x01" * 31, confirm=False), 24, 3),
        (img.ImageStateWrite(hash=b"\x01" * 32, confirm=False), 8, 1),
        (img.ImageStateWrite(confirm=False), 24, 3),
        (img.ImageErase(slot=9), 14, 3),
        (img.ImageErase(slot=0), 9, 6),
        (img.ImageUpload(off=0, data=b"\x00" * 31, length=100), 22, 3),
        (img.ImageUpload(off=0, data=b"\x00" * 40), 21, 3),
        (img.ImageUpload(off=0, data=b"\x00" * 40, length=100), 23, 1),
        (
            img.ImageUpload(off=0, data=b"\x3d\xb8\xf3\x96" + bytes(36), length=100, sha=bytes(33)),
            24,
            3,
        ),
        (img.ImageUpload(off=0, data=b"\x3d\xb8\xf3\x96" + bytes(36), length=1 << 30), 30, 1),
        (img.ImageUpload(off=0, data=b"\x3d\xb8\xf3\x96" + bytes(36), length=10), 31, 1),
    ],
)
def test_image_errors_in_v1_and_v2(bench: Bench, request_: object, v2: int, v1: int) -> None:
    """Image group errors come as err{group 1} to v2 and translated rc to v1 (§4.1)."""
    body = bench.body(request_, 1)  # type: ignore[arg-type]
    assert body.get("err") == {"group": 1, "rc": v2}
    body = bench.body(request_, 0)  # type: ignore[arg-type]
    assert body["rc"] == v1 and "err" not in body


def test_negative_uint_fields_are_einval(bench: Bench) -> None:
    """Fields Zephyr decodes as unsigned reject negative numbers with rc 3."""
    from app.smp.groups import enum, fs

    for request in (
        enum.EnumSingle(index=-1),
        fs.FileDownload(off=-4, name="/lfs/x"),
        img.ImageErase(slot=-1),
        enum.EnumDetails(groups=[0, -1]),
    ):
        assert bench.body(request) == {"rc": 3}, request


def test_upload_without_offset_is_invalid_offset(bench: Bench) -> None:
    """An upload map without `off` is image error 20, as Zephyr decodes it."""
    frame = encode_packet(
        Header(op=Op.WRITE, group=1, command=1, sequence=1), {"data": b"x", "len": 1}
    )
    assert _answer(bench, frame)[1] == {"err": {"group": 1, "rc": 20}}


def test_test_of_running_image_is_33(bench: Bench) -> None:
    """Marking the running image for test is refused with image error 33."""
    running = bench.state()[0]["hash"]
    assert bench.test(running) == {"err": {"group": 1, "rc": 33}}


def test_changing_a_pending_test_is_28(bench: Bench, new_image: bytes) -> None:
    """Once a slot is pending for test, making it permanent instead is error 28."""
    from app.sim.mcuboot import read_info

    bench.upload(new_image)
    h = read_info(new_image).hash
    bench.test(h)
    assert "images" in bench.test(h)  # repeating the same test is a no-op success
    assert bench.confirm(h) == {"err": {"group": 1, "rc": 28}}


def test_upgrade_flag_refuses_older_or_equal(bench: Bench) -> None:
    """`upgrade: true` with a version not above the running one is image error 27."""
    from app.sim.mcuboot import build_image

    same = build_image("1.0.0", b"other" * 300)
    assert bench.upload(same, upgrade=True) == {"err": {"group": 1, "rc": 27}}
    assert bench.upload(same, upgrade=True, version=0) == {"rc": 6, "rsn": "downgrade"}


def test_overlong_reply_is_emsgsize(make_bench) -> None:  # type: ignore[no-untyped-def]
    """An answer that does not fit one MCUmgr buffer becomes rc 7."""
    bench = make_bench(buf_size=64)
    assert bench.body(osg.Echo(d="x" * 80)) == {"rc": 7}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80))
def test_random_bytes_never_raise(frame: bytes) -> None:
    """Any bytes at all give a Reply (possibly empty) and never an internal error."""
    device = _FUZZ_DEVICE
    reply = device.process(frame)
    if reply.frame is not None:
        decode_packet(reply.frame)


_FUZZ_DEVICE = SimDevice(SimConfig(slot_size=64 * 1024))
_CLASSES = [c for c in all_request_classes() if c.OP in (Op.READ, Op.WRITE)]
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(max_size=20)
    | st.binary(max_size=64),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=5,
)
_KEYS = st.sampled_from(
    [
        "off",
        "data",
        "len",
        "sha",
        "image",
        "upgrade",
        "hash",
        "confirm",
        "slot",
        "d",
        "name",
        "val",
        "argv",
        "format",
        "query",
        "index",
        "groups",
        "type",
        "datetime",
        "force",
        "max_size",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cls_index=st.integers(0, len(_CLASSES) - 1),
    version=st.integers(0, 3),
    body=st.dictionaries(_KEYS, _VALUES, max_size=6),
)
def test_structured_fuzz_never_errors_internally(
    cls_index: int,
    version: int,
    body: dict,
) -> None:
    """Well-framed requests with wrongly typed fields are answered, never crash the device."""
    cls = _CLASSES[cls_index]
    handler = logging.getLogger("app.sim")
    records: list[logging.LogRecord] = []

    class _Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    catcher = _Catch(level=logging.ERROR)
    handler.addHandler(catcher)
    try:
        frame = encode_packet(
            Header(op=cls.OP, group=cls.GROUP, command=cls.COMMAND, sequence=1, version=version),
            body,
        )
        reply = _FUZZ_DEVICE.process(frame)
    finally:
        handler.removeHandler(catcher)
    assert not records, records[0].getMessage() if records else ""
    assert reply.frame is not None
    header, answer = decode_packet(reply.frame)
    assert isinstance(answer, dict) and header.sequence == 1


def test_a_crashing_handler_is_counted_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that raises gives an empty reply *and* an entry the suite's guard fails on."""
    from app.sim.device import INTERNAL_ERRORS
    from app.sim.handlers.base import HANDLERS

    def crash(_device: SimDevice, _request: object) -> NoReturn:
        raise ZeroDivisionError("injected")

    device = SimDevice(SimConfig(slot_size=64 * 1024))
    before = len(INTERNAL_ERRORS)
    for request_type in list(HANDLERS):
        monkeypatch.setitem(HANDLERS, request_type, crash)
    reply = device.process(encode_request(osg.Echo(d="hi"), 1))
    assert reply.frame is None
    assert device.counters["internal_errors"] == 1
    assert INTERNAL_ERRORS[before:] == [INTERNAL_ERRORS[-1]]
    assert INTERNAL_ERRORS[-1].startswith("ZeroDivisionError: injected")
    del INTERNAL_ERRORS[before:]  # proven; the guard would otherwise fail this test
