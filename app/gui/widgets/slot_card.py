"""One image slot as a card: version, badges, hash with copy, size, and its actions."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.gui.models.slots import Badge, short_hash, slot_badges, slot_title
from app.gui.plain_text import plain_label
from app.gui.targets import DeviceSnapshot, SlotView
from app.units import format_bytes

ELLIPSIS = "\u2026"
TONES = {
    "good": ("#2e9d5b", "#ffffff"),
    "warn": ("#e0a030", "#1b1b1b"),
    "info": ("#2f7ed8", "#ffffff"),
    "muted": ("#6b7785", "#ffffff"),
}
"""Badge background and text: saturated enough to read on light and dark windows."""


def badge_label(badge: Badge) -> QLabel:
    label = plain_label(badge.text)
    background, foreground = TONES.get(badge.tone, TONES["muted"])
    label.setStyleSheet(
        f"QLabel {{ background: {background}; color: {foreground};"
        " border-radius: 8px; padding: 1px 8px; font-weight: 600; }"
    )
    label.setToolTip(badge.tip)
    label.setAccessibleName(f"{badge.text}: {badge.tip}")
    label.setObjectName(f"badge-{badge.text.replace(' ', '-')}")
    return label


class SlotCard(QFrame):
    """Emits `action(name, slot)`; names: upload, test, confirm, rollback, erase."""

    action = Signal(str, object)

    def __init__(
        self, slot: SlotView, snapshot: DeviceSnapshot, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.slot = slot
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"slot-card-{slot.image}-{slot.slot}")
        self.setAccessibleName(f"Image {slot.image} slot {slot.slot}")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        images = len({s.image for s in snapshot.slots})
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        layout.addWidget(self._build_title(slot_title(slot, images)))
        layout.addWidget(self._build_version())
        layout.addLayout(self._build_badges())
        layout.addLayout(self._build_hash())
        size = QLabel(f"Slot size: {format_bytes(slot.size)}")
        size.setAccessibleName(size.text())
        layout.addWidget(size)
        layout.addStretch(1)  # actions sit at the bottom of every card in a row
        layout.addLayout(self._build_actions(snapshot))

    def _build_title(self, text: str) -> QLabel:
        title = plain_label(text)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        return title

    def _build_version(self) -> QLabel:
        self.version_label = plain_label(self.slot.version or "\u2014 empty \u2014")
        font = self.version_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.version_label.setFont(font)
        self.version_label.setAccessibleName(
            f"Version {self.slot.version}" if self.slot.version else "Empty slot"
        )
        return self.version_label

    def _build_badges(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(4)
        self.badges = [badge_label(b) for b in slot_badges(self.slot)]
        for label in self.badges:
            row.addWidget(label)
        row.addStretch(1)
        return row

    def _build_hash(self) -> QHBoxLayout:
        row = QHBoxLayout()
        digest = self.slot.hash
        self.hash_label = plain_label(f"Hash {short_hash(digest)}\u2026" if digest else "No hash")
        self.hash_label.setToolTip(digest.hex() if digest else "")
        self.hash_label.setAccessibleName(
            f"Image hash {digest.hex()}" if digest else "No image hash"
        )
        row.addWidget(self.hash_label)
        if digest:
            copy = QToolButton()
            copy.setIcon(icon("copy"))
            copy.setToolTip("Copy the full hash")
            copy.setAccessibleName("Copy the full hash")
            copy.clicked.connect(lambda: _copy(digest.hex()))
            row.addWidget(copy)
        row.addStretch(1)
        return row

    def _build_actions(self, snapshot: DeviceSnapshot) -> QHBoxLayout:
        row = QHBoxLayout()
        slot = self.slot
        self.buttons: dict[str, QPushButton] = {}
        running = snapshot.running(slot.image)
        other = snapshot.other(slot)
        if slot.active:
            if not slot.confirmed:
                self._add(row, "confirm", "Confirm", "Keep running this image after reset")
            can_revert = not slot.confirmed or (other is not None and other.bootable)
            if can_revert:
                self._add(row, "rollback", "Roll back", "Reset and boot the other slot's image")
        else:
            self._add(row, "upload", "Upload\u2026", "Choose an image to upload into this slot")
            if not slot.empty and slot.bootable and not slot.pending and slot.hash:
                self._add(row, "test", "Test", "Boot this image once on the next reset")
            if (
                not slot.empty
                and slot.hash
                and not slot.permanent
                and running is not None
                and running.confirmed
            ):
                self._add(
                    row,
                    "confirm",
                    "Make permanent",
                    "Switch to this image on the next reset, with no way back",
                )
            if not slot.empty:
                self._add(row, "erase", "Erase slot", "Erase this slot's image")
        row.addStretch(1)
        return row

    def _add(self, row: QHBoxLayout, name: str, text: str, tip: str) -> None:
        icon_name = {
            "upload": "upload",
            "test": "test",
            "confirm": "confirm",
            "rollback": "rollback",
            "erase": "erase",
        }[name]
        button = QPushButton(icon(icon_name), text)
        button.setToolTip(tip)
        button.setAccessibleName(
            f"{text.rstrip(ELLIPSIS)} image {self.slot.image} slot {self.slot.slot}"
        )
        button.setObjectName(f"{name}-{self.slot.image}-{self.slot.slot}")
        button.clicked.connect(lambda: self.action.emit(name, self.slot))
        self.buttons[name] = button
        row.addWidget(button)


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
