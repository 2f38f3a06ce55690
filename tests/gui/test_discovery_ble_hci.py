"""The application finds a BLE device through a Bumble controller (`slotwise --ble-hci`) and
connects to it through the same controller: `slotwise sim --ble-hci` on one virtual controller,
the GUI's host on the other, both controllers in their own process."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sim_process import running_controllers, running_sim

from app.gui.main_window import MainWindow


def test_gui_discovers_and_opens_a_ble_device_through_a_controller(
    qtbot: QtBot, window: MainWindow
) -> None:
    """The simulated peripheral is listed with its advertised name and SMP service, its spec
    names the controller, and selecting it reads its slots over BLE."""
    with running_controllers(2) as (device_hci, our_hci), running_sim("--ble-hci", device_hci):
        window.feed.use_ble_controller(our_hci)
        window.start_discovery(ble=True, serial=False)
        qtbot.waitUntil(lambda: window.devices.rowCount() == 1, timeout=20000)
        found = window.devices.target(0)
        assert found is not None and found.kind == "ble"
        assert found.name == "slotwise" and found.answers_smp is True
        assert found.spec == f"ble:C0:B0:00:00:00:01@{our_hci}"
        window.device_pane.select_spec(found.spec)
        qtbot.waitUntil(lambda: len(window.device_view.cards) == 2, timeout=20000)
        link = window.device_view.header.fields["link"].text()
        assert link.startswith("BLE") and "MTU 247" in link
        window.feed.stop_discovery()
        window.close()
