"""Operator mode: the production window locked to its job, left only with the supervisor password.

The password itself is never stored: the job (`supervisor_password`) or the settings file
(`production/supervisor_password`) hold its salted scrypt hash (app/workflows/supervisor.py,
which also reads the SHA-256 of older stations), and a typed password is compared in constant
time, so timing says nothing about how much of a guess was right.

Locking also reaches the main window, through the `LockableWindow` seam: MainWindow decides
what it hides (settings, file and device actions), disables (the device pane's right side: slot
actions such as erase and confirm, the upload panel's file picker and "after upload" choice,
diagnostics) and that it refuses drops and closing.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.gui.plain_text import plain_label
from app.gui.settings import AppSettings
from app.workflows.supervisor import hash_password, password_matches

log = logging.getLogger(__name__)


def settings_password_hash(settings: AppSettings | None) -> str | None:
    """The supervisor password hash kept in the settings file, if a supervisor set one."""
    return settings.supervisor_password_hash() if settings is not None else None


def set_settings_password(settings: AppSettings, password: str) -> None:
    """Store the hash of `password` in the settings file (never the password)."""
    settings.set_supervisor_password_hash(hash_password(password))


class LeaveOperatorDialog(QDialog):
    """Asks for the supervisor password; `check` decides, a wrong one keeps the dialog open."""

    def __init__(self, expected_sha256: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Leave operator mode")
        self.setObjectName("leave-operator-dialog")
        self._expected = expected_sha256
        self.attempts = 0
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Operator mode keeps this station on its job. "
                "A supervisor can leave it with the supervisor password."
            )
        )
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Supervisor password")
        self.password.setPlaceholderText("Supervisor password")
        layout.addWidget(self.password)
        self.error = plain_label("")
        self.error.setObjectName("leave-error")
        self.error.setStyleSheet("color: #c62828; font-weight: bold;")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Leave operator mode")
        self.buttons.accepted.connect(self.check)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.password.setFocus()

    def check(self) -> None:
        text = self.password.text()
        self.attempts += 1
        if not text:
            self.error.setText("Type the supervisor password.")
            return
        if not password_matches(text, self._expected):
            log.warning("operator mode: wrong supervisor password (attempt %d)", self.attempts)
            self.error.setText("Wrong password: operator mode stays on.")
            self.password.clear()
            self.password.setFocus()
            return
        self.accept()


class LockableWindow(Protocol):
    """What operator mode needs of the window production was opened from (MainWindow)."""

    def set_operator_lock(self, locked: bool) -> None:
        """Hide and disable what an operator must not reach; refuse drops and closing."""

    def open_settings(self) -> object:
        """The settings dialog (offered outside operator mode only)."""
