"""File system browser: status, download and upload with progress, and the device's hash
compared with a local file. SMP has no directory listing, so paths the user has used are
remembered and offered again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.errors import SlotwiseError
from app.gui.diagnostics.base import DiagContext, DiagPage
from app.units import format_rate
from app.workflows import fs_transfer
from app.workflows.diagnostics import Feature
from app.workflows.fs_transfer import HashCheck, TransferProgress


class LocalFileError(SlotwiseError):
    """A local file could not be read or written."""


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LocalFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


class FilesPage(DiagPage):
    feature = Feature.FS
    title = "Files"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        row = QHBoxLayout()
        row.addWidget(QLabel("Device path:"))
        self.path = QComboBox()
        self.path.setEditable(True)
        if (edit := self.path.lineEdit()) is not None:
            edit.setPlaceholderText("/lfs/log.txt")
        self.path.setAccessibleName("Device file path")
        row.addWidget(self.path, 1)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("status", "Status", self.read_status),
            ("download", "Download\u2026", self._pick_download),
            ("upload", "Upload\u2026", self._pick_upload),
            ("compare", "Compare with local file\u2026", self._pick_compare),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.last_check: HashCheck | None = None
        self._fill_recent()

    def _fill_recent(self, current: str | None = None) -> None:
        text = current if current is not None else self.path.currentText()
        self.path.blockSignals(True)
        self.path.clear()
        self.path.addItems(self.context.recent.paths)
        self.path.setEditText(text)
        self.path.blockSignals(False)

    def remote(self) -> str | None:
        path = self.path.currentText().strip()
        if not path.startswith("/"):
            self.show_error("Enter an absolute device path, e.g. /lfs/log.txt.")
            return None
        self.context.recent.add(path)
        self._fill_recent(path)
        return path

    def _busy(self, busy: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(not busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def _on_progress(self, p: TransferProgress) -> None:
        self.progress.setRange(0, max(p.total_bytes, 1))
        self.progress.setValue(p.done_bytes)
        rate = f", {format_rate(p.rate_bps)}" if p.rate_bps else ""
        self.progress.setFormat(f"{p.done_bytes} / {p.total_bytes} B{rate}")

    def _failed(self, text: str) -> None:
        self._busy(False)
        self.show_error(text)

    # --- actions ----------------------------------------------------------------------------

    def read_status(self) -> None:
        remote = self.remote()
        if remote is None:
            return
        self.context.call(
            lambda c: c.file_status(remote),
            on_result=lambda n: self.show_info(f"{remote}: {n} bytes"),
            on_error=self.show_error,
            feature=Feature.FS,
        )

    def _pick_download(self) -> None:
        remote = self.remote()
        if remote is None:
            return
        name = remote.rstrip("/").rsplit("/", 1)[-1]
        target, _ = QFileDialog.getSaveFileName(self, "Save device file as", name)
        if target:
            self.download_to(Path(target))

    def _pick_upload(self) -> None:
        source, _ = QFileDialog.getOpenFileName(self, "File to upload to the device")
        if source:
            self.upload_from(Path(source))

    def _pick_compare(self) -> None:
        source, _ = QFileDialog.getOpenFileName(self, "Local file to compare with")
        if source:
            self.compare_with(Path(source))

    def download_to(self, local: Path) -> None:
        remote = self.remote()
        if remote is None:
            return
        report = self.context.bridge.throttle(self._on_progress)

        async def run(client: SmpClient) -> int:
            try:
                data = await fs_transfer.download(client, remote, progress=report)
            finally:
                report.flush()
            try:  # written on the core thread: a slow disk never freezes the window
                local.write_bytes(data)
            except OSError as exc:
                raise LocalFileError(f"cannot write {local}: {exc.strerror or exc}") from exc
            return len(data)

        def done(size: int) -> None:
            self._busy(False)
            self.show_info(f"Downloaded {remote} to {local} ({size} bytes).")

        self._busy(True)
        self.context.call(run, on_result=done, on_error=self._failed, feature=Feature.FS)

    def upload_from(self, local: Path) -> None:
        remote = self.remote()
        if remote is None:
            return
        report = self.context.bridge.throttle(self._on_progress)

        async def run(client: SmpClient) -> HashCheck:
            data = _read(local)
            try:
                await fs_transfer.upload(client, remote, data, progress=report)
            finally:
                report.flush()
            return await fs_transfer.hash_check(client, remote, data)

        def done(check: HashCheck) -> None:
            self._busy(False)
            self.last_check = check
            verdict = "verified" if check.matches else "but the device's hash DIFFERS"
            self.show_info(
                f"Uploaded {local.name} to {remote} ({check.local_length} bytes), "
                f"{verdict} ({check.algorithm})."
            )

        self._busy(True)
        self.context.call(run, on_result=done, on_error=self._failed, feature=Feature.FS)

    def compare_with(self, local: Path) -> None:
        remote = self.remote()
        if remote is None:
            return

        async def run(client: SmpClient) -> HashCheck:
            return await fs_transfer.hash_check(client, remote, _read(local))

        def done(check: HashCheck) -> None:
            self.last_check = check
            text = (
                f"{check.algorithm}: device {check.device_digest} "
                f"({check.device_length} B), local {check.local_digest} "
                f"({check.local_length} B)"
            )
            if check.matches:
                self.show_info(f"Same file. {text}")
            else:
                self.show_error(f"The files differ. {text}")

        self.context.call(run, on_result=done, on_error=self.show_error, feature=Feature.FS)
