"""Group 8, file system (spec digest §6.5): one LittleFS-like volume mounted at /lfs.

Files live in `device.files` (path → bytes) and are persisted chunk by chunk.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import TYPE_CHECKING

from app.sim.handlers.base import GroupFailure, SmpFailure, handles
from app.smp.errors import FsErr, MgmtErr
from app.smp.groups import fs as g
from app.smp.groups.os import EmptyResponse
from app.smp.header import Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

PATH_MAX = 64
"""CONFIG_MCUMGR_GRP_FS_PATH_LEN."""
HASH_TYPES = {
    "crc32": g.HashTypeInfo(format=0, size=4),
    "sha256": g.HashTypeInfo(format=1, size=32),
}
_DOWNLOAD_OVERHEAD = 48
"""Header and CBOR keys of a download reply; the rest of a buffer carries file data."""


def _fail(rc: int, **extra: int) -> GroupFailure:
    return GroupFailure(Group.FS, rc, extra=extra)


def _check_path(dev: SimDevice, name: str) -> None:
    if (
        not name.startswith("/")
        or len(name.encode()) > PATH_MAX
        or "//" in name
        or any(part in (".", "..") for part in name.split("/"))
    ):
        raise _fail(FsErr.FILE_INVALID_NAME)
    mount = dev.profile.fs_mount
    if name != mount and not name.startswith(mount + "/"):
        raise _fail(FsErr.MOUNT_POINT_NOT_FOUND)


def _is_dir(dev: SimDevice, name: str) -> bool:
    prefix = name.rstrip("/") + "/"
    return name.rstrip("/") == dev.profile.fs_mount or any(f.startswith(prefix) for f in dev.files)


def _existing(dev: SimDevice, name: str) -> bytes:
    """The file's content; FILE_IS_DIRECTORY or FILE_NOT_FOUND otherwise."""
    _check_path(dev, name)
    if _is_dir(dev, name):
        raise _fail(FsErr.FILE_IS_DIRECTORY)
    content = dev.files.get(name)
    if content is None:
        raise _fail(FsErr.FILE_NOT_FOUND)
    return content


@handles(g.FileDownload)
def download(dev: SimDevice, req: g.FileDownload) -> g.FileDownloadResponse:
    content = _existing(dev, req.name)
    if req.off > len(content):
        raise _fail(FsErr.FILE_OFFSET_LARGER_THAN_FILE)
    chunk = max(dev.config.buf_size - _DOWNLOAD_OVERHEAD, 32)
    return g.FileDownloadResponse(
        off=req.off,
        data=content[req.off : req.off + chunk],
        length=len(content) if req.off == 0 else None,
    )


@handles(g.FileUpload)
def upload(dev: SimDevice, req: g.FileUpload) -> g.FileUploadResponse:
    _check_path(dev, req.name)
    if _is_dir(dev, req.name):
        raise _fail(FsErr.FILE_IS_DIRECTORY)
    if req.off == 0:
        if req.length is None:
            raise SmpFailure(MgmtErr.EINVAL)
        dev.fs_session = (req.name, req.length)
        dev.files[req.name] = b""
    else:
        current = len(dev.files.get(req.name, b""))
        if dev.fs_session is None or dev.fs_session[0] != req.name or req.off != current:
            dev.fs_session = None  # the device closes the file; the client must resync
            raise _fail(FsErr.FILE_OFFSET_NOT_VALID, len=current)
    total = dev.fs_session[1] if dev.fs_session else req.off + len(req.data)
    if req.off + len(req.data) > total:
        dev.fs_session = None
        raise SmpFailure(MgmtErr.EINVAL)
    dev.files[req.name] = dev.files[req.name] + req.data
    dev.persist_file(req.name, req.off, req.data)
    dev.note_flash_write(len(req.data))
    new_size = len(dev.files[req.name])
    if new_size >= total:
        dev.fs_session = None
    return g.FileUploadResponse(off=new_size)


@handles(g.FileStatus)
def status(dev: SimDevice, req: g.FileStatus) -> g.FileStatusResponse:
    return g.FileStatusResponse(length=len(_existing(dev, req.name)))


@handles(g.FileHash)
def file_hash(dev: SimDevice, req: g.FileHash) -> g.FileHashResponse:
    kind = req.type or "crc32"
    if kind not in HASH_TYPES:
        raise _fail(FsErr.CHECKSUM_HASH_NOT_FOUND)
    content = _existing(dev, req.name)
    off = req.off or 0
    if not content:
        raise _fail(FsErr.FILE_EMPTY)
    if off >= len(content):
        raise _fail(FsErr.FILE_OFFSET_LARGER_THAN_FILE)
    end = len(content) if req.length is None else min(off + req.length, len(content))
    region = content[off:end]
    output: int | bytes = zlib.crc32(region) if kind == "crc32" else hashlib.sha256(region).digest()
    return g.FileHashResponse(
        type=kind, length=len(region), output=output, off=off if off else None
    )


@handles(g.HashTypes, decodes=False)
def hash_types(dev: SimDevice, req: g.HashTypes) -> g.HashTypesResponse:
    return g.HashTypesResponse(types=dict(HASH_TYPES))


@handles(g.FileClose, decodes=False)
def close(dev: SimDevice, req: g.FileClose) -> EmptyResponse:
    dev.fs_session = None
    return EmptyResponse()
