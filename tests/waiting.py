"""Waiting for an event in async tests: a condition checked every loop turn, never a nap.

A test that sleeps N ms and then asserts "done" or "nothing happened" depends on the machine's
speed; `until` waits for the thing itself, with a generous guard against a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

GUARD_S = 20.0
"""Far above any honest wait here; only a hang reaches it (then the test fails, not blocks)."""


async def until(condition: Callable[[], bool], timeout_s: float = GUARD_S) -> None:
    """Return once `condition()` holds; TimeoutError after `timeout_s`."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout_s)
