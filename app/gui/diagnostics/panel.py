"""The diagnostics tabs beside the slots view, capability detection per device, and
"Export report…". The main window places the panel beside the slots view."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.gui.bridge import CoreBridge
from app.gui.controller import DeviceController
from app.gui.diagnostics.base import DiagContext, DiagPage, RecentPaths
from app.gui.diagnostics.files import FilesPage
from app.gui.diagnostics.findings_page import FindingsPage
from app.gui.diagnostics.info import InfoPage
from app.gui.diagnostics.logs import LogPage
from app.gui.diagnostics.settings_page import SettingsPage
from app.gui.diagnostics.shell import ShellPage
from app.gui.diagnostics.stats import StatsPage
from app.gui.diagnostics.tasks import TasksPage
from app.gui.plain_text import plain_label
from app.gui.session import DeviceSession
from app.workflows.diagnostics import (
    FEATURE_TITLE,
    Capabilities,
    Feature,
    Support,
    detect_capabilities,
)
from app.workflows.report import Report, TrafficRecorder, collect_report, write_bundle

log = logging.getLogger(__name__)

PAGES: tuple[type[DiagPage], ...] = (
    FindingsPage,
    InfoPage,
    TasksPage,
    StatsPage,
    SettingsPage,
    FilesPage,
    ShellPage,
    LogPage,
)


class ExportDialog(QDialog):
    """Which device files to pull into the report (SMP cannot list them: recent paths)."""

    def __init__(self, recent: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Device files to include (logs, core dumps):"))
        self.files = QListWidget()
        for path in recent:
            self._add(path, checked=False)
        layout.addWidget(self.files)
        row = QHBoxLayout()
        self.new_path = QLineEdit()
        self.new_path.setPlaceholderText("/lfs/log.txt")
        add = QPushButton("Add")
        add.clicked.connect(self._add_typed)
        self.new_path.returnPressed.connect(self._add_typed)
        row.addWidget(self.new_path, 1)
        row.addWidget(add)
        layout.addLayout(row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _add(self, path: str, checked: bool) -> None:
        item = QListWidgetItem(path)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.files.addItem(item)

    def _add_typed(self) -> None:
        path = self.new_path.text().strip()
        if path.startswith("/"):
            self._add(path, checked=True)
            self.new_path.clear()

    def chosen(self) -> list[str]:
        return [
            self.files.item(i).text()
            for i in range(self.files.count())
            if self.files.item(i).checkState() == Qt.CheckState.Checked
        ]


class _TrafficChain:
    """Stands in for the controller's traffic tap: every packet goes to the current device's
    TrafficRecorder (for the report) and on to the tap (the log drawer). The drawer's switch
    (`enabled`) still reaches the tap; the report records regardless."""

    def __init__(self, tap: Callable[[str, bytes], None]) -> None:
        self._tap = tap
        self.sink: TrafficRecorder | None = None

    @property
    def enabled(self) -> bool:
        return bool(getattr(self._tap, "enabled", True))

    @enabled.setter
    def enabled(self, on: bool) -> None:
        self._tap.enabled = on  # type: ignore[attr-defined]

    def __call__(self, direction: str, frame: bytes) -> None:
        sink = self.sink
        if sink is not None:
            sink(direction, frame)
        self._tap(direction, frame)


class DiagnosticsPanel(QWidget):
    """Capabilities line, "Export report…", and one tab per diagnostic page."""

    report_written = Signal(Path)
    report_failed = Signal(str)

    def __init__(
        self,
        bridge: CoreBridge,
        controller: DeviceController,
        recent: RecentPaths | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.controller = controller
        self.context = DiagContext(bridge, self._client, recent)
        self.context.logged.connect(controller.logged)
        self.traffic = _TrafficChain(controller.tap)
        controller.tap = self.traffic  # type: ignore[assignment]  # sessions made from now on
        self._session: DeviceSession | None = None
        self._traffic_session: DeviceSession | None = None
        self._detect_pending = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.caps_label = plain_label("No device selected")
        self.caps_label.setObjectName("capabilities")
        self.caps_label.setWordWrap(True)
        self.export_button = QPushButton("Export report\u2026")
        self.export_button.setObjectName("export-report")
        self.export_button.clicked.connect(self.ask_export)
        self.export_button.setEnabled(False)
        top.addWidget(self.caps_label, 1)
        top.addWidget(self.export_button)
        layout.addLayout(top)
        self.tabs = QTabWidget()
        self.pages: dict[type[DiagPage], DiagPage] = {}
        for page_type in PAGES:
            page = page_type(self.context)
            self.pages[page_type] = page
            self.tabs.addTab(page, page.title)
        layout.addWidget(self.tabs, 1)
        controller.snapshot_changed.connect(self._on_snapshot)
        controller.selected.connect(self._on_selected)
        # select() reports "Connecting…" right after it made the new session: start that
        # device's traffic log there, so the report holds the session from its first packet.
        controller.busy_changed.connect(self._follow_session)

    def page(self, page_type: type[DiagPage]) -> DiagPage:
        return self.pages[page_type]

    def _client(self) -> SmpClient | None:
        session = self.controller.session
        return session.client if session is not None else None

    def _follow_session(self, _busy: str = "") -> None:
        session = self.controller.session
        if session is not self._traffic_session:
            self._traffic_session = session
            self.traffic.sink = TrafficRecorder() if session is not None else None

    def _on_selected(self, target: object) -> None:
        """Another device was picked: nothing the pages show of the last one stays (results
        still on their way are dropped by the generation), whether or not the new one answers."""
        self._session = None
        self.context.generation += 1
        self.context.set_capabilities(None)
        self.export_button.setEnabled(False)
        self._detect_pending = False
        self.caps_label.setText("No device selected" if target is None else "Connecting\u2026")

    def _on_snapshot(self, _snapshot: object) -> None:
        self._follow_session()
        session = self.controller.session
        if session is self._session:
            return
        self._session = session
        self.context.generation += 1
        self.context.set_capabilities(None)
        self.export_button.setEnabled(session is not None)
        self._detect_pending = session is not None
        if session is None:
            self.caps_label.setText("No device selected")
        elif self.isVisible():
            self._detect()
        else:  # asked when the user opens diagnostics: connecting stays quick
            self.caps_label.setText("Open this tab to ask the device what it supports.")

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._detect_pending:
            self._detect()

    def _detect(self) -> None:
        self._detect_pending = False
        self.caps_label.setText("Asking the device what it supports\u2026")
        self.context.call(
            detect_capabilities, on_result=self._on_caps, on_error=self.caps_label.setText
        )

    def _on_caps(self, caps: Capabilities) -> None:
        self.context.set_capabilities(caps)
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if isinstance(page, DiagPage):
                usable = caps.support(page.feature) != Support.UNSUPPORTED
                self.tabs.setTabEnabled(index, usable)
                self.tabs.setTabToolTip(index, "" if usable else page.unsupported_label.text())
        missing = [
            FEATURE_TITLE[f.feature]
            for f in caps.features
            if f.support == Support.UNSUPPORTED and f.feature != Feature.ENUM
        ]
        how = "listed by the device" if caps.source == "enum" else "probed (no Enum group)"
        self.caps_label.setText(
            f"Capabilities {how}. Not in this firmware: "
            + (", ".join(missing) if missing else "nothing")
            + "."
        )

    # --- report -----------------------------------------------------------------------------

    def ask_export(self) -> None:
        dialog = ExportDialog(self.context.recent.paths, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        pulls = dialog.chosen()
        name = f"slotwise-report-{dt.datetime.now():%Y%m%d-%H%M%S}.zip"
        target, _ = QFileDialog.getSaveFileName(self, "Save report as", name, "Zip (*.zip)")
        if target:
            self.export_report(Path(target), pulls)

    def export_report(self, out: Path, pulls: list[str]) -> None:
        """Read everything, pull `pulls`, write the bundle (all on the core loop)."""
        session = self.controller.session
        self._follow_session()
        recorder = self.traffic.sink  # filled on the loop thread, read there too
        device_name = session.target.name if session is not None else None
        for path in pulls:
            self.context.recent.add(path)

        async def run(client: SmpClient) -> Report:
            report = await collect_report(
                client, pull=pulls, traffic=recorder, device_name=device_name
            )
            write_bundle(report, out)  # on the core thread: the window stays responsive
            return report

        def done(report: Report) -> None:
            self.export_button.setEnabled(True)
            errors = len(report.errors)
            self.controller.logged.emit(
                "info",
                f"Report written to {out} ({errors} error{'s' if errors != 1 else ''} noted in it)",
            )
            self.report_written.emit(out)

        def failed(text: str) -> None:
            self.export_button.setEnabled(True)
            self.report_failed.emit(text)

        self.export_button.setEnabled(False)
        self.context.call(run, on_result=done, on_error=failed)
