"""The upload panel asks once before a permanent mark or a downgrade; only the user's yes
lets either through, and Cancel uploads nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.sim.device import SimConfig
from app.sim.serve import UdpSimServer

from .conftest import connect, start_sim
from .test_update_flow import badges, click, version


def open_question(qtbot: QtBot, window: MainWindow) -> QMessageBox:
    qtbot.waitUntil(
        lambda: window.findChild(QMessageBox, "confirm-dialog") is not None, timeout=5000
    )
    box = window.findChild(QMessageBox, "confirm-dialog")
    assert box is not None
    return box


def press(qtbot: QtBot, window: MainWindow, box: QMessageBox, name: str) -> None:
    click(qtbot, box.findChild(QPushButton, name))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "confirm-dialog") is None, timeout=5000)


def ready_to_upload(qtbot: QtBot, window: MainWindow, image: Path, mode: str) -> None:
    window.open_image(image)
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=10000)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData(mode))


def assert_nothing_happened(qtbot: QtBot, window: MainWindow, server: UdpSimServer) -> None:
    """No job started, no byte reached the device, nothing is marked.

    A job starts in the same GUI-thread call that answers the question (`uploading` is set
    before the job is handed to the core loop), so once the events that answer queued are
    processed there is nothing left to wait for."""
    QApplication.processEvents()
    assert not window.controller.uploading
    assert server.device.counters["bytes_written"] == 0
    assert server.device.slot(1).version is None
    assert not any(s.pending for s in window.controller.snapshot.slots)


def test_confirm_mode_asks_and_yes_makes_it_permanent(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Confirm mode names the consequence before uploading; yes uploads and the new image
    runs confirmed."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.1.0"), "confirm")
    click(qtbot, window.upload_panel.upload_button)
    box = open_question(qtbot, window)
    assert not window.controller.uploading  # nothing starts before the answer
    assert "Make the new image permanent?" in box.windowTitle()
    assert "no automatic way back" in box.informativeText()
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        press(qtbot, window, box, "confirm-yes")
    assert finished.args[0].result.ok
    assert version(window, 0) == "4.1.0"
    assert badges(window, 0) == ["active", "confirmed", "bootable"]


def test_confirm_mode_cancel_uploads_nothing(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Cancelling the permanent-mark question uploads and marks nothing."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.2.0"), "confirm")
    click(qtbot, window.upload_panel.upload_button)
    press(qtbot, window, open_question(qtbot, window), "confirm-cancel")
    assert_nothing_happened(qtbot, window, sim)
    assert version(window, 0) == "1.0.0"
    assert window.upload_panel.upload_button.isEnabled()


def downgrade_sim(bridge: CoreBridge) -> UdpSimServer:
    return start_sim(bridge, config=SimConfig(name="gui-test-board", factory_version="5.0.0"))


def test_downgrade_asks_and_yes_installs_the_older_version(
    qtbot: QtBot,
    bridge: CoreBridge,
    trusted_settings: object,
    window: MainWindow,
    make_image: Callable[..., Path],
) -> None:
    """An older image is uploaded only after "Install the older version X over Y?" is
    accepted; then it runs (test mode)."""
    server = downgrade_sim(bridge)
    connect(qtbot, window, server)
    ready_to_upload(qtbot, window, make_image("4.3.0"), "test")
    click(qtbot, window.upload_panel.upload_button)
    box = open_question(qtbot, window)
    assert box.windowTitle() == "Install the older version 4.3.0 over 5.0.0?"
    assert not window.controller.uploading
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        press(qtbot, window, box, "confirm-yes")
    assert finished.args[0].result.ok, finished.args[0].result.message
    assert version(window, 0) == "4.3.0"


def test_downgrade_cancel_uploads_nothing(
    qtbot: QtBot,
    bridge: CoreBridge,
    trusted_settings: object,
    window: MainWindow,
    make_image: Callable[..., Path],
) -> None:
    """Cancelling the downgrade question uploads nothing: the newer image keeps running."""
    server = downgrade_sim(bridge)
    connect(qtbot, window, server)
    ready_to_upload(qtbot, window, make_image("4.4.0"), "test")
    click(qtbot, window.upload_panel.upload_button)
    press(qtbot, window, open_question(qtbot, window), "confirm-cancel")
    assert_nothing_happened(qtbot, window, server)
    assert version(window, 0) == "5.0.0"
