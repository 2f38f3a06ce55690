"""The main window's device sources: the demo boards, live discovery and "Add device…".

`DeviceFeed` works on its window's bridge, device model, list pane, controller and log
drawer; heavy core modules are imported when a source starts, not at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QTimer

from app.gui.targets import DeviceTarget

if TYPE_CHECKING:
    from app.gui.demo import DemoDevices
    from app.gui.dialogs.add_device import AddDeviceDialog
    from app.gui.main_window import MainWindow
    from app.sim.link import LinkModel

SCAN_INTERVAL_S = 8.0
"""A discovery pass lasts ~6 s (BLE); the next starts a little after it ends."""


class DeviceFeed:
    """start_demo(), start_discovery(), rescan(), add_device(), add_targets()."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.demo: DemoDevices | None = None
        self.udp_scan: list[str] = []
        """UDP hosts, blocks or ranges probed on every scan (app/client/discovery)."""
        self._scan_timer: QTimer | None = None
        self._scanning = False
        self._discover_ble = True
        self._discover_serial = True
        self.ble_hci: str | None = None
        """A Bumble HCI controller (`slotwise --ble-hci`): BLE devices are found and reached
        through it instead of the OS Bluetooth stack."""

    def use_ble_controller(self, hci: str) -> None:
        """Find and reach BLE devices through the Bumble controller `hci` from now on."""
        from app.transport.ble_bumble import close_shared_hosts

        self.ble_hci = hci
        self.window.bridge.add_cleanup(close_shared_hosts)

    def add_targets(self, targets: list[DeviceTarget]) -> None:
        for target in targets:
            self.window.devices.upsert(target)

    def start_demo(
        self, *, serial: bool = True, ble: bool = True, link: LinkModel | None = None
    ) -> None:
        """Start the simulated devices, list them and select the first."""
        from app.gui.demo import DEMO_LINK, DemoDevices, start_demo

        demo = DemoDevices()
        self.demo = demo
        # registered before starting: a close in mid-start stops them too
        self.window.bridge.add_cleanup(demo.stop)
        self.window.status_label.setText("Starting the demo devices\u2026")
        self.window.bridge.submit(
            start_demo(demo, link or DEMO_LINK, serial=serial, ble=ble),
            on_result=self._on_demo_started,
        )

    def _on_demo_started(self, demo: DemoDevices) -> None:
        self.window.controller.openers.update(demo.openers)
        self.add_targets(demo.targets)
        self.window.status_label.setText(f"{len(demo.targets)} demo devices running")
        if demo.targets:
            self.window.device_pane.select_spec(demo.targets[0].spec)
        self.start_discovery()

    def start_discovery(self, *, ble: bool = True, serial: bool = True) -> None:
        """Live discovery over BLE, serial and UDP (app/client/discovery), every few s."""
        self._discover_ble = ble
        self._discover_serial = serial
        if self._scan_timer is None:
            self._scan_timer = QTimer(self.window)
            self._scan_timer.setInterval(int(SCAN_INTERVAL_S * 1000))
            self._scan_timer.timeout.connect(self.rescan)
            self._scan_timer.start()
        self.rescan()

    def rescan(self) -> None:
        from app.gui.discovery_feed import default_ble_scanner, scan
        from app.gui.errors import describe_error

        if self._scanning or not self.window.bridge.running:
            return
        self._scanning = True
        if self.demo is not None:  # the demo's fake radio, its UDP board, no real ports
            scanner = self.demo.scanners[0] if self.demo.scanners else None
            serial = False
        else:
            use_bleak = self._discover_ble and self.ble_hci is None
            scanner = default_ble_scanner() if use_bleak else None
            serial = self._discover_serial
        ble_hci = self.ble_hci if self._discover_ble and self.demo is None else None
        listed = [t.address for t in self.window.devices.targets() if t.kind == "udp"]
        udp = list(dict.fromkeys([*self.udp_scan, *listed]))

        def sink(found: object) -> None:  # loop thread
            self.window.bridge.post(lambda: self._on_found(found))

        def done(_result: object) -> None:
            self._scanning = False

        def failed(exc: BaseException) -> None:
            self._scanning = False
            self.window.log_drawer.add("warn", f"Discovery: {describe_error(exc)}")

        self.window.bridge.submit(
            scan(sink, ble=scanner, serial=serial, udp=udp, ble_hci=ble_hci),
            on_result=done,
            on_error=failed,
        )

    def _on_found(self, found: object) -> None:
        from app.gui.discovery_feed import merge_found

        target = merge_found(found, self.window.devices.targets(), self.window.prefs.ble_filter)
        if target is not None:
            self.window.devices.upsert(target)

    def restore_added(self) -> None:
        """List the devices added by hand in earlier sessions."""
        self.add_targets(self.window.settings.added_devices())

    def is_added(self, target: DeviceTarget | None) -> bool:
        return target is not None and any(
            t.spec == target.spec for t in self.window.settings.added_devices()
        )

    def remove(self, target: DeviceTarget) -> None:
        """Take a device added by hand off the list, now and in later sessions."""
        if self.window.device_pane.current_target() == target:
            self.window.device_pane.view.clearSelection()
            self.window.device_pane.view.setCurrentIndex(QModelIndex())
        self.window.devices.remove(target.spec)
        self.window.settings.forget_device(target.spec)

    def stop_discovery(self) -> None:
        if self._scan_timer is not None:
            self._scan_timer.stop()

    def add_device(self) -> AddDeviceDialog:
        """Ask for a UDP address or serial port; the new device is listed and selected."""
        from app.gui.dialogs.add_device import AddDeviceDialog

        dialog = AddDeviceDialog(self.window, baud=self.window.prefs.serial_baud)

        def accepted() -> None:
            target = dialog.target()
            if target is not None:
                self.window.devices.upsert(target)
                self.window.settings.remember_device(target)
                self.window.device_pane.select_spec(target.spec)
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.open()
        return dialog
