"""Settings: trusted keys, update defaults, timeouts, serial and BLE defaults, theme."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.gui.plain_text import plain_label
from app.gui.settings import THEMES, UPLOAD_MODE_LABELS, UPLOAD_MODES, AppSettings, Preferences
from app.image.errors import ImageError
from app.image.keys import KeyStore, TrustedKey

log = logging.getLogger(__name__)


KEY_NAME_ROLE = 256
REMOVABLE_ROLE = 257


def key_line(key: TrustedKey, origin: str = "") -> str:
    line = f"{key.name}  \u00b7  {key.type}  \u00b7  key hash {key.key_hash().hex()[:16]}\u2026"
    return f"{line}\n    {origin}" if origin else line


class SettingsDialog(QDialog):
    """Edits Preferences; keys are written to the key store at once (add and remove)."""

    def __init__(
        self,
        settings: AppSettings,
        parent: QWidget | None = None,
        *,
        session_keys: Sequence[tuple[TrustedKey, str]] = (),
    ) -> None:
        """`session_keys`: keys the verdict also trusts in this session but that are not in
        the key store (the demo's key), each with where it comes from; listed, not removable."""
        super().__init__(parent)
        self.session_keys = tuple(session_keys)
        self.setWindowTitle("Settings")
        self.setObjectName("settings-dialog")
        self.settings = settings
        self.prefs = settings.load()
        self.keys = KeyStore(settings.keys_dir)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_keys())
        layout.addWidget(self._build_updates())
        layout.addWidget(self._build_links())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._fill_keys()

    # --- building ---------------------------------------------------------------------------

    def _build_keys(self) -> QGroupBox:
        box = QGroupBox("Trusted signing keys")
        layout = QVBoxLayout(box)
        self.key_list = QListWidget()
        self.key_list.setAccessibleName("Trusted keys")
        self.key_list.setMinimumHeight(90)
        self.key_list.setWordWrap(True)  # a key's origin is a sentence: wrap it, no side scroll
        self.key_list.currentItemChanged.connect(lambda *_: self._selection_changed())
        layout.addWidget(self.key_list)
        row = QHBoxLayout()
        self.key_name = QLineEdit()
        self.key_name.setPlaceholderText("name for the next key, e.g. production-2025")
        self.key_name.setAccessibleName("Name for the key to add")
        add = QPushButton(icon("key"), "Add key file\u2026")
        add.setAccessibleName("Add a trusted public key from a PEM file")
        add.clicked.connect(self._ask_key_file)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove the selected trusted key")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.key_name, 1)
        row.addWidget(add)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.key_error = plain_label("")
        self.key_error.setStyleSheet("color: #d64545")
        self.key_error.setWordWrap(True)
        layout.addWidget(self.key_error)
        return box

    def _build_updates(self) -> QGroupBox:
        box = QGroupBox("Updates")
        form = QFormLayout(box)
        self.mode = QComboBox()
        for mode in UPLOAD_MODES:
            self.mode.addItem(UPLOAD_MODE_LABELS[mode], mode)
        self.mode.setCurrentIndex(UPLOAD_MODES.index(self.prefs.upload_mode))
        self.mode.setAccessibleName("Default upload mode")
        form.addRow("Default &mode:", self.mode)
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 16)
        self.window_spin.setValue(self.prefs.window)
        self.window_spin.setAccessibleName("Requests in flight during upload")
        form.addRow("Requests in &flight:", self.window_spin)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.2, 60.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(self.prefs.timeout_s)
        self.timeout.setAccessibleName("Answer timeout in seconds")
        form.addRow("Answer &timeout:", self.timeout)
        self.reset_wait = QDoubleSpinBox()
        self.reset_wait.setRange(1.0, 300.0)
        self.reset_wait.setSuffix(" s")
        self.reset_wait.setValue(self.prefs.reset_wait_s)
        self.reset_wait.setAccessibleName("Time to wait for a device after reset")
        form.addRow("Wait after &reset:", self.reset_wait)
        self.allow_unsigned = QCheckBox(
            "Offer an override for unsigned development images (every use is logged)"
        )
        self.allow_unsigned.setChecked(self.prefs.allow_unsigned)
        form.addRow("", self.allow_unsigned)
        return box

    def _build_links(self) -> QGroupBox:
        box = QGroupBox("Links and appearance")
        form = QFormLayout(box)
        self.baud = QSpinBox()
        self.baud.setRange(1200, 4_000_000)
        self.baud.setValue(self.prefs.serial_baud)
        self.baud.setAccessibleName("Default serial baud rate")
        form.addRow("Serial &baud:", self.baud)
        self.ble_filter = QLineEdit(self.prefs.ble_filter)
        self.ble_filter.setPlaceholderText("list only BLE devices whose name contains\u2026")
        self.ble_filter.setAccessibleName("BLE scan name filter")
        form.addRow("BLE &filter:", self.ble_filter)
        self.theme = QComboBox()
        for theme in THEMES:
            self.theme.addItem(theme.capitalize(), theme)
        self.theme.setCurrentIndex(THEMES.index(self.prefs.theme))
        self.theme.setAccessibleName("Theme")
        form.addRow("T&heme:", self.theme)
        return box

    # --- keys -------------------------------------------------------------------------------

    def _fill_keys(self) -> None:
        """Every key a verdict can use: the key store's, then this session's own."""
        self.key_list.clear()
        folder = self.keys.directory
        for key in self.keys.list():
            origin = f"your key store: {folder / (key.name + '.pem')}" if folder else ""
            self._add_key_item(key, origin, removable=True)
        for key, origin in self.session_keys:
            self._add_key_item(key, origin, removable=False)
        self._selection_changed()

    def _add_key_item(self, key: TrustedKey, origin: str, *, removable: bool) -> None:
        item = QListWidgetItem(icon("key"), key_line(key, origin))
        item.setData(KEY_NAME_ROLE, key.name)
        item.setData(REMOVABLE_ROLE, removable)
        item.setToolTip(f"SHA-256 key hash {key.key_hash().hex()}")
        self.key_list.addItem(item)

    def _selection_changed(self) -> None:
        item = self.key_list.currentItem()
        self.remove_button.setEnabled(item is not None and bool(item.data(REMOVABLE_ROLE)))

    def _ask_key_file(self) -> None:
        dialog = QFileDialog(self, "Choose a public key", "", "PEM keys (*.pem);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda text: self.add_key(Path(text)))
        dialog.open()

    def add_key(self, path: Path, name: str | None = None) -> bool:
        """Trust the public key in `path` under `name` (the name box, or the file's stem)."""
        name = (
            name or self.key_name.text().strip() or re.sub(r"[^A-Za-z0-9._-]", "-", path.stem)[:64]
        )
        try:
            self.keys.add(name, path)
        except ImageError as exc:
            self.key_error.setText(str(exc))
            return False
        log.info("trusted key %s added from %s", name, path)
        self.key_error.setText("")
        self.key_name.clear()
        self._fill_keys()
        return True

    def remove_selected(self) -> None:
        item = self.key_list.currentItem()
        if item is None or not item.data(REMOVABLE_ROLE):
            return
        self.keys.remove(str(item.data(KEY_NAME_ROLE)))
        self._fill_keys()

    # --- saving -----------------------------------------------------------------------------

    def preferences(self) -> Preferences:
        return replace(
            self.prefs,
            upload_mode=str(self.mode.currentData()),
            window=self.window_spin.value(),
            timeout_s=self.timeout.value(),
            reset_wait_s=self.reset_wait.value(),
            allow_unsigned=self.allow_unsigned.isChecked(),
            serial_baud=self.baud.value(),
            ble_filter=self.ble_filter.text().strip(),
            theme=str(self.theme.currentData()),
        )

    def _save(self) -> None:
        self.prefs = self.preferences()
        self.settings.save(self.prefs)
        self.accept()
