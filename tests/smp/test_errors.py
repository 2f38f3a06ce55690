"""Error replies (v1 `rc`, v2 `err`) become DeviceError with the right fields (spec digest §4)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import pytest

from app.errors import ProtocolError, SlotwiseError
from app.smp import DecodeError, DeviceError, Header, MgmtErr, Op, decode_packet
from app.smp.errors import GROUP_ERRORS, FsErr, ImgErr, OsErr, error_from_body
from app.smp.groups.fs import FileUpload
from app.smp.groups.img import ImageState, ImageUpload
from app.smp.groups.os import OsInfo
from app.smp.groups.stat import StatList, StatListResponse
from app.smp.message import decode_reply


def _raised(request: Any, body: dict[str, Any]) -> DeviceError:
    header = Header(
        op=request.OP.response(), group=request.GROUP, command=request.COMMAND, sequence=0
    )
    with pytest.raises(DeviceError) as info:
        request.decode_response(header, body)
    return info.value


def test_v1_error_with_reason() -> None:
    """{"rc": 6, "rsn": "no slot"} is an SMP-level EBADSTATE naming the request and the reason."""
    err = _raised(ImageUpload(off=0, data=b""), {"rc": 6, "rsn": "no slot"})
    assert (err.group, err.command, err.rc) == (1, 1, 6)
    assert not err.group_error and err.code_name == "EBADSTATE"
    assert err.reason == "no slot"
    text = str(err)
    assert "state does not allow" in text and "EBADSTATE" in text and "rc 6" in text
    assert "image command 1" in text and "no slot" in text


def test_v2_group_error() -> None:
    """{"err": {"group": 1, "rc": 9}} is image NO_FREE_SLOT with a sentence about the slot."""
    err = _raised(ImageUpload(off=0, data=b""), {"err": {"group": 1, "rc": 9}})
    assert (err.group, err.command, err.rc, err.error_group) == (1, 1, 9, 1)
    assert err.group_error and err.code_name == "NO_FREE_SLOT"
    assert "no free slot" in str(err) and "NO_FREE_SLOT" in str(err)
    assert not err.not_supported


def test_v2_error_keeps_extra_fields() -> None:
    """An FS offset mismatch carries `len` beside `err`; it is kept in `extra` (§6.5)."""
    err = _raised(
        FileUpload(off=10, name="/a", data=b""),
        {"err": {"group": 8, "rc": FsErr.FILE_OFFSET_NOT_VALID}, "len": 4},
    )
    assert err.code_name == "FILE_OFFSET_NOT_VALID" and err.extra == {"len": 4}


def test_v2_error_group_defaults_to_request_group() -> None:
    """An `err` map without `group` is read against the request's own group."""
    err = _raised(OsInfo(format="8"), {"err": {"rc": OsErr.INVALID_FORMAT}})
    assert err.error_group == 0 and err.code_name == "INVALID_FORMAT"


def test_err_takes_precedence_over_rc() -> None:
    """When both are present, `err` (group error) wins over `rc` (§4.2 step 1)."""
    err = _raised(ImageState(), {"err": {"group": 1, "rc": 3}, "rc": 1})
    assert err.group_error and err.code_name == "NO_IMAGE"


@pytest.mark.parametrize(
    "body",
    [
        {"rc": 0, "stat_list": ["a"]},
        {"err": {"group": 2, "rc": 0}, "stat_list": ["a"]},
        {"stat_list": ["a"]},
    ],
)
def test_zero_codes_mean_success(body: dict[str, Any]) -> None:
    """A legacy `rc: 0` or an `err.rc` of 0 beside the data is a success (§4.2 step 3)."""
    assert error_from_body(body, group=2, command=1) is None
    header = Header(op=Op.READ_RSP, group=2, command=1, sequence=0)
    assert StatList().decode_response(header, body) == StatListResponse(["a"])


@pytest.mark.parametrize("member", list(MgmtErr)[1:], ids=lambda m: m.name)
def test_every_smp_code_has_name_and_sentence(member: MgmtErr) -> None:
    """Each MgmtErr code maps to its name and a sentence that is not the generic fallback."""
    err = DeviceError(group=0, command=0, rc=member)
    assert err.code_name == member.name
    assert "device reported " + member.name.lower() not in str(err)
    assert f"rc {int(member)}" in str(err)


@pytest.mark.parametrize(
    ("group", "member"),
    [(g, m) for g, table in GROUP_ERRORS.items() for m in list(table)[1:]],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_every_group_code_has_its_name(group: int, member: IntEnum) -> None:
    """Each per-group code is named from its own group's table (§5.2) and stated in the text."""
    err = DeviceError(group=group, command=0, rc=member, group_error=True)
    assert err.code_name == member.name
    assert member.name in str(err) and str(err)[0].islower()


def test_unknown_codes_still_read_well() -> None:
    """Codes missing from the tables get a synthetic name, never a KeyError."""
    assert DeviceError(group=0, command=0, rc=300).code_name == "ERROR_300"
    err = DeviceError(group=77, command=1, rc=5, group_error=True)
    assert err.code_name == "GROUP_77_ERROR_5"
    assert "group 77 command 1" in str(err)


def test_not_supported_flag() -> None:
    """ENOTSUP at the SMP level marks the command as not built into the firmware."""
    assert DeviceError(group=8, command=0, rc=MgmtErr.ENOTSUP).not_supported
    assert not DeviceError(group=8, command=0, rc=8, group_error=True).not_supported


def test_device_error_is_a_slotwise_error_and_decode_error_a_protocol_error() -> None:
    """Callers can catch device and decoding failures by their documented roots."""
    assert issubclass(DeviceError, SlotwiseError)
    assert issubclass(DecodeError, ProtocolError)


@pytest.mark.parametrize(
    "body",
    [
        {"rc": "3"},
        {"rc": True},
        {"rc": 1.5},
        {"err": {"group": "img", "rc": 2}},
    ],
)
def test_mistyped_error_fields_are_decode_errors(body: dict[str, Any]) -> None:
    """An rc or group that is not an integer is a DecodeError, not a success or a crash."""
    with pytest.raises(DecodeError):
        error_from_body(body, group=1, command=0)


def test_non_text_reason_is_ignored() -> None:
    """A non-text `rsn` is dropped rather than shown."""
    err = error_from_body({"rc": 3, "rsn": 5}, group=0, command=0)
    assert err is not None and err.reason is None


# --- Zephyr's own unit-test vectors (spec digest §1.1) ---------------------------------------

ZEPHYR_OS_INFO_VECTORS = [
    ("01 00 00 06 00 00 01 07 bf 62 72 63 03 ff", 0, False, MgmtErr.EINVAL, "EINVAL"),
    (
        "09 00 00 13 00 00 01 07 bf 63 65 72 72 bf 65 67 72 6f 75 70 00 62 72 63 02 ff ff",
        1,
        True,
        OsErr.INVALID_FORMAT,
        "INVALID_FORMAT",
    ),
    (
        "09 00 00 06 00 00 01 07 bf 62 72 63 0d ff",
        1,
        False,
        MgmtErr.UNSUPPORTED_TOO_NEW,
        "UNSUPPORTED_TOO_NEW",
    ),
]


@pytest.mark.parametrize(
    ("hex_bytes", "version", "group_error", "rc", "name"), ZEPHYR_OS_INFO_VECTORS
)
def test_zephyr_os_info_vectors(
    hex_bytes: str, version: int, group_error: bool, rc: int, name: str
) -> None:
    """Zephyr's os-info error replies (indefinite maps) decode to the documented errors."""
    packet = bytes.fromhex(hex_bytes)
    header, _ = decode_packet(packet)
    assert (header.op, header.version, header.sequence, header.command) == (
        Op.READ_RSP,
        version,
        1,
        7,
    )
    with pytest.raises(DeviceError) as info:
        decode_reply(OsInfo(format="8"), packet)
    err = info.value
    assert (err.group, err.command, err.rc, err.group_error, err.code_name) == (
        0,
        7,
        rc,
        group_error,
        name,
    )


def test_img_error_names_match_spec_numbers() -> None:
    """Spot checks of the image table against §5.2 (the numbers users quote from logs)."""
    assert (
        ImgErr.NO_FREE_SLOT,
        ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED,
        ImgErr.ACTIVE_SLOT_NOT_KNOWN,
    ) == (9, 33, 34)
