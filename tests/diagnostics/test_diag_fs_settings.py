"""File transfers with progress and hash checks, and settings values of every type."""

from __future__ import annotations

import os

import pytest

from app.client import SmpClient
from app.sim.device import SimDevice
from app.smp.errors import DeviceError, FsErr, SettingsErr
from app.workflows import fs_transfer
from app.workflows.diagnostics import (
    SettingValueError,
    ValueType,
    decode_setting,
    encode_setting,
)
from app.workflows.fs_transfer import TransferProgress

MIB = 1024 * 1024


@pytest.mark.parametrize("size", [0, 1, 4093, MIB])
async def test_files_round_trip_and_hash_check(
    client: SmpClient, device: SimDevice, kind: str, size: int
) -> None:
    """Upload then download gives back the same bytes, and the device's digest matches."""
    if kind == "serial" and size == MIB:
        size = 64 * 1024  # base64 console framing over a pty: keep the suite fast
    data = os.urandom(size)
    seen: list[TransferProgress] = []
    await fs_transfer.upload(client, "/lfs/blob.bin", data, progress=seen.append)
    assert device.files["/lfs/blob.bin"] == data
    assert seen and seen[-1].done_bytes == size == seen[-1].total_bytes
    assert [p.done_bytes for p in seen] == sorted(p.done_bytes for p in seen)
    assert await fs_transfer.download(client, "/lfs/blob.bin") == data
    check = await fs_transfer.hash_check(client, "/lfs/blob.bin", data)
    assert check.algorithm == "sha256" and check.matches
    crc = await fs_transfer.hash_check(client, "/lfs/blob.bin", data, "crc32")
    assert crc.algorithm == "crc32" and crc.matches and len(crc.device_digest) == 8


async def test_hash_check_notices_a_different_file(client: SmpClient) -> None:
    """One changed byte makes the comparison fail."""
    data = os.urandom(3000)
    await fs_transfer.upload(client, "/lfs/a.bin", data)
    changed = data[:-1] + bytes([data[-1] ^ 1])
    check = await fs_transfer.hash_check(client, "/lfs/a.bin", changed)
    assert not check.matches and check.device_digest != check.local_digest


async def test_download_progress_and_missing_file(client: SmpClient, device: SimDevice) -> None:
    """Download reports growing progress; a missing file is the device's FILE_NOT_FOUND."""
    device.files["/lfs/log.txt"] = b"line\n" * 4000
    seen: list[TransferProgress] = []
    data = await fs_transfer.download(client, "/lfs/log.txt", progress=seen.append)
    assert data == device.files["/lfs/log.txt"]
    assert len(seen) > 1 and seen[-1].fraction == 1.0
    with pytest.raises(DeviceError) as err:
        await fs_transfer.download(client, "/lfs/none.txt")
    assert err.value.rc == FsErr.FILE_NOT_FOUND


async def test_small_device_buffer_gives_small_chunks(client: SmpClient) -> None:
    """Upload chunks fit the device buffer and the link frame (both minus overhead)."""
    size = await fs_transfer.upload_chunk_bytes(client, "/lfs/x")
    link = client.link
    params = await client.params()
    assert size <= min(params.buf_size - link.device_buffer_overhead, link.max_frame_bytes) - 48


@pytest.mark.parametrize(
    ("kind_", "text", "width", "raw"),
    [
        (ValueType.TEXT, "héllo wörld", 4, "héllo wörld".encode()),
        (ValueType.INT, "42", 4, b"\x2a\x00\x00\x00"),
        (ValueType.INT, "-2", 2, b"\xfe\xff"),
        (ValueType.INT, "0x1234", 8, b"\x34\x12" + bytes(6)),
        (ValueType.INT, "255", 1, b"\xff"),
        (ValueType.HEX, "01 ff:a0", 4, b"\x01\xff\xa0"),
        (ValueType.HEX, "", 4, b""),
    ],
)
async def test_setting_values_of_each_type(
    client: SmpClient, device: SimDevice, kind_: ValueType, text: str, width: int, raw: bytes
) -> None:
    """A value written as text, int or hex reaches the device as those bytes and reads back."""
    await client.setting_write("app/value", encode_setting(text, kind_, width))
    assert device.settings["app/value"] == raw
    back = await client.setting_read("app/value")
    assert back == raw
    if kind_ == ValueType.INT and text == "-2":
        assert decode_setting(back, kind_) == "-2"
    if kind_ == ValueType.TEXT:
        assert decode_setting(back, kind_) == text


async def test_setting_delete_save_commit_load(client: SmpClient, device: SimDevice) -> None:
    """Delete removes a setting; save, commit and load are accepted."""
    await client.setting_write("app/gone", b"x")
    await client.settings_save()
    await client.settings_commit()
    await client.settings_load()
    await client.setting_delete("app/gone")
    with pytest.raises(DeviceError) as err:
        await client.setting_read("app/gone")
    assert err.value.group_error and err.value.rc == SettingsErr.KEY_NOT_FOUND


@pytest.mark.parametrize(
    ("kind_", "text", "width"),
    [
        (ValueType.INT, "abc", 4),
        (ValueType.INT, "256", 1),
        (ValueType.INT, "1", 3),
        (ValueType.HEX, "0g", 4),
        (ValueType.HEX, "123", 4),
    ],
)
def test_bad_setting_values_are_refused(kind_: ValueType, text: str, width: int) -> None:
    """A value that does not fit its type is a SettingValueError with a sentence."""
    with pytest.raises(SettingValueError):
        encode_setting(text, kind_, width)


def test_decoding_refuses_impossible_types() -> None:
    """Three bytes are no integer and invalid UTF-8 is no text."""
    with pytest.raises(SettingValueError):
        decode_setting(b"\x01\x02\x03", ValueType.INT)
    with pytest.raises(SettingValueError):
        decode_setting(b"\xff\xfe", ValueType.TEXT)
    assert decode_setting(b"\x01\xab", ValueType.HEX) == "01 ab"
