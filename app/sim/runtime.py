"""Runs a SimDevice in time: the link model, the MCUmgr buffer pool, the work queue, reboots.

Shared by every endpoint (UDP, serial pty, BLE fake): an endpoint hands each whole request
packet to `deliver()` together with a function that puts a reply packet on its wire.
Zephyr semantics (transports.md §5): one work queue answers requests in order; a request that
arrives while buf_count - 1 requests are already held is answered `rc 2` (ENOMEM) and
discarded. Profiles with `drops_when_buffers_full` follow what the captured Zephyr 3.4 builds
do instead: a request arriving while every buffer is held is dropped unanswered, and the work
queue answers ENOMEM (without running it) to a request it takes while no buffer is free for
the reply; with 2 buffers and 7 requests back to back that is one ENOMEM, one answer and five
silent drops, exactly as captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import DecodeError
from app.sim.device import SimDevice
from app.sim.link import LinkModel
from app.smp.errors import MgmtErr
from app.smp.header import Header
from app.smp.message import encode_packet

log = logging.getLogger(__name__)

ReplySink = Callable[[bytes], None]

RESET_DELAY_S = 0.25
"""CONFIG_MCUMGR_GRP_OS_RESET_MS: the reboot follows the reset reply this much later."""


@dataclass(slots=True)
class RuntimeStats:
    received: int = 0
    answered: int = 0
    lost_in: int = 0
    lost_out: int = 0
    enomem: int = 0
    oversized: int = 0
    dropped_while_booting: int = 0
    dropped_no_buffer: int = 0
    dropped_while_busy: int = 0
    """Requests MCUboot's serial recovery lost: it has one buffer and no ENOMEM answer."""
    reboots: int = 0


class _Wire:
    """One direction of the link: serialisation at `rate_bps`, then `latency_s`."""

    def __init__(self, link: LinkModel, rng: random.Random) -> None:
        self._link = link
        self._rng = rng
        self._free_at = 0.0
        self._last_arrival = 0.0

    def lost(self) -> bool:
        return self._link.loss > 0 and self._rng.random() < self._link.loss

    def arrival(self, size: int, now: float) -> float:
        start = max(now, self._free_at)
        done = start + (size / self._link.rate_bps if self._link.rate_bps else 0.0)
        # strictly later than the previous packet: asyncio's timer heap does not keep equal
        # deadlines in order, and a wire never reorders what it carries
        done = max(done, self._last_arrival - self._link.latency_s + 1e-6)
        self._free_at = done
        self._last_arrival = done + self._link.latency_s
        return self._last_arrival


class SimRuntime:
    """A device in time. Start it, deliver requests, stop it."""

    def __init__(
        self, device: SimDevice, link: LinkModel | None = None, *, boot_s: float = 0.05
    ) -> None:
        self.device = device
        self.link = link or LinkModel()
        self.boot_s = boot_s
        self.stats = RuntimeStats()
        rng = random.Random(self.link.seed)
        self._inbound = _Wire(self.link, rng)
        self._outbound = _Wire(self.link, rng)
        self._queue: asyncio.Queue[tuple[bytes, ReplySink]] = asyncio.Queue()
        self._held = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._booting = False
        self._worker: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._boot_task: asyncio.Task[None] | None = None
        self.reboot_listeners: list[Callable[[], None]] = []
        """Called when the device starts rebooting: endpoints drop their links (BLE)."""
        self.boot_listeners: list[Callable[[], None]] = []
        """Called when the device has booted again: endpoints advertise again (BLE)."""

    @property
    def booting(self) -> bool:
        return self._booting

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="sim-worker")

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in (self._worker, self._boot_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._worker = None
        self._boot_task = None

    def deliver(self, frame: bytes, reply: ReplySink) -> None:
        """A request leaves the host now; it reaches the device after the link model."""
        self.stats.received += 1
        if self._inbound.lost():
            self.stats.lost_in += 1
            return
        if not self.link.latency_s and not self.link.rate_bps:
            # An instant link: the request is at the device now, so requests sent back to
            # back all arrive before the work queue runs (as a device's rx thread, which
            # runs before its work queue, receives them).
            self._arrive(frame, reply)
            return
        loop = asyncio.get_running_loop()
        self._at(self._inbound.arrival(len(frame), loop.time()), self._arrive, frame, reply)

    async def wait_booted(self) -> None:
        """Return once a reboot that has begun (or is scheduled after a reset reply) is over."""
        if self._boot_task is not None:
            await asyncio.shield(self._boot_task)

    def power_cycle(self) -> None:
        """Reboot now (a test unplugging the board); pending requests are lost."""
        self._begin_reboot(0.0)

    # --- inside the device ------------------------------------------------------------------

    def _arrive(self, frame: bytes, reply: ReplySink) -> None:
        if self._booting:
            self.stats.dropped_while_booting += 1
            return
        config = self.device.config
        limit = self.device.request_limit_bytes()
        if len(frame) > limit:
            self.stats.oversized += 1
            log.info(
                "sim: dropped a %d-byte request larger than its %d-byte buffer", len(frame), limit
            )
            return
        if self.device.in_recovery and self._held:
            self.stats.dropped_while_busy += 1
            return
        if self.device.profile.drops_when_buffers_full:
            if self._held >= config.buf_count:
                self.stats.dropped_no_buffer += 1
                return
        elif self._held >= max(config.buf_count - 1, 1):
            self.stats.enomem += 1
            enomem = _error_reply(frame, MgmtErr.ENOMEM, zcbor=self.device.profile.zcbor_replies)
            if enomem is not None:
                self._send(enomem, reply)
            return
        self._hold(+1)
        self._queue.put_nowait((frame, reply))

    async def _work(self) -> None:
        while True:
            frame, reply_sink = await self._queue.get()
            if self._no_buffer_for_reply():
                self._hold(-1)
                self.stats.enomem += 1
                enomem = _error_reply(
                    frame, MgmtErr.ENOMEM, zcbor=self.device.profile.zcbor_replies
                )
                if enomem is not None:
                    self._send(enomem, reply_sink)
                continue
            try:
                result = self.device.process(frame)
                if result.work_s > 0:
                    await asyncio.sleep(result.work_s)
            finally:
                self._hold(-1)
            if self._booting:  # a reboot began while this request was in flight
                continue
            if result.frame is not None:
                self._send(result.frame, reply_sink)
            if result.reboot:
                self._begin_reboot(RESET_DELAY_S if result.frame is not None else 0.0)

    async def wait_idle(self) -> None:
        """Until no request holds a buffer (every request that arrived has been answered)."""
        await self._idle.wait()

    def _hold(self, change: int) -> None:
        self._held = max(self._held + change, 0)
        if self._held:
            self._idle.clear()
        else:
            self._idle.set()

    def _no_buffer_for_reply(self) -> bool:
        config = self.device.config
        return self.device.profile.drops_when_buffers_full and self._held >= config.buf_count

    def _send(self, frame: bytes, reply: ReplySink) -> None:
        if self._outbound.lost():
            self.stats.lost_out += 1
            return
        self.stats.answered += 1
        loop = asyncio.get_running_loop()
        self._at(self._outbound.arrival(len(frame), loop.time()), reply, frame)

    def _begin_reboot(self, delay_s: float) -> None:
        if self._boot_task is not None and not self._boot_task.done():
            return
        self._boot_task = asyncio.create_task(self._reboot(delay_s), name="sim-reboot")

    async def _reboot(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._booting = True
        self.stats.reboots += 1
        for listener in list(self.reboot_listeners):
            listener()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._hold(-self._held)
        self.device.reboot()
        await asyncio.sleep(self.boot_s)
        self._booting = False
        for listener in list(self.boot_listeners):
            listener()

    def _at(self, when: float, callback: Callable[..., object], *args: object) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = loop.call_at(when, fire)
        self._timers.add(handle)


def _error_reply(request: bytes, rc: int, *, zcbor: bool = False) -> bytes | None:
    """An SMP-level error answer to `request`, or None when its header is unreadable."""
    try:
        header = Header.decode(request)
    except DecodeError:
        return None
    if header.op.is_response:
        return None
    answer = Header(
        op=header.op.response(),
        group=header.group,
        command=header.command,
        sequence=header.sequence,
        version=min(header.version, 1),
    )
    return encode_packet(answer, {"rc": int(rc)}, zcbor=zcbor)
