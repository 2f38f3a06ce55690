"""The upload's congestion control: how many requests may be in flight, how long to wait.

Pure: no I/O, no clock, no asyncio. The engine (upload.py) carries the bytes and feeds this
controller what happened to each request; the controller answers with the next window and
the next timeout. Kept apart so its judgement is tested in microseconds with tables of event
sequences (tests/upload/test_window.py), the way TCP stacks test congestion control.

The rules (spec transports.md §5, smp-protocol.md §6.1.3):
* start at `start_window` (buf_count - 1: one MCUmgr buffer stays free for the reply);
* `grow_after` clean in-order answers in a row grow the window by one, up to `max_window`;
* a timeout or an offset rewind shrinks it by one (the device is slow, not broken);
* ENOMEM shrinks it by one and lowers the ceiling below the window that hit it (§5.3);
* a lost session, a device error or an undecodable answer halves it;
* the timeout follows RFC 6298 (smoothed round trip plus four deviations), never below a
  floor (5x larger on reliable links, where a timeout means trouble, not loss), and backs off
  exponentially while requests keep timing out.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMEOUT_BACKOFF = 1.5
"""Per timeout; reaches max_timeout_s from the floor in about nine tries."""
MAX_TIMEOUT_BACKOFF = 32.0
ENOMEM_BACKOFF = 2.0
"""Per ENOMEM at window 1: the device's buffers are busy with a slow flash write."""
MAX_ENOMEM_BACKOFF = 16.0
RELIABLE_FLOOR_FACTOR = 5


@dataclass(frozen=True, slots=True)
class WindowPolicy:
    """The controller's constants, from UploadOptions and the device's buffers."""

    start_window: int
    max_window: int
    grow_after: int = 3
    first_timeout_s: float = 0.5
    """For the first chunk (the device erases the slot before it answers) and before any
    round trip has been measured."""
    min_timeout_s: float = 0.1
    max_timeout_s: float = 16.0
    reliable: bool = False
    """The link does not lose packets (serial, BLE): the timeout floor is 5x higher."""


class WindowController:
    """Decides the window and the timeout from the answers, timeouts and errors it is fed."""

    def __init__(self, policy: WindowPolicy) -> None:
        self.policy = policy
        self.window = max(policy.start_window, 1)
        self.max_window = max(policy.max_window, self.window)
        self.largest_window = self.window
        self.srtt_s: float | None = None
        self.rttvar_s = 0.0
        self.backoff = 1.0
        self._clean = 0

    # --- events -------------------------------------------------------------------------------

    def on_answer(self, rtt_s: float, *, in_order: bool) -> None:
        """A request was answered after `rtt_s`; `in_order`: its offset moved the device on
        exactly as planned (anything else is reported as another event as well)."""
        self._sample_rtt(rtt_s)
        self.backoff = 1.0
        if not in_order:
            return
        self._clean += 1
        if self._clean >= self.policy.grow_after and self.window < self.max_window:
            self.window += 1
            self.largest_window = max(self.largest_window, self.window)
            self._clean = 0

    def on_timeout(self) -> None:
        """The oldest request went unanswered for one timeout."""
        self.backoff = min(self.backoff * TIMEOUT_BACKOFF, MAX_TIMEOUT_BACKOFF)
        self._shrink_by_one()

    def on_enomem(self) -> None:
        """The device had no buffer for a request: this window is too large for it."""
        self.max_window = max(1, min(self.max_window, self.window - 1))
        self._shrink_by_one()
        if self.window == 1:
            self.backoff = min(self.backoff * ENOMEM_BACKOFF, MAX_ENOMEM_BACKOFF)

    def on_rewind(self) -> None:
        """The device asked for an earlier offset than the answered request ended at."""
        self._shrink_by_one()

    def on_loss(self) -> None:
        """The device lost the session, failed a request or sent an undecodable answer."""
        self._clean = 0
        self.window = max(1, self.window // 2)

    def on_resync(self) -> None:
        """The upload continues elsewhere without blame (a resume, a skip ahead, a smaller
        request size): the window stays, the run of clean answers starts over."""
        self._clean = 0

    # --- decisions ----------------------------------------------------------------------------

    def timeout_s(self, *, first_chunk: bool = False) -> float:
        """How long to wait for the oldest request in flight."""
        policy = self.policy
        floor = policy.min_timeout_s * (RELIABLE_FLOOR_FACTOR if policy.reliable else 1)
        if first_chunk or self.srtt_s is None:
            base = max(policy.first_timeout_s, floor)
        else:
            base = max(floor, self.srtt_s + 4 * self.rttvar_s, 1.5 * self.srtt_s)
        return min(base * self.backoff, policy.max_timeout_s)

    # --- internals ----------------------------------------------------------------------------

    def _shrink_by_one(self) -> None:
        self._clean = 0
        self.window = max(1, self.window - 1)

    def _sample_rtt(self, rtt_s: float) -> None:
        if self.srtt_s is None:
            self.srtt_s, self.rttvar_s = rtt_s, rtt_s / 2
        else:  # RFC 6298 smoothing
            self.rttvar_s = 0.75 * self.rttvar_s + 0.25 * abs(self.srtt_s - rtt_s)
            self.srtt_s = 0.875 * self.srtt_s + 0.125 * rtt_s
