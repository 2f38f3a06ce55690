"""The core bridge: results on the GUI thread, stale results dropped, throttled progress,
clean shutdown."""

from __future__ import annotations

import asyncio
import threading

from pytestqt.qtbot import QtBot

from app.errors import TransportTimeout
from app.gui.bridge import CoreBridge


def test_result_arrives_on_gui_thread(qtbot: QtBot, bridge: CoreBridge) -> None:
    """A coroutine runs on the core thread and its result is delivered on the GUI thread."""
    seen: list[tuple[str, str]] = []

    async def where() -> str:
        return threading.current_thread().name

    bridge.submit(
        where(), on_result=lambda name: seen.append((name, threading.current_thread().name))
    )
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen[0][0] == "slotwise-core"
    assert seen[0][1] == threading.main_thread().name


def test_error_becomes_failed_signal_sentence(qtbot: QtBot, bridge: CoreBridge) -> None:
    """An unhandled core error reaches the GUI as one plain sentence, not a traceback."""

    async def boom() -> None:
        raise TransportTimeout("no answer from 127.0.0.1:9 within 1 s")

    with qtbot.waitSignal(bridge.failed, timeout=5000) as blocker:
        bridge.submit(boom())
    assert blocker.args[0].startswith("The device did not answer in time.")
    assert "Traceback" not in blocker.args[0]


def test_stale_result_is_dropped(qtbot: QtBot, bridge: CoreBridge) -> None:
    """Of two requests on one topic, the older one's result is dropped even if it ends last."""
    shown: list[str] = []

    newer_done = asyncio.Event()

    async def older() -> str:
        await newer_done.wait()  # ends after the newer request, whatever the machine's speed
        return "old device"

    async def newer() -> str:
        newer_done.set()
        return "new device"

    bridge.submit(older(), on_result=shown.append, topic="device")
    bridge.submit(newer(), on_result=shown.append, topic="device")
    qtbot.waitUntil(lambda: bridge.dropped == 1, timeout=5000)
    assert shown == ["new device"]


def test_throttle_limits_rate_and_keeps_last(qtbot: QtBot, bridge: CoreBridge) -> None:
    """A thousand progress calls within one interval reach the GUI twice: the first at once,
    then the newest when flushed; the ones between are dropped."""
    got: list[int] = []

    async def burst() -> None:
        throttle = bridge.throttle(got.append, interval_s=3600)  # the whole burst is in one
        for i in range(1000):
            throttle(i)
        throttle.flush()

    bridge.submit(burst())
    qtbot.waitUntil(lambda: got[-1:] == [999], timeout=5000)
    assert got == [0, 999]


def test_stop_joins_thread_and_runs_cleanups(qapp: object) -> None:
    """stop() runs registered async cleanups, cancels running jobs and joins the loop thread."""
    core = CoreBridge()
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    async def forever() -> None:
        await asyncio.sleep(3600)

    core.add_cleanup(close)
    job = core.submit(forever())
    core.stop()
    assert closed == [True]
    assert job.cancelled()
    assert not core.running
    assert "slotwise-core" not in [t.name for t in threading.enumerate()]


def test_reports_are_queued_even_from_the_gui_thread(qtbot: QtBot, bridge: CoreBridge) -> None:
    """A report posted on the GUI thread runs later, never inside the caller (a job that
    ends before submit() returns must not re-enter the code that submitted it)."""
    ran: list[str] = []
    bridge.post(lambda: ran.append("report"))
    ran.append("caller continues")
    qtbot.waitUntil(lambda: len(ran) == 2, timeout=5000)
    assert ran == ["caller continues", "report"]
