"""The right pane: the selected device's identity, its slots as cards, and their actions."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.controller import DeviceController
from app.gui.dialogs.confirm import ask
from app.gui.icons import icon
from app.gui.plain_text import plain_label
from app.gui.targets import DeviceIdentity, DeviceSnapshot, DeviceTarget, SlotView
from app.gui.widgets.slot_card import SlotCard


def _value_label() -> QLabel:
    label = plain_label("\u2014")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class DeviceHeader(QFrame):
    """Name, OS and app info, bootloader mode, MCUmgr buffers, link and MTU; Refresh, Reset."""

    refresh_requested = Signal()
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_title_row())
        layout.addLayout(self._build_fields())

    def _build_title_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.name_label = plain_label("No device selected")
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name_label.setFont(font)
        self.name_label.setAccessibleName("Device name")
        row.addWidget(self.name_label, 1)
        self.refresh_button = QPushButton(icon("refresh"), "Refresh")
        self.refresh_button.setAccessibleName("Read the device again")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.reset_button = QPushButton(icon("reset"), "Reset")
        self.reset_button.setAccessibleName("Reset the device")
        self.reset_button.setToolTip("Reboot the device and wait for it to come back")
        self.reset_button.clicked.connect(self.reset_requested)
        row.addWidget(self.refresh_button)
        row.addWidget(self.reset_button)
        return row

    def _build_fields(self) -> QFormLayout:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QLabel] = {}
        for key, title in (
            ("os", "Operating system"),
            ("app", "Zephyr version"),
            ("bootloader", "Bootloader"),
            ("buffers", "MCUmgr buffers"),
            ("link", "Link"),
        ):
            label = _value_label()
            label.setAccessibleName(title)
            self.fields[key] = label
            form.addRow(f"{title}:", label)
        return form

    def show_identity(self, identity: DeviceIdentity | None) -> None:
        for label in self.fields.values():
            label.setText("\u2014")
        if identity is None:
            return
        self.name_label.setText(identity.name)
        self.fields["os"].setText(identity.os_info)
        self.fields["app"].setText(identity.app_info)
        loader = f"{identity.bootloader}, {identity.bootloader_mode}"
        if identity.no_downgrade:
            loader += ", downgrades refused"
        self.fields["bootloader"].setText(loader)
        self.fields["buffers"].setText(
            f"{identity.buf_count} \u00d7 {identity.buf_size} bytes"
            if identity.buf_size
            else "not reported"
        )
        link = (
            f"{identity.link_kind.upper()} {identity.address}, frames up to "
            f"{identity.max_frame_bytes} bytes"
        )
        if identity.mtu:
            link += f", MTU {identity.mtu}"
        self.fields["link"].setText(link)


class DeviceView(QWidget):
    """Shows one DeviceSnapshot; asks before dangerous actions and hands them to the controller."""

    upload_requested = Signal(object)
    """SlotView the user wants to upload into."""

    def __init__(self, controller: DeviceController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.snapshot: DeviceSnapshot | None = None
        self.cards: list[SlotCard] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 8, 8, 8)
        self.header = DeviceHeader()
        self.header.refresh_requested.connect(controller.refresh)
        self.header.reset_requested.connect(self._ask_reset)
        layout.addWidget(self.header)
        layout.addWidget(self._build_unreachable())
        layout.addLayout(self._build_busy())
        layout.addWidget(self._build_slots_title())
        self.slots_grid = QGridLayout()
        self.slots_grid.setSpacing(8)
        layout.addLayout(self.slots_grid)
        self.extra = QVBoxLayout()  # the upload panel goes here
        layout.addLayout(self.extra)
        layout.addStretch(1)
        controller.snapshot_changed.connect(self.show_snapshot)
        controller.busy_changed.connect(self._show_busy)
        controller.selected.connect(self._on_selected)
        controller.unreachable.connect(self.show_unreachable)
        self._show_busy("")
        self.setEnabled(False)

    def _build_unreachable(self) -> QFrame:
        """Where a device that cannot be read says why, with Retry (not only in the log)."""
        self.unreachable_box = QFrame()
        self.unreachable_box.setObjectName("device-unreachable")
        self.unreachable_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.unreachable_box.setStyleSheet(
            "#device-unreachable { border: 1px solid #d64545; border-radius: 4px; }"
        )
        row = QHBoxLayout(self.unreachable_box)
        self.unreachable_label = QLabel("")
        self.unreachable_label.setTextFormat(Qt.TextFormat.RichText)  # bold head; text escaped
        self.unreachable_label.setWordWrap(True)
        self.unreachable_label.setAccessibleName("Why the device cannot be reached")
        self.retry_button = QPushButton(icon("refresh"), "Retry")
        self.retry_button.setAccessibleName("Try to reach the device again")
        self.retry_button.clicked.connect(self.controller.retry)
        row.addWidget(self.unreachable_label, 1)
        row.addWidget(self.retry_button)
        self.unreachable_box.hide()
        return self.unreachable_box

    def show_unreachable(self, text: str) -> None:
        target = self.controller.target
        name = target.name if target is not None else "The device"
        where = f" ({target.address})" if target is not None and target.address else ""
        # names and reasons may carry device or user text: shown as text, never as markup
        head = html.escape(f"{name}{where} cannot be reached.")
        self.unreachable_label.setText(f"<b>{head}</b><br>{html.escape(text)}")
        self.unreachable_box.show()
        self.setEnabled(True)  # Retry must be clickable

    def _on_selected(self, target: DeviceTarget | None) -> None:
        self.clear(target.name if target is not None else "No device selected")

    def _build_busy(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.busy_label = plain_label("")
        self.busy_label.setAccessibleName("Current operation")
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setAccessibleName("Working")
        row.addWidget(self.busy_label, 1)
        row.addWidget(self.busy_bar)
        return row

    def _build_slots_title(self) -> QLabel:
        title = QLabel("Image slots")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        return title

    def _show_busy(self, text: str) -> None:
        self.busy_label.setText(text)
        self.busy_bar.setVisible(bool(text))
        self.busy_label.setVisible(bool(text))

    def clear(self, title: str = "No device selected") -> None:
        self.snapshot = None
        self.unreachable_box.hide()
        self.header.name_label.setText(title)
        self.header.show_identity(None)
        self._clear_cards()
        self.setEnabled(title != "No device selected")

    def _clear_cards(self) -> None:
        for card in self.cards:
            self.slots_grid.removeWidget(card)
            card.hide()  # deleteLater waits for the event loop; a grab in between shows ghosts
            card.setParent(None)
            card.deleteLater()
        self.cards = []

    def show_snapshot(self, snapshot: DeviceSnapshot) -> None:
        self.snapshot = snapshot
        self.unreachable_box.hide()
        self.setEnabled(True)
        self.header.show_identity(snapshot.identity)
        self._clear_cards()
        for slot in snapshot.slots:
            card = SlotCard(slot, snapshot)
            card.action.connect(self._on_action)
            if snapshot.recovery is not None:  # the bootloader only lists; restore instead
                card.setEnabled(False)
                card.setToolTip("MCUboot serial recovery lists images but cannot act on them")
            self.slots_grid.addWidget(card, slot.image, slot.slot)  # a row's cards share a height
            card.show()  # at once, so a grab or a test sees it before the queued show
            self.cards.append(card)

    def card(self, image: int, slot: int) -> SlotCard | None:
        return next((c for c in self.cards if c.slot.image == image and c.slot.slot == slot), None)

    # --- actions ----------------------------------------------------------------------------

    def _on_action(self, name: str, slot: SlotView) -> None:
        c = self.controller
        if name == "upload":
            self.upload_requested.emit(slot)
        elif name == "test" and slot.hash:
            c.test(slot.hash)
        elif name == "confirm" and slot.active:
            c.confirm(None)
        elif name == "confirm" and slot.hash:
            digest = slot.hash
            ask(
                self,
                "Make this image permanent?",
                f"Version {slot.version} has not been tested on this device. On the next reset "
                "MCUboot switches to it for good: if it does not start, there is no automatic "
                "way back.",
                "Make permanent",
                lambda: c.confirm(digest),
            )
        elif name == "erase":
            ask(
                self,
                f"Erase slot {slot.slot}?",
                f"Version {slot.version or 'unknown'} in image {slot.image} slot {slot.slot} "
                "is deleted from the device. This cannot be undone.",
                "Erase",
                lambda: c.erase(slot.absolute),
            )
        elif name == "rollback":
            self._ask_rollback(slot)

    def _ask_rollback(self, running: SlotView) -> None:
        snapshot = self.snapshot
        other = snapshot.other(running) if snapshot else None
        back_to = f"version {other.version}" if other and other.version else "the other image"
        if not running.confirmed:
            text = (
                f"Version {running.version} is running on trial. The device resets and "
                f"MCUboot reverts to {back_to}, the image it ran before."
            )
        else:
            text = (
                f"The device resets and boots {back_to} from the other slot once. It stays "
                f"there only if you confirm it; otherwise the next reset returns to "
                f"{running.version}."
            )
        ask(
            self,
            "Roll back to the other slot's image?",
            text,
            "Roll back",
            self.controller.roll_back,
        )

    def _ask_reset(self) -> None:
        running = self.snapshot.running() if self.snapshot else None
        text = "The device reboots and is unreachable for a few seconds."
        if self.controller.uploading:
            text = (
                "An upload is running: it stops, and the next upload resumes where the "
                "device stopped. " + text
            )
        if running is not None and not running.confirmed:
            text += (
                f" Version {running.version} is not confirmed: MCUboot reverts to the "
                "previous image."
            )
        pending = [s for s in self.snapshot.slots if s.pending] if self.snapshot else []
        if pending:
            text += f" MCUboot then boots the pending image, version {pending[0].version}."
        ask(self, "Reset the device?", text, "Reset", self.controller.reset)
