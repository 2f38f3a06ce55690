"""Every control a technician can reach has a name for screen readers, and the main
actions have keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.sim.serve import UdpSimServer

from .conftest import connect

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView)


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls with neither an accessible name nor visible text a reader could use."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisibleTo(root):
            continue
        if widget.parent() is not None and type(widget.parent()).__name__ in (
            "QComboBox",
            "QAbstractSpinBox",
            "QSpinBox",
            "QDoubleSpinBox",
        ):
            continue  # a composite's own inner parts
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not widget.accessibleName() and not text.strip("&"):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_every_control_is_named(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Device list, device view, slot cards, upload panel, log drawer, settings and the
    add-device dialog expose a name for every control."""
    connect(qtbot, window, sim)
    window.open_image(make_image("1.1.0"))
    qtbot.waitUntil(lambda: window.upload_panel.check is not None, timeout=10000)
    for part in (window.device_pane, window.device_view, window.log_drawer):
        assert unnamed_controls(part) == [], type(part).__name__
    settings = window.open_settings()
    assert unnamed_controls(settings) == []
    settings.reject()
    add = window.add_device()
    assert unnamed_controls(add) == []
    add.reject()


def test_main_actions_have_shortcuts(window: MainWindow) -> None:
    """Open image, add device, refresh, log drawer and preferences answer to the keyboard."""
    shortcuts = {
        action.text(): action.shortcut()
        for action in window.findChildren(type(window.open_action))
        if not action.shortcut().isEmpty()
    }
    assert shortcuts["Open image\u2026"] == QKeySequence(QKeySequence.StandardKey.Open)
    assert shortcuts["Add device\u2026"] == QKeySequence("Ctrl+N")
    assert shortcuts["Refresh"] == QKeySequence(QKeySequence.StandardKey.Refresh)
    assert shortcuts["Log drawer"] == QKeySequence("Ctrl+L")
    assert shortcuts["Preferences\u2026"] == QKeySequence("Ctrl+,")


def test_tab_moves_from_filter_to_device_list(qtbot: QtBot, window: MainWindow) -> None:
    """Keyboard focus moves from the filter box to the device list with Tab."""
    from PySide6.QtCore import Qt

    window.activateWindow()
    window.device_pane.filter_box.setFocus()
    qtbot.waitUntil(window.device_pane.filter_box.hasFocus, timeout=2000)
    qtbot.keyClick(window.device_pane.filter_box, Qt.Key.Key_Tab)
    qtbot.waitUntil(window.device_pane.view.hasFocus, timeout=2000)
