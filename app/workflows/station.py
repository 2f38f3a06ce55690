"""Station mode: flash every board that appears, then wait for the next.

A board is flashed once per appearance: it stays "seen" while discovery keeps finding it, so a
board left on the fixture is not flashed again; when it disappears and a board appears at that
spot again, that is a new board. Counters feed the GUI's job summary and the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from app.client.discovery import FoundDevice, discover
from app.workflows.batch import BatchRunner
from app.workflows.job import Targets
from app.workflows.results import ResultRow

log = logging.getLogger(__name__)

Finder = Callable[[], AsyncIterator[FoundDevice]]


@dataclass(frozen=True, slots=True)
class StationCounters:
    passed: int
    failed: int
    in_progress: int
    per_hour: float
    """Boards finished per hour since the station started."""


def job_finder(targets: Targets, *, timeout_s: float = 1.5) -> Finder:
    """Discovery limited to the job's target filters (explicit devices always count)."""

    async def find() -> AsyncIterator[FoundDevice]:
        for spec in targets.devices:
            kind, _, address = spec.partition(":")
            yield FoundDevice(kind, address, address)
        serial = bool(targets.serial_vid_pid or targets.serial_name)
        scanner = None
        if targets.ble_name:
            from app.transport.ble import BleakScannerAdapter

            scanner = BleakScannerAdapter()
        async for found in discover(
            udp=list(targets.udp), serial=serial, ble_scanner=scanner, timeout_s=timeout_s
        ):
            if _matches(found, targets):
                yield found

    return find


def _matches(found: FoundDevice, targets: Targets) -> bool:
    if found.transport == "udp":
        return bool(found.answers_smp)
    if found.transport == "serial":
        if targets.serial_vid_pid and (found.vid_pid or "").lower() not in {
            v.lower() for v in targets.serial_vid_pid
        }:
            return False
        return not targets.serial_name or fnmatch.fnmatch(found.address, targets.serial_name)
    if found.transport == "ble":
        return bool(targets.ble_name) and fnmatch.fnmatch(found.name, targets.ble_name or "")
    return False


class Station:
    """Watches for boards and flashes each new one with `runner`."""

    def __init__(self, runner: BatchRunner, finder: Finder, *, poll_s: float = 1.0) -> None:
        self.runner = runner
        self.finder = finder
        self.poll_s = poll_s
        self.rows: list[ResultRow] = []
        self._seen: set[str] = set()
        self._running: dict[str, asyncio.Task[ResultRow | None]] = {}
        self._started = time.monotonic()

    @property
    def counters(self) -> StationCounters:
        passed = sum(1 for r in self.rows if r.passed)
        hours = max(time.monotonic() - self._started, 1.0) / 3600
        return StationCounters(
            passed, len(self.rows) - passed, len(self._running), len(self.rows) / hours
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set or the job stops (its image changed); then lets work finish."""
        try:
            while not stop.is_set() and self.runner.stopped is None:
                present = {found.spec async for found in self.finder()}
                for spec in present - self._seen - set(self._running):
                    log.info("station: new board %s", spec)
                    self._running[spec] = asyncio.create_task(self._flash(spec))
                # a board that left may come back as a new one
                self._seen &= present
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)
        finally:
            if self._running:
                await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _flash(self, spec: str) -> ResultRow | None:
        try:
            row = await self.runner.flash(spec)
            if row is not None:
                self.rows.append(row)
            return row
        finally:
            self._running.pop(spec, None)
            self._seen.add(spec)
