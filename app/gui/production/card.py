"""A device card: one board's state in big text, an icon and a colour (never colour alone)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.gui.plain_text import plain_label, plain_tip
from app.workflows.batch import BoardEvent


@dataclass(frozen=True, slots=True)
class CardLook:
    """What a card shows for one state: the big word, its icon, and the banner colour."""

    text: str
    icon: str
    colour: str


PASS = CardLook("PASS", "ok", "#1e7e34")
FAIL = CardLook("FAIL", "error", "#c62828")
READY = CardLook("READY", "", "#546e7a")
QUEUED = CardLook("QUEUED", "", "#546e7a")
SCAN = CardLook("SCAN BARCODE", "warning", "#a15c00")
WORKING_COLOUR = "#1565c0"

STAGE_WORDS = {
    "connect": "CONNECTING",
    "identify": "IDENTIFYING",
    "checking": "CHECKING",
    "verifying": "CHECKING",
    "uploading": "UPLOADING",
    "resetting": "RESETTING",
    "waiting": "WAITING FOR BOOT",
}


def look_for(event: BoardEvent | None, *, scanning: bool = False) -> CardLook:
    """The card's look for the board's latest event (scanning: it waits for its barcode)."""
    if scanning:
        return SCAN
    if event is None:
        return READY
    if event.stage == "passed":
        return PASS
    if event.stage == "failed":
        return FAIL
    if event.stage == "queued":
        return QUEUED
    if event.stage == "idle":
        return READY
    word = STAGE_WORDS.get(event.stage, event.stage.upper())
    if event.stage == "uploading":
        word = f"{word} {int(event.fraction * 100)} %"
    return CardLook(word, "upload" if event.stage == "uploading" else "refresh", WORKING_COLOUR)


class DeviceCard(QFrame):
    """One board: its address, a banner with PASS / FAIL / the stage and percent, the reason."""

    def __init__(self, device: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.last_event: BoardEvent | None = None
        self.scanning = False
        self.setObjectName("device-card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(250)
        self.setAccessibleName(f"Board {device}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        title = plain_label(device)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.banner = QFrame()
        self.banner.setObjectName("card-banner")
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(10, 6, 10, 6)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(QSize(28, 28))
        self.status_label = plain_label()
        self.status_label.setObjectName("card-status")
        base = max(self.status_label.font().pointSizeF(), 9.0)
        self._verdict_pt = base * 2.0  # PASS / FAIL readable from across the bench
        self._stage_pt = base * 1.4  # "UPLOADING 100 %" still fits a card
        banner_row.addWidget(self.icon_label)
        banner_row.addWidget(self.status_label, 1)
        layout.addWidget(self.banner)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("%p %")
        layout.addWidget(self.progress)
        self.detail = plain_label("")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("card-detail")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setMinimumHeight(self.detail.fontMetrics().height() * 3)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.detail)
        layout.addStretch(1)  # content at the top when a grid row makes the card taller
        # as tall as the content, never stretched to fill the grid's rows
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._render()

    @property
    def status_text(self) -> str:
        return self.status_label.text()

    @property
    def detail_text(self) -> str:
        return self.detail.text()

    def update_event(self, event: BoardEvent) -> None:
        self.last_event = event
        self._render()

    def set_scanning(self, scanning: bool) -> None:
        if scanning != self.scanning:
            self.scanning = scanning
            self._render()

    def _render(self) -> None:
        event = self.last_event
        look = look_for(event, scanning=self.scanning)
        self.status_label.setText(look.text)
        font = self.status_label.font()
        font.setBold(True)
        font.setPointSizeF(self._verdict_pt if look in (PASS, FAIL) else self._stage_pt)
        self.status_label.setFont(font)
        self.banner.setStyleSheet(
            f"QFrame#card-banner {{ background: {look.colour}; border-radius: 4px; }}"
            "QLabel { color: white; }"
        )
        pixmap = icon(look.icon).pixmap(QSize(28, 28)) if look.icon else None
        if pixmap is not None and not pixmap.isNull():
            self.icon_label.setPixmap(pixmap)
        else:
            self.icon_label.clear()
        # no icon (READY, QUEUED): no empty 28 px gap before the word either
        self.icon_label.setVisible(pixmap is not None and not pixmap.isNull())
        self.progress.setVisible(look.colour == WORKING_COLOUR)
        if event is not None and event.stage == "uploading":
            self.progress.setValue(int(event.fraction * 100))
        elif event is not None and event.stage in ("passed", "resetting", "waiting"):
            self.progress.setValue(100)
        elif event is None or event.stage in ("queued", "connect"):
            self.progress.setValue(0)
        self.detail.setText(self._detail(event))
        self.setToolTip(plain_tip(f"{self.device}: {look.text}\n{self.detail.text()}".strip()))

    def _detail(self, event: BoardEvent | None) -> str:
        if self.scanning:
            return "Scan this board's barcode into the barcode field."
        if event is None:
            return "Not flashed yet."
        row = event.row
        if row is not None and row.passed:
            made = f"{row.previous_version or '?'} \u2192 {row.new_version}"
            scanned = f", serial {row.barcode}" if row.barcode else ""
            return f"{made} in {row.durations_s.get('total', 0.0):.1f} s{scanned}"
        if row is not None:
            return f"Attempt {row.attempt}: {row.failure_reason}"
        return event.message
