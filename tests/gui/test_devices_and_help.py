"""Issue 17, items 5 and 10: added devices can be removed and are remembered; Add device
starts on the address and refuses a host nobody knows; Help offers documentation, the
keyboard shortcuts and a problem report (the diagnostic bundle)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow, documentation_path
from app.gui.settings import AppSettings
from app.sim.serve import UdpSimServer


def add_by_hand(qtbot: QtBot, window: MainWindow, address: str, name: str) -> None:
    dialog = window.add_device()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.udp_address)
    qtbot.keyClicks(dialog.udp_address, address)
    qtbot.keyClicks(dialog.udp_name, name)
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def specs(window: MainWindow) -> list[str]:
    return [t.spec for t in window.devices.targets()]


def test_added_device_is_remembered_and_removable(
    qtbot: QtBot, bridge: CoreBridge, settings: AppSettings, sim: UdpSimServer
) -> None:
    """A device added by hand is listed again after a restart; Remove (Device menu, or the
    row's context menu) takes it off the list and out of later sessions."""
    address = sim.address  # the simulator stops with the first window's bridge
    first = MainWindow(bridge, settings)
    qtbot.addWidget(first)
    first.show()
    add_by_hand(qtbot, first, address, "Bench board")
    qtbot.waitUntil(lambda: first.controller.snapshot is not None, timeout=10000)
    assert first.remove_device_action.isEnabled()
    first.close()

    second = MainWindow(CoreBridge(), settings)
    qtbot.addWidget(second)
    second.show()
    assert specs(second) == [f"udp:{address}"]
    assert second.devices.target(0).name == "Bench board"
    pane = second.device_pane
    menu = pane.context_menu_for(pane.proxy.index(0, 0))
    assert menu is not None
    (remove,) = menu.actions()
    assert remove.isEnabled() and "Bench board" in remove.text()
    remove.trigger()
    assert specs(second) == []
    second.close()
    second.bridge.stop()
    assert settings.added_devices() == []


def test_add_device_refuses_a_host_nobody_knows(qtbot: QtBot, window: MainWindow) -> None:
    """ "nonsense" is refused in the dialog, with the reason, instead of failing later."""
    dialog = window.add_device()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.udp_address)
    qtbot.keyClicks(dialog.udp_address, "nonsense.invalid")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert "nonsense.invalid" in dialog.error.text() and "IP address" in dialog.error.text()
    assert window.devices.rowCount() == 0


def test_help_menu_offers_docs_shortcuts_and_problem_report(
    qtbot: QtBot, window: MainWindow
) -> None:
    """Help lists documentation, keyboard shortcuts and Report a problem before About; the
    shortcuts shown are the window's own; a problem report without a device says what to do."""
    texts = [a.text() for a in window.help_menu.actions() if a.text()]
    assert texts[:3] == ["Documentation", "Keyboard shortcuts", "Report a problem\u2026"]
    assert texts[-1] == "About Slotwise"
    assert documentation_path() is not None and documentation_path().name == "gui.md"
    rows = dict(window.shortcut_rows())
    assert rows["Quit"] == "Ctrl+Q" and rows["Add device"] == "Ctrl+N"
    box = window.show_shortcuts()
    assert "Ctrl+Q" in box.text()
    box.close()
    window.report_problem_action.trigger()
    said = window.findChild(QMessageBox, "report-problem-dialog")
    assert said is not None and said.isVisible() and "Select the device" in said.text()
    said.close()
