"""DeviceController: the selected device's session, driven from the GUI through the bridge.

It owns one DeviceSession on the core loop at a time. Each connection gets a stamp; results
from an older connection (the user picked another device meanwhile) are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.gui.bridge import CoreBridge
from app.gui.errors import describe_error
from app.gui.session import DeviceSession, Opener, RecoverDone, UpdateDone
from app.gui.settings import UPLOAD_MODE_LABELS
from app.gui.targets import DeviceSnapshot, DeviceTarget
from app.gui.traffic import TrafficRecord

if TYPE_CHECKING:
    from app.image.keys import KeyStore
    from app.workflows.update import UpdateOptions

log = logging.getLogger(__name__)

TOPIC = "device"
TRAFFIC_FLUSH_S = 0.1


class _TrafficTap:
    """Collects packets on the loop thread; hands them to the GUI in batches ~10 times/s."""

    def __init__(self, bridge: CoreBridge, sink: Callable[[list[TrafficRecord]], None]) -> None:
        self._bridge = bridge
        self._sink = sink
        self._pending: list[TrafficRecord] = []
        self._timer: asyncio.TimerHandle | None = None
        self.enabled = False

    def __call__(self, direction: str, frame: bytes) -> None:
        if not self.enabled:
            return
        self._pending.append(TrafficRecord.now(direction, frame))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(TRAFFIC_FLUSH_S, self._flush)

    def _flush(self) -> None:
        self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            self._bridge.post(lambda: self._sink(batch))


class DeviceController(QObject):
    """Connects to the device the user selected and runs its actions."""

    snapshot_changed = Signal(object)
    """DeviceSnapshot after every read."""
    busy_changed = Signal(str)
    """What is running now ("Resetting…"), or "" when idle."""
    failed = Signal(str)
    logged = Signal(str, str)
    """(level, sentence) for the log drawer: "info", "warn" or "error"."""
    traffic = Signal(list)
    console = Signal(str)
    """A line the device printed on its serial console."""
    progress = Signal(object)
    """ProgressEvent, at most ~10 per second."""
    update_finished = Signal(object)
    """UpdateDone: the workflow's result and the device as read afterwards."""
    update_failed = Signal(str)
    recovery_finished = Signal(object)
    """RecoverDone: firmware restored through MCUboot serial recovery, the device read again."""
    recovery_failed = Signal(str)
    selected = Signal(object)
    """DeviceTarget or None: a new device was picked; every per-device view starts over."""
    unreachable = Signal(str)
    """The selected device could not be read at all (no snapshot): why, in one sentence."""

    def __init__(
        self,
        bridge: CoreBridge,
        openers: dict[str, Opener] | None = None,
        timeout_s: float = 5.0,
        reset_wait_s: float = 20.0,
    ) -> None:
        super().__init__()
        self._bridge = bridge
        self.openers = dict(openers or {})
        self.timeout_s = timeout_s
        self.reset_wait_s = reset_wait_s
        self.session: DeviceSession | None = None
        self.target: DeviceTarget | None = None
        self.snapshot: DeviceSnapshot | None = None
        self._stamp = 0
        self._busy = ""
        self._cancel: asyncio.Event | None = None
        self.tap = _TrafficTap(bridge, self.traffic.emit)
        bridge.add_cleanup(self._close_session)

    @property
    def busy(self) -> str:
        return self._busy

    async def _close_session(self) -> None:
        if self.session is not None:
            await self.session.close()

    def select(self, target: DeviceTarget | None) -> None:
        """Leave the current device and connect to `target` (None: no device)."""
        old = self.session
        self._stamp = self._bridge.stamp(TOPIC)
        if self._cancel is not None:  # an upload to the device being left stops (it resumes)
            cancel, self._cancel = self._cancel, None
            self._bridge.loop.call_soon_threadsafe(cancel.set)
            self.logged.emit("warn", "Upload stopped: another device was selected")
        self.session = None
        self.snapshot = None
        self.target = target
        self.selected.emit(target)
        if old is not None:
            self._bridge.submit(old.close())
        self._set_busy("")
        if target is None:
            return
        session = DeviceSession(
            target,
            timeout_s=self.timeout_s,
            opener=self.openers.get(target.spec),
            on_traffic=self.tap,
            on_console=self._console_line,
        )
        self.session = session
        self.logged.emit("info", f"Connecting to {target.name} ({target.address})")
        self.run(
            f"Connecting to {target.name}\u2026",
            session.connect(),
            done=f"Connected to {target.name}",
        )

    def _console_line(self, line: str) -> None:
        """Any thread: queue the line to the GUI thread."""
        self._bridge.post(lambda: self.console.emit(line))

    def run(
        self, label: str, coro: Coroutine[Any, Any, DeviceSnapshot], done: str | None = None
    ) -> None:
        """Run an action that ends with a fresh snapshot; report busy, errors and the result."""
        if self.session is None:
            coro.close()
            return
        self._set_busy(label)
        self._bridge.submit(
            coro,
            topic=TOPIC,
            stamp=self._stamp,
            on_result=lambda snap: self._on_snapshot(snap, done),
            on_error=self._on_error,
        )

    def refresh(self) -> None:
        if self.session is not None:
            self.run("Reading the device\u2026", self.session.read())

    def _on_snapshot(self, snapshot: DeviceSnapshot, done: str | None) -> None:
        self.snapshot = snapshot
        self._set_busy("")
        if done:
            self.logged.emit("info", done)
        self.snapshot_changed.emit(snapshot)

    def _on_error(self, exc: BaseException) -> None:
        self._set_busy("")
        text = describe_error(exc)
        self.logged.emit("error", text)
        self.failed.emit(text)
        if self.snapshot is None:
            self.unreachable.emit(text)

    def retry(self) -> None:
        """Connect to the selected device again (after it could not be reached)."""
        if self.target is not None:
            self.select(self.target)

    def _set_busy(self, label: str) -> None:
        if label != self._busy:
            self._busy = label
            self.busy_changed.emit(label)

    # --- actions (the device view asks first where they are dangerous) -----------------------

    def test(self, image_hash: bytes) -> None:
        if self.session is not None:
            self.run(
                "Marking the image for test\u2026",
                self.session.test(image_hash),
                done="Marked for test: the device boots it once on the next reset.",
            )

    def confirm(self, image_hash: bytes | None = None) -> None:
        if self.session is not None:
            self.run(
                "Confirming\u2026",
                self.session.confirm(image_hash),
                done="Confirmed: the device keeps this image.",
            )

    def erase(self, slot: int) -> None:
        if self.session is not None:
            self.run("Erasing\u2026", self.session.erase(slot), done=f"Erased slot {slot}.")

    def reset(self) -> None:
        if self.session is not None:
            self.run(
                "Resetting and waiting for the device\u2026",
                self.session.reset(self.reset_wait_s),
                done="The device restarted.",
            )

    def roll_back(self) -> None:
        if self.session is not None and self.snapshot is not None:
            self.run(
                "Rolling back\u2026",
                self.session.roll_back(self.snapshot, wait_s=self.reset_wait_s),
                done="Rolled back: the device restarted on the other slot's image.",
            )

    # --- the update workflow ----------------------------------------------------------------

    @property
    def uploading(self) -> bool:
        return self._cancel is not None

    def upload(self, path: Path, keys: KeyStore | None, options: UpdateOptions) -> None:
        """Run the update workflow; progress, then `update_finished` or `update_failed`."""
        session = self.session
        if session is None or self._cancel is not None:
            return
        cancel = asyncio.Event()
        self._cancel = cancel
        stamp = self._stamp

        def report(event: object) -> None:  # GUI thread; drops events of a device left
            if stamp == self._stamp:
                self.progress.emit(event)

        throttle = self._bridge.throttle(report)

        async def job() -> UpdateDone:
            try:
                return await session.update(
                    path, keys, options, on_progress=throttle, cancel=cancel
                )
            finally:
                throttle.flush()  # the last progress event arrives before the result

        self._set_busy("Updating\u2026")
        label = UPLOAD_MODE_LABELS[options.mode].lower()
        self.logged.emit("info", f"Uploading {path.name} ({label})")
        self._bridge.submit(
            job(),
            topic=TOPIC,
            stamp=self._stamp,
            on_result=self._on_update_done,
            on_error=self._on_update_error,
        )

    def cancel_upload(self) -> None:
        cancel = self._cancel
        if cancel is not None:
            self.logged.emit("warn", "Upload cancelled by the user")
            self._bridge.loop.call_soon_threadsafe(cancel.set)

    def _on_update_done(self, done: UpdateDone) -> None:
        self._cancel = None
        self.logged.emit("info" if done.result.ok else "warn", done.result.message)
        for line in done.result.advice:
            self.logged.emit("info", f"Tuning: {line}")
        self._on_snapshot(done.snapshot, None)
        self.update_finished.emit(done)

    def _on_update_error(self, exc: BaseException) -> None:
        self._cancel = None
        self._set_busy("")
        text = describe_error(exc)
        self.logged.emit("error", f"Update stopped: {text}")
        self.update_failed.emit(text)

    # --- restoring firmware through MCUboot serial recovery ---------------------------------

    def recover(self, path: Path, keys: KeyStore | None) -> None:
        """Verify, write, check, reset and watch (app/workflows/recovery); progress, then
        `recovery_finished` or `recovery_failed`."""
        session = self.session
        if session is None or self._cancel is not None:
            return
        self._cancel = asyncio.Event()  # marks the device busy with a transfer (not cancellable)
        stamp = self._stamp

        def report(event: object) -> None:
            if stamp == self._stamp:
                self.progress.emit(event)

        throttle = self._bridge.throttle(report)

        async def job() -> RecoverDone:
            try:
                return await session.recover(path, keys, on_progress=throttle)
            finally:
                throttle.flush()

        self._set_busy("Restoring firmware\u2026")
        self.logged.emit("info", f"Restoring {path.name} through MCUboot serial recovery")
        self._bridge.submit(
            job(),
            topic=TOPIC,
            stamp=self._stamp,
            on_result=self._on_recovered,
            on_error=self._on_recover_error,
        )

    def _on_recovered(self, done: RecoverDone) -> None:
        self._cancel = None
        self.logged.emit("info", done.result.message)
        self._on_snapshot(done.snapshot, None)
        self.recovery_finished.emit(done)

    def _on_recover_error(self, exc: BaseException) -> None:
        self._cancel = None
        self._set_busy("")
        text = describe_error(exc)
        self.logged.emit("error", f"Restore stopped: {text}")
        self.recovery_failed.emit(text)
