"""The 8-byte SMP header (spec digest smp-protocol.md §1). Pure: no I/O."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from app.errors import DecodeError

HEADER_SIZE = 8
_LAYOUT = struct.Struct(">BBHHBB")
MAX_BODY_BYTES = 0xFFFF
"""Data Length is a u16 (§1)."""


class Op(IntEnum):
    """Operation codes, `enum mcumgr_op_t`."""

    READ = 0
    READ_RSP = 1
    WRITE = 2
    WRITE_RSP = 3

    @property
    def is_response(self) -> bool:
        return self in (Op.READ_RSP, Op.WRITE_RSP)

    def response(self) -> Op:
        """The op a server answers this request op with (Zephyr smp.c)."""
        return Op.READ_RSP if self is Op.READ else Op.WRITE_RSP


class Version(IntEnum):
    """SMP version bits (byte 0, bits 4..3)."""

    V1 = 0
    V2 = 1


class Group(IntEnum):
    """Management group ids, `enum mcumgr_group_t` (§5.3)."""

    OS = 0
    IMAGE = 1
    STAT = 2
    SETTINGS = 3
    LOG = 4
    CRASH = 5
    SPLIT = 6
    RUN = 7
    FS = 8
    SHELL = 9
    ENUM = 10
    TRANSPORT = 11
    ZEPHYR_BASIC = 63


def group_name(group: int) -> str:
    """A readable group name, also for user groups (>= 64)."""
    try:
        return Group(group).name.lower().replace("_", " ")
    except ValueError:
        return f"group {group}"


@dataclass(frozen=True, slots=True)
class Header:
    """One SMP header; `length` counts the body only, never the header."""

    op: Op
    group: int
    command: int
    sequence: int
    length: int = 0
    version: int = Version.V2
    flags: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.op, bool) or not isinstance(self.op, int) or not 0 <= self.op <= 3:
            raise ValueError(f"SMP header op {self.op!r} is not one of 0..3")
        object.__setattr__(self, "op", Op(self.op))  # a plain int becomes the enum
        limits = {
            "group": 0xFFFF,
            "command": 0xFF,
            "sequence": 0xFF,
            "length": 0xFFFF,
            "flags": 0xFF,
            "version": 0b11,
        }
        for name, top in limits.items():
            value = getattr(self, name)
            if not 0 <= value <= top:
                raise ValueError(f"SMP header {name} {value} outside 0..{top}")

    def encode(self) -> bytes:
        first = ((self.version & 0b11) << 3) | (int(self.op) & 0b111)
        return _LAYOUT.pack(first, self.flags, self.length, self.group, self.sequence, self.command)

    @classmethod
    def decode(cls, data: bytes) -> Header:
        """Read the first 8 bytes of `data`; raises DecodeError when they cannot be a header."""
        if len(data) < HEADER_SIZE:
            raise DecodeError(f"SMP header needs {HEADER_SIZE} bytes, got {len(data)}")
        first, flags, length, group, sequence, command = _LAYOUT.unpack_from(data)
        op_bits = first & 0b111
        if op_bits > Op.WRITE_RSP:
            raise DecodeError(f"unknown SMP op {op_bits}")
        return cls(
            op=Op(op_bits),
            version=(first >> 3) & 0b11,
            flags=flags,
            length=length,
            group=group,
            sequence=sequence,
            command=command,
        )
