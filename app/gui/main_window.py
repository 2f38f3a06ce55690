"""The main window: devices on the left, the selected device on the right, the log below."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.gui.bridge import CoreBridge
from app.gui.controller import DeviceController
from app.gui.demo import (
    DEMO_IMAGE,
    DEMO_KEY_NAME,
    DEMO_LINK,
    DEMO_PUBLIC_KEY,
    DemoDevices,
    start_demo,
)
from app.gui.diagnostics import attach_diagnostics
from app.gui.dialogs.add_device import AddDeviceDialog
from app.gui.dialogs.settings import SettingsDialog
from app.gui.discovery_feed import SCAN_S, default_ble_scanner, merge_found, scan
from app.gui.errors import describe_error
from app.gui.icons import app_icon, icon
from app.gui.models.devices import DeviceListModel
from app.gui.session import DeviceSnapshot, DeviceTarget
from app.gui.settings import AppSettings, Preferences
from app.gui.theme import apply_theme
from app.gui.widgets.device_list import DeviceListPane
from app.gui.widgets.device_view import DeviceView
from app.gui.widgets.log_drawer import LogDrawer
from app.gui.widgets.upload_panel import UploadPanel
from app.image.keys import KeyStore
from app.sim.link import LinkModel

log = logging.getLogger(__name__)

APP_NAME = "Slotwise"


class MainWindow(QMainWindow):
    """Owns the bridge's lifetime: closing the window stops the core loop thread."""

    file_dropped = Signal(Path)

    def __init__(self, bridge: CoreBridge, settings: AppSettings, *, demo: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.demo_mode = demo
        self.demo: DemoDevices | None = None
        self._keys: KeyStore | None = None
        self._scan_timer: QTimer | None = None
        self.udp_scan: list[str] = []
        """UDP hosts, blocks or ranges probed on every scan (app/transport/discovery)."""
        self._scanning = False
        self.remember_geometry = True
        self._discover_ble = True
        self._discover_serial = True
        self.settings = settings
        self.prefs: Preferences = settings.load()
        self.devices = DeviceListModel()
        self.controller = DeviceController(bridge, timeout_s=self.prefs.timeout_s,
                                           reset_wait_s=self.prefs.reset_wait_s)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setObjectName("main-window")
        self._build_central()
        self.diagnostics = attach_diagnostics(self)
        self.splitter.widget(1).setMinimumSize(360, 240)  # whatever now holds the device view
        self._build_menus()
        self._build_status()
        self._apply_prefs(self.prefs)
        self._wire()
        self._update_title()
        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 800)

    # --- building ---------------------------------------------------------------------------

    def _build_central(self) -> None:
        self.device_pane = DeviceListPane(self.devices)
        self.device_view = DeviceView(self.controller)
        self.upload_panel = UploadPanel(self.bridge, self.controller, self.trusted_keys)
        self.device_view.extra.addWidget(self.upload_panel)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.device_view)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.right_scroll = scroll
        # explicit minimums: without them QSplitter sizes from the content's hints and the
        # window could not be smaller than a tall laptop screen
        scroll.setMinimumSize(360, 240)
        self.device_pane.setMinimumSize(220, 200)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.device_pane)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 900])
        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.addWidget(self.splitter)
        self.vsplit.setStretchFactor(0, 1)
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vsplit)
        self.setCentralWidget(holder)
        self.log_drawer = LogDrawer(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_drawer)
        self.resizeDocks([self.log_drawer], [170], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action("Open image\u2026", "file", QKeySequence.StandardKey.Open)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Recent images")
        self.production_action = self._action("Production\u2026", "upload",
                                              QKeySequence("Ctrl+Shift+P"))
        self.production_action.triggered.connect(self._open_production)
        file_menu.addAction(self.production_action)
        file_menu.addSeparator()
        quit_action = self._action("Quit", "", QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        device_menu = bar.addMenu("&Device")
        self.add_action = self._action("Add device\u2026", "add", QKeySequence("Ctrl+N"))
        self.refresh_action = self._action("Refresh", "refresh", QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.controller.refresh)
        for action in (self.add_action, self.refresh_action):
            device_menu.addAction(action)
        self.view_menu = bar.addMenu("&View")
        log_toggle = self.log_drawer.toggleViewAction()
        log_toggle.setText("Log drawer")
        log_toggle.setIcon(icon("log"))
        log_toggle.setShortcut(QKeySequence("Ctrl+L"))
        self.view_menu.addAction(log_toggle)
        self.settings_menu = bar.addMenu("&Settings")
        self.settings_action = self._action("Preferences\u2026", "settings",
                                            QKeySequence("Ctrl+,"))
        self.settings_menu.addAction(self.settings_action)
        help_menu = bar.addMenu("&Help")
        about = self._action("About Slotwise", "", None)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _action(self, text: str, icon_name: str, shortcut: QKeySequence | QKeySequence.StandardKey
                | None) -> QAction:
        action = QAction(icon(icon_name) if icon_name else app_icon(), text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _build_status(self) -> None:
        self.status_label = QLabel("Ready")
        self.status_label.setAccessibleName("Status")
        self.statusBar().addWidget(self.status_label, 1)

    def trusted_keys(self) -> KeyStore:
        """The user's trusted keys, plus the demo key in demo mode only (never saved)."""
        if self._keys is None:
            keys = KeyStore()
            for trusted in KeyStore(self.settings.keys_dir).list():
                keys.add(trusted.name, trusted.key)
            if self.demo_mode:
                keys.add(DEMO_KEY_NAME, DEMO_PUBLIC_KEY.read_bytes())
            self._keys = keys
        return self._keys

    def _apply_prefs(self, prefs: Preferences) -> None:
        self.prefs = prefs
        self._keys = None
        self.controller.timeout_s = prefs.timeout_s
        self.controller.reset_wait_s = prefs.reset_wait_s
        panel = self.upload_panel
        panel.allow_unsigned = prefs.allow_unsigned
        panel.window_size = prefs.window
        panel.reset_wait_s = prefs.reset_wait_s
        panel.timeout_s = prefs.timeout_s
        index = panel.mode_combo.findData(prefs.upload_mode)
        panel.mode_combo.setCurrentIndex(max(index, 0))
        panel.set_recent(prefs.recent_files)
        self._fill_recent_menu(prefs.recent_files)

    def _fill_recent_menu(self, paths: tuple[str, ...]) -> None:
        self.recent_menu.clear()
        for text in paths:
            action = self.recent_menu.addAction(Path(text).name)
            action.setToolTip(text)
            action.triggered.connect(lambda _=False, p=text: self.open_image(Path(p)))
        self.recent_menu.setEnabled(bool(paths))

    def open_image(self, path: Path) -> None:
        """Show `path`'s verdict in the upload panel and remember it as a recent file."""
        self.upload_panel.load(path)

    def _remember(self, path: Path) -> None:
        prefs = self.settings.add_recent(path)
        self.prefs = replace(self.prefs, recent_files=prefs.recent_files)
        self.upload_panel.set_recent(prefs.recent_files)
        self._fill_recent_menu(prefs.recent_files)

    def _wire(self) -> None:
        drawer = self.log_drawer
        self.controller.logged.connect(drawer.add)
        self.controller.traffic.connect(drawer.add_traffic)
        self.controller.console.connect(drawer.add_console)
        self.bridge.failed.connect(lambda text: drawer.add("error", text))
        drawer.traffic_box.toggled.connect(self._record_traffic)
        self.settings_action.triggered.connect(self.open_settings)
        self.file_dropped.connect(self.open_image)
        self.upload_panel.file_loaded.connect(self._remember)
        self.open_action.triggered.connect(self.upload_panel.choose_file)
        self.device_view.upload_requested.connect(lambda _slot: self.upload_panel.choose_file())
        self.controller.busy_changed.connect(lambda _t: self.upload_panel._refresh_buttons())
        if self.demo_mode:
            self.upload_panel.demo_button.show()
            self.upload_panel.demo_button.clicked.connect(lambda: self.open_image(DEMO_IMAGE))
        self.device_pane.selected.connect(self._on_selected)
        self.device_pane.add_requested.connect(self.add_device)
        self.device_pane.rescan_requested.connect(self.rescan)
        self.add_action.triggered.connect(self.add_device)
        self.controller.snapshot_changed.connect(self._on_snapshot)
        self.controller.failed.connect(self._on_failed)
        self.controller.busy_changed.connect(
            lambda text: self.status_label.setText(text or "Ready"))
        self.bridge.failed.connect(self._on_failed)

    # --- behaviour --------------------------------------------------------------------------

    def start_demo(self, *, serial: bool = True, ble: bool = True,
                   link: LinkModel = DEMO_LINK) -> None:
        """Start the simulated devices, list them and select the first."""
        demo = DemoDevices()
        self.demo = demo
        self.bridge.add_cleanup(demo.stop)  # before starting: a close mid-start stops them too
        self.status_label.setText("Starting the demo devices…")
        self.bridge.submit(start_demo(demo, link, serial=serial, ble=ble),
                           on_result=self._on_demo_started)

    def _on_demo_started(self, demo: DemoDevices) -> None:
        self.controller.openers.update(demo.openers)
        self.add_targets(demo.targets)
        self.status_label.setText(f"{len(demo.targets)} demo devices running")
        if demo.targets:
            self.device_pane.select_spec(demo.targets[0].spec)
        self.start_discovery()

    def start_discovery(self, *, ble: bool = True, serial: bool = True) -> None:
        """Live discovery over BLE, serial and UDP (app/transport/discovery), every few s."""
        self._discover_ble = ble
        self._discover_serial = serial
        if self._scan_timer is None:
            self._scan_timer = QTimer(self)
            self._scan_timer.setInterval(int(SCAN_S * 1000) + 2000)
            self._scan_timer.timeout.connect(self.rescan)
            self._scan_timer.start()
        self.rescan()

    def rescan(self) -> None:
        if self._scanning or not self.bridge.running:
            return
        self._scanning = True
        if self.demo is not None:  # the demo's fake radio, its UDP board, no real ports
            scanner = self.demo.scanners[0] if self.demo.scanners else None
            serial = False
        else:
            scanner = default_ble_scanner() if self._discover_ble else None
            serial = self._discover_serial
        udp = list(dict.fromkeys([*self.udp_scan, *(t.address for t in self.devices.targets()
                                                     if t.kind == "udp")]))

        def sink(found: object) -> None:  # loop thread
            self.bridge.post(lambda: self._on_found(found))

        def done(_result: object) -> None:
            self._scanning = False

        def failed(exc: BaseException) -> None:
            self._scanning = False
            self.log_drawer.add("warn", f"Discovery: {describe_error(exc)}")

        self.bridge.submit(scan(sink, ble=scanner, serial=serial, udp=udp),
                           on_result=done, on_error=failed)

    def _on_found(self, found: object) -> None:
        target = merge_found(found, self.devices.targets(), self.prefs.ble_filter)
        if target is not None:
            self.devices.upsert(target)

    def add_device(self) -> AddDeviceDialog:
        """Ask for a UDP address or serial port; the new device is listed and selected."""
        dialog = AddDeviceDialog(self, baud=self.prefs.serial_baud)

        def accepted() -> None:
            target = dialog.target()
            if target is not None:
                self.devices.upsert(target)
                self.device_pane.select_spec(target.spec)
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self)

        def accepted() -> None:
            prefs = dialog.prefs
            self._apply_prefs(prefs)
            qapp = QApplication.instance()
            if isinstance(qapp, QApplication):
                apply_theme(qapp, prefs.theme)
            self.log_drawer.add("info", "Settings saved")

        def finished() -> None:
            self._keys = None  # keys may have changed even on Cancel (they write through)
            if self.upload_panel.path is not None and self.upload_panel.check is not None:
                self.upload_panel.recheck()
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _record_traffic(self, on: bool) -> None:
        self.controller.tap.enabled = on  # read by the loop thread; a bool swap is atomic
        self.log_drawer.add("info", "Recording SMP traffic" if on else "Stopped recording traffic")

    def add_targets(self, targets: list[DeviceTarget]) -> None:
        for target in targets:
            self.devices.upsert(target)

    def _on_selected(self, target: DeviceTarget | None) -> None:
        self.controller.select(target)
        if target is None:
            self.device_view.clear()
        else:
            self.device_view.clear(target.name)
        self._update_title()

    def _on_snapshot(self, snapshot: DeviceSnapshot) -> None:
        self.devices.upsert(replace(snapshot.target, answers_smp=True))
        self._update_title()

    def _on_failed(self, text: str) -> None:
        self.status_label.setText(text)

    def _update_title(self) -> None:
        snapshot = self.controller.snapshot
        session = self.controller.session
        if snapshot is not None:
            self.setWindowTitle(f"{snapshot.target.name} \u2014 {APP_NAME}")
        elif session is not None:
            self.setWindowTitle(f"{session.target.name} (connecting) \u2014 {APP_NAME}")
        else:
            self.setWindowTitle(APP_NAME)

    def _open_production(self) -> None:
        from app.gui.production import open_production  # loaded on first use

        open_production(self)

    def _about(self) -> None:
        QMessageBox.about(self, "About Slotwise",
                          "Slotwise updates and diagnoses firmware on Zephyr/MCUboot devices "
                          "over SMP (MCUmgr) on Bluetooth LE, serial and UDP.")

    # --- drag and drop, closing -------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls: list[QUrl] = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.file_dropped.emit(Path(urls[0].toLocalFile()))
            event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._scan_timer is not None:
            self._scan_timer.stop()
        if self.remember_geometry:
            self.settings.save_geometry(QByteArray(self.saveGeometry()))
        self.bridge.stop()
        super().closeEvent(event)

