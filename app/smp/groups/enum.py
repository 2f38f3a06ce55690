"""Group 10, enumeration: which groups a device has (spec digest §6.7)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from app.smp.header import Group, Op
from app.smp.message import Request, Response, Struct


class EnumCommand(IntEnum):
    COUNT = 0
    LIST = 1
    SINGLE = 2
    DETAILS = 3


@dataclass(frozen=True)
class EnumCountResponse(Response):
    count: int


@dataclass(frozen=True)
class EnumCount(Request[EnumCountResponse]):
    GROUP: ClassVar[int] = Group.ENUM
    COMMAND: ClassVar[int] = EnumCommand.COUNT
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class EnumListResponse(Response):
    groups: list[int]


@dataclass(frozen=True)
class EnumList(Request[EnumListResponse]):
    GROUP: ClassVar[int] = Group.ENUM
    COMMAND: ClassVar[int] = EnumCommand.LIST
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class EnumSingleResponse(Response):
    group: int
    end: bool | None = None


@dataclass(frozen=True)
class EnumSingle(Request[EnumSingleResponse]):
    GROUP: ClassVar[int] = Group.ENUM
    COMMAND: ClassVar[int] = EnumCommand.SINGLE
    OP: ClassVar[Op] = Op.READ
    index: int | None = None


@dataclass(frozen=True)
class EnumGroupDetail(Struct):
    group: int
    name: str | None = None
    handlers: int | None = None


@dataclass(frozen=True)
class EnumDetailsResponse(Response):
    groups: list[EnumGroupDetail]


@dataclass(frozen=True)
class EnumDetails(Request[EnumDetailsResponse]):
    GROUP: ClassVar[int] = Group.ENUM
    COMMAND: ClassVar[int] = EnumCommand.DETAILS
    OP: ClassVar[Op] = Op.READ
    groups: list[int] | None = None
