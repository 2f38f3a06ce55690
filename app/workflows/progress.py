"""Progress of an update as one stream of frozen events, and the meter that smooths the rate.

The upload engine (app/client/upload.py) reports raw counters; `ProgressMeter` turns them into
`ProgressEvent`s with a smoothed rate and an ETA. The GUI, the CLI (bar or JSON Lines) and
batch runs all consume the same events through a `ProgressCallback`. No Qt, no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    """Where an update is; the GUI and the CLI name the step with it."""

    VERIFYING = "verifying"
    """Checking the image locally (hash, signature, version)."""
    CHECKING = "checking"
    """Reading what the device has and can do (params, bootloader, slots), or re-reading it."""
    UPLOADING = "uploading"
    RESETTING = "resetting"
    WAITING = "waiting"
    """Waiting for the device to come back after a reset."""
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One step of an update. `message` is a sentence for a person ("resumed at 61%")."""

    stage: Stage
    bytes_acked: int = 0
    """Bytes the device has confirmed (its `off`) for the image being uploaded."""
    total_bytes: int = 0
    rate_bps: float | None = None
    """Smoothed upload rate in bytes per second; None until it can be measured."""
    eta_s: float | None = None
    retries: int = 0
    """Requests sent again (timeouts, ENOMEM, rewinds) during this upload."""
    resumes: int = 0
    """Times the upload continued after a dropped link or a device reset."""
    message: str = ""
    image: int = 0
    """Image number being worked on (multi-image devices and packages)."""
    elapsed_s: float = 0.0
    window: int = 0
    """Requests currently allowed in flight."""

    @property
    def fraction(self) -> float:
        """0.0 .. 1.0 of the current upload (1.0 when there is nothing to upload)."""
        return self.bytes_acked / self.total_bytes if self.total_bytes else 1.0

    def to_json(self) -> dict[str, Any]:
        """A flat dict for JSON Lines output (stage as its string)."""
        data = asdict(self)
        data["stage"] = str(self.stage)
        data["fraction"] = round(self.fraction, 4)
        return data


ProgressCallback = Callable[[ProgressEvent], None]
"""Called on the event loop's thread; must not block (the GUI bridge re-emits as a signal)."""


class ProgressMeter:
    """Turns acknowledged-byte counts into events with a smoothed rate and an ETA.

    The rate is an exponential moving average over intervals of at least `min_interval_s`, so a
    burst of pipelined answers does not make it jump; the ETA is the remaining bytes over it.
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        smoothing: float = 0.3,
        min_interval_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._smoothing = smoothing
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._start = clock()
        self._mark_time = self._start
        self._mark_bytes = 0
        self._rate: float | None = None
        self.last: ProgressEvent | None = None

    def restart(self, acked: int = 0) -> None:
        """A new upload begins (or resumes at `acked`): forget the old rate."""
        self._mark_time = self._clock()
        self._mark_bytes = acked
        self._rate = None

    @property
    def rate_bps(self) -> float | None:
        return self._rate

    def update(
        self,
        stage: Stage,
        acked: int = 0,
        total: int = 0,
        *,
        message: str = "",
        retries: int = 0,
        resumes: int = 0,
        image: int = 0,
        window: int = 0,
    ) -> None:
        """Measure and emit one event."""
        now = self._clock()
        if stage is Stage.UPLOADING:
            self._measure(now, acked)
        remaining = max(total - acked, 0)
        eta = remaining / self._rate if self._rate and stage is Stage.UPLOADING else None
        event = ProgressEvent(
            stage=stage,
            bytes_acked=acked,
            total_bytes=total,
            rate_bps=self._rate,
            eta_s=eta,
            retries=retries,
            resumes=resumes,
            message=message,
            image=image,
            elapsed_s=now - self._start,
            window=window,
        )
        self.last = event
        if self._callback is not None:
            self._callback(event)

    def _measure(self, now: float, acked: int) -> None:
        interval = now - self._mark_time
        if acked < self._mark_bytes:  # a rewind: measure from here on
            self._mark_time, self._mark_bytes = now, acked
            return
        if interval < self._min_interval_s:
            return
        sample = (acked - self._mark_bytes) / interval
        self._rate = (
            sample
            if self._rate is None
            else (self._smoothing * sample + (1 - self._smoothing) * self._rate)
        )
        self._mark_time, self._mark_bytes = now, acked
