"""Upload flow: pick or drop a file, see the verdict, choose a mode, watch progress, confirm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.bridge import CoreBridge
from app.gui.controller import DeviceController
from app.gui.dialogs.confirm import ask
from app.gui.icons import icon
from app.gui.models.verdict import ASKS_VERSION, UploadCheck, capitalized, check_file, judge
from app.gui.plain_text import plain_label, plain_tip
from app.gui.session import UpdateDone
from app.gui.settings import UPLOAD_MODE_LABELS, UPLOAD_MODES
from app.gui.targets import DeviceSnapshot
from app.gui.widgets.throughput import ThroughputChart
from app.gui.widgets.verdict_view import VerdictView
from app.image.keys import KeyStore
from app.units import format_bytes, format_rate, format_seconds
from app.workflows.preflight import CheckKind
from app.workflows.progress import ProgressEvent, Stage

log = logging.getLogger(__name__)

SETTLE_MS = 120
"""When a grown panel has its final height (word-wrapped labels take a second layout pass)."""
IMAGE_FILTER = "MCUboot images (*.bin *.hex *.zip *.signed);;All files (*)"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    whole = max(0, round(seconds))
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


def describe_progress(event: ProgressEvent) -> str:
    """ "12.0 KiB of the 48.6 KiB file · 40.1 KiB/s · 1 s left · 2 retries · 1 resume"."""
    parts = [f"{format_bytes(event.bytes_acked)} of the {format_bytes(event.total_bytes)} file"]
    if event.rate_bps:
        parts.append(format_rate(event.rate_bps))
    if event.stage is Stage.UPLOADING:
        parts.append(f"{format_duration(event.eta_s)} left")
    parts.append(f"{event.retries} retr{'y' if event.retries == 1 else 'ies'}")
    parts.append(f"{event.resumes} resume{'' if event.resumes == 1 else 's'}")
    return "  \u00b7  ".join(parts)


class UploadPanel(QGroupBox):
    """Driven by a DeviceController; reads keys and preferences through the callables given."""

    file_loaded = Signal(Path)

    def __init__(
        self,
        bridge: CoreBridge,
        controller: DeviceController,
        keys: Callable[[], KeyStore],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Upload an image", parent)
        self.bridge = bridge
        self.controller = controller
        self._keys = keys
        self.path: Path | None = None
        self.check: UploadCheck | None = None
        self.allow_unsigned = False
        self.window_size = 4
        self.reset_wait_s = 20.0
        self.timeout_s = 5.0
        self._file_bytes = 0
        """Size of the file being uploaded, from its progress events."""
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_file_row())
        self.verdict = VerdictView()
        self.verdict.hide()
        layout.addWidget(self.verdict)
        layout.addLayout(self._build_options())
        layout.addLayout(self._build_result())
        layout.addWidget(self._build_progress())
        controller.progress.connect(self.show_progress)
        controller.update_finished.connect(self._on_finished)
        controller.update_failed.connect(self._on_failed)
        controller.snapshot_changed.connect(self._on_snapshot)
        controller.selected.connect(self._on_device_selected)
        controller.busy_changed.connect(self._on_busy)
        controller.failed.connect(self._on_action_failed)
        self._confirming = False
        self.refresh_buttons()

    # --- building ---------------------------------------------------------------------------

    def _build_file_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.file_label = plain_label("Choose a signed image, or drop one onto the window.")
        self.file_label.setWordWrap(True)
        self.file_label.setAccessibleName("Chosen image file")
        self.choose_button = QPushButton(icon("file"), "Choose file\u2026")
        self.choose_button.setAccessibleName("Choose an image file")
        self.choose_button.clicked.connect(self.choose_file)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setAccessibleName("Recent image files")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        # the menu arrow is drawn over the text unless the button makes room for it (a width,
        # not a style sheet: that would drop the theme's palette, white in dark mode)
        self.recent_button.setMinimumWidth(self.recent_button.sizeHint().width() + 14)
        self.demo_button = QPushButton("Use the demo image")
        self.demo_button.setAccessibleName("Use the bundled demo image")
        self.demo_button.hide()
        row.addWidget(self.file_label, 1)
        row.addWidget(self.demo_button)
        row.addWidget(self.recent_button)
        row.addWidget(self.choose_button)
        return row

    def _build_options(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.mode_combo = QComboBox()
        for key in UPLOAD_MODES:
            self.mode_combo.addItem(UPLOAD_MODE_LABELS[key], key)
        self.mode_combo.setAccessibleName("After upload")
        mode_label = QLabel("&After upload:")
        mode_label.setBuddy(self.mode_combo)
        self.override_box = QCheckBox("Upload unsigned development image anyway")
        self.override_box.setAccessibleName("Override: upload an unsigned development image")
        self.override_box.hide()
        self.override_box.toggled.connect(self.refresh_buttons)
        self.upload_button = QPushButton(icon("upload"), "Upload")
        self.upload_button.setObjectName("start-upload")
        self.upload_button.setAccessibleName("Start the upload")
        self.upload_button.clicked.connect(self.start)
        row.addWidget(mode_label)
        row.addWidget(self.mode_combo)
        row.addWidget(self.override_box)
        row.addStretch(1)
        row.addWidget(self.upload_button)
        return row

    def _build_progress(self) -> QWidget:
        self.progress_box = QWidget()
        layout = QVBoxLayout(self.progress_box)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.stage_label = plain_label("")
        self.stage_label.setAccessibleName("Update step")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.bar.setAccessibleName("Upload progress")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setAccessibleName("Cancel the upload")
        self.cancel_button.clicked.connect(self.controller.cancel_upload)
        top.addWidget(self.stage_label)
        top.addWidget(self.bar, 1)
        top.addWidget(self.cancel_button)
        layout.addLayout(top)
        self.detail_label = plain_label("")
        self.detail_label.setAccessibleName("Upload details")
        layout.addWidget(self.detail_label)
        self.chart = ThroughputChart()
        self.chart.apply_palette_text(self.palette().windowText().color())
        layout.addWidget(self.chart)
        self.progress_box.hide()
        return self.progress_box

    def _build_result(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.result_label = plain_label("")
        self.result_label.setWordWrap(True)
        self.result_label.setAccessibleName("Update result")
        self.confirm_button = QPushButton(icon("confirm"), "Confirm")
        self.confirm_button.setObjectName("confirm-after-test")
        self.confirm_button.setAccessibleName("Confirm the image now running")
        self.confirm_button.setToolTip("Keep the new image: MCUboot will not revert it")
        self.confirm_button.clicked.connect(self._confirm)
        self.confirm_button.hide()
        row.addWidget(self.result_label, 1)
        row.addWidget(self.confirm_button)
        return row

    # --- choosing and checking --------------------------------------------------------------

    def set_recent(self, paths: tuple[str, ...]) -> None:
        self.recent_menu.clear()
        for text in paths:
            action = self.recent_menu.addAction(Path(text).name)
            action.setToolTip(text)
            action.triggered.connect(lambda _=False, p=text: self.load(Path(p)))
        self.recent_button.setEnabled(bool(paths))

    def choose_file(self) -> None:
        dialog = QFileDialog(
            self, "Choose an image", str(self.path.parent if self.path else ""), IMAGE_FILTER
        )
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda text: self.load(Path(text)))
        dialog.open()

    def load(self, path: Path) -> None:
        """Verify `path` on the core's worker thread; the verdict appears when it is done."""
        self.result_label.setText("")
        self.confirm_button.hide()
        self.override_box.setChecked(False)
        self.recheck(path)
        self.file_loaded.emit(path)

    def recheck(self, path: Path | None = None) -> None:
        """Verify again (the trusted keys changed), keeping the last result on screen."""
        path = path or self.path
        if path is None:
            return
        self.path = path
        self.check = None
        self.file_label.setText(f"{path.name}  ({path.parent})")
        self.verdict.show()
        self.verdict.show_checking(path.name)
        keys, snapshot = self._keys(), self.controller.snapshot
        self.bridge.submit(
            asyncio.to_thread(check_file, path, keys, snapshot),
            on_result=self._on_checked,
            topic="verdict",
        )
        self.refresh_buttons()

    def _on_checked(self, check: UploadCheck) -> None:
        self.check = check
        self.verdict.show_check(check)
        self.bring_into_view(self.verdict, self.upload_button)  # the next step: Upload
        if not check.ok:
            self.controller.logged.emit("warn", f"{check.path.name}: {check.headline}")
        self.refresh_buttons()

    def _on_device_selected(self, _target: object) -> None:
        """Nothing of the previous device stays: its progress, result and Confirm go, and the
        chosen file's verdict is judged again without a device until the new one is read."""
        self._confirming = False
        self.progress_box.hide()
        self.chart.clear()
        self.bar.setValue(0)
        self.stage_label.setText("")
        self.detail_label.setText("")
        self._set_result("")
        self.confirm_button.hide()
        if self.check is not None and self.path is not None:
            self.check = judge(self.path, self.check.verdicts, None)
            self.verdict.show_check(self.check)
        self.refresh_buttons()

    def _on_busy(self, label: str) -> None:
        """Another action on the device (roll back, test, erase, reset) makes the upload's
        result history: its sentence and its Confirm would speak of a state that is gone."""
        if not label or self.controller.uploading or self._confirming:
            return
        self.progress_box.hide()
        self.confirm_button.hide()
        self._set_result("")

    def _set_result(self, text: str, error: bool = False) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #d64545" if error else "")

    def _on_action_failed(self, text: str) -> None:
        if self._confirming:
            self._confirming = False
            self._set_result(f"Not confirmed: {text}", error=True)
            self.confirm_button.show()

    def _on_snapshot(self, snapshot: DeviceSnapshot) -> None:
        if self._confirming:
            self._confirming = False
            running = snapshot.running()
            if running is not None and running.confirmed:
                self._set_result(f"Confirmed: the device keeps version {running.version}.")
            else:
                self._set_result("The device did not confirm the running image.", error=True)
                self.confirm_button.show()
        if self.check is not None and self.path is not None:  # re-judge version and size
            self.check = judge(self.path, self.check.verdicts, snapshot)
            self.verdict.show_check(self.check)
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        check = self.check
        override = bool(check and check.unsigned and self.allow_unsigned)
        self.override_box.setVisible(override)
        allowed = (
            check is not None
            and not check.nothing_to_send
            and (check.ok or check.unproven or (override and self.override_box.isChecked()))
        )
        ready = (
            self.controller.snapshot is not None
            and not self.controller.uploading
            and not self.controller.busy
        )
        self.upload_button.setEnabled(bool(allowed and ready))
        self.choose_button.setEnabled(not self.controller.uploading)
        self.cancel_button.setEnabled(self.controller.uploading)

    # --- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Upload, after asking once when the mode makes the image permanent (no automatic
        way back, as a slot card's Confirm and the CLI's --yes), the file is older than what
        runs (the workflow refuses a downgrade unless the user said yes to this one), its
        contents could not be checked (encrypted, no decryption key), or it is an
        `imgtool sign --clear` image meant for the primary slot. Every question defaults
        to No."""
        check = self.check
        if check is None or self.path is None or not self.upload_button.isEnabled():
            return
        permanent = self.mode_combo.currentData() == "confirm"
        questions = self._questions(check, permanent=permanent)
        answered = frozenset(c.kind for c in check.questions)  # what a yes answers
        if not questions:
            self._start_confirmed()
            return
        titles, sentences, actions = zip(*questions, strict=True)
        ask(
            self,
            " ".join(titles),
            " ".join(sentences),
            actions[0] if len(actions) == 1 else "Upload anyway",
            lambda: self._start_confirmed(answered),
        )

    def _questions(self, check: UploadCheck, *, permanent: bool) -> list[tuple[str, str, str]]:
        """(title, consequence, action) for each thing the user must agree to: the policy's
        ASK findings, in its own sentences, then the mode's."""
        said = {c.kind: f"{capitalized(c.sentence)}." for c in check.questions}
        questions = []
        if CheckKind.ENCRYPTED_UNPROVEN in said:
            questions.append(
                (
                    "Upload an encrypted image whose contents were not checked?",
                    said[CheckKind.ENCRYPTED_UNPROVEN],
                    "Upload without the check",
                )
            )
        if CheckKind.CLEAR_PAYLOAD in said:
            questions.append(
                (
                    "Upload an image meant for the primary slot?",
                    said[CheckKind.CLEAR_PAYLOAD],
                    "Upload anyway",
                )
            )
        if CheckKind.VERSION_UNKNOWN in said:
            questions.append(
                (
                    f"Install version {check.version or 'of this image'} over "
                    f"{self._running_version(check)!r}, which is not a version number?",
                    said[CheckKind.VERSION_UNKNOWN],
                    "Install anyway",
                )
            )
        elif CheckKind.DOWNGRADE in said:
            questions.append(
                (
                    f"Install the older version {check.version or 'of this image'} over "
                    f"{self._running_version(check)}?",
                    f"{said[CheckKind.DOWNGRADE]} A bootloader with downgrade prevention "
                    "will not boot it.",
                    "Install the older version",
                )
            )
        if permanent:
            questions.append(
                (
                    "Make the new image permanent?",
                    "After the upload the image is marked permanent: on the next reset "
                    "MCUboot switches to it for good, and if it does not start there "
                    "is no automatic way back.",
                    "Upload and make permanent",
                )
            )
        return questions

    def _running_version(self, check: UploadCheck) -> str:
        snapshot = self.controller.snapshot
        image = (check.verdicts[0].image_index or 0) if check.verdicts else 0
        running = snapshot.running(image) if snapshot is not None else None
        return running.version if running is not None and running.version else "the running one"

    def _start_confirmed(self, answered: frozenset[CheckKind] = frozenset()) -> None:
        """Start the update; `answered`, the findings the user said yes to, only ever comes
        from the question."""
        from app.client.upload import UploadOptions
        from app.workflows.update import UpdateOptions
        from app.workflows.update_types import Mode

        check = self.check
        # the dialog is window-modal but the device or file may have changed meanwhile
        if check is None or self.path is None or not self.upload_button.isEnabled():
            return
        keys: KeyStore | None = self._keys()
        allow_unproven = CheckKind.ENCRYPTED_UNPROVEN in answered
        if allow_unproven:  # the explicit, logged choice
            self.controller.logged.emit(
                "warn",
                f"CHOICE: uploading encrypted image {self.path.name} whose contents were not "
                "checked (no decryption key); its signature is valid",
            )
        elif not check.ok:  # the explicit, logged development override
            keys = None
            self.controller.logged.emit(
                "warn",
                f"OVERRIDE: uploading unsigned image {self.path.name} without a "
                "signature check (development devices only)",
            )
        options = UpdateOptions(
            mode=Mode(self.mode_combo.currentData()),
            allow_downgrade=bool(answered & set(ASKS_VERSION)),
            allow_encrypted_unproven=allow_unproven,
            allow_clear_payload=CheckKind.CLEAR_PAYLOAD in answered,
            reboot_timeout_s=self.reset_wait_s,
            upload=UploadOptions(
                window=self.window_size,
                # no progress for a few answer timeouts: the device is gone
                stall_timeout_s=max(4 * self.timeout_s, 2.0),
                reconnect_timeout_s=max(4 * self.timeout_s, 2.0),
            ),
        )
        self.result_label.setText("")
        self.confirm_button.hide()
        self.chart.clear()
        self._file_bytes = 0
        self.bar.setValue(0)
        self.stage_label.setText("Starting")
        self.detail_label.setText("")
        self.progress_box.show()
        self.bring_into_view(self.progress_box)
        self.controller.upload(self.path, keys, options)
        self.refresh_buttons()

    def show_progress(self, event: ProgressEvent) -> None:
        self.stage_label.setText(event.stage.value.capitalize())
        if event.total_bytes:
            self.bar.setValue(int(1000 * event.fraction))
        elif event.stage is not Stage.UPLOADING and self.bar.value() > 0:
            self.bar.setValue(self.bar.maximum())  # past the upload: the device has every byte
        if event.total_bytes:
            self.detail_label.setText(describe_progress(event))
            self._file_bytes = event.total_bytes
        elif event.stage in (Stage.RESETTING, Stage.WAITING) and self._file_bytes:
            # the byte count is the last upload event's ("45.1 of 48.6 KiB" read at 100%):
            # past the upload, say the file is sent and what happens now
            sent = f"All {format_bytes(self._file_bytes)} sent"
            self.detail_label.setText(f"{sent}  \u00b7  {event.message}" if event.message else sent)
        if event.stage not in (Stage.DONE, Stage.FAILED):  # the step in words, or nothing
            text = event.message[:1].upper() + event.message[1:]
            self.stage_label.setToolTip(plain_tip(text))  # may quote the device's words
            self.result_label.setText(text)
            self.result_label.setStyleSheet("")
        if event.stage is Stage.UPLOADING and event.rate_bps:
            self.chart.add_point(event.elapsed_s, event.rate_bps)
        self.refresh_buttons()

    def bring_into_view(self, *widgets: QWidget) -> None:
        """Scroll the pane holding the panel so the step the technician is on shows (the
        panel sits below the slots; on a laptop screen it starts out of view). Queued: a
        widget shown just now has its place only after the next layout pass."""
        scroll = self._scroll_area()
        if scroll is None:
            return

        def scroll_to() -> None:
            for widget in widgets:  # the last one wins where they cannot all show
                if widget.isVisible():
                    scroll.ensureWidgetVisible(widget, 8, 8)

        # with the panel as context: a window closed meanwhile takes the calls with it
        QTimer.singleShot(0, self, scroll_to)
        # wrapped labels (the verdict) settle their height a pass later: scroll once more
        QTimer.singleShot(SETTLE_MS, self, scroll_to)

    def _scroll_area(self) -> QScrollArea | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        return parent

    def _on_finished(self, done: UpdateDone) -> None:
        self.bring_into_view(self.progress_box, self.result_label, self.confirm_button)
        self.result_label.setText(done.result.message)
        self.result_label.setStyleSheet("" if done.result.ok else "color: #d64545")
        self.confirm_button.setVisible(done.result.can_confirm)
        self.stage_label.setText("Done" if done.result.ok else "Finished")
        if done.result.ok:
            self.bar.setValue(self.bar.maximum())
        stats = [i.upload for i in done.result.images if i.upload is not None]
        if stats:
            s = stats[-1]
            self.detail_label.setText(
                f"{format_bytes(s.total_bytes)} file uploaded in {format_seconds(s.elapsed_s)} at "
                f"{format_rate(s.rate_bps)}  \u00b7  {s.retries} retries  \u00b7  "
                f"{s.resumes} resumes"
            )
        self.refresh_buttons()

    def _on_failed(self, text: str) -> None:
        self.bring_into_view(self.result_label)
        self.result_label.setText(f"{text} Upload again to resume where it stopped.")
        self.result_label.setStyleSheet("color: #d64545")
        self.stage_label.setText("Stopped")
        self.refresh_buttons()

    def _confirm(self) -> None:
        self.confirm_button.hide()
        self._set_result("Confirming the running image\u2026")
        self._confirming = True
        self.controller.confirm(None)
