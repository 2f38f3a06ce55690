"""Operator mode: the production window locked to its job, left only with the supervisor password.

The password itself is never stored: the job (`supervisor_password_sha256`) or the settings file
(`production/supervisor_password_sha256`) hold its SHA-256 in hex, and a typed password is
hashed and compared in constant time (`hmac.compare_digest`), so timing says nothing about how
much of a guess was right.

Locking also reaches into the main window, through its public attributes only: the settings
and file actions are hidden, the device pane's right side (slot actions such as erase and
confirm, the upload panel's file picker and "after upload" choice, diagnostics) is disabled,
drops are refused and the window cannot be closed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from app.gui.settings import AppSettings

log = logging.getLogger(__name__)

SETTINGS_KEY = "production/supervisor_password_sha256"


def hash_password(text: str) -> str:
    """The hex SHA-256 of `text` as UTF-8: what a job's supervisor_password_sha256 holds."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(text: str) -> bool:
    """64 hex digits: anything else could never match, and would lock a station for good."""
    value = text.strip()
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def password_matches(text: str, expected_sha256: str) -> bool:
    """True when `text` hashes to `expected_sha256` (hex, any case), compared in constant time."""
    expected = expected_sha256.strip().lower().encode("ascii", "replace")
    return hmac.compare_digest(hash_password(text).encode("ascii"), expected)


def settings_password_hash(settings: AppSettings | None) -> str | None:
    """The supervisor password hash kept in the settings file, if a supervisor set one."""
    if settings is None:
        return None
    # AppSettings has no public accessor for keys outside Preferences; read its QSettings
    value = settings._qs.value(SETTINGS_KEY)
    return str(value) if value else None


def set_settings_password(settings: AppSettings, password: str) -> None:
    """Store the hash of `password` in the settings file (never the password)."""
    settings._qs.setValue(SETTINGS_KEY, hash_password(password))
    settings._qs.sync()


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
        self.error = QLabel("")
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


class MainWindowLock(QObject):
    """Hides and disables what an operator must not reach in the main window; reversible."""

    def __init__(self, main: QMainWindow) -> None:
        super().__init__(main)
        self.main = main
        self.locked = False
        self._hidden: list[object] = []

    def _targets(self) -> tuple[list[object], list[QWidget]]:
        """(actions to hide, widgets to disable), from the main window's public attributes."""
        actions = [
            getattr(self.main, name, None)
            for name in ("settings_action", "open_action", "add_action")
        ]
        for menu_name in ("settings_menu", "recent_menu"):
            menu = getattr(self.main, menu_name, None)
            if menu is not None:
                actions.append(menu.menuAction())
        widgets: list[QWidget] = []
        splitter = getattr(self.main, "splitter", None)
        if splitter is not None and splitter.count() > 1:
            widgets.append(splitter.widget(1))  # slot actions, upload panel, diagnostics
        return [a for a in actions if a is not None], widgets

    def set_locked(self, locked: bool) -> None:
        if locked == self.locked:
            return
        self.locked = locked
        actions, widgets = self._targets()
        for action in actions:
            action.setVisible(not locked)  # type: ignore[attr-defined]
            action.setEnabled(not locked)  # type: ignore[attr-defined]
        for widget in widgets:
            widget.setEnabled(not locked)
        self.main.setAcceptDrops(not locked)
        if locked:
            self.main.installEventFilter(self)
        else:
            self.main.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.locked and watched is self.main and event.type() == QEvent.Type.Close:
            event.ignore()  # closing the main window would stop the line
            return True
        return False
