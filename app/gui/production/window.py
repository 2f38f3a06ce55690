"""The production window: job summary, start/stop, device cards, barcode field, results table.

Everything slow happens on the core loop: the job file is parsed, hashed and verified there,
and the batch or station runs there (ProductionController); this window only shows events.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.bridge import CoreBridge
from app.gui.errors import describe_error
from app.gui.icons import icon
from app.gui.plain_text import plain_label
from app.gui.production.barcode import BarcodeBar
from app.gui.production.card import DeviceCard
from app.gui.production.controller import Counters, ProductionController
from app.gui.production.lock import (
    LeaveOperatorDialog,
    LockableWindow,
    settings_password_hash,
)
from app.gui.production.results_model import ResultsModel
from app.gui.production.summary import JobSummary
from app.gui.settings import AppSettings
from app.workflows.batch import BoardEvent, Connect
from app.workflows.job import Job, load_job
from app.workflows.results import ResultRow, ResultsLog
from app.workflows.station import Finder
from app.workflows.supervisor import is_password_hash

log = logging.getLogger(__name__)

CARD_WIDTH = 270


def results_path_for(job: Job) -> Path:
    """Where a job's rows go by default: `<job>-results.csv` (and .jsonl) beside the job file."""
    base = job.path if job.path is not None else job.image_path
    return base.with_name(f"{base.stem}-results.csv")


class ProductionWindow(QMainWindow):
    """One job on one station. `main` (the main window) is locked along in operator mode."""

    job_loaded = Signal(object)
    operator_changed = Signal(bool)

    def __init__(
        self,
        bridge: CoreBridge,
        settings: AppSettings | None = None,
        main: LockableWindow | None = None,
        parent: QWidget | None = None,
        *,
        connect: Connect | None = None,
        finder: Finder | None = None,
        results_path: Path | None = None,
        poll_s: float = 1.0,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.setObjectName("production-window")
        self.bridge = bridge
        self.settings = settings
        self.main = main
        self.job: Job | None = None
        self.controller: ProductionController | None = None
        self.operator = False
        self.leave_dialog: LeaveOperatorDialog | None = None
        self.cards: dict[str, DeviceCard] = {}
        self._connect = connect
        self._finder = finder
        self._results_path = results_path
        self._poll_s = poll_s
        self.results = ResultsModel()
        self._build()
        self._refresh_controls()
        self.setWindowTitle("Production \u2014 Slotwise")
        self.resize(1180, 820)

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        holder = QWidget()
        layout = QVBoxLayout(holder)
        self.summary = JobSummary()
        layout.addWidget(self.summary)
        layout.addLayout(self._build_controls())
        self.barcode = BarcodeBar()
        self.barcode.scanned.connect(self._on_scanned)
        self.barcode.hide()
        layout.addWidget(self.barcode)
        self.card_holder = QWidget()
        self.card_grid = QGridLayout(self.card_holder)
        self.card_grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.card_scroll = QScrollArea()
        self.card_scroll.setWidgetResizable(True)
        self.card_scroll.setWidget(self.card_holder)
        self.table = QTableView()
        self.table.setObjectName("results-table")
        self.table.setModel(self.results)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(
            self.results.columnCount() - 1, QHeaderView.ResizeMode.Stretch
        )  # the reason; full in a tip
        self.results.rowsInserted.connect(self._on_rows_inserted)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.card_scroll)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        self.card_scroll.setMinimumHeight(200)  # at least one row of cards, whatever the table
        self.table.setMinimumHeight(120)
        split.setSizes([480, 260])
        layout.addWidget(split, 1)
        self.setCentralWidget(holder)
        self.status = plain_label("Open a job to start.")
        self.status.setObjectName("production-status")
        self.status.setWordWrap(True)
        self.statusBar().addWidget(self.status, 1)

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()

        def button(text: str, icon_name: str, tip: str) -> QPushButton:
            b = QPushButton(icon(icon_name), text)
            b.setToolTip(tip)
            b.setMinimumHeight(36)
            row.addWidget(b)
            return b

        self.start_button = button("Start batch", "upload", "Flash every board the job lists")
        self.station_button = button(
            "Start station", "refresh", "Keep flashing each board that appears (station mode)"
        )
        self.stop_button = button(
            "Stop", "cancel", "Start no more boards; boards in progress finish"
        )
        self.rerun_button = button("Re-run failed", "reset", "Flash the failed boards again")
        row.addStretch(1)
        self.load_button = button("Open job\u2026", "file", "Load a TOML job file")
        self.settings_button = button("Settings\u2026", "settings", "Application settings")
        self.operator_button = button("Operator mode", "key", "Lock this station to the loaded job")
        self.start_button.clicked.connect(self.start_batch)
        self.station_button.clicked.connect(self.start_station)
        self.stop_button.clicked.connect(self.stop)
        self.rerun_button.clicked.connect(self.rerun_failed)
        self.load_button.clicked.connect(self.choose_job)
        self.settings_button.clicked.connect(self._open_settings)
        self.operator_button.clicked.connect(self._toggle_operator)
        self.settings_button.setVisible(self.main is not None)
        QShortcut(QKeySequence("F5"), self, self.start_batch)
        QShortcut(QKeySequence("Ctrl+R"), self, self.rerun_failed)
        return row

    def _refresh_controls(self) -> None:
        running = self.controller is not None and self.controller.running
        loaded = self.controller is not None
        failed = loaded and any(not r.passed for r in self.controller.final.values())  # type: ignore[union-attr]
        self.start_button.setEnabled(
            loaded and not running and bool(self.job and self.job.targets.devices)
        )
        self.station_button.setEnabled(loaded and not running)
        self.stop_button.setEnabled(running)
        self.rerun_button.setEnabled(bool(failed) and not running)
        self.load_button.setVisible(not self.operator)
        self.load_button.setEnabled(not running)
        self.settings_button.setVisible(
            not self.operator and self.main is not None and hasattr(self.main, "open_settings")
        )
        self.operator_button.setText(
            "Leave operator mode\u2026" if self.operator else "Operator mode"
        )
        self.operator_button.setEnabled(loaded)

    # --- the job ----------------------------------------------------------------------------

    def choose_job(self) -> None:
        if self.operator:
            return
        dialog = QFileDialog(self, "Open a production job", "", "Job files (*.toml)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: self.load_job_file(Path(path)))
        dialog.open()

    def load_job_file(self, path: Path, *, operator: bool = False) -> None:
        """Parse, hash and verify `path` on the core loop; show it when done.

        `operator`: enter operator mode once the job is shown (when it has a password)."""
        if self.operator or (self.controller is not None and self.controller.running):
            return
        self.status.setText(f"Loading and verifying {path.name}\u2026")

        def loaded(job: Job) -> None:
            self.set_job(job)
            if operator:
                self.enter_operator_mode()

        self.bridge.submit(
            asyncio.to_thread(load_job, path),
            on_result=loaded,
            on_error=lambda exc: self.status.setText(
                f"The job was not loaded: {describe_error(exc)}"
            ),
        )

    def set_job(self, job: Job) -> None:
        """Show `job` and get ready to run it (the job is already verified)."""
        self.job = job
        path = self._results_path or results_path_for(job)
        controller = ProductionController(
            self.bridge,
            job,
            ResultsLog.for_report(path),
            connect=self._connect,
            finder=self._finder,
            poll_s=self._poll_s,
        )
        controller.board.connect(self._on_board)
        controller.row_logged.connect(self._on_row)
        controller.running_changed.connect(lambda _r: self._refresh_controls())
        controller.finished.connect(self._on_finished)
        controller.barcode_wanted.connect(self._on_barcode_wanted)
        controller.counters_changed.connect(self._on_counters)
        self.controller = controller
        self.summary.show_job(job)
        self.summary.show_counters(Counters())
        for card in self.cards.values():
            card.setParent(None)
            card.deleteLater()
        self.cards.clear()
        for device in job.targets.devices:
            self._card(device)
        self.barcode.setVisible(job.barcode_require in ("before", "after"))
        self.setWindowTitle(f"{job.name} \u2014 Production \u2014 Slotwise")
        self.status.setText(f"Job {job.name} loaded and verified; results go to {path}.")
        self._refresh_controls()
        self.job_loaded.emit(job)

    # --- running ----------------------------------------------------------------------------

    def start_batch(self) -> None:
        if self.controller is not None and self.controller.start_batch():
            self.status.setText("Flashing the job's boards\u2026")

    def start_station(self) -> None:
        if self.controller is not None and self.controller.start_station():
            self.status.setText("Station mode: waiting for boards\u2026")

    def stop(self) -> None:
        if self.controller is not None and self.controller.running:
            self.controller.stop()
            self.status.setText("Stopping: boards in progress finish, no new board starts\u2026")

    def rerun_failed(self) -> None:
        if self.controller is None:
            return
        failed = self.controller.rerun_failed()
        if failed:
            self.status.setText(f"Flashing {len(failed)} failed board(s) again\u2026")

    def _card(self, device: str) -> DeviceCard:
        card = self.cards.get(device)
        if card is None:
            card = DeviceCard(device)
            self.cards[device] = card
            self._place_cards()
        return card

    def _place_cards(self) -> None:
        columns = max(1, self.card_scroll.viewport().width() // CARD_WIDTH)
        for i, card in enumerate(self.cards.values()):
            self.card_grid.addWidget(card, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)
            card.show()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_cards()

    def _on_board(self, event: BoardEvent) -> None:
        self._card(event.device).update_event(event)

    def _on_row(self, _row: ResultRow) -> None:
        self.results.append(_row)
        self._refresh_controls()

    def _on_rows_inserted(self) -> None:
        # sized from the rows themselves; the reason column (last) takes what is left
        for column in range(self.results.columnCount() - 1):
            self.table.resizeColumnToContents(column)
        self.table.scrollToBottom()

    def _on_counters(self, counters: Counters) -> None:
        self.summary.show_counters(counters)

    def _on_finished(self, text: str) -> None:
        self.status.setText(text)
        self._refresh_controls()

    def _on_barcode_wanted(self, device: str) -> None:
        for spec, card in self.cards.items():
            card.set_scanning(spec == device)
        if device:
            self._card(device).set_scanning(True)
            self.raise_()
            self.activateWindow()
        self.barcode.wait_for(device)

    def _on_scanned(self, device: str, text: str) -> None:
        if self.controller is not None:
            self.controller.submit_barcode(device, text)

    # --- operator mode ----------------------------------------------------------------------

    def password_hash(self) -> str | None:
        """The supervisor password's stored hash: the job's, else the settings'."""
        if self.job is not None and self.job.supervisor_password_hash:
            return self.job.supervisor_password_hash
        return settings_password_hash(self.settings)

    def enter_operator_mode(self) -> bool:
        """Lock to the loaded job; refused without a job or without a supervisor password."""
        if self.operator:
            return True
        if self.job is None:
            self.status.setText("Load a job before entering operator mode.")
            return False
        expected = self.password_hash()
        if not expected:
            self.status.setText(
                "Operator mode needs a supervisor password: set "
                "supervisor_password in the job's [job] table (slotwise flash --hash-password)."
            )
            return False
        if not is_password_hash(expected):
            self.status.setText(
                "Operator mode refused: supervisor_password must be a hash made by "
                "slotwise flash --hash-password (or, in an older job, the 64 hex digits of "
                "the password's SHA-256), so it can be left."
            )
            return False
        self._set_operator(True)
        self.status.setText(f"Operator mode: this station runs job {self.job.name} only.")
        return True

    def request_leave(self) -> LeaveOperatorDialog | None:
        """Ask for the supervisor password (non-blocking); the right one leaves operator mode."""
        expected = self.password_hash()
        if not self.operator or expected is None:
            return None
        if self.leave_dialog is None:
            dialog = LeaveOperatorDialog(expected, self)
            dialog.accepted.connect(lambda: self._set_operator(False))
            dialog.finished.connect(lambda _r: self._forget_dialog(dialog))
            self.leave_dialog = dialog
        self.leave_dialog.open()
        return self.leave_dialog

    def _forget_dialog(self, dialog: LeaveOperatorDialog) -> None:
        if self.leave_dialog is dialog:
            self.leave_dialog = None
        dialog.deleteLater()

    def _toggle_operator(self) -> None:
        if self.operator:
            self.request_leave()
        else:
            self.enter_operator_mode()

    def _set_operator(self, on: bool) -> None:
        self.operator = on
        if self.main is not None:
            self.main.set_operator_lock(on)
        if not on:
            self.status.setText("Operator mode left.")
        title = self.job.name if self.job else "Production"
        prefix = "OPERATOR MODE \u2014 " if on else ""
        self.setWindowTitle(f"{prefix}{title} \u2014 Production \u2014 Slotwise")
        self._refresh_controls()
        self.operator_changed.emit(on)

    def _open_settings(self) -> None:
        if not self.operator and self.main is not None:
            self.main.open_settings()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.operator:
            event.ignore()
            self.status.setText("Operator mode is on: a supervisor leaves it first.")
            return
        if self.controller is not None and self.controller.running:
            event.ignore()
            self.stop()
            self.status.setText("Stop the run first (boards in progress finish).")
            return
        super().closeEvent(event)
