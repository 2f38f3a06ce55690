"""Settings persist across a restart of the window; the log drawer shows operations, decoded
SMP traffic and the serial console."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.targets import DeviceTarget
from app.sim.serve import UdpSimServer

from .conftest import connect


def test_settings_persist_across_restart(
    qtbot: QtBot, settings: AppSettings, signing_key: Path, make_image: Callable[..., Path]
) -> None:
    """Mode, window, timeouts, a trusted key, recent files and geometry survive a restart."""
    first_bridge = CoreBridge()
    first = MainWindow(first_bridge, settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(QSize(760, 560))  # inside the offscreen 800x600 screen, so nothing clamps it
    dialog = first.open_settings()
    dialog.mode.setCurrentIndex(dialog.mode.findData("confirm"))
    dialog.window_spin.setValue(2)
    dialog.timeout.setValue(2.5)
    dialog.ble_filter.setText("zephyr")
    assert dialog.add_key(signing_key, "bench-key")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    image = make_image("2.0.0")
    first.open_image(image)
    closed_size = first.size()
    first.close()
    assert not first_bridge.running

    second_bridge = CoreBridge()
    try:
        second = MainWindow(second_bridge, settings)
        qtbot.addWidget(second)
        second.show()
        assert second.upload_panel.mode_combo.currentData() == "confirm"
        assert second.upload_panel.window_size == 2
        assert second.controller.timeout_s == 2.5
        assert second.prefs.ble_filter == "zephyr"
        assert second.prefs.recent_files[0] == str(image)
        assert [a.toolTip() for a in second.recent_menu.actions()] == [str(image)]
        assert second.size() == closed_size
        reopened = second.open_settings()
        names = [reopened.key_list.item(i).text() for i in range(reopened.key_list.count())]
        assert len(names) == 1 and names[0].startswith("bench-key")
        assert "key hash" in names[0]
        reopened.reject()
        assert "bench-key" in [k.name for k in second.trusted_keys().list()]
        second.close()
    finally:
        second_bridge.stop()


def test_log_shows_operations_and_decoded_traffic(
    qtbot: QtBot, window: MainWindow, sim: UdpSimServer
) -> None:
    """With recording on, a refresh shows decoded image-state requests and replies."""
    connect(qtbot, window, sim)
    drawer = window.log_drawer
    assert "Connecting to Test board" in drawer.operations.toPlainText()
    drawer.traffic_box.setChecked(True)
    window.controller.refresh()
    qtbot.waitUntil(lambda: "image cmd 0 read" in drawer.traffic_view.toPlainText(), timeout=5000)
    text = drawer.traffic_view.toPlainText()
    assert "\u2190 image cmd 0 read reply" in text
    assert "images: [{" in text


def test_log_save_writes_shown_text(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Save writes the visible log to a file."""
    window.log_drawer.add("error", "The device did not answer in time.")
    target = tmp_path / "log.txt"
    window.log_drawer.save(target)
    assert "ERROR The device did not answer in time." in target.read_text()


def test_serial_console_lines_reach_the_drawer(
    qtbot: QtBot, window: MainWindow, bridge: CoreBridge
) -> None:
    """Lines a serial device prints between SMP frames appear in the console tab."""
    serial_endpoint = pytest.importorskip("app.sim.serial_endpoint")
    from app.sim.device import SimConfig, SimDevice

    pty = serial_endpoint.PtySimServer(SimDevice(SimConfig(name="serial-board")))
    bridge.wait(pty.start())
    bridge.add_cleanup(pty.stop)
    spec = f"serial:{pty.path}"
    window.add_targets(
        [DeviceTarget(spec=spec, kind="serial", name="Serial board", address=pty.path)]
    )
    window.device_pane.select_spec(spec)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=10000)

    async def say() -> None:
        pty.write_console("[00:00:01.000] <inf> app: hello from the console")

    bridge.wait(say())
    qtbot.waitUntil(
        lambda: "hello from the console" in window.log_drawer.console_view.toPlainText(),
        timeout=5000,
    )


def test_traffic_view_says_true_and_false(
    qtbot: QtBot, window: MainWindow, sim: UdpSimServer
) -> None:
    """Recorded traffic shows CBOR's true/false, never Python's True/False (issue 17, item 9)."""
    window.log_drawer.traffic_box.setChecked(True)
    connect(qtbot, window, sim)
    view = window.log_drawer.traffic_view
    qtbot.waitUntil(lambda: "active: true" in view.toPlainText(), timeout=5000)
    assert "True" not in view.toPlainText() and "False" not in view.toPlainText()


def test_settings_list_every_key_the_verdict_uses(
    qtbot: QtBot, bridge: CoreBridge, trusted_settings: AppSettings
) -> None:
    """In demo mode the demo key the verdict trusts is listed beside the store's keys, each
    saying where it comes from; only the store's can be removed (issue 17, item 6)."""
    from app.gui.dialogs.settings import REMOVABLE_ROLE

    window = MainWindow(bridge, trusted_settings, demo=True)
    qtbot.addWidget(window)
    used = {key.name for key in window.trusted_keys().list()}
    dialog = window.open_settings()
    shown = [dialog.key_list.item(i) for i in range(dialog.key_list.count())]
    assert {item.data(256) for item in shown} == used == {"test-key", "slotwise-demo"}
    demo = next(item for item in shown if item.data(256) == "slotwise-demo")
    assert "demo" in demo.text().split("\n")[1] and not demo.data(REMOVABLE_ROLE)
    store = next(item for item in shown if item.data(256) == "test-key")
    assert str(trusted_settings.keys_dir / "test-key.pem") in store.text()
    dialog.key_list.setCurrentItem(demo)
    assert not dialog.remove_button.isEnabled()
    dialog.key_list.setCurrentItem(store)
    assert dialog.remove_button.isEnabled()
    dialog.reject()
