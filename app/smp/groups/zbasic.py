"""Group 63, Zephyr basic: storage erase (spec digest §6.9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.smp.groups.os import EmptyResponse
from app.smp.header import Group, Op
from app.smp.message import Request

STORAGE_ERASE = 0


@dataclass(frozen=True)
class StorageErase(Request[EmptyResponse]):
    """Erases the whole storage partition (settings, NVS, LittleFS): destructive."""

    GROUP: ClassVar[int] = Group.ZEPHYR_BASIC
    COMMAND: ClassVar[int] = STORAGE_ERASE
    OP: ClassVar[Op] = Op.WRITE
