"""Group 4, log. Zephyr has no handler (ENOTSUP, digest §6.4); the shapes follow Apache
Mynewt's log_mgmt (`cmd/log_mgmt/src/log_mgmt.c`), which the group id comes from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from app.smp.groups.os import EmptyResponse
from app.smp.header import Group, Op
from app.smp.message import Request, Response, Struct


class LogCommand(IntEnum):
    SHOW = 0
    CLEAR = 1
    APPEND = 2
    MODULE_LIST = 3
    LEVEL_LIST = 4
    LOG_LIST = 5


@dataclass(frozen=True)
class LogEntry(Struct):
    msg: str | bytes
    ts: int
    level: int
    index: int
    module: int = 0


@dataclass(frozen=True)
class LogInfo(Struct):
    name: str
    type: int
    entries: list[LogEntry]


@dataclass(frozen=True)
class LogShowResponse(Response):
    logs: list[LogInfo]
    next_index: int | None = None


@dataclass(frozen=True)
class LogShow(Request[LogShowResponse]):
    GROUP: ClassVar[int] = Group.LOG
    COMMAND: ClassVar[int] = LogCommand.SHOW
    OP: ClassVar[Op] = Op.READ
    log_name: str | None = None
    index: int | None = None
    ts: int | None = None


@dataclass(frozen=True)
class LogClear(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.LOG
    COMMAND: ClassVar[int] = LogCommand.CLEAR
    OP: ClassVar[Op] = Op.WRITE


@dataclass(frozen=True)
class LogModuleListResponse(Response):
    module_map: dict[str, int]


@dataclass(frozen=True)
class LogModuleList(Request[LogModuleListResponse]):
    GROUP: ClassVar[int] = Group.LOG
    COMMAND: ClassVar[int] = LogCommand.MODULE_LIST
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class LogLevelListResponse(Response):
    level_map: dict[str, int]


@dataclass(frozen=True)
class LogLevelList(Request[LogLevelListResponse]):
    GROUP: ClassVar[int] = Group.LOG
    COMMAND: ClassVar[int] = LogCommand.LEVEL_LIST
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class LogListResponse(Response):
    log_list: list[str]


@dataclass(frozen=True)
class LogList(Request[LogListResponse]):
    GROUP: ClassVar[int] = Group.LOG
    COMMAND: ClassVar[int] = LogCommand.LOG_LIST
    OP: ClassVar[Op] = Op.READ
