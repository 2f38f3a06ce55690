"""Group 8, file system (spec digest §6.5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from app.smp.groups.os import EmptyResponse
from app.smp.header import Group, Op
from app.smp.message import Request, Response, Struct, key


class FsCommand(IntEnum):
    FILE = 0
    STATUS = 1
    HASH = 2
    HASH_TYPES = 3
    CLOSE = 4


@dataclass(frozen=True)
class FileDownloadResponse(Response):
    """`length` (total file size) only in the reply to offset 0."""

    off: int
    data: bytes
    length: int | None = key("len", default=None)


@dataclass(frozen=True)
class FileDownload(Request[FileDownloadResponse]):
    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.FILE
    OP: ClassVar[Op] = Op.READ
    off: int
    name: str


@dataclass(frozen=True)
class FileUploadResponse(Response):
    off: int


@dataclass(frozen=True)
class FileUpload(Request[FileUploadResponse]):
    """`length` is required on the chunk at offset 0."""

    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.FILE
    OP: ClassVar[Op] = Op.WRITE
    off: int
    name: str
    data: bytes
    length: int | None = key("len", default=None)


@dataclass(frozen=True)
class FileStatusResponse(Response):
    length: int = key("len")


@dataclass(frozen=True)
class FileStatus(Request[FileStatusResponse]):
    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.STATUS
    OP: ClassVar[Op] = Op.READ
    name: str


@dataclass(frozen=True)
class FileHashResponse(Response):
    """`output` is an integer for crc32 and bytes for sha256."""

    type: str
    length: int = key("len")
    output: int | bytes = b""
    off: int | None = None


@dataclass(frozen=True)
class FileHash(Request[FileHashResponse]):
    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.HASH
    OP: ClassVar[Op] = Op.READ
    name: str
    type: str | None = None
    off: int | None = None
    length: int | None = key("len", default=None)


@dataclass(frozen=True)
class HashTypeInfo(Struct):
    """`format` 0 = numeric, 1 = byte array."""

    format: int
    size: int


@dataclass(frozen=True)
class HashTypesResponse(Response):
    types: dict[str, HashTypeInfo]


@dataclass(frozen=True)
class HashTypes(Request[HashTypesResponse]):
    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.HASH_TYPES
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class FileClose(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.FS
    COMMAND: ClassVar[int] = FsCommand.CLOSE
    OP: ClassVar[Op] = Op.WRITE
