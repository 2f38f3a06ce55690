"""Golden vectors from real firmware: Zephyr 3.4 smp_svr over UDP (tests/data/captures).

Requests: our encoder gives the captured header fields (op, version, flags, group, command,
length; sequence set to the captured one) and the same CBOR body once decoded (the captured
client did not sort keys, so bytes are compared after decoding). Responses: our decoder reads
each captured reply to the expected typed value or DeviceError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.smp import DecodeError, DeviceError, Header, Op, decode_packet, encode_packet
from app.smp.codec import decode_body
from app.smp.groups import enum, fs, img, os, settings, shell, stat, zbasic
from app.smp.message import Request, Response, decode_reply

CAPTURES_PATH = Path(__file__).parent.parent / "data" / "captures" / "zephyr-3.4-smp_svr-udp.json"
CAPTURES: dict[str, dict[str, Any]] = {
    entry["name"]: entry for entry in json.loads(CAPTURES_PATH.read_text())
}


def _plain(value: Any) -> Any:
    """The capture's JSON with {"bytes": hex} turned back into bytes."""
    if isinstance(value, dict):
        if set(value) == {"bytes"}:
            return bytes.fromhex(value["bytes"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _q(name: str) -> dict[str, Any]:
    return _plain(CAPTURES[name]["request"])  # type: ignore[no-any-return]


SHA = bytes.fromhex("71971f07c1e769c15961ee3399e4d82109d13525ff46bc295ba243037dcb8d07")
HASH_0 = bytes.fromhex("bfaee722a3bac51a0ebe629f3a9f1e8e33ec93b50cc6aa0675ef5b02e638a552")
HASH_1 = bytes.fromhex("1f5f293d9e69531dbd62d1fd63dbfef8ef01b583bec80487bdf3c831197eae75")


def _first_chunk(name: str) -> img.ImageUpload:
    return img.ImageUpload(off=0, data=_q(name)["data"], length=50663, image=0, sha=SHA)


def _chunk(name: str, off: int) -> img.ImageUpload:
    return img.ImageUpload(off=off, data=_q(name)["data"])


def _slot0() -> img.ImageSlot:
    return img.ImageSlot(
        slot=0, version="1.0.0", hash=HASH_0, bootable=True, confirmed=True, active=True
    )


def _images(pending: bool) -> img.ImageStateResponse:
    slot1 = img.ImageSlot(slot=1, version="1.2.3", hash=HASH_1, bootable=True, pending=pending)
    return img.ImageStateResponse(images=[_slot0(), slot1], split_status=0)


_34_THREADS = [
    (3, 128),
    (0, 2),
    (0, 2),
    (-1, 2),
    (-1, 2),
    (-2, 16),
    (-1, 2),
    (-1, 2),
    (15, 0),
    (0, 16),
]
"""(prio, state) of the ten captured threads, in tid order."""

Expected = Response | tuple[int, str | None]
"""A typed reply, or (rc, rsn) of the DeviceError the reply must raise."""

# name -> (request builder, expected reply)
CASES: dict[str, tuple[Callable[[], Request], Expected]] = {
    "os echo": (lambda: os.Echo(d="hello"), os.EchoResponse(r="hello")),
    "os echo v2 header": (lambda: os.Echo(d="v2"), os.EchoResponse(r="v2")),
    "os mcumgr params": (os.McumgrParams, os.McumgrParamsResponse(buf_size=1536, buf_count=2)),
    "os info all": (
        lambda: os.OsInfo(format="a"),
        os.OsInfoResponse(output="Zephyr unknown  3.4.99 posix unknown native_sim_64 Zephyr"),
    ),
    "os info default": (os.OsInfo, os.OsInfoResponse(output="Zephyr")),
    "os task stats": (
        os.TaskStats,
        os.TaskStatsResponse(  # ten threads keyed by priority: the names repeat
            tasks=[
                (str(prio), os.TaskInfo(prio=prio, tid=tid, state=state))
                for tid, (prio, state) in enumerate(_34_THREADS)
            ]
        ),
    ),
    "os mempool stats": (os.MemoryPoolStats, (8, None)),
    "os datetime get": (os.DateTimeGet, (8, None)),
    "os bootloader info": (os.BootloaderInfo, (8, None)),
    "image state read (slot 0 only)": (
        img.ImageState,
        img.ImageStateResponse(images=[_slot0()], split_status=0),
    ),
    "image upload first chunk": (
        lambda: _first_chunk("image upload first chunk"),
        img.ImageUploadResponse(off=1024),
    ),
    "image upload next chunk": (
        lambda: _chunk("image upload next chunk", 1024),
        img.ImageUploadResponse(off=2048),
    ),
    "image upload wrong offset": (
        lambda: _chunk("image upload wrong offset", 5120),
        img.ImageUploadResponse(off=2048),
    ),
    "image upload restart same sha (resume)": (
        lambda: _first_chunk("image upload restart same sha (resume)"),
        img.ImageUploadResponse(off=2048),
    ),
    "image upload chunk": (
        lambda: _chunk("image upload chunk", 50176),
        img.ImageUploadResponse(off=50663),
    ),
    "image state read (after upload)": (img.ImageState, _images(pending=False)),
    "image state write test, 24-byte hash": (
        lambda: img.ImageStateWrite(hash=HASH_1[:24], confirm=False),
        (3, None),
    ),
    "image state write test, unknown hash": (
        lambda: img.ImageStateWrite(hash=bytes(32), confirm=False),
        (1, None),
    ),
    "image state write test": (
        lambda: img.ImageStateWrite(hash=HASH_1, confirm=False),
        _images(pending=True),
    ),
    "image state read (pending)": (img.ImageState, _images(pending=True)),
    "image upload while pending": (
        lambda: _first_chunk("image upload while pending"),
        (6, "no slot"),
    ),
    "image erase slot 1 while pending": (lambda: img.ImageErase(slot=1), (6, None)),
    "image slot info": (img.SlotInfo, (8, None)),
    "stats list": (
        stat.StatList,
        stat.StatListResponse(
            stat_list=["flash_sim_stats", "flash_sim_thresholds", "smp_svr_stats"]
        ),
    ),
    "stats read smp_svr_stats": (
        lambda: stat.StatRead(name="smp_svr_stats"),
        stat.StatReadResponse(name="smp_svr_stats", fields={"ticks": 4, "s1": 0}),
    ),
    "stats read unknown group": (lambda: stat.StatRead(name="nope"), (1, None)),
    "settings read": (lambda: settings.SettingRead(name="x"), (8, None)),
    "shell exec": (lambda: shell.ShellExec(argv=["help"]), (8, None)),
    "enum count": (enum.EnumCount, (8, None)),
    "zephyr basic storage erase": (zbasic.StorageErase, (8, None)),
}

# Captures whose request no typed class can express: (op, group, command, body) built directly.
RAW_REQUESTS: dict[str, tuple[Op, int, int, dict[str, Any]]] = {
    "unknown group 77": (Op.READ, 77, 0, {}),
    "unknown command in os group": (Op.READ, 0, 42, {}),
    "echo missing field": (Op.WRITE, 0, 0, {}),
    # Labelled "fs status" but the captured header says command 0 (file download) with no
    # `off`: a quirk of the capturing client. Status is command 1 (digest §6.5, Zephyr
    # FS_MGMT_ID_STAT); the firmware had no FS group, so either way it answered ENOTSUP.
    "fs status": (Op.READ, 8, 0, {"name": "/lfs/x"}),
}


def test_every_capture_is_covered() -> None:
    """Each captured exchange is checked by this module (a new capture must be added here)."""
    assert set(CASES) | set(RAW_REQUESTS) | {"malformed cbor body"} == set(CAPTURES)


@pytest.mark.parametrize("name", list(CASES))
def test_encoder_matches_captured_request(name: str) -> None:
    """Our request has the captured header fields and, once decoded, the captured CBOR body."""
    captured = bytes.fromhex(CAPTURES[name]["request_hex"])
    want_header, want_body = decode_packet(captured)
    request = CASES[name][0]()
    ours = encode_packet(
        Header(
            op=request.OP,
            group=request.GROUP,
            command=request.COMMAND,
            sequence=want_header.sequence,
            version=want_header.version,
        ),
        request.to_body(),
    )
    header, body = decode_packet(ours)
    assert header == want_header
    assert body == want_body == _q(name)
    assert len(ours) == len(captured)


@pytest.mark.parametrize("name", list(RAW_REQUESTS))
def test_raw_requests_match_capture(name: str) -> None:
    """Requests without a typed class (unknown group/command, missing field) encode identically."""
    captured = bytes.fromhex(CAPTURES[name]["request_hex"])
    op, group, command, body = RAW_REQUESTS[name]
    want = Header.decode(captured)
    ours = encode_packet(
        Header(op=op, group=group, command=command, sequence=want.sequence, version=want.version),
        body,
    )
    assert ours == captured


@pytest.mark.parametrize("name", list(CASES))
def test_decoder_reads_captured_response(name: str) -> None:
    """Each captured reply decodes to the expected typed value or DeviceError (rc, reason)."""
    request, expected = CASES[name][0](), CASES[name][1]
    reply = bytes.fromhex(CAPTURES[name]["response_hex"])
    header, body = decode_packet(reply)
    assert header.op is request.OP.response()
    assert (header.group, header.command) == (request.GROUP, request.COMMAND)
    assert header.sequence == Header.decode(bytes.fromhex(CAPTURES[name]["request_hex"])).sequence
    assert body == _plain(CAPTURES[name]["response"])
    if isinstance(expected, Response):
        assert decode_reply(request, reply) == expected
        return
    rc, reason = expected
    with pytest.raises(DeviceError) as info:
        decode_reply(request, reply)
    err = info.value
    assert (err.group, err.command, err.rc, err.group_error, err.reason) == (
        request.GROUP,
        request.COMMAND,
        rc,
        False,
        reason,
    )
    assert str(err)


@pytest.mark.parametrize(
    ("name", "rc"),
    [
        ("unknown group 77", 8),
        ("unknown command in os group", 8),
        ("fs status", 8),
        ("malformed cbor body", 3),
    ],
)
def test_untyped_replies_are_device_errors(name: str, rc: int) -> None:
    """Replies to untyped requests still classify: ENOTSUP for unknown ids, EINVAL for bad CBOR."""
    from app.smp.errors import error_from_body

    header, body = decode_packet(bytes.fromhex(CAPTURES[name]["response_hex"]))
    err = error_from_body(body, group=header.group, command=header.command)
    assert err is not None and err.rc == rc and not err.group_error
    assert err.not_supported == (rc == 8)


def test_file_status_uses_command_one() -> None:
    """FileStatus follows the digest (command 1), not the mislabelled capture (command 0)."""
    packet = encode_packet(
        Header(op=Op.READ, group=8, command=fs.FileStatus.COMMAND, sequence=0),
        fs.FileStatus(name="/lfs/x").to_body(),
    )
    assert Header.decode(packet).command == 1


def test_malformed_captured_request_is_a_decode_error() -> None:
    """The captured truncated CBOR request is rejected by our decoder as the device did."""
    captured = bytes.fromhex(CAPTURES["malformed cbor body"]["request_hex"])
    with pytest.raises(DecodeError, match="CBOR"):
        decode_packet(captured)


def test_echo_with_missing_field_reply_decodes() -> None:
    """Zephyr answers an echo without `d` with an empty `r`; that is a normal echo reply."""
    reply = bytes.fromhex(CAPTURES["echo missing field"]["response_hex"])
    assert decode_reply(os.Echo(d=""), reply) == os.EchoResponse(r="")


def test_replies_use_indefinite_maps() -> None:
    """The captured replies really are zcbor indefinite-length maps (what the decoder must read)."""
    bodies = [bytes.fromhex(c["response_hex"])[8:] for c in CAPTURES.values()]
    assert all(body[0] == 0xBF for body in bodies)
    assert all(isinstance(decode_body(body), dict) for body in bodies)
