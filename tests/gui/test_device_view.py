"""Main window and device view against a simulated device over real UDP."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer

from .conftest import start_sim, udp_target


def badges(window: MainWindow, slot: int) -> list[str]:
    card = window.device_view.card(0, slot)
    assert card is not None
    return [label.text() for label in card.badges]


def test_add_device_connects_and_shows_identity(
    qtbot: QtBot, window: MainWindow, sim: UdpSimServer
) -> None:
    """A UDP device added by hand is listed, selected, read and named in the window title."""
    dialog = window.add_device()
    qtbot.keyClicks(dialog.udp_address, sim.address)
    qtbot.keyClicks(dialog.udp_name, "Bench board")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=10000)
    target = window.devices.target(0)
    assert target is not None and target.answers_smp is True
    assert window.windowTitle().startswith("Bench board")
    header = window.device_view.header
    assert "MCUboot" in header.fields["bootloader"].text()
    assert header.fields["buffers"].text() == "4 \u00d7 2048 bytes"
    assert sim.address in header.fields["link"].text()


def test_add_device_rejects_bad_address(qtbot: QtBot, window: MainWindow) -> None:
    """A malformed UDP address keeps the dialog open with the reason, and adds nothing."""
    dialog = window.add_device()
    qtbot.keyClicks(dialog.udp_address, "board:notaport")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert "bad UDP port" in dialog.error.text()
    assert window.devices.rowCount() == 0


def test_slots_show_correct_badges(qtbot: QtBot, window: MainWindow, sim: UdpSimServer) -> None:
    """The running slot shows active/confirmed/bootable; the empty slot offers Upload only."""
    window.add_targets([udp_target(sim)])
    window.device_pane.select_spec(f"udp:{sim.address}")
    qtbot.waitUntil(lambda: len(window.device_view.cards) == 2, timeout=10000)
    assert badges(window, 0) == ["active", "confirmed", "bootable"]
    assert badges(window, 1) == ["empty"]
    primary = window.device_view.card(0, 0)
    secondary = window.device_view.card(0, 1)
    assert primary is not None and secondary is not None
    assert primary.version_label.text() == "1.0.0"
    assert list(secondary.buttons) == ["upload"]
    assert "rollback" not in primary.buttons  # nothing to go back to


def test_switching_devices_drops_the_slow_answer(
    qtbot: QtBot, window: MainWindow, bridge: CoreBridge
) -> None:
    """Picking another device while the first is still being read shows only the second."""
    slow = start_sim(bridge, LinkModel(latency_s=0.15))
    fast = start_sim(bridge)
    window.add_targets([udp_target(slow, "Slow board"), udp_target(fast, "Fast board")])
    window.device_pane.select_spec(f"udp:{slow.address}")
    window.device_pane.select_spec(f"udp:{fast.address}")
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=10000)
    qtbot.waitUntil(lambda: bridge.dropped >= 1, timeout=5000)  # the slow read came back late
    assert window.controller.snapshot.target.name == "Fast board"
    assert window.device_view.header.name_label.text() == "Fast board"


def test_filter_box_hides_other_devices(
    qtbot: QtBot, window: MainWindow, bridge: CoreBridge
) -> None:
    """Typing in the filter box keeps only the devices whose name or address matches."""
    a, b = start_sim(bridge), start_sim(bridge)
    window.add_targets([udp_target(a, "Kitchen sensor"), udp_target(b, "Garage door")])
    qtbot.keyClicks(window.device_pane.filter_box, "garage")
    proxy = window.device_pane.proxy
    assert proxy.rowCount() == 1
    assert proxy.index(0, 0).data() == "Garage door"
