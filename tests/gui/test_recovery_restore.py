"""The device view on a board in MCUboot serial recovery, and "Restore firmware" end to end,
against the simulator's recovery profile on a real pty."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.targets import DeviceTarget
from app.sim.device import SimConfig, SimDevice
from app.sim.serial_endpoint import PtySimServer

from .test_update_flow import click

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the pty simulator needs POSIX")


def start_recovery_board(bridge: CoreBridge) -> PtySimServer:
    """A board whose application is damaged, powered on in serial recovery, on a new pty."""
    device = SimDevice(SimConfig(name="bricked", recovery="mcuboot-recovery"))
    device.corrupt_slot(0)
    server = PtySimServer(device)
    bridge.wait(server.start())
    bridge.add_cleanup(server.stop)
    return server


def select_board(qtbot: QtBot, window: MainWindow, server: PtySimServer) -> None:
    spec = f"serial:{server.path}"
    window.add_targets([DeviceTarget(spec, "serial", "Bricked board", server.path)])
    assert window.device_pane.select_spec(spec)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=20000)


def test_device_view_says_recovery_and_offers_only_restore(
    qtbot: QtBot, window: MainWindow, bridge: CoreBridge
) -> None:
    """In recovery the view names the bootloader's mode and swaps uploads for Restore."""
    select_board(qtbot, window, start_recovery_board(bridge))
    panel = window.recovery_panel
    assert panel.isVisible() and panel.restore_button.isVisible()
    assert not window.upload_panel.isVisible()
    assert "MCUboot serial recovery" in panel.state_label.text()
    assert "no valid image" in panel.state_label.text()
    assert window.device_view.header.fields["bootloader"].text() == "MCUboot, serial recovery"


def test_restore_firmware_warns_then_brings_the_application_back(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    bridge: CoreBridge,
    make_image: Callable[..., Path],
) -> None:
    """Restore verifies the file, warns that the primary slot is erased, writes it through
    the recovery, resets, and the view then shows the application running it."""
    server = start_recovery_board(bridge)
    select_board(qtbot, window, server)
    panel = window.recovery_panel
    panel.verify(make_image("1.3.0"))
    qtbot.waitUntil(
        lambda: window.findChild(QMessageBox, "confirm-dialog") is not None, timeout=10000
    )
    box = window.findChild(QMessageBox, "confirm-dialog")
    assert "erased" in box.informativeText() and "1.3.0" in box.informativeText()
    assert "signature verified" in box.informativeText()
    with qtbot.waitSignal(window.controller.recovery_finished, timeout=60000):
        click(qtbot, box.findChild(QPushButton, "confirm-yes"))
    snapshot = window.controller.snapshot
    assert snapshot is not None and snapshot.recovery is None
    running = snapshot.running()
    assert running is not None and running.version == "1.3.0" and running.active
    assert "Restored" in panel.result_label.text() and "1.3.0" in panel.result_label.text()
    assert not server.device.in_recovery
    click(qtbot, panel.done_button)
    assert window.upload_panel.isVisible() and not panel.isVisible()


def test_restore_refuses_an_untrusted_image_without_writing(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    bridge: CoreBridge,
    tmp_path: Path,
) -> None:
    """A file that is not an MCUboot image is refused with its reason; nothing is written."""
    server = start_recovery_board(bridge)
    select_board(qtbot, window, server)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 4096)
    window.recovery_panel.verify(junk)
    qtbot.waitUntil(lambda: "Not restored" in window.recovery_panel.result_label.text())
    assert window.findChild(QMessageBox, "confirm-dialog") is None
    assert server.device.counters["bytes_written"] == 0
