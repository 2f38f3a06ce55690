"""Runs a job's batch or station on the core loop and reports each board to the GUI.

The BatchRunner and Station live on the bridge's asyncio loop; their per-board events are
throttled per board (about ten a second each, the final event of an attempt always delivered)
and handed to the GUI thread as Qt signals. A required barcode is asked for one board at a
time: the loop waits on a future that the GUI resolves when the operator's scan ends with Enter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.errors import SlotwiseError
from app.gui.bridge import CoreBridge, Throttle
from app.gui.errors import describe_error
from app.workflows.batch import BatchRunner, BoardEvent, Connect, default_connect
from app.workflows.job import Job
from app.workflows.results import ResultRow, ResultsLog
from app.workflows.station import Finder, Station, job_finder

if TYPE_CHECKING:
    from app.fleet.production import JobReporter

log = logging.getLogger(__name__)

STOPPED_BY_OPERATOR = "stopped by the operator"


@dataclass(frozen=True, slots=True)
class Counters:
    passed: int = 0
    failed: int = 0
    in_progress: int = 0
    per_hour: float = 0.0


class ProductionController(QObject):
    """One job's runs. Signals arrive on the GUI thread."""

    board = Signal(object)
    """A BoardEvent (throttled per board)."""
    row_logged = Signal(object)
    """A ResultRow, after it was appended to the results log."""
    running_changed = Signal(bool)
    finished = Signal(str)
    """A run ended: a sentence saying how (stopped by the operator, image changed, done)."""
    barcode_wanted = Signal(str)
    """The device spec waiting for its scan, or "" when no board waits."""
    counters_changed = Signal(object)

    def __init__(
        self,
        bridge: CoreBridge,
        job: Job,
        results: ResultsLog | None,
        *,
        connect: Connect | None = None,
        finder: Finder | None = None,
        poll_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.job = job
        self.results = results
        self.connect_board = connect or default_connect()
        self.finder = finder or job_finder(job.targets)
        self.poll_s = poll_s
        self.mode = ""
        """"batch" or "station" while running, else ""."""
        self.latest: dict[str, BoardEvent] = {}
        self.final: dict[str, ResultRow] = {}
        """Each board's last finished attempt (retries included)."""
        self.rows: list[ResultRow] = []
        self.waiting_barcode = ""
        self._finished = 0
        self._started_at: float | None = None
        # loop-thread state (touched only on the core loop)
        self._runner: BatchRunner | None = None
        self._stop_event: asyncio.Event | None = None
        self._reporter: JobReporter | None = None
        self._scan_lock: asyncio.Lock | None = None
        self._scan: tuple[str, asyncio.Future[str]] | None = None
        self._throttles: dict[str, Throttle[BoardEvent]] = {}

    @property
    def running(self) -> bool:
        return bool(self.mode)

    # --- starting and stopping (GUI thread) -------------------------------------------------

    def start_batch(self, devices: list[str] | None = None) -> bool:
        """Flash `devices` (default: the job's device list) once each; False if none/running."""
        devices = list(devices if devices is not None else self.job.targets.devices)
        if self.running or not devices:
            return False
        self._begin("batch")
        self.bridge.submit(self._batch(devices), on_result=self._done, on_error=self._crashed)
        return True

    def start_station(self) -> bool:
        """Flash every board that appears (the job's targets) until stopped."""
        if self.running:
            return False
        self._begin("station")
        self.bridge.submit(self._station(), on_result=self._done, on_error=self._crashed)
        return True

    def rerun_failed(self) -> list[str]:
        """Flash again only the boards whose last attempt failed; returns them."""
        failed = [d for d, row in self.final.items() if not row.passed]
        return failed if failed and self.start_batch(failed) else []

    def stop(self) -> None:
        """Start no more boards; boards in progress finish. A pending scan fails its board."""
        if self.running:
            self.bridge.loop.call_soon_threadsafe(self._stop_on_loop)

    def submit_barcode(self, device: str, text: str) -> None:
        """The operator's scan for `device` (the board shown as waiting)."""
        self.bridge.loop.call_soon_threadsafe(self._deliver_scan, device, text)

    def counters(self) -> Counters:
        busy = sum(
            1 for e in self.latest.values() if e.stage not in ("idle", "queued", "passed", "failed")
        )
        passed = sum(1 for r in self.final.values() if r.passed)
        per_hour = 0.0
        if self._started_at is not None and self._finished:
            # at least a minute: two quick boards are not "7200 an hour"
            per_hour = self._finished * 3600 / max(time.monotonic() - self._started_at, 60.0)
        return Counters(passed, len(self.final) - passed, busy, per_hour)

    def _begin(self, mode: str) -> None:
        self.mode = mode
        if self._started_at is None:
            self._started_at = time.monotonic()
        self.running_changed.emit(True)

    def _done(self, stopped: str | None) -> None:
        mode, self.mode = self.mode, ""
        for device, event in list(self.latest.items()):
            if event.stage == "queued":  # the run ended before this board's turn
                self._board_on_gui(BoardEvent(device, "idle", message="Not started."))
        self.running_changed.emit(False)
        self.counters_changed.emit(self.counters())
        if stopped == STOPPED_BY_OPERATOR:
            self.finished.emit(f"The {mode} was stopped by the operator.")
        elif stopped:
            self.finished.emit(f"The job stopped: {stopped}")
        else:
            passed = sum(1 for r in self.final.values() if r.passed)
            self.finished.emit(
                f"The {mode} finished: {passed} passed, {len(self.final) - passed} failed."
            )

    def _crashed(self, exc: BaseException) -> None:
        log.error("production run failed: %s", exc, exc_info=exc)
        self.mode = ""
        self.running_changed.emit(False)
        self.finished.emit(f"The run stopped with an error: {describe_error(exc)}")

    # --- on the core loop -------------------------------------------------------------------

    def _runner_for_run(self) -> BatchRunner:
        self._scan_lock = asyncio.Lock()
        barcode = self._await_scan if self.job.barcode_require in ("before", "after") else None
        self._reporter = None
        if self.job.server is not None:  # each board is registered and reported (docs/fleet.md)
            from app.fleet.production import JobReporter
            from app.fleet.profiles import default_state_dir

            self._reporter = JobReporter(self.job, default_state_dir())
        runner = BatchRunner(
            self.job,
            self.results,
            connect=self.connect_board,
            on_board=self._on_board,
            barcode=barcode,
            reporter=self._reporter,
        )
        self._runner = runner
        return runner

    async def _batch(self, devices: list[str]) -> str | None:
        runner = self._runner_for_run()
        try:
            await runner.run(devices)
        finally:
            self._flush_all()
            await self._close_reporter()
        return runner.stopped

    async def _station(self) -> str | None:
        runner = self._runner_for_run()
        self._stop_event = asyncio.Event()
        station = Station(runner, self.finder, poll_s=self.poll_s)
        try:
            await station.run(self._stop_event)
        finally:
            self._flush_all()
            await self._close_reporter()
        return STOPPED_BY_OPERATOR if self._stop_event.is_set() else runner.stopped

    async def _close_reporter(self) -> None:
        if self._reporter is not None:
            reporter, self._reporter = self._reporter, None
            await reporter.close()

    def _stop_on_loop(self) -> None:
        if self._runner is not None and self._runner.stopped is None:
            self._runner.stopped = STOPPED_BY_OPERATOR
        if self._stop_event is not None:
            self._stop_event.set()
        if self._scan is not None and not self._scan[1].done():
            self._scan[1].set_exception(
                SlotwiseError("the run was stopped before the barcode was scanned")
            )

    def _on_board(self, event: BoardEvent) -> None:
        throttle = self._throttles.get(event.device)
        if throttle is None:
            throttle = self.bridge.throttle(self._board_on_gui)
            self._throttles[event.device] = throttle
        throttle(event)
        if event.row is not None or event.stage == "queued":
            throttle.flush()  # a verdict is never held back or replaced

    def _flush_all(self) -> None:
        for throttle in self._throttles.values():
            throttle.flush()

    async def _await_scan(self, device: str) -> str:
        assert self._scan_lock is not None
        async with self._scan_lock:  # one board at a time: one field, one scanner
            if self._runner is not None and self._runner.stopped is not None:
                raise SlotwiseError("the run was stopped before the barcode was scanned")
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._scan = (device, future)
            self.bridge.post(lambda: self._want(device))
            try:
                return await future
            finally:
                self._scan = None
                self.bridge.post(lambda: self._want(""))

    def _deliver_scan(self, device: str, text: str) -> None:
        if self._scan is not None and self._scan[0] == device and not self._scan[1].done():
            self._scan[1].set_result(text)
        else:
            log.info("a scan for %s arrived when no board waited for it; ignored", device)

    # --- back on the GUI thread -------------------------------------------------------------

    def _want(self, device: str) -> None:
        self.waiting_barcode = device
        self.barcode_wanted.emit(device)

    def _board_on_gui(self, event: BoardEvent) -> None:
        self.latest[event.device] = event
        row = event.row
        if row is not None:
            self.rows.append(row)
            self.final[event.device] = row  # a later attempt replaces an earlier one
            if row.passed or row.attempt >= self.job.retries + 1:
                self._finished += 1
            self.row_logged.emit(row)
        self.board.emit(event)
        self.counters_changed.emit(self.counters())
