"""Shown instead of the upload panel while MCUboot's serial recovery answers: what the
bootloader says, and "Restore firmware" (verify, warn, write, reset, watch the app return)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.bridge import CoreBridge
from app.gui.controller import DeviceController
from app.gui.dialogs.confirm import ask
from app.gui.errors import describe_error
from app.gui.icons import icon
from app.gui.plain_text import plain_label
from app.gui.session import RecoverDone
from app.gui.targets import DeviceSnapshot
from app.gui.widgets.upload_panel import IMAGE_FILTER, describe_progress
from app.image.keys import KeyStore
from app.units import format_seconds
from app.workflows.progress import ProgressEvent, Stage
from app.workflows.update_types import UpdateImage


class RecoveryPanel(QGroupBox):
    """Visible only while the selected board is in MCUboot serial recovery; it hides the
    widgets given as `replaces` (the upload panel) meanwhile."""

    def __init__(
        self,
        bridge: CoreBridge,
        controller: DeviceController,
        keys: Callable[[], KeyStore],
        replaces: list[QWidget],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("MCUboot serial recovery", parent)
        self.setObjectName("recovery-panel")
        self.bridge = bridge
        self.controller = controller
        self._keys = keys
        self._replaces = replaces
        self.warning: QMessageBox | None = None
        """The open "Restore firmware?" question, if any."""
        self._restored = False
        """A restore just finished: stay on screen with its result until another device."""
        layout = QVBoxLayout(self)
        self.state_label = QLabel("")
        self.state_label.setTextFormat(Qt.TextFormat.RichText)  # bold head; lines escaped
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName("What the bootloader's recovery reports")
        layout.addWidget(self.state_label)
        layout.addLayout(self._build_actions())
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Restore progress")
        self.progress_label = plain_label("")
        self.progress_label.setAccessibleName("Restore progress in words")
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)
        self.result_label = QLabel("")
        self.result_label.setTextFormat(Qt.TextFormat.RichText)  # bold verdict; text escaped
        self.result_label.setWordWrap(True)
        self.result_label.setAccessibleName("Restore result")
        layout.addWidget(self.result_label)
        self._show_progress_widgets(False)
        controller.snapshot_changed.connect(self.show_snapshot)
        controller.selected.connect(self._on_selected)
        controller.progress.connect(self._on_progress)
        controller.recovery_finished.connect(self._on_finished)
        controller.recovery_failed.connect(self._on_failed)
        self._set_recovery(None)

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.restore_button = QPushButton(icon("file"), "Restore firmware\u2026")
        self.restore_button.setAccessibleName("Restore firmware through the bootloader")
        self.restore_button.setToolTip(
            "Write a signed image straight into the primary slot, then reset the board"
        )
        self.restore_button.clicked.connect(self.choose_file)
        row.addWidget(self.restore_button)
        self.done_button = QPushButton("Back to uploads")
        self.done_button.setAccessibleName("Close the restore result")
        self.done_button.clicked.connect(self.dismiss)
        row.addWidget(self.done_button)
        row.addStretch(1)
        return row

    # --- state --------------------------------------------------------------------------------

    def show_snapshot(self, snapshot: DeviceSnapshot) -> None:
        self._set_recovery(snapshot.recovery)

    def _on_selected(self, _target: object) -> None:
        self._restored = False
        self.result_label.setText("")
        self._set_recovery(None)

    def _set_recovery(self, lines: tuple[str, ...] | None) -> None:
        in_recovery = lines is not None
        self.setVisible(in_recovery or self._restored)
        self.restore_button.setVisible(in_recovery)
        self.done_button.setVisible(not in_recovery and self._restored)
        for widget in self._replaces:
            widget.setVisible(not in_recovery and not self._restored)
        if not in_recovery and self._restored:
            self.state_label.setText("The bootloader has handed over to the application.")
        elif lines:
            head, *rest = lines
            self.state_label.setText(
                f"<b>{html.escape(head)}</b><br>" + "<br>".join(html.escape(x) for x in rest)
            )

    # --- the flow: file, verdict, warning, restore ----------------------------------------------

    def choose_file(self) -> None:
        dialog = QFileDialog(self, "Choose the firmware to restore", "", IMAGE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda text: self.verify(Path(text)))
        dialog.open()

    def verify(self, path: Path) -> None:
        """Verify `path` off the GUI thread (the same verification as upload), then warn."""
        from app.workflows.images import load_update_images

        keys = self._keys()
        self.result_label.setText(f"Verifying {path.name}\u2026")
        self.bridge.submit(
            asyncio.to_thread(load_update_images, path, keys if len(keys) else None),
            on_result=lambda images: self._ask(path, images),
            on_error=lambda exc: self.result_label.setText(
                f"<b>Not restored:</b> {html.escape(describe_error(exc))}"
            ),
        )

    def _ask(self, path: Path, images: list[UpdateImage]) -> None:
        if len(images) != 1:
            self.result_label.setText(
                "<b>Not restored:</b> restoring writes one image; choose a .bin or .hex, "
                "not a package."
            )
            return
        item = images[0]
        keys = self._keys()
        signature = (
            "Its signature verified with a trusted key."
            if len(keys)
            else "Its signature was NOT checked (no trusted key): MCUboot refuses an image "
            "not signed with the board's key, and the board then stays in recovery."
        )
        self.result_label.setText("")
        self.warning = ask(
            self,
            "Restore firmware?",
            f"{path.name}, version {item.version.smp_text}, is written straight into the "
            f"primary slot of image {item.image}: whatever is there now is erased and lost, "
            f"and there is no test boot and no way back. {signature} Keep the board powered "
            "and connected until the application is back.",
            "Erase and restore",
            lambda: self._start(path),
        )

    def _start(self, path: Path) -> None:
        keys = self._keys()
        self.restore_button.setEnabled(False)
        self.progress_bar.setValue(0)
        self._show_progress_widgets(True)
        self.controller.recover(path, keys if len(keys) else None)

    def _show_progress_widgets(self, shown: bool) -> None:
        self.progress_bar.setVisible(shown)
        self.progress_label.setVisible(shown)

    def _on_progress(self, event: ProgressEvent) -> None:
        if not self.isVisible():
            return
        if event.stage is Stage.UPLOADING and event.total_bytes:
            self.progress_bar.setValue(int(event.fraction * 100))
            self.progress_label.setText(describe_progress(event))
        elif event.message:
            self.progress_label.setText(event.message)

    def _on_finished(self, done: RecoverDone) -> None:
        self._restored = True
        self._set_recovery(done.snapshot.recovery)
        self.restore_button.setEnabled(True)
        self._show_progress_widgets(False)
        stats = done.result.upload
        self.result_label.setText(
            f"<b>Restored:</b> {html.escape(done.result.message)} "
            f"({stats.total_bytes} bytes in {format_seconds(stats.elapsed_s)})"
        )

    def _on_failed(self, text: str) -> None:
        self.restore_button.setEnabled(True)
        self._show_progress_widgets(False)
        self.result_label.setText(f"<b>Not restored:</b> {html.escape(text)}")

    def dismiss(self) -> None:
        """Back to the usual upload panel after reading a restore's result."""
        self._restored = False
        self._set_recovery(None)
