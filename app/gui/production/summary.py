"""The job summary at the top of the production view: what is flashed, how, and the counters."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.gui.plain_text import plain_label, plain_tip
from app.gui.production.controller import Counters
from app.workflows.job import Job

HASH_PREFIX = 16
"""Hex digits of the image hash shown: enough to tell images apart at a glance."""


def _counter(title: str, colour: str) -> tuple[QWidget, QLabel]:
    box = QFrame()
    box.setObjectName("counter")
    layout = QVBoxLayout(box)
    layout.setContentsMargins(10, 4, 10, 4)
    value = plain_label("0")
    font = value.font()
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * 2.2)
    font.setBold(True)
    value.setFont(font)
    value.setAlignment(Qt.AlignmentFlag.AlignCenter)
    value.setStyleSheet(f"color: {colour};")
    caption = QLabel(title)
    caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
    layout.addWidget(value)
    layout.addWidget(caption)
    return box, value


class JobSummary(QFrame):
    """Job name, image file, version, hash prefix, mode, keys, station; four counters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("job-summary")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.title = plain_label("No job loaded")
        font = self.title.font()
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        left.addWidget(self.title)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        self.fields: dict[str, QLabel] = {}
        names = (
            ("image", "Image"),
            ("version", "Version"),
            ("hash", "Hash"),
            ("mode", "Mode"),
            ("keys", "Keys"),
            ("station", "Station"),
        )
        for i, (key, text) in enumerate(names):
            caption = QLabel(f"{text}:")
            caption.setStyleSheet("color: palette(placeholder-text);")
            value = plain_label("\u2014")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setObjectName(f"summary-{key}")
            grid.addWidget(caption, i // 3, (i % 3) * 2)
            grid.addWidget(value, i // 3, (i % 3) * 2 + 1)
            self.fields[key] = value
        grid.setColumnStretch(5, 1)
        left.addLayout(grid)
        outer.addLayout(left, 1)
        self.counters: dict[str, QLabel] = {}
        for key, title, colour in (
            ("passed", "passed", "#1e7e34"),
            ("failed", "failed", "#c62828"),
            ("in_progress", "in progress", "#1565c0"),
            ("per_hour", "per hour", "palette(text)"),
        ):
            box, value = _counter(title, colour)
            self.counters[key] = value
            outer.addWidget(box)

    def show_job(self, job: Job) -> None:
        self.title.setText(f"Job: {job.name}")
        image = job.images[0]
        self.fields["image"].setText(job.image_path.name)
        self.fields["image"].setToolTip(
            plain_tip(f"{job.image_path}\nfile SHA-256 (pinned at load): {job.file_sha256.hex()}")
        )
        self.fields["version"].setText(job.version_text)
        self.fields["hash"].setText(image.image_hash.hex()[:HASH_PREFIX] + "\u2026")
        self.fields["hash"].setToolTip(
            "\n".join(f"image {i.image}: {i.image_hash.hex()}" for i in job.images)
        )
        self.fields["mode"].setText(str(job.mode))
        self.fields["keys"].setText(", ".join(job.key_names) or "none (not signature-checked)")
        self.fields["station"].setText(job.station or "\u2014")

    def show_counters(self, counters: Counters) -> None:
        self.counters["passed"].setText(str(counters.passed))
        self.counters["failed"].setText(str(counters.failed))
        self.counters["in_progress"].setText(str(counters.in_progress))
        self.counters["per_hour"].setText(f"{counters.per_hour:.0f}")

    def counter_text(self, key: str) -> str:
        return self.counters[key].text()
