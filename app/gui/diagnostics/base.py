"""What every diagnostics page shares: the device it talks to, running SMP calls through the
bridge (never on the GUI thread), and a plain "not supported" face for missing features."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from app.client import SmpClient
from app.errors import TransportClosed
from app.gui.bridge import CoreBridge
from app.gui.errors import describe_error
from app.gui.plain_text import plain_label
from app.smp.errors import DeviceError
from app.workflows.diagnostics import Capabilities, Feature, Support, not_supported_text

log = logging.getLogger(__name__)

T = TypeVar("T")
ClientSource = Callable[[], SmpClient | None]
"""Returns the connected client of the selected device (read on the core loop)."""
MAX_RECENT = 12


class DiagContext(QObject):
    """The selected device as the pages see it: a client source, a bridge, capabilities."""

    capabilities_changed = Signal(object)
    """Capabilities of the newly selected device (None: no device)."""
    logged = Signal(str, str)
    """(level, sentence) for the window's log."""

    def __init__(
        self, bridge: CoreBridge, client_source: ClientSource, recent: RecentPaths | None = None
    ) -> None:
        super().__init__()
        self.bridge = bridge
        self.client_source = client_source
        self.recent = recent or RecentPaths(None)
        self.capabilities: Capabilities | None = None
        self._lock = asyncio.Lock()
        """One diagnostics request at a time: a device has few SMP buffers (buf_count) and
        answers ENOMEM to requests beyond them, and the slots view shares the link."""
        self.generation = 0
        """Raised on every device change: results for an older device are dropped."""

    def set_capabilities(self, caps: Capabilities | None) -> None:
        self.capabilities = caps
        self.capabilities_changed.emit(caps)

    def client(self) -> SmpClient:
        """For coroutines on the loop: the current client, or TransportClosed."""
        client = self.client_source()
        if client is None or not client.is_connected:
            raise TransportClosed("no device is connected")
        return client

    def call(
        self,
        make: Callable[[SmpClient], Coroutine[Any, Any, T]],
        *,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        topic: str | None = None,
        feature: Feature | None = None,
        quiet: bool = False,
    ) -> None:
        """Run `make(client)` on the core loop; report back on the GUI thread.

        Errors arrive as one sentence; ENOTSUP is said in plain words. A result for a device
        the user has since left is dropped. `quiet` keeps an expected answer (a clock never
        set) out of the window's log; the page still shows it."""
        generation = self.generation

        async def job() -> T:
            async with self._lock:
                return await make(self.client())

        def done(value: T) -> None:
            if generation == self.generation and on_result is not None:
                on_result(value)

        def failed(exc: BaseException) -> None:
            if generation != self.generation:
                return
            if isinstance(exc, DeviceError) and exc.not_supported:
                text = (
                    not_supported_text(feature)
                    if feature is not None
                    else "The device's firmware does not support this command."
                )
            else:
                text = describe_error(exc)
            if not quiet:
                self.logged.emit("warn" if on_error is not None else "error", text)
            if on_error is not None:
                on_error(text)

        self.bridge.submit(job(), on_result=done, on_error=failed, topic=topic)


class DiagPage(QWidget):
    """A page that shows its content when `feature` works, and a plain sentence when not."""

    feature: Feature = Feature.OS_INFO
    title = ""
    scrollable = False
    """Tall pages scroll instead of squeezing their rows together."""

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._stack = QStackedWidget()
        self.content = QWidget()
        shown: QWidget = self.content
        if self.scrollable:
            shown = QScrollArea()
            shown.setWidgetResizable(True)
            shown.setFrameShape(QScrollArea.Shape.NoFrame)
            shown.setWidget(self.content)
        self.unsupported_label = plain_label("")
        self.unsupported_label.setObjectName("unsupported")
        self.unsupported_label.setWordWrap(True)
        self.unsupported_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(shown)
        self._stack.addWidget(self.unsupported_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        self.status = plain_label("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._stale = False
        context.capabilities_changed.connect(self._on_capabilities)

    @property
    def supported(self) -> bool:
        return not self._stack.currentIndex()

    def _on_capabilities(self, caps: Capabilities | None) -> None:
        self._stale = False
        if caps is None:  # no device, or a new one not read yet: the last one's data goes
            self.unsupported_label.setText("No device connected.")
            self._stack.setCurrentIndex(1)
            self.stop()
            return
        if caps.support(self.feature) == Support.UNSUPPORTED:
            self.unsupported_label.setText(not_supported_text(self.feature))
            self._stack.setCurrentIndex(1)
            self.stop()
        else:
            self._stack.setCurrentIndex(0)
            self.status.setText("")
            if self.isVisible():
                self.device_changed()
            else:  # read when the user opens the page, not all pages at once
                self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.device_changed()

    def device_changed(self) -> None:
        """A supported device was selected: read what the page shows."""

    def stop(self) -> None:
        """Stop timers; the device is gone or the page is unsupported."""

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020")

    def show_info(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")


class RecentPaths:
    """Device paths the user used, newest first: SMP cannot list directories, so the file
    browser offers these. Kept in a small JSON file (None: memory only, for tests)."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.paths: list[str] = []
        if file is not None and file.exists():
            try:
                loaded = json.loads(file.read_text(encoding="utf-8"))
                self.paths = [p for p in loaded if isinstance(p, str)][:MAX_RECENT]
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable recent paths %s: %s", file, exc)

    def add(self, path: str) -> None:
        self.paths = [path, *[p for p in self.paths if p != path]][:MAX_RECENT]
        if self.file is not None:
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                self.file.write_text(json.dumps(self.paths), encoding="utf-8")
            except OSError as exc:
                log.warning("cannot save recent paths to %s: %s", self.file, exc)
