"""Group 9, shell (spec digest §6.6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from app.smp.header import Group, Op
from app.smp.message import Request, Response

SHELL_EXEC = 0


@dataclass(frozen=True)
class ShellExecResponse(Response):
    """`o` is the captured output, `ret` the command's own return code."""

    o: str = ""
    ret: int | None = None


@dataclass(frozen=True)
class ShellExec(Request[ShellExecResponse]):
    GROUP: ClassVar[int] = Group.SHELL
    COMMAND: ClassVar[int] = SHELL_EXEC
    OP: ClassVar[Op] = Op.WRITE
    argv: list[str]
