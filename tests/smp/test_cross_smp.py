"""Byte-for-byte agreement with the independent `smp` package from PyPI (4.x).

Both encode canonical CBOR, so for every message both define the whole packet (header with the
same sequence and version, then the body) must be identical. Deliberate differences, where we
follow the spec digest instead of `smp`, are pinned in their own tests below.
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
import smp.enumeration_management as s_enum
import smp.file_management as s_fs
import smp.header as s_hdr
import smp.image_management as s_img
import smp.os_management as s_os
import smp.settings_management as s_set
import smp.shell_management as s_shell
import smp.statistics_management as s_stat
import smp.zephyr_management as s_zb
from smp_values import request_classes

from app.smp import DeviceError, Header, Op, Version, decode_packet, encode_request
from app.smp.groups import enum, fs, img, log, os, settings, shell, stat, zbasic
from app.smp.message import Request, Response, decode_reply

HASH = bytes(range(32))
CHUNK = bytes(range(256)) * 2

# (our request, smp request class, smp keyword arguments)
REQUEST_PAIRS: list[tuple[Request, type[Any], dict[str, Any]]] = [
    (os.Echo(d="hello"), s_os.EchoWriteRequest, {"d": "hello"}),
    (os.Echo(d=""), s_os.EchoWriteRequest, {"d": ""}),
    (os.Reset(), s_os.ResetWriteRequest, {}),
    (os.Reset(boot_mode=1), s_os.ResetWriteRequest, {"boot_mode": 1}),
    (os.TaskStats(), s_os.TaskStatisticsReadRequest, {}),
    (os.MemoryPoolStats(), s_os.MemoryPoolStatisticsReadRequest, {}),
    (os.DateTimeGet(), s_os.DateTimeReadRequest, {}),
    (
        os.DateTimeSet(datetime="2026-11-28T06:58:00"),
        s_os.DateTimeWriteRequest,
        {"datetime": "2026-11-28T06:58:00"},
    ),
    (os.McumgrParams(), s_os.MCUMgrParametersReadRequest, {}),
    (os.OsInfo(), s_os.OSApplicationInfoReadRequest, {}),
    (os.OsInfo(format="a"), s_os.OSApplicationInfoReadRequest, {"format": "a"}),
    (os.BootloaderInfo(), s_os.BootloaderInformationReadRequest, {}),
    (os.BootloaderInfo(query="mode"), s_os.BootloaderInformationReadRequest, {"query": "mode"}),
    (img.ImageState(), s_img.ImageStatesReadRequest, {}),
    (
        img.ImageStateWrite(hash=HASH, confirm=False),
        s_img.ImageStatesWriteRequest,
        {"hash": HASH, "confirm": False},
    ),
    (img.ImageStateWrite(confirm=True), s_img.ImageStatesWriteRequest, {"confirm": True}),
    (
        img.ImageUpload(off=0, data=CHUNK, length=50663, image=0, sha=HASH, upgrade=True),
        s_img.ImageUploadWriteRequest,
        {"off": 0, "data": CHUNK, "len": 50663, "image": 0, "sha": HASH, "upgrade": True},
    ),
    (
        img.ImageUpload(off=512, data=CHUNK),
        s_img.ImageUploadWriteRequest,
        {"off": 512, "data": CHUNK},
    ),
    (img.ImageErase(), s_img.ImageEraseRequest, {}),
    (img.ImageErase(slot=1), s_img.ImageEraseRequest, {"slot": 1}),
    (stat.StatRead(name="smp_svr_stats"), s_stat.GroupDataRequest, {"name": "smp_svr_stats"}),
    (stat.StatList(), s_stat.ListOfGroupsRequest, {}),
    (settings.SettingRead(name="bt/name"), s_set.ReadSettingRequest, {"name": "bt/name"}),
    (
        settings.SettingRead(name="a", max_size=64),
        s_set.ReadSettingRequest,
        {"name": "a", "max_size": 64},
    ),
    (
        settings.SettingWrite(name="a", val=b"\x01\x02"),
        s_set.WriteSettingRequest,
        {"name": "a", "val": b"\x01\x02"},
    ),
    (settings.SettingDelete(name="a"), s_set.DeleteSettingRequest, {"name": "a"}),
    (settings.SettingsCommit(), s_set.CommitSettingsRequest, {}),
    (settings.SettingsLoad(), s_set.LoadSettingsRequest, {}),
    (settings.SettingsSave(), s_set.SaveSettingsRequest, {}),
    (
        fs.FileDownload(off=0, name="/lfs/log.txt"),
        s_fs.FileDownloadRequest,
        {"off": 0, "name": "/lfs/log.txt"},
    ),
    (
        fs.FileUpload(off=0, name="/lfs/a", data=CHUNK, length=1000),
        s_fs.FileUploadRequest,
        {"off": 0, "name": "/lfs/a", "data": CHUNK, "len": 1000},
    ),
    (
        fs.FileUpload(off=512, name="/lfs/a", data=CHUNK),
        s_fs.FileUploadRequest,
        {"off": 512, "name": "/lfs/a", "data": CHUNK},
    ),
    (fs.FileStatus(name="/lfs/a"), s_fs.FileStatusRequest, {"name": "/lfs/a"}),
    (fs.FileHash(name="/lfs/a"), s_fs.FileHashChecksumRequest, {"name": "/lfs/a"}),
    (
        fs.FileHash(name="/lfs/a", type="sha256", off=4, length=100),
        s_fs.FileHashChecksumRequest,
        {"name": "/lfs/a", "type": "sha256", "off": 4, "len": 100},
    ),
    (fs.HashTypes(), s_fs.SupportedFileHashChecksumTypesRequest, {}),
    (fs.FileClose(), s_fs.FileCloseRequest, {}),
    (
        shell.ShellExec(argv=["kernel", "uptime"]),
        s_shell.ExecuteRequest,
        {"argv": ["kernel", "uptime"]},
    ),
    (enum.EnumCount(), s_enum.GroupCountRequest, {}),
    (enum.EnumList(), s_enum.ListOfGroupsRequest, {}),
    (enum.EnumSingle(), s_enum.GroupIdRequest, {}),
    (enum.EnumSingle(index=2), s_enum.GroupIdRequest, {"index": 2}),
    (enum.EnumDetails(), s_enum.GroupDetailsRequest, {}),
    (enum.EnumDetails(groups=[0, 1, 63]), s_enum.GroupDetailsRequest, {"groups": (0, 1, 63)}),
    (zbasic.StorageErase(), s_zb.EraseStorageRequest, {}),
]

NOT_IN_SMP: set[type[Request]] = {
    os.ConsoleEcho,  # `smp` 4.2 has no console-echo message (digest §12)
    img.SlotInfo,  # `smp` 4.2 lacks image slot info (digest §12)
    log.LogShow,
    log.LogClear,
    log.LogModuleList,
    log.LogLevelList,
    log.LogList,  # no log group
}


def test_every_request_is_cross_checked_or_listed_missing() -> None:
    """Each of our request types is compared with `smp`, or named as absent there."""
    covered = {type(ours) for ours, _, _ in REQUEST_PAIRS}
    assert covered | NOT_IN_SMP == set(request_classes())
    assert not covered & NOT_IN_SMP


@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    REQUEST_PAIRS,
    ids=[f"{type(o).__name__}-{i}" for i, (o, _, _) in enumerate(REQUEST_PAIRS)],
)
@pytest.mark.parametrize(
    ("sequence", "version"), [(0, Version.V2), (0x2A, Version.V1), (254, Version.V2)]
)
def test_request_bytes_match_smp(
    ours: Request, theirs: type[Any], kwargs: dict[str, Any], sequence: int, version: Version
) -> None:
    """Our packet equals `smp`'s byte for byte: header, sequence, version and canonical body."""
    reference = bytes(theirs(**kwargs, sequence=sequence, version=s_hdr.Version(version)))
    assert encode_request(ours, sequence=sequence, version=version) == reference


def test_reset_force_is_a_bool_unlike_smp() -> None:
    """Reset `force` is sent as CBOR true (Zephyr decodes a bool; `smp` sends int 1, §6.0.6)."""
    ours = encode_request(os.Reset(force=True), sequence=1)
    theirs = bytes(s_os.ResetWriteRequest(force=1, sequence=1))
    assert ours[:8] == theirs[:8]
    assert cbor2.loads(ours[8:]) == {"force": True}
    assert cbor2.loads(theirs[8:]) == {"force": 1}
    assert ours[8:] == bytes.fromhex("a1 65 66 6f 72 63 65 f5")
    assert theirs[8:] == bytes.fromhex("a1 65 66 6f 72 63 65 01")


# --- responses encoded by `smp`, decoded by us -----------------------------------------------

SLOT = {"slot": 0, "version": "1.0.0", "hash": HASH, "active": True, "confirmed": True}

# (our request, smp response instance, expected typed value)
RESPONSE_PAIRS: list[tuple[Request, Any, Response]] = [
    (os.Echo(d="hi"), s_os.EchoWriteResponse(r="hi"), os.EchoResponse(r="hi")),
    (os.Reset(), s_os.ResetWriteResponse(), os.EmptyResponse()),
    (
        os.TaskStats(),
        s_os.TaskStatisticsReadResponse(
            tasks={"idle": {"prio": 15, "tid": 1, "state": 0, "stkuse": 10, "stksiz": 64}}
        ),
        os.TaskStatsResponse(
            tasks=[("idle", os.TaskInfo(prio=15, tid=1, state=0, stkuse=10, stksiz=64))]
        ),
    ),
    (
        os.DateTimeGet(),
        s_os.DateTimeReadResponse(datetime="2026-01-02T03:04:05"),
        os.DateTimeResponse(datetime="2026-01-02T03:04:05"),
    ),
    (os.DateTimeSet(datetime="x"), s_os.DateTimeWriteResponse(), os.EmptyResponse()),
    (
        os.McumgrParams(),
        s_os.MCUMgrParametersReadResponse(buf_size=2475, buf_count=4),
        os.McumgrParamsResponse(buf_size=2475, buf_count=4),
    ),
    (
        os.OsInfo(),
        s_os.OSApplicationInfoReadResponse(output="Zephyr"),
        os.OsInfoResponse(output="Zephyr"),
    ),
    (
        os.BootloaderInfo(),
        s_os.BootloaderInformationReadResponse(bootloader="MCUboot"),
        os.BootloaderInfoResponse(bootloader="MCUboot"),
    ),
    (
        img.ImageState(),
        s_img.ImageStatesReadResponse(images=[SLOT]),
        img.ImageStateResponse(
            images=[img.ImageSlot(slot=0, version="1.0.0", hash=HASH, active=True, confirmed=True)]
        ),
    ),
    (
        img.ImageUpload(off=0, data=b""),
        s_img.ImageUploadWriteResponse(off=4096, match=True),
        img.ImageUploadResponse(off=4096, match=True),
    ),
    (img.ImageErase(), s_img.ImageEraseResponse(), os.EmptyResponse()),
    (
        stat.StatRead(name="s"),
        s_stat.GroupDataResponse(name="s", fields={"ticks": 4}),
        stat.StatReadResponse(name="s", fields={"ticks": 4}),
    ),
    (
        stat.StatList(),
        s_stat.ListOfGroupsResponse(stat_list=("a", "b")),
        stat.StatListResponse(stat_list=["a", "b"]),
    ),
    (
        settings.SettingRead(name="a"),
        s_set.ReadSettingResponse(val=b"\x07", max_size=8),
        settings.SettingReadResponse(val=b"\x07", max_size=8),
    ),
    (settings.SettingWrite(name="a", val=b""), s_set.WriteSettingResponse(), os.EmptyResponse()),
    (
        fs.FileDownload(off=0, name="/a"),
        s_fs.FileDownloadResponse(off=0, data=b"ab", len=2),
        fs.FileDownloadResponse(off=0, data=b"ab", length=2),
    ),
    (
        fs.FileUpload(off=0, name="/a", data=b""),
        s_fs.FileUploadResponse(off=2),
        fs.FileUploadResponse(off=2),
    ),
    (fs.FileStatus(name="/a"), s_fs.FileStatusResponse(len=77), fs.FileStatusResponse(length=77)),
    (
        fs.FileHash(name="/a"),
        s_fs.FileHashChecksumResponse(type="crc32", len=77, output=123),
        fs.FileHashResponse(type="crc32", length=77, output=123),
    ),
    (
        fs.FileHash(name="/a"),
        s_fs.FileHashChecksumResponse(type="sha256", len=7, output=HASH),
        fs.FileHashResponse(type="sha256", length=7, output=HASH),
    ),
    (
        fs.HashTypes(),
        s_fs.SupportedFileHashChecksumTypesResponse(types={"crc32": {"format": 0, "size": 4}}),
        fs.HashTypesResponse(types={"crc32": fs.HashTypeInfo(format=0, size=4)}),
    ),
    (
        shell.ShellExec(argv=["x"]),
        s_shell.ExecuteResponse(o="out", ret=0),
        shell.ShellExecResponse(o="out", ret=0),
    ),
    (enum.EnumCount(), s_enum.GroupCountResponse(count=3), enum.EnumCountResponse(count=3)),
    (
        enum.EnumList(),
        s_enum.ListOfGroupsResponse(groups=(0, 1, 63)),
        enum.EnumListResponse(groups=[0, 1, 63]),
    ),
    (
        enum.EnumSingle(),
        s_enum.GroupIdResponse(group=1, end=True),
        enum.EnumSingleResponse(group=1, end=True),
    ),
    (
        enum.EnumDetails(),
        s_enum.GroupDetailsResponse(groups=({"group": 0, "name": "os"},)),
        enum.EnumDetailsResponse(groups=[enum.EnumGroupDetail(group=0, name="os")]),
    ),
    (zbasic.StorageErase(), s_zb.EraseStorageResponse(), os.EmptyResponse()),
]


@pytest.mark.parametrize(
    ("request_", "theirs", "expected"),
    RESPONSE_PAIRS,
    ids=[type(t).__name__ for _, t, _ in RESPONSE_PAIRS],
)
def test_smp_encoded_responses_decode(request_: Request, theirs: Any, expected: Response) -> None:
    """A reply packet built by `smp` decodes with ours to the equivalent typed value."""
    packet = bytes(theirs)
    header, _ = decode_packet(packet)
    assert (header.group, header.command, header.op) == (
        request_.GROUP,
        request_.COMMAND,
        request_.OP.response(),
    )
    assert decode_reply(request_, packet) == expected


def test_mempool_blksize_key_is_not_ours() -> None:
    """`smp` spells the pool block size `blksize`; we follow the documented `blksiz` (§6.0.3)."""
    packet = bytes(
        s_os.MemoryPoolStatisticsReadResponse(
            **{"heap": {"blksize": 8, "nblks": 4, "nfree": 2, "min": 1}}
        )
    )
    pools = decode_reply(os.MemoryPoolStats(), packet)
    assert isinstance(pools, os.MemoryPoolStatsResponse)
    assert pools.pools == {"heap": os.MemoryPool(blksiz=None, nblks=4, nfree=2, min=1)}


def _smp_error(error_type: type[Any], group: int, command: int, op: Op, **fields: Any) -> bytes:
    body = cbor2.dumps(fields, canonical=True)
    header = s_hdr.Header(
        op=s_hdr.OP(op),
        version=s_hdr.Version.V2,
        flags=s_hdr.Flag(0),
        length=len(body),
        group_id=group,
        sequence=9,
        command_id=command,
    )
    return bytes(error_type(header=header, **fields))


def test_smp_encoded_errors_decode() -> None:
    """`smp`'s v1 and v2 error replies become DeviceErrors with the same codes."""
    v2 = _smp_error(s_img.ImageManagementErrorV2, 1, 1, Op.WRITE_RSP, err={"group": 1, "rc": 9})
    with pytest.raises(DeviceError) as info:
        decode_reply(img.ImageUpload(off=0, data=b""), v2)
    assert info.value.group_error and info.value.code_name == "NO_FREE_SLOT"
    v1 = _smp_error(s_img.ImageManagementErrorV1, 1, 1, Op.WRITE_RSP, rc=6, rsn="no slot")
    with pytest.raises(DeviceError) as info:
        decode_reply(img.ImageUpload(off=0, data=b""), v1)
    assert (info.value.rc, info.value.reason, info.value.group_error) == (6, "no slot", False)


def test_our_requests_load_in_smp() -> None:
    """`smp` parses our request packets back to the same fields (the other direction)."""
    packet = encode_request(img.ImageUpload(off=0, data=CHUNK, length=9, sha=HASH), sequence=5)
    loaded = s_img.ImageUploadWriteRequest.loads(packet)
    assert (loaded.off, loaded.data, loaded.len, loaded.sha, loaded.sequence) == (
        0,
        CHUNK,
        9,
        HASH,
        5,
    )
    assert Header.decode(packet).version == Version.V2
