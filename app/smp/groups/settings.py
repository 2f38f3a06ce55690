"""Group 3, settings (spec digest §6.3). Values are raw bytes; their meaning is the app's."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from app.smp.groups.os import EmptyResponse
from app.smp.header import Group, Op
from app.smp.message import Request, Response


class SettingsCommand(IntEnum):
    READ_WRITE = 0
    DELETE = 1
    COMMIT = 2
    LOAD_SAVE = 3


@dataclass(frozen=True)
class SettingReadResponse(Response):
    val: bytes
    max_size: int | None = None


@dataclass(frozen=True)
class SettingRead(Request[SettingReadResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.READ_WRITE
    OP: ClassVar[Op] = Op.READ
    name: str
    max_size: int | None = None


@dataclass(frozen=True)
class SettingWrite(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.READ_WRITE
    OP: ClassVar[Op] = Op.WRITE
    name: str
    val: bytes


@dataclass(frozen=True)
class SettingDelete(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.DELETE
    OP: ClassVar[Op] = Op.WRITE
    name: str


@dataclass(frozen=True)
class SettingsCommit(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.COMMIT
    OP: ClassVar[Op] = Op.WRITE


@dataclass(frozen=True)
class SettingsLoad(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.LOAD_SAVE
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class SettingsSave(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.SETTINGS
    COMMAND: ClassVar[int] = SettingsCommand.LOAD_SAVE
    OP: ClassVar[Op] = Op.WRITE
