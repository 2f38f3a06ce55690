"""The image upload engine: chunks sized to the limit, a pipelining window, resume, cancel.

What it does (spec transports.md §5, smp-protocol.md §6.1.3):
* each request is as large as the device buffer and the link allow, measured by encoding the
  request (`app.smp.message.encode_request`), with data lengths rounded to a flash alignment;
* several requests are kept in flight (the window: buf_count - 1, or 1 when params are not
  answered); ENOMEM, a timeout or an offset rewind shrink it, a run of clean answers grows it;
* only the device's `off` is trusted: whatever it says, the upload continues from there;
* a dropped link is reconnected (if a `reconnect` factory is given) and the first chunk is
  sent again with the file's SHA-256, so the device resumes from its offset;
* the image is read chunk by chunk from an `ImageSource`, never held whole.

It does not judge the image or mark it: that is app/workflows/update.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from app.client.client import SmpClient
from app.client.sent import SentBytes
from app.client.sizing import (
    DeviceBuffers,
    RequestLimit,
    chunk_data_bytes,
    read_buffers,
    request_limit,
    upload_request,
)
from app.client.window import WindowController, WindowPolicy
from app.errors import DecodeError, SlotwiseError, TransportClosed, TransportError, TransportTimeout
from app.image.source import ImageSource
from app.smp.errors import DeviceError, MgmtErr
from app.smp.groups import img
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)

IMAGE_HEADER_BYTES = 32
"""The first chunk must hold the whole MCUboot header (§6.1.3 check 2)."""

Reconnect = Callable[[], Awaitable[SmpClient]]
"""Makes a new, connected client to the same device (per transport: re-open, re-scan)."""


class UploadError(SlotwiseError):
    """The upload could not finish; the sentence says why and where it stopped."""


class SentBytesMismatch(UploadError):
    """The bytes sent are not the file that was verified (it changed on disk): the upload is
    not reported as done, so nothing gets marked."""


class UploadCancelled(UploadError):
    """The caller cancelled; `offset` is where the device stands (a later upload resumes)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class UploadOptions:
    """How to upload. Defaults suit every transport; tests and the CLI override a few."""

    image: int = 0
    """Target image number (the `image` field of the first chunk)."""
    upgrade: bool = False
    """Ask the device to refuse anything not newer than what runs (`upgrade` field)."""
    window: int | None = None
    """Requests in flight at the start; None: buf_count - 1 (1 when params are unknown)."""
    max_window: int | None = None
    """Ceiling for growth; None: the start window (or `window` when larger)."""
    alignment: int = 4
    """Chunk data lengths are rounded down to this (flash write block); the last is not."""
    max_request_bytes: int | None = None
    """Cap below what device and link allow (None: no extra cap)."""
    first_timeout_s: float = 0.5
    """First wait for the first chunk; doubled per resend up to `max_timeout_s`, because the
    device erases the slot before it answers (§5.4). Resending it is safe: the same `sha`
    makes the device answer with its offset instead of starting again."""
    min_timeout_s: float = 0.1
    """Floor of the adaptive per-request timeout on lossy links; reliable links use 5x."""
    max_timeout_s: float = 16.0
    grow_after: int = 3
    """Clean answers in a row before the window grows by one."""
    stall_timeout_s: float = 60.0
    """Give up when the device's offset has not moved for this long."""
    reconnect_timeout_s: float = 30.0
    """How long to keep trying to reconnect after the link dropped."""
    max_session_restarts: int = 4
    """Device errors in mid-upload (which reset its upload state) tolerated before failing."""
    progress_interval_s: float = 0.05
    """Minimum time between progress ticks (state changes are always reported)."""


@dataclass(frozen=True, slots=True)
class UploadTick:
    """Raw progress from the engine; app.workflows.progress adds rate and ETA."""

    acked: int
    total: int
    retries: int
    resumes: int
    window: int
    message: str = ""


ProgressHook = Callable[[UploadTick], None]


@dataclass(slots=True)
class UploadStats:
    """What one upload measured; link tuning advice is derived from it.

    The engine counts into one of these as it runs and hands back a finished copy."""

    total_bytes: int
    elapsed_s: float
    buffers: DeviceBuffers
    limit: RequestLimit
    link: LinkInfo
    chunk_bytes: int
    """Data bytes in the largest chunk sent after the first (the first carries len and sha)."""
    start_window: int
    max_window: int
    final_window: int
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    enomem: int = 0
    rewinds: int = 0
    resumes: int = 0
    reconnects: int = 0
    resumed_from: int = 0
    """Offset the device already had when this upload started (0: a fresh upload)."""
    sent_bytes: int = 0
    """Data bytes sent, resends included."""
    session_restarts: int = 0
    """Device errors in mid-upload that made the engine start a new session."""
    srtt_s: float | None = None
    """Smoothed round trip of one request at the windows used."""
    match: bool | None = None
    """The device's `match` on the last chunk (only with CONFIG_IMG_ENABLE_IMAGE_CHECK):
    False means the slot's bytes differ from what was sent."""

    @property
    def rate_bps(self) -> float:
        moved = self.total_bytes - self.resumed_from
        return moved / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class UploadResult:
    stats: UploadStats
    client: SmpClient
    """The client the upload finished on (a new one after a reconnect)."""


def file_sha256(source: ImageSource) -> bytes:
    """SHA-256 of the whole file, streamed (the upload `sha`, not the image hash TLV)."""
    digest = hashlib.sha256()
    for chunk in source.chunks(0, source.size):
        digest.update(chunk)
    return digest.digest()


# --- the engine --------------------------------------------------------------------------------


async def upload_image(
    client: SmpClient,
    source: ImageSource,
    *,
    options: UploadOptions | None = None,
    sha: bytes | None = None,
    buffers: DeviceBuffers | None = None,
    on_progress: ProgressHook | None = None,
    cancel: asyncio.Event | None = None,
    reconnect: Reconnect | None = None,
) -> UploadResult:
    """Upload `source` to the device and return when the device reports `off == len`.

    Args:
        client: a connected client.
        source: the image bytes, read chunk by chunk.
        options: sizing, window and timeouts.
        sha: SHA-256 of the file as verified (computed here when None); the device resumes a
            session with it, and the bytes actually sent must hash to it, else the upload
            ends in `SentBytesMismatch` instead of success.
        buffers: the device's buffers if already read (else read here).
        on_progress: called with raw ticks (acknowledged bytes, retries, resumes, window).
        cancel: set it to stop cleanly; the next upload of the same image resumes.
        reconnect: makes a new connected client when the link drops; without it a drop fails.

    Raises:
        UploadCancelled: `cancel` was set.
        SentBytesMismatch: the bytes sent do not hash to `sha`.
        UploadError: the device refused the image, stopped answering, answered an offset
            outside the image, or the link is gone.
    """
    opts = options or UploadOptions()
    if buffers is None:
        buffers = await read_buffers(client)
    if sha is None:
        sha = await asyncio.to_thread(file_sha256, source)
    uploader = _Uploader(
        client,
        source,
        opts,
        sha=sha,
        buffers=buffers,
        on_progress=on_progress,
        cancel=cancel,
        reconnect=reconnect,
    )
    return await uploader.run()


@dataclass(slots=True)
class _Flight:
    """One request in flight: its data range and the task awaiting its answer."""

    off: int
    end: int
    task: asyncio.Task[img.ImageUploadResponse]
    sent_at: float


class _Uploader:
    """One upload run: the window over the device's offset, timeouts, reconnects."""

    def __init__(
        self,
        client: SmpClient,
        source: ImageSource,
        options: UploadOptions,
        *,
        sha: bytes,
        buffers: DeviceBuffers,
        on_progress: ProgressHook | None,
        cancel: asyncio.Event | None,
        reconnect: Reconnect | None,
    ) -> None:
        self.client = client
        self.source = source
        self.sent = SentBytes(source)
        self.opts = options
        self.sha = sha
        self.buffers = buffers
        self.total = source.size
        self.on_progress = on_progress
        self.cancel = cancel
        self.reconnect = reconnect
        self.limit = request_limit(client.link, buffers, options.max_request_bytes)
        start = max(options.window or buffers.in_flight, 1)
        self.control = WindowController(
            WindowPolicy(
                start_window=start,
                max_window=max(options.max_window or start, start),
                grow_after=options.grow_after,
                first_timeout_s=options.first_timeout_s,
                min_timeout_s=options.min_timeout_s,
                max_timeout_s=options.max_timeout_s,
                reliable=client.link.reliable,
            )
        )
        self.count = UploadStats(
            total_bytes=self.total,
            elapsed_s=0.0,
            buffers=buffers,
            limit=self.limit,
            link=client.link,
            chunk_bytes=0,
            start_window=start,
            max_window=start,
            final_window=start,
        )
        """Counted as the upload runs; `_stats()` completes a copy."""
        self.acked = 0
        """The device's offset as last reported."""
        self.next_off = 0
        self.flights: list[_Flight] = []
        self.dropped: set[asyncio.Task[Any]] = set()
        self.cancel_wait: asyncio.Task[Any] | None = None
        self.resumed_from: int | None = None
        self.match: bool | None = None
        self.last_progress = time.monotonic()
        self.last_answer = 0.0
        self.last_tick = 0.0
        self.sent_last_chunk = False

    # --- the run ------------------------------------------------------------------------------

    async def run(self) -> UploadResult:
        if self.total < IMAGE_HEADER_BYTES:
            raise UploadError(f"the image is {self.total} bytes; an MCUboot image is larger")
        first = chunk_data_bytes(
            self.limit.max_request_bytes,
            off=0,
            total=self.total,
            sha=self.sha,
            image=self.opts.image,
            upgrade=self.opts.upgrade,
            alignment=self.opts.alignment,
        )
        if first < IMAGE_HEADER_BYTES:
            raise UploadError(
                f"requests of at most {self.limit.max_request_bytes} bytes ("
                f"{self.limit.limited_by}) cannot carry the 32-byte image header"
            )
        started = self.last_progress = time.monotonic()
        self._tick(force=True)
        try:
            while True:
                try:
                    await self._pump()
                    break
                except TransportClosed as exc:
                    self._drop_flights()
                    await self._reconnect(exc)
        finally:
            self._drop_flights()
            if self.cancel_wait is not None:
                self.cancel_wait.cancel()
                self.dropped.add(self.cancel_wait)
            await self._settle_dropped()
        elapsed = time.monotonic() - started
        self._tick(force=True)
        return UploadResult(self._stats(elapsed), self.client)

    async def _pump(self) -> None:
        """Send within the window and act on answers until the device reports `off == len`."""
        while True:
            self._check_cancel()
            self._fill()
            waits: set[asyncio.Future[Any]] = {f.task for f in self.flights}
            if self.cancel is not None:
                if self.cancel_wait is None:
                    self.cancel_wait = asyncio.create_task(self.cancel.wait())
                waits.add(self.cancel_wait)
            wake = min(self._deadline(), self.last_progress + self.opts.stall_timeout_s)
            await asyncio.wait(
                waits,
                timeout=max(wake - time.monotonic(), 0.001),
                return_when=asyncio.FIRST_COMPLETED,
            )
            self._check_cancel()
            for flight in list(self.flights):
                # an earlier answer in this pass may have discarded this flight already
                if flight in self.flights and flight.task.done() and self._settle(flight):
                    return
            if self.flights and time.monotonic() >= self._deadline():
                self._timed_out(self.flights[0])
            if time.monotonic() - self.last_progress > self.opts.stall_timeout_s:
                raise UploadError(
                    f"the device stopped taking data at {self._percent(self.acked)} "
                    f"({self.acked} of {self.total} bytes) for {self.opts.stall_timeout_s:g} s"
                )

    def _deadline(self) -> float:
        """When the oldest request counts as lost: one timeout after it was sent or after the
        last answer, whichever is later (like TCP's retransmission timer, restarted by each
        answer), so requests queued behind a slow device are not resent early."""
        if not self.flights:
            return math.inf
        oldest = self.flights[0]
        timeout_s = self.control.timeout_s(first_chunk=oldest.off == 0)
        return max(self.last_answer, oldest.sent_at) + timeout_s

    def _timed_out(self, flight: _Flight) -> None:
        self.count.timeouts += 1
        self.control.on_timeout()
        self._retry_at(flight.off, "timeout")

    def _fill(self) -> None:
        """Launch requests up to the window; the first chunk (offset 0) always goes alone,
        because the device erases the slot (or finds the session to resume) before it answers."""
        while len(self.flights) < self.control.window and self.next_off < self.total:
            if self.flights and (self.next_off == 0 or self.flights[-1].off == 0):
                return
            self._launch(self.next_off)

    def _launch(self, off: int) -> None:
        size = chunk_data_bytes(
            self.limit.max_request_bytes,
            off=off,
            total=self.total,
            sha=self.sha,
            image=self.opts.image,
            upgrade=self.opts.upgrade,
            alignment=self.opts.alignment,
        )
        data = self.sent.read(off, size)  # offsets are checked against the image in _answer
        request = upload_request(
            off,
            data,
            total=self.total,
            sha=self.sha,
            image=self.opts.image,
            upgrade=self.opts.upgrade,
        )
        end = off + len(data)
        # The engine's own timer (`_deadline`) decides when a request is lost; the client's
        # timeout only backs it up.
        task = asyncio.create_task(
            self.client.request(request, timeout_s=self.opts.max_timeout_s * 2, retries=0),
            name=f"upload@{off}",
        )
        task.add_done_callback(_retrieve)
        self.flights.append(_Flight(off, end, task, time.monotonic()))
        self.count.requests += 1
        self.count.sent_bytes += len(data)
        if off:
            self.count.chunk_bytes = max(self.count.chunk_bytes, len(data))
        self.next_off = end
        if end >= self.total:
            self.sent_last_chunk = True

    # --- answers ------------------------------------------------------------------------------

    def _settle(self, flight: _Flight) -> bool:
        """Act on one finished request; True when the upload is complete."""
        self.last_answer = time.monotonic()
        try:
            response = flight.task.result()
        except TransportTimeout:
            if flight.end <= self.acked:  # a later answer already covered it
                self.flights.remove(flight)
            else:
                self._timed_out(flight)
            return False
        except DeviceError as exc:
            return self._device_error(flight, exc)
        except DecodeError as exc:
            log.info("undecodable answer to the chunk at %d: %s", flight.off, exc)
            self.control.on_loss()
            self._retry_at(flight.off, "bad answer")
            return False
        self.flights.remove(flight)
        in_order = flight.end == response.off < self.total
        self.control.on_answer(time.monotonic() - flight.sent_at, in_order=in_order)
        return self._answer(flight, response)

    def _answer(self, flight: _Flight, response: img.ImageUploadResponse) -> bool:
        off = response.off
        if not 0 <= off <= self.total:
            raise UploadError(
                f"the device answered offset {off}, outside the {self.total}-byte image; "
                f"the upload stopped at {self._percent(self.acked)} and nothing was marked"
            )
        if off == self.total:  # the first answer showing off == len ends it (§3 UDP rules)
            self._advance(self.total)
            self.match = response.match  # False is the workflow's to act on: it never marks
            self._check_sent()
            return True
        if flight.off == 0 and self.resumed_from is None:
            self.resumed_from = off if off != flight.end else 0
            if self.resumed_from:  # the device kept an earlier session with this sha
                self.count.resumes += 1
                self._advance(off)
                self.control.on_resync()
                self._continue_at(off, "resume", message=f"resumed at {self._percent(off)}")
                return False
        if off == flight.end:
            self._advance(off)
            for earlier in [f for f in self.flights if f.end <= off]:  # answers lost, data not
                earlier.task.cancel()
                self.dropped.add(earlier.task)
                self.flights.remove(earlier)
            self._tick()
            return False
        # The device expects another offset: what is in flight was built on a wrong guess.
        if off == 0 and flight.off != 0:
            # Either the device reset, or the answer that completed the upload was lost and
            # a resend found the session closed. The slot list cannot tell the second case
            # apart from a corrupted slot (it shows the hash TLV, not a hash of the bytes),
            # so the image goes again: only a completing answer carries the device's verdict.
            why = (
                "the answer to the last chunk was lost; uploading again for the device's verdict"
                if self.sent_last_chunk
                else "the device lost the upload "
                "session (did it reset?); starting again from 0% with the same image"
            )
            self.count.resumes += 1
            self.resumed_from = None
            self._advance(0)
            self.control.on_loss()
            self._retry_at(0, "session lost", message=why)
            return False
        self._advance(off)
        if off < flight.end:
            self.count.rewinds += 1
            self.control.on_rewind()
            self._retry_at(off, "rewind")
        else:
            self.control.on_resync()
            self._retry_at(off, "skip")
        return False

    def _advance(self, off: int) -> None:
        """Record the device's offset; any movement forward counts as progress."""
        if off > self.acked:
            self.last_progress = time.monotonic()
        self.acked = off
        self.sent.acknowledged(off)

    def _check_sent(self) -> None:
        """The device's slot holds the bytes as last sent: they must be the verified file."""
        sent = self.sent.digest(self.total)
        if sent != self.sha:
            raise SentBytesMismatch(
                f"the bytes sent (SHA-256 {sent.hex()[:16]}...) are not the file that was "
                f"verified ({self.sha.hex()[:16]}...): it changed on disk; the upload is not "
                "counted and nothing was marked"
            )

    def _device_error(self, flight: _Flight, exc: DeviceError) -> bool:
        if not exc.group_error and exc.rc == MgmtErr.ENOMEM:
            # Too many requests for the device's buffers (§5.3): never fatal.
            self.count.enomem += 1
            self.control.on_enomem()
            self._retry_at(flight.off, "enomem")
            return False
        mtu = self.client.link.mtu
        if (
            not exc.group_error
            and exc.rc == MgmtErr.ECORRUPT
            and self.client.link.kind == "ble"
            and mtu
            and self.limit.max_request_bytes > mtu - 3
        ):
            # A device without BLE reassembly takes each ATT write as a whole packet (§2.2).
            log.info(
                "device answered ECORRUPT to a %d-byte request: no BLE reassembly; "
                "falling back to %d-byte requests",
                self.limit.max_request_bytes,
                mtu - 3,
            )
            self.limit = RequestLimit(mtu - 3, "BLE ATT payload (device without reassembly)")
            self.control.on_resync()
            self._retry_at(flight.off, "no reassembly")
            return False
        if flight.off == 0:
            raise UploadError(f"the device refused the image: {exc}") from exc
        # Any other error resets the device's upload state (§6.1.3): start a new session.
        self.count.session_restarts += 1
        if self.count.session_restarts > self.opts.max_session_restarts:
            raise UploadError(
                f"the device kept failing the upload at {self._percent(flight.off)}: {exc}"
            ) from exc
        log.info("device error at offset %d (%s); restarting the session", flight.off, exc)
        self.control.on_loss()
        self._retry_at(0, "device error")
        return False

    def _retry_at(self, off: int, why: str, message: str = "") -> None:
        """Something went wrong: count a retry and continue from the device's offset."""
        self.count.retries += 1
        self._continue_at(off, why, message)

    def _continue_at(self, off: int, why: str, message: str = "") -> None:
        """Discard everything in flight and continue from `off` (the device's offset)."""
        self._drop_flights()
        self.next_off = off
        self.sent_last_chunk = False
        log.debug("upload %s: continuing at %d with window %d", why, off, self.control.window)
        self._tick(message, force=True)

    # --- link drops, cancel, progress -------------------------------------------------------

    async def _reconnect(self, cause: TransportClosed) -> None:
        where = self._percent(self.acked)
        if self.reconnect is None:
            raise UploadError(f"the link dropped at {where}: {cause}") from cause
        deadline = time.monotonic() + self.opts.reconnect_timeout_s
        delay = 0.1
        self._tick(f"link dropped at {where}; reconnecting", force=True)
        while True:
            self._check_cancel()
            with contextlib.suppress(TransportError, OSError):
                await self.client.close()
            try:
                self.client = await self.reconnect()
                break
            except TransportError as exc:
                if time.monotonic() + delay > deadline:
                    raise UploadError(
                        f"the link dropped at {where} and the device could not "
                        f"be reached again: {exc}"
                    ) from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.count.reconnects += 1
        self.count.resumes += 1
        self.next_off = 0
        self.resumed_from = None
        self.last_progress = time.monotonic()

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self._drop_flights()
            raise UploadCancelled(
                f"upload cancelled at {self._percent(self.acked)}; uploading the same image "
                "again resumes there",
                self.acked,
            )

    def _drop_flights(self) -> None:
        """Forget what is in flight; late answers to these are dropped by the client."""
        self.dropped = {t for t in self.dropped if not t.done()}
        for flight in self.flights:
            flight.task.cancel()
            self.dropped.add(flight.task)
        self.flights.clear()

    async def _settle_dropped(self) -> None:
        """Let cancelled requests unwind before anyone closes the client under them."""
        await asyncio.gather(*self.dropped, return_exceptions=True)
        self.dropped.clear()

    def _percent(self, off: int) -> str:
        return f"{100 * off // self.total}%" if self.total else "100%"

    def _tick(self, message: str = "", *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if not force and now - self.last_tick < self.opts.progress_interval_s:
            return
        self.last_tick = now
        self.on_progress(
            UploadTick(
                self.acked,
                self.total,
                self.count.retries,
                self.count.resumes,
                self.control.window,
                message,
            )
        )

    def _stats(self, elapsed: float) -> UploadStats:
        """The finished statistics: the counts plus what the run ended with."""
        return replace(
            self.count,
            elapsed_s=elapsed,
            limit=self.limit,
            link=self.client.link,
            chunk_bytes=self.count.chunk_bytes or self.total,  # else it all fit the first chunk
            max_window=self.control.largest_window,
            final_window=self.control.window,
            resumed_from=self.resumed_from or 0,
            srtt_s=self.control.srtt_s,
            match=self.match,
        )


def _retrieve(task: asyncio.Task[img.ImageUploadResponse]) -> None:
    """Mark a discarded request's exception as seen, so asyncio does not log it at exit."""
    if not task.cancelled():
        task.exception()
