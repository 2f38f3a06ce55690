"""Group 0, OS (spec digest §6.0)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Self

from app.errors import DecodeError
from app.smp.codec import MapEntries
from app.smp.header import Group, Op
from app.smp.message import Request, Response, Struct, key


class OsCommand(IntEnum):
    ECHO = 0
    CONSOLE_ECHO = 1
    TASK_STATS = 2
    MEMPOOL_STATS = 3
    DATETIME = 4
    RESET = 5
    MCUMGR_PARAMS = 6
    INFO = 7
    BOOTLOADER_INFO = 8


class BootloaderMode(IntEnum):
    """MCUboot `enum mcuboot_mode` as reported by bootloader info `mode` (§6.0.8)."""

    UNKNOWN = -1
    SINGLE_APP = 0
    SWAP_USING_SCRATCH = 1
    OVERWRITE_ONLY = 2
    SWAP_USING_MOVE = 3
    DIRECT_XIP = 4
    DIRECT_XIP_WITH_REVERT = 5
    RAM_LOAD = 6
    FIRMWARE_LOADER = 7
    SINGLE_SLOT_RAM_LOAD = 8
    SWAP_USING_OFFSET = 9

    @property
    def description(self) -> str:
        return _MODE_TEXT[self]

    @classmethod
    def parse(cls, value: int | None) -> BootloaderMode | None:
        """The mode a bootloader info reply reports; None when absent or unknown to us (a
        newer MCUboot may add modes: callers then say "mode N", they do not fail)."""
        if value is None:
            return None
        try:
            return cls(value)
        except ValueError:
            return None


_MODE_TEXT = {
    BootloaderMode.UNKNOWN: "unknown mode",
    BootloaderMode.SINGLE_APP: "single application slot (no rollback)",
    BootloaderMode.SWAP_USING_SCRATCH: "swap using scratch (test and rollback supported)",
    BootloaderMode.OVERWRITE_ONLY: "overwrite-only (no rollback: the new image replaces the old)",
    BootloaderMode.SWAP_USING_MOVE: "swap using move (test and rollback supported)",
    BootloaderMode.DIRECT_XIP: "direct-XIP without revert (the higher version boots)",
    BootloaderMode.DIRECT_XIP_WITH_REVERT: "direct-XIP with revert",
    BootloaderMode.RAM_LOAD: "RAM load",
    BootloaderMode.FIRMWARE_LOADER: "firmware loader",
    BootloaderMode.SINGLE_SLOT_RAM_LOAD: "single slot RAM load",
    BootloaderMode.SWAP_USING_OFFSET: "swap using offset (test and rollback supported)",
}


@dataclass(frozen=True)
class EmptyResponse(Response):
    """A reply with no fields (a legacy `rc: 0` is accepted and ignored)."""


@dataclass(frozen=True)
class EchoResponse(Response):
    r: str


@dataclass(frozen=True)
class Echo(Request[EchoResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.ECHO
    OP: ClassVar[Op] = Op.WRITE
    ALSO_OPS: ClassVar[tuple[Op, ...]] = (Op.READ,)
    d: str


@dataclass(frozen=True)
class ConsoleEcho(Request[EmptyResponse]):
    """Console echo control; Zephyr answers ENOTSUP, MCUboot `rc: 0`."""

    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.CONSOLE_ECHO
    OP: ClassVar[Op] = Op.WRITE
    echo: int


@dataclass(frozen=True)
class TaskInfo(Struct):
    """One thread; every field but prio/tid/state is optional (§6.0.2). Stack in 4-byte words.

    Fields in the order Zephyr 3.4 writes them (os_mgmt.c), so a zcbor reply matches."""

    prio: int
    tid: int
    state: int
    stksiz: int | None = None
    stkuse: int | None = None
    runtime: int | None = None
    cswcnt: int | None = None
    last_checkin: int | None = None
    next_checkin: int | None = None


THREAD_STATE_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "dummy"),
    (0x02, "pending"),
    (0x04, "not started"),
    (0x08, "dead"),
    (0x10, "suspended"),
    (0x20, "aborting"),
    (0x40, "suspending"),
    (0x80, "queued"),
)
"""Zephyr's `thread_state` bits (kernel/include/kernel_structs.h, `_THREAD_DUMMY` ..
`_THREAD_QUEUED`); `state` in task statistics is this bit field."""


def thread_state_words(state: int) -> str:
    """`state` in words: "ready" when no bit is set, else each set bit's name ("pending,
    suspended"); bits Zephyr does not define are shown as hex."""
    if state == 0:
        return "ready"
    words = [name for bit, name in THREAD_STATE_BITS if state & bit]
    unknown = state & ~sum(bit for bit, _ in THREAD_STATE_BITS)
    if unknown:
        words.append(f"0x{unknown:x}")
    return ", ".join(words)


@dataclass(frozen=True)
class TaskStatsResponse(Response):
    """Every thread in the device's order. Without CONFIG_THREAD_NAME Zephyr keys the map by
    priority, so names repeat (captured on Zephyr 3.4): entries, not a dict, keep them all."""

    tasks: list[tuple[str, TaskInfo]]

    def to_body(self) -> dict[str, Any]:
        return {"tasks": MapEntries((name, info.to_body()) for name, info in self.tasks)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        raw = body.get("tasks")
        if raw is None:
            raise DecodeError("TaskStatsResponse: required field 'tasks' is missing")
        if isinstance(raw, dict):
            entries: tuple[tuple[str, Any], ...] = tuple(raw.items())
        elif isinstance(raw, MapEntries):
            entries = raw
        else:
            raise DecodeError(f"TaskStatsResponse.tasks: expected a map, got {type(raw).__name__}")
        tasks = []
        for name, info in entries:
            if not isinstance(info, dict):
                raise DecodeError(f"TaskStatsResponse.tasks.{name}: expected a map")
            tasks.append((name, TaskInfo.from_body(info)))
        return cls(tasks=tasks)


@dataclass(frozen=True)
class TaskStats(Request[TaskStatsResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.TASK_STATS
    OP: ClassVar[Op] = Op.READ
    KEEP_DUPLICATE_KEYS: ClassVar[bool] = True


@dataclass(frozen=True)
class MemoryPool(Struct):
    """Documented key `blksiz` (the `smp` package says `blksize`; digest §12)."""

    blksiz: int | None = None
    nblks: int | None = None
    nfree: int | None = None
    min: int | None = None


@dataclass(frozen=True)
class MemoryPoolStatsResponse(Response):
    """The reply map is keyed by pool name directly, so it has its own converter."""

    pools: dict[str, MemoryPool]

    def to_body(self) -> dict[str, Any]:
        return {name: pool.to_body() for name, pool in self.pools.items()}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        pools = {}
        for name, value in body.items():
            if name in ("rc", "err"):
                continue
            if not isinstance(value, dict):
                raise DecodeError(f"memory pool {name!r} is not a map")
            pools[name] = MemoryPool.from_body(value)
        return cls(pools=pools)


@dataclass(frozen=True)
class MemoryPoolStats(Request[MemoryPoolStatsResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.MEMPOOL_STATS
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class DateTimeResponse(Response):
    """`YYYY-MM-DDTHH:MM:SS[.ms]`, no time zone (§6.0.4)."""

    datetime: str


@dataclass(frozen=True)
class DateTimeGet(Request[DateTimeResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.DATETIME
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class DateTimeSet(Request[EmptyResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.DATETIME
    OP: ClassVar[Op] = Op.WRITE
    datetime: str


@dataclass(frozen=True)
class Reset(Request[EmptyResponse]):
    """Zephyr decodes `force` as a bool (an int is silently ignored, §6.0.6)."""

    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.RESET
    OP: ClassVar[Op] = Op.WRITE
    force: bool | None = None
    boot_mode: int | None = None


@dataclass(frozen=True)
class McumgrParamsResponse(Response):
    buf_size: int
    buf_count: int


@dataclass(frozen=True)
class McumgrParams(Request[McumgrParamsResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.MCUMGR_PARAMS
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class OsInfoResponse(Response):
    output: str


@dataclass(frozen=True)
class OsInfo(Request[OsInfoResponse]):
    """`format` characters: s n r v b m p i o, or a for all (§6.0.7)."""

    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.INFO
    OP: ClassVar[Op] = Op.READ
    format: str | None = None


@dataclass(frozen=True)
class BootloaderInfoResponse(Response):
    bootloader: str | None = None
    mode: int | None = None
    no_downgrade: bool | None = key("no-downgrade", default=None)


@dataclass(frozen=True)
class BootloaderInfo(Request[BootloaderInfoResponse]):
    GROUP: ClassVar[int] = Group.OS
    COMMAND: ClassVar[int] = OsCommand.BOOTLOADER_INFO
    OP: ClassVar[Op] = Op.READ
    query: str | None = None
