"""The batch engine: the update flow on many boards at once, each with its own result.

No Qt. A concurrency limit bounds how many boards are worked on at a time; each board gets its
own connection, stages, retries and result row, so one failing board never disturbs another.
The job's image is checked against the pinned file hash before every board.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from app.client import SmpClient
from app.errors import SlotwiseError, TransportError
from app.smp.errors import DeviceError
from app.smp.groups.img import running_slot
from app.transport import open_transport
from app.workflows.job import Job, JobError
from app.workflows.progress import ProgressEvent, Stage
from app.workflows.results import ResultRow, ResultsLog
from app.workflows.update import UpdateOptions, run_update

log = logging.getLogger(__name__)

Connect = Callable[[str], Awaitable[SmpClient]]
"""Opens a connected client for a device spec."""
BarcodeSource = Callable[[str], Awaitable[str]]
"""Asks the operator to scan the board's barcode; gets the device spec, returns the text."""


@dataclass(frozen=True, slots=True)
class BoardEvent:
    """What one board is doing, for the GUI's device cards and the CLI."""

    device: str
    stage: str
    """"queued", "connect", "identify", a workflow Stage value, "passed" or "failed"."""
    fraction: float = 0.0
    message: str = ""
    row: ResultRow | None = None
    """Set on the final event of an attempt."""


BoardCallback = Callable[[BoardEvent], None]
Reporter = Callable[[SmpClient | None, ResultRow], Awaitable[None]]
"""Told each attempt's row before the link closes (the client is None when none was open):
app/fleet registers the board with the job's server and reports the result there."""


def default_connect(timeout_s: float = 5.0) -> Connect:
    async def connect(spec: str) -> SmpClient:
        client = SmpClient(open_transport(spec), timeout_s=timeout_s)
        await client.open()
        return client

    return connect


class BatchRunner:
    """Flashes boards for one job and logs one row per attempt."""

    def __init__(
        self,
        job: Job,
        log_to: ResultsLog | None = None,
        *,
        connect: Connect | None = None,
        on_board: BoardCallback | None = None,
        barcode: BarcodeSource | None = None,
        options: UpdateOptions | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.job = job
        self.reporter = reporter
        self.log = log_to
        self.connect = connect or default_connect()
        self.on_board = on_board
        self.barcode = barcode
        chosen = options or UpdateOptions(mode=job.mode)
        # the job's own yes to a --clear image, given when it was loaded
        allowed = chosen.allow_clear_payload or job.choices.allow_clear_payload
        self.options = replace(chosen, allow_clear_payload=allowed)
        self.stopped: str | None = None
        """Why the job stopped (its image changed), or None."""
        self._slots = asyncio.Semaphore(job.concurrency)

    async def run(self, devices: list[str]) -> list[ResultRow]:
        """Every device, in parallel up to the job's concurrency; the final row of each."""
        results = await asyncio.gather(*(self.flash(d) for d in devices))
        return [r for r in results if r is not None]

    async def flash(self, device: str) -> ResultRow | None:
        """One board with retries; None when the job stopped before the board was started."""
        self._emit(device, "queued")
        async with self._slots:
            row: ResultRow | None = None
            for attempt in range(1, self.job.retries + 2):
                if self.stopped is not None:
                    return row
                try:
                    self.job.check_unchanged()
                except JobError as exc:
                    self.stopped = str(exc)  # each face says it once
                    log.warning("%s", exc)
                    return row
                row = await _Attempt(self, device, attempt).run()
                if self.log is not None:
                    self.log.append(row)
                self._emit(
                    device,
                    "passed" if row.passed else "failed",
                    1.0,
                    row.failure_reason or "passed",
                    row,
                )
                if row.passed:
                    break
            return row

    def _emit(
        self,
        device: str,
        stage: str,
        fraction: float = 0.0,
        message: str = "",
        row: ResultRow | None = None,
    ) -> None:
        if self.on_board is not None:
            self.on_board(BoardEvent(device, stage, fraction, message, row))


class _Attempt:
    """One try at one board: connect, identify, update, record."""

    def __init__(self, runner: BatchRunner, device: str, attempt: int) -> None:
        self.runner = runner
        self.job = runner.job
        self.device = device
        self.attempt = attempt
        self.durations: dict[str, float] = {}
        self._stage = "connect"
        self._stage_started = time.monotonic()
        self._retries = 0
        self._resumes = 0
        self._clients: list[SmpClient] = []
        """Every client this attempt opened (reconnects included): all closed at the end."""
        kind, _, address = device.partition(":")
        self.row = ResultRow(
            timestamp="",
            station=self.job.station,
            operator=self.job.operator,
            job=self.job.name,
            device=device,
            transport=kind,
            address=address,
            mode=str(self.job.mode),
            attempt=attempt,
        )

    async def run(self) -> ResultRow:
        started = time.monotonic()
        try:
            self._enter("connect")
            client = await self._connect()
            await client.echo("slotwise")
            self._enter("identify")
            await self._identify(client)
            await self._scan("before")
            client = await self._update(client)
            await self._scan("after")
        except (SlotwiseError, ValueError) as exc:
            self.row = replace(self.row, result="fail", failure_reason=f"{self._stage}: {exc}")
        finally:
            await self._report()
            self._enter("done")
            for opened in self._clients:  # a failed run must not keep a port or link busy
                with contextlib.suppress(TransportError):
                    await opened.close()
        self.durations["total"] = time.monotonic() - started
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return replace(
            self.row,
            timestamp=stamp,
            durations_s=dict(self.durations),
            retries=self._retries,
            resumes=self._resumes,
        )

    async def _report(self) -> None:
        reporter = self.runner.reporter
        if reporter is None:
            return
        client = next((c for c in reversed(self._clients) if c.is_connected), None)
        try:
            await reporter(client, self.row)
        except SlotwiseError as exc:  # the board's result stands; the server hears it later
            log.warning("%s: reporting to the server failed: %s", self.device, exc)

    def _enter(self, stage: str) -> None:
        now = time.monotonic()
        if self._stage not in ("done",):
            self.durations[self._stage] = (
                self.durations.get(self._stage, 0.0) + now - self._stage_started
            )
        self._stage, self._stage_started = stage, now
        if stage != "done":
            self.runner._emit(self.device, stage)

    async def _connect(self) -> SmpClient:
        client = await self.runner.connect(self.device)
        self._clients.append(client)
        return client

    async def _identify(self, client: SmpClient) -> None:
        identity: dict[str, str] = {}
        for item in self.job.identity:
            try:
                if item == "os_info":
                    identity[item] = await client.os_info("a")
                elif item.startswith("setting:"):
                    raw = await client.setting_read(item.removeprefix("setting:"))
                    identity[item] = raw.decode("utf-8", "replace").rstrip("\x00")
                elif item in ("address", "ble_address", "usb_serial"):
                    identity[item] = _link_identity(client, item)
            except DeviceError as exc:
                identity[item] = f"(unavailable: {exc.code_name})"
        slots = await client.image_state()
        running = running_slot(slots, self.job.images[0].image)
        self.row = replace(
            self.row,
            identity=identity,
            transport=client.link.kind,
            address=client.link.address,
            previous_version=running.version if running else "",
            previous_hash=running.hash.hex() if running and running.hash else "",
        )

    async def _scan(self, when: str) -> None:
        if self.job.barcode_require != when or self.runner.barcode is None:
            return
        text = (await self.runner.barcode(self.device)).strip()
        if not text:
            raise SlotwiseError("no barcode was scanned")
        self.row = replace(self.row, barcode=text)
        check = self.job.barcode_check
        if check and self.row.identity.get(check) not in (None, text):
            raise SlotwiseError(
                f"the scanned serial {text!r} does not match the board's "
                f"{check} {self.row.identity.get(check)!r}"
            )

    async def _update(self, client: SmpClient) -> SmpClient:
        self._enter("checking")
        result = await run_update(
            client,
            list(self.job.images),
            self.runner.options,
            on_progress=self._progress,
            reconnect=self._connect,
        )
        client = result.client or client
        first = self.job.images[0]
        running = running_slot(list(result.slots), first.image)
        listed = next((s for s in result.slots if s.hash == first.image_hash), None)
        new = running if running is not None and running.hash == first.image_hash else listed
        if new is not None:
            new_version, new_hash = new.version, new.hash.hex() if new.hash else ""
        elif result.ok:  # --mode none lists no slot: record what was uploaded and verified
            new_version, new_hash = first.version.smp_text, first.image_hash.hex()
        else:
            new_version, new_hash = "", ""
        self.row = replace(
            self.row,
            result="pass" if result.ok else "fail",
            failure_reason="" if result.ok else result.message,
            new_version=new_version,
            new_hash=new_hash,
        )
        return client

    def _progress(self, event: ProgressEvent) -> None:
        stage = str(event.stage)
        if stage in (Stage.DONE, Stage.FAILED, Stage.VERIFYING):
            stage = self._stage
        if stage != self._stage:
            self._enter(stage)
        self._retries = max(self._retries, event.retries)
        self._resumes = max(self._resumes, event.resumes)
        self.runner._emit(self.device, stage, event.fraction, event.message)


def _link_identity(client: SmpClient, item: str) -> str:
    """What the link itself tells about the board (its address, its USB serial number)."""
    details = getattr(client.transport, "identity", None)
    if isinstance(details, dict) and item in details:
        return str(details[item])
    return client.link.address
