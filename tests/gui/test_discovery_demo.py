"""Discovery feeds the device list; demo mode starts simulated UDP, serial and BLE devices."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.sim.serve import UdpSimServer


def test_discover_udp_device_and_connect(
    qtbot: QtBot, window: MainWindow, sim: UdpSimServer
) -> None:
    """A UDP host given to discovery is probed, listed as answering SMP, and connects."""
    window.udp_scan.append(sim.address)
    window.start_discovery(ble=False, serial=False)
    qtbot.waitUntil(lambda: window.devices.rowCount() == 1, timeout=10000)
    found = window.devices.target(0)
    assert found is not None
    assert found.kind == "udp" and found.answers_smp is True
    assert found.spec == f"udp:{sim.address}"
    window.device_pane.select_spec(found.spec)
    qtbot.waitUntil(lambda: len(window.device_view.cards) == 2, timeout=10000)
    assert window.windowTitle().startswith(found.name)


def test_demo_lists_every_link_and_selects_first(
    qtbot: QtBot, bridge: CoreBridge, settings: AppSettings
) -> None:
    """--demo lists a UDP, a serial and a BLE board, selects the first, and the BLE one
    (through the fake GATT seam) connects too, with its link and MTU shown."""
    window = MainWindow(bridge, settings, demo=True)
    qtbot.addWidget(window)
    window.show()
    window.start_demo()
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=15000)
    kinds = [t.kind for t in window.devices.targets()]
    assert kinds == ["udp", "serial", "ble"]
    assert window.controller.snapshot.target.kind == "udp"
    assert window.upload_panel.demo_button.isVisible()
    window.device_pane.select_spec("ble:slotwise-demo-ble")
    qtbot.waitUntil(
        lambda: (
            window.controller.snapshot is not None
            and window.controller.snapshot.target.kind == "ble"
        ),
        timeout=15000,
    )
    link = window.device_view.header.fields["link"].text()
    assert link.startswith("BLE") and "MTU 247" in link
    window.close()


def test_demo_image_full_update(qtbot: QtBot, bridge: CoreBridge, settings: AppSettings) -> None:
    """In demo mode the bundled image verifies with the demo key and installs in test mode."""
    from PySide6.QtCore import Qt

    window = MainWindow(bridge, settings, demo=True)
    qtbot.addWidget(window)
    window.show()
    window.start_demo(serial=False, ble=False)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=15000)
    panel = window.upload_panel
    qtbot.mouseClick(panel.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    assert panel.check.ok
    assert "key \u201cslotwise-demo\u201d" in panel.verdict.plain_text()
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        qtbot.mouseClick(panel.upload_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].result.can_confirm
    assert window.controller.snapshot.running().version == "1.1.0"
    window.close()


def test_demo_key_is_not_trusted_outside_demo(window: MainWindow) -> None:
    """Without --demo the bundled demo key is not among the trusted keys."""
    assert "slotwise-demo" not in [k.name for k in window.trusted_keys().list()]
