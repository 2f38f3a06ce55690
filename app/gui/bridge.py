"""CoreBridge: the asyncio core on its own thread, reported back to Qt as signals.

PySide6's QtAsyncio loop cannot host the core (no datagram endpoints for UDP, no add_reader
for bleak's BlueZ backend, design.md "Threads"), so the core runs on a standard asyncio loop
in a thread of its own. Widgets never touch that loop: they hand coroutines to `submit()` and
get results, errors and throttled progress back on the GUI thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.gui.errors import describe_error

log = logging.getLogger(__name__)

T = TypeVar("T")
Cleanup = Callable[[], Awaitable[object]]
PROGRESS_INTERVAL_S = 0.1
"""About ten progress updates a second (design.md): enough to look live, cheap to paint."""


class _Relay(QObject):
    """Lives on the GUI thread; every call emitted to it is queued, from any thread.

    Always queued, never direct: a job can finish before `submit()` has even attached its
    done-callback (the callback then runs at once, on the GUI thread), and its report must
    still arrive after the code that called `submit()` has finished, not in the middle of it.
    """

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], object]) -> None:
        fn()


class Throttle(Generic[T]):
    """Called on the loop thread with every value; hands the newest to the GUI ~10 times/s.

    `flush()` delivers a held value at once, so a final progress report always arrives
    before the result of the job that produced it.
    """

    def __init__(
        self,
        bridge: CoreBridge,
        handler: Callable[[T], None],
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self._bridge = bridge
        self._handler = handler
        self._interval_s = interval_s
        self._last = -math.inf  # the first value goes at once, however long the clock has run
        self._pending: tuple[T] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.delivered = 0

    def __call__(self, value: T) -> None:
        self._pending = (value,)
        if self._timer is not None:
            return
        wait_s = self._last + self._interval_s - time.monotonic()
        if wait_s <= 0:
            self.flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait_s, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._pending is None:
            return
        (value,) = self._pending
        self._pending = None
        self._last = time.monotonic()
        self.delivered += 1
        self._bridge.post(lambda: self._handler(value))


class CoreBridge(QObject):
    """Runs core coroutines on the core loop thread and reports back as Qt signals."""

    failed = Signal(str)
    """An error nobody handled, as one sentence a technician can act on."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = _Relay()
        self._loop = asyncio.new_event_loop()
        self._stamps: dict[str, int] = {}
        self._cleanups: list[Cleanup] = []
        self._stopped = False
        self.dropped = 0
        """Stale results dropped so far (a view or a test can show it)."""

        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run_loop, args=(started,), name="slotwise-core", daemon=True
        )
        self._thread.start()
        started.wait(5.0)

    def _run_loop(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(started.set)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """For core objects that must be created on the loop; widgets never use it."""
        return self._loop

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.is_alive()

    # --- submitting work --------------------------------------------------------------------

    def submit(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        topic: str | None = None,
        stamp: int | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run `coro` on the loop; call back on the GUI thread.

        With a `topic`, each submit stamps the request and only the newest one for that topic
        reports back: a slow read for a device the user has left is dropped, not shown. Pass
        `stamp` to reuse a stamp taken earlier (every action on one connection shares it).
        """
        if self._stopped:
            coro.close()
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            future.cancel()
            return future
        if topic is not None and stamp is None:
            stamp = self.stamp(topic)
        stamp = stamp or 0
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)

        def done(fut: concurrent.futures.Future[T]) -> None:
            # runs on the loop thread; the relay queues the report to the GUI thread
            self.post(lambda: self._report(fut, topic, stamp, on_result, on_error))

        future.add_done_callback(done)
        return future

    def stamp(self, topic: str) -> int:
        """A new stamp for `topic`; results carrying older stamps are dropped."""
        self._stamps[topic] = self._stamps.get(topic, 0) + 1
        return self._stamps[topic]

    def is_current(self, topic: str, stamp: int) -> bool:
        return self._stamps.get(topic, 0) == stamp

    def _report(
        self,
        fut: concurrent.futures.Future[T],
        topic: str | None,
        stamp: int,
        on_result: Callable[[T], None] | None,
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        if self._stopped or fut.cancelled():
            return
        if topic is not None and not self.is_current(topic, stamp):
            log.debug("dropped a stale %s result (stamp %d)", topic, stamp)
            self.dropped += 1
            return
        exc = fut.exception()
        if exc is not None:
            if isinstance(exc, asyncio.CancelledError):
                return
            log.info("core job failed: %s", exc, exc_info=exc)
            if on_error is not None:
                on_error(exc)
            else:
                self.failed.emit(describe_error(exc))
        elif on_result is not None:
            on_result(fut.result())

    def post(self, fn: Callable[[], object]) -> None:
        """Run `fn` on the GUI thread (safe to call from any thread)."""
        if not self._stopped:
            self._relay.call.emit(fn)

    def throttle(
        self, handler: Callable[[T], None], interval_s: float = PROGRESS_INTERVAL_S
    ) -> Throttle[T]:
        return Throttle(self, handler, interval_s)

    def wait(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10.0) -> T:
        """Block until `coro` is done: for shutdown, scripts and test fixtures, never widgets."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout_s)

    # --- shutdown ---------------------------------------------------------------------------

    def add_cleanup(self, cleanup: Cleanup) -> None:
        """An async close (a client, a simulator) that `stop()` awaits on the loop."""
        self._cleanups.append(cleanup)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel running jobs, run the cleanups, stop the loop and join its thread."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout_s)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self._loop.close()
        else:
            log.warning("core loop thread did not stop within %.1f s", timeout_s)

    async def _shutdown(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        started = time.monotonic()
        _done, stuck = await asyncio.wait(tasks, timeout=2.0) if tasks else (set(), set())
        for task in stuck:
            log.warning("task %s did not stop when cancelled", task.get_name())
        log.debug("cancelled %d tasks in %.2f s", len(tasks), time.monotonic() - started)
        for cleanup in list(self._cleanups):  # in order: sessions close before simulators
            started = time.monotonic()
            try:
                await asyncio.wait_for(cleanup(), 2.0)
            except Exception as exc:  # one broken close must not keep the others open
                log.warning("cleanup %s failed: %s", cleanup, exc)
            log.debug("cleanup %s took %.2f s", cleanup, time.monotonic() - started)
        self._cleanups.clear()
        await self._loop.shutdown_asyncgens()
        await self._loop.shutdown_default_executor()
