"""What handlers share: the two error kinds a handler raises and the handler registry.

A handler is `fn(device, request) -> Response`; it raises `SmpFailure` for an SMP-level `rc`
and `GroupFailure` for a group error. device.py turns either into the reply form the request
version and firmware profile call for (spec digest §4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from app.smp.message import Request, Response

if TYPE_CHECKING:
    from app.sim.device import SimDevice


class SmpFailure(Exception):
    """An SMP-level error (`{"rc": rc}`, `rsn` when the profile is verbose)."""

    def __init__(self, rc: int, rsn: str | None = None) -> None:
        super().__init__(f"rc {rc}" + (f" ({rsn})" if rsn else ""))
        self.rc = int(rc)
        self.rsn = rsn


class GroupFailure(Exception):
    """A group error; `extra` fields go beside it (FS offset mismatch adds `len`)."""

    def __init__(
        self, group: int, rc: int, rsn: str | None = None, extra: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"group {group} error {rc}" + (f" ({rsn})" if rsn else ""))
        self.group = int(group)
        self.rc = int(rc)
        self.rsn = rsn
        self.extra = dict(extra or {})


class SilentReboot(Exception):
    """An injected fault: the device reboots instead of answering."""


class StaleHeader(Exception):
    """A firmware bug reproduced: the answer is a bare copy of the previous reply's header."""


R = TypeVar("R", bound=Request)
Handler = Callable[["SimDevice", Any], Response]
HANDLERS: dict[type[Request], Handler] = {}
NO_DECODE: set[type[Request]] = set()
"""Requests whose Zephyr handler never decodes the body: an unreadable body is ignored."""


def handles(
    request_type: type[R], *, decodes: bool = True
) -> Callable[[Callable[[SimDevice, R], Response]], Callable[[SimDevice, R], Response]]:
    """Register the decorated function as the handler of `request_type`."""

    def register(fn: Callable[[SimDevice, R], Response]) -> Callable[[SimDevice, R], Response]:
        HANDLERS[request_type] = fn
        if not decodes:
            NO_DECODE.add(request_type)
        return fn

    return register


Preparer = Callable[["SimDevice", dict[str, Any]], dict[str, Any]]
PREPARERS: dict[type[Request], Preparer] = {}
"""Per-request rewrites of the decoded body before typing (Zephyr's own defaults)."""


def prepares(request_type: type[Request]) -> Callable[[Preparer], Preparer]:
    def register(fn: Preparer) -> Preparer:
        PREPARERS[request_type] = fn
        return fn

    return register
