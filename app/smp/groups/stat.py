"""Group 2, statistics (spec digest §6.2)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from app.smp.header import Group, Op
from app.smp.message import Request, Response


class StatCommand(IntEnum):
    READ = 0
    LIST = 1


@dataclass(frozen=True)
class StatReadResponse(Response):
    name: str
    fields: dict[str, int]


@dataclass(frozen=True)
class StatRead(Request[StatReadResponse]):
    GROUP: ClassVar[int] = Group.STAT
    COMMAND: ClassVar[int] = StatCommand.READ
    OP: ClassVar[Op] = Op.READ
    name: str


@dataclass(frozen=True)
class StatListResponse(Response):
    """Zephyr 3.4 adds `"rc": 0` beside the list (captured); it is ignored."""

    stat_list: list[str]


@dataclass(frozen=True)
class StatList(Request[StatListResponse]):
    GROUP: ClassVar[int] = Group.STAT
    COMMAND: ClassVar[int] = StatCommand.LIST
    OP: ClassVar[Op] = Op.READ
