"""The main window: devices on the left, the selected device on the right, the log below.

Built in two steps so the first paint does not wait for the core to load: the shell (menus,
device list, log drawer) first; then the device view, upload panel and diagnostics, which
import the SMP client, image verification and workflows. `MainWindow(...)` builds both at
once; the application passes `deferred=True` and the second step runs right after the
first paint (`when_ready()` queues work for it).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QWidget,
)

from app.gui.bridge import CoreBridge
from app.gui.device_feed import DeviceFeed
from app.gui.icons import app_icon, icon
from app.gui.models.devices import DeviceListModel
from app.gui.plain_text import plain_label
from app.gui.settings import AppSettings, Preferences
from app.gui.targets import DeviceSnapshot, DeviceTarget
from app.gui.widgets.device_list import DeviceListPane
from app.gui.widgets.log_drawer import LogDrawer

if TYPE_CHECKING:
    from app.gui.controller import DeviceController
    from app.gui.demo import DemoDevices
    from app.gui.diagnostics.panel import DiagnosticsPanel
    from app.gui.dialogs.add_device import AddDeviceDialog
    from app.gui.dialogs.settings import SettingsDialog
    from app.gui.production.window import ProductionWindow
    from app.gui.widgets.device_view import DeviceView
    from app.gui.widgets.fleet_panel import FleetPanel
    from app.gui.widgets.recovery_panel import RecoveryPanel
    from app.gui.widgets.upload_panel import UploadPanel
    from app.image.keys import KeyStore, TrustedKey
    from app.sim.link import LinkModel

log = logging.getLogger(__name__)

APP_NAME = "Slotwise"


def documentation_path() -> Path | None:
    """docs/gui.md of a source checkout (a bundle has no docs folder)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "gui.md"
    return path if path.is_file() else None


def about_text() -> str:
    """The About box: what Slotwise is, its version (from pyproject) and licence."""
    import app

    return (
        f"Slotwise {app.__version__}\n\nSlotwise updates and diagnoses firmware on "
        "Zephyr/MCUboot devices over SMP (MCUmgr) on Bluetooth LE, serial and UDP.\n\n"
        "Apache License 2.0"
    )


class MainWindow(QMainWindow):
    """Owns the bridge's lifetime: closing the window stops the core loop thread."""

    file_dropped = Signal(Path)
    ready = Signal()
    """The second build step is done: controller, device view and upload panel exist."""

    controller: DeviceController
    device_view: DeviceView
    upload_panel: UploadPanel
    recovery_panel: RecoveryPanel
    diagnostics: DiagnosticsPanel
    fleet_panel: FleetPanel
    device_tabs: QTabWidget
    """Slots and Diagnostics, side by side as tabs."""
    export_action: QAction

    def __init__(
        self,
        bridge: CoreBridge,
        settings: AppSettings,
        *,
        demo: bool = False,
        deferred: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings
        self.demo_mode = demo
        self.operator_locked = False
        self.remember_geometry = True
        self.prefs: Preferences = settings.load()
        self.devices = DeviceListModel()
        self._keys: KeyStore | None = None
        self._built = False
        self._pending: list[Callable[[], None]] = []
        self.feed = DeviceFeed(self)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setObjectName("main-window")
        self._build_shell()
        self._build_menus()
        self._build_status()
        self._fill_recent_menu(self.prefs.recent_files)
        self.setWindowTitle(APP_NAME)
        self.device_pane.removable = self.feed.is_added
        self.device_pane.remove_requested.connect(self.feed.remove)
        self.feed.restore_added()
        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 800)
        self.fit_to_screen()
        if not deferred:
            self._build_device_side()

    def fit_to_screen(self) -> None:
        """Never larger than the screen's free area: at 1024x768 without a window manager
        the default 1180x800 put Upload and Refresh beyond the screen's edge."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        free = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()  # title bar, borders
        width = min(self.width(), free.width() - frame.width())
        height = min(self.height(), free.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        if not free.contains(self.frameGeometry().topLeft()):
            self.move(free.topLeft())

    # --- step 1: the shell ------------------------------------------------------------------

    def _build_shell(self) -> None:
        self.device_pane = DeviceListPane(self.devices)
        self.device_pane.setMinimumSize(220, 200)
        placeholder = QLabel("Loading\u2026")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setMinimumSize(360, 240)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.device_pane)
        self.splitter.addWidget(placeholder)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 900])
        self.setCentralWidget(self.splitter)
        self.log_drawer = LogDrawer(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_drawer)
        self.resizeDocks([self.log_drawer], [170], Qt.Orientation.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = file_menu = bar.addMenu("&File")
        self.open_action = self._action("Open image\u2026", "file", QKeySequence.StandardKey.Open)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Recent images")
        self.production_action = self._action(
            "Production\u2026", "upload", QKeySequence("Ctrl+Shift+P")
        )
        self.production_action.triggered.connect(self._open_production)
        file_menu.addAction(self.production_action)
        file_menu.addSeparator()
        # not StandardKey.Quit: it is empty on Windows and Qt's offscreen platform
        self.quit_action = quit_action = self._action("Quit", "", QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.device_menu = device_menu = bar.addMenu("&Device")
        self.add_action = self._action("Add device\u2026", "add", QKeySequence("Ctrl+N"))
        self.add_action.triggered.connect(self.add_device)
        self.refresh_action = self._action("Refresh", "refresh", QKeySequence.StandardKey.Refresh)
        self.remove_device_action = self._action("Remove device", "cancel", None)
        self.remove_device_action.setToolTip("Take the selected device added by hand off the list")
        self.remove_device_action.setEnabled(False)
        self.remove_device_action.triggered.connect(self._remove_selected)
        for action in (self.add_action, self.remove_device_action, self.refresh_action):
            device_menu.addAction(action)
        self.view_menu = bar.addMenu("&View")
        log_toggle = self.log_drawer.toggleViewAction()
        log_toggle.setText("Log drawer")
        log_toggle.setIcon(icon("log"))
        log_toggle.setShortcut(QKeySequence("Ctrl+L"))
        self.view_menu.addAction(log_toggle)
        self.settings_menu = bar.addMenu("&Settings")
        self.settings_action = self._action("Preferences\u2026", "settings", QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(self.open_settings)
        self.settings_menu.addAction(self.settings_action)
        self.help_menu = help_menu = bar.addMenu("&Help")
        self.docs_action = self._action("Documentation", "file", QKeySequence("F1"))
        self.docs_action.triggered.connect(self._open_docs)
        self.shortcuts_action = self._action("Keyboard shortcuts", "", None)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.report_problem_action = self._action("Report a problem\u2026", "log", None)
        self.report_problem_action.setToolTip(
            "Save a diagnostic bundle of the selected device (report, traffic, log) to send"
        )
        self.report_problem_action.triggered.connect(self.report_problem)
        self.about_action = about = self._action("About Slotwise", "", None)
        about.triggered.connect(self._about)
        for action in (self.docs_action, self.shortcuts_action, self.report_problem_action):
            help_menu.addAction(action)
        help_menu.addSeparator()
        help_menu.addAction(about)

    def _action(
        self, text: str, icon_name: str, shortcut: QKeySequence | QKeySequence.StandardKey | None
    ) -> QAction:
        action = QAction(icon(icon_name) if icon_name else app_icon(), text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        return action

    def _build_status(self) -> None:
        self.status_label = plain_label("Ready")
        self.status_label.setAccessibleName("Status")
        self.statusBar().addWidget(self.status_label, 1)

    # --- device sources (app/gui/device_feed.py) --------------------------------------------

    @property
    def demo(self) -> DemoDevices | None:
        return self.feed.demo

    @property
    def udp_scan(self) -> list[str]:
        """UDP hosts, blocks or ranges probed on every discovery pass."""
        return self.feed.udp_scan

    def add_targets(self, targets: list[DeviceTarget]) -> None:
        self.feed.add_targets(targets)

    def start_demo(
        self, *, serial: bool = True, ble: bool = True, link: LinkModel | None = None
    ) -> None:
        """Start the simulated devices, list them and select the first."""
        self.feed.start_demo(serial=serial, ble=ble, link=link)

    def start_discovery(self, *, ble: bool = True, serial: bool = True) -> None:
        self.feed.start_discovery(ble=ble, serial=serial)

    def rescan(self) -> None:
        self.feed.rescan()

    def add_device(self) -> AddDeviceDialog:
        return self.feed.add_device()

    # --- step 2: the device side ------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if not self._built and event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self._build_device_side)  # right after the first paint
        return handled

    def when_ready(self, fn: Callable[[], None]) -> None:
        """Run `fn` once the device side exists (now, if it does)."""
        if self._built:
            fn()
        else:
            self._pending.append(fn)

    def _build_device_side(self) -> None:
        if self._built:
            return
        from app.gui.controller import DeviceController
        from app.gui.diagnostics.base import RecentPaths
        from app.gui.diagnostics.panel import DiagnosticsPanel
        from app.gui.widgets.device_view import DeviceView
        from app.gui.widgets.upload_panel import UploadPanel

        self.controller = DeviceController(
            self.bridge, timeout_s=self.prefs.timeout_s, reset_wait_s=self.prefs.reset_wait_s
        )
        self.device_view = DeviceView(self.controller)
        self.upload_panel = UploadPanel(self.bridge, self.controller, self.trusted_keys)
        self.device_view.extra.addWidget(self.upload_panel)
        from app.gui.widgets.recovery_panel import RecoveryPanel

        self.recovery_panel = RecoveryPanel(
            self.bridge, self.controller, self.trusted_keys, replaces=[self.upload_panel]
        )
        self.device_view.extra.addWidget(self.recovery_panel)
        self.right_scroll = _scroll(self.device_view)
        recent = RecentPaths(self.settings.keys_dir.parent / "diagnostics-recent-paths.json")
        self.diagnostics = DiagnosticsPanel(self.bridge, self.controller, recent)
        self.device_tabs = QTabWidget()
        self.device_tabs.setObjectName("device-tabs")
        old = self.splitter.replaceWidget(1, self.device_tabs)
        if old is not None:
            old.deleteLater()
        self.device_tabs.addTab(self.right_scroll, "Slots")
        self.device_tabs.addTab(self.diagnostics, "Diagnostics")
        from app.gui.widgets.fleet_panel import FleetPanel

        self.fleet_panel = FleetPanel(self.bridge, self.controller, self.trusted_keys)
        self.device_tabs.addTab(_scroll(self.fleet_panel), "Fleet")
        self.export_action = self._action("Export report\u2026", "", QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(self.diagnostics.ask_export)
        self.addAction(self.export_action)
        self.device_tabs.setMinimumSize(360, 240)
        self._built = True
        self._apply_prefs(self.prefs)
        self._wire()
        self._update_title()
        pending, self._pending = self._pending, []
        for fn in pending:
            fn()
        self.ready.emit()

    def _wire(self) -> None:
        drawer, controller, panel = self.log_drawer, self.controller, self.upload_panel
        controller.logged.connect(drawer.add)
        controller.traffic.connect(drawer.add_traffic)
        controller.console.connect(drawer.add_console)
        self.bridge.failed.connect(lambda text: drawer.add("error", text))
        drawer.traffic_box.toggled.connect(self._record_traffic)
        self.refresh_action.triggered.connect(controller.refresh)
        self.file_dropped.connect(self.open_image)
        panel.file_loaded.connect(self._remember)
        self.open_action.triggered.connect(panel.choose_file)
        self.device_view.upload_requested.connect(lambda _slot: panel.choose_file())
        controller.busy_changed.connect(lambda _t: panel.refresh_buttons())
        if self.demo_mode:
            from app.gui.demo import DEMO_IMAGE

            panel.demo_button.show()
            panel.demo_button.clicked.connect(lambda: self.open_image(DEMO_IMAGE))
        self.device_pane.selected.connect(self._on_selected)
        self.device_pane.add_requested.connect(self.add_device)
        self.device_pane.rescan_requested.connect(self.rescan)
        controller.snapshot_changed.connect(self._on_snapshot)
        controller.failed.connect(self._on_failed)
        controller.busy_changed.connect(lambda text: self.status_label.setText(text or "Ready"))
        self.bridge.failed.connect(self._on_failed)

    # --- preferences, keys and files --------------------------------------------------------

    def trusted_keys(self) -> KeyStore:
        """The user's trusted keys, plus the session's own (the demo key in demo mode)."""
        from app.image.keys import KeyStore

        if self._keys is None:
            keys = KeyStore()
            for trusted in KeyStore(self.settings.keys_dir).list():
                keys.add(trusted.name, trusted.key)
            for trusted, _origin in self.session_keys():
                keys.add(trusted.name, trusted.key)
            self._keys = keys
        return self._keys

    def session_keys(self) -> list[tuple[TrustedKey, str]]:
        """Keys trusted in this session only (never saved), each with where it comes from."""
        if not self.demo_mode:
            return []
        from app.gui.demo import DEMO_KEY_NAME, DEMO_PUBLIC_KEY
        from app.image.keys import TrustedKey, load_public_key

        key = TrustedKey.from_key(DEMO_KEY_NAME, load_public_key(DEMO_PUBLIC_KEY.read_bytes()))
        origin = (
            f"the demo's key ({DEMO_PUBLIC_KEY.name}), trusted only while the demo runs "
            "(its private half is public)"
        )
        return [(key, origin)]

    def _apply_prefs(self, prefs: Preferences) -> None:
        self.prefs = prefs
        self._keys = None
        self._fill_recent_menu(prefs.recent_files)
        if not self._built:
            return
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

    def _fill_recent_menu(self, paths: tuple[str, ...]) -> None:
        self.recent_menu.clear()
        for text in paths:
            action = self.recent_menu.addAction(Path(text).name)
            action.setToolTip(text)
            action.triggered.connect(lambda _=False, p=text: self.open_image(Path(p)))
        self.recent_menu.setEnabled(bool(paths))

    def open_image(self, path: Path) -> None:
        """Show `path`'s verdict in the upload panel and remember it as a recent file."""
        self.when_ready(lambda: self.upload_panel.load(path))

    def _remember(self, path: Path) -> None:
        prefs = self.settings.add_recent(path)
        self.prefs = replace(self.prefs, recent_files=prefs.recent_files)
        self.upload_panel.set_recent(prefs.recent_files)
        self._fill_recent_menu(prefs.recent_files)

    def open_settings(self) -> SettingsDialog:
        from app.gui.dialogs.settings import SettingsDialog
        from app.gui.theme import apply_theme

        dialog = SettingsDialog(self.settings, self, session_keys=self.session_keys())

        def accepted() -> None:
            self._apply_prefs(dialog.prefs)
            qapp = QApplication.instance()
            if isinstance(qapp, QApplication):
                apply_theme(qapp, dialog.prefs.theme)
            self.log_drawer.add("info", "Settings saved")

        def finished() -> None:
            self._keys = None  # keys may have changed even on Cancel (they write through)
            panel = self.upload_panel if self._built else None
            if panel is not None and panel.path is not None and panel.check is not None:
                panel.recheck()
            dialog.deleteLater()

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        dialog.open()
        return dialog

    def _record_traffic(self, on: bool) -> None:
        self.controller.tap.enabled = on  # read by the loop thread; a bool swap is atomic
        self.log_drawer.add("info", "Recording SMP traffic" if on else "Stopped recording traffic")

    # --- selection and title ----------------------------------------------------------------

    def _remove_selected(self) -> None:
        target = self.device_pane.current_target()
        if target is not None and self.feed.is_added(target):
            self.feed.remove(target)

    def _on_selected(self, target: DeviceTarget | None) -> None:
        self.remove_device_action.setEnabled(self.feed.is_added(target))
        if target is None:
            self.device_view.clear()
        else:
            self.device_view.clear(target.name)
        self.controller.select(target)
        self._update_title()

    def _on_snapshot(self, snapshot: DeviceSnapshot) -> None:
        self.devices.upsert(replace(snapshot.target, answers_smp=True))
        self._update_title()

    def _on_failed(self, text: str) -> None:
        self.status_label.setText(text)

    def _update_title(self) -> None:
        snapshot = self.controller.snapshot if self._built else None
        session = self.controller.session if self._built else None
        if snapshot is not None:
            self.setWindowTitle(f"{snapshot.target.name} \u2014 {APP_NAME}")
        elif session is not None:
            self.setWindowTitle(f"{session.target.name} (connecting) \u2014 {APP_NAME}")
        else:
            self.setWindowTitle(APP_NAME)

    def _open_production(self) -> None:
        self.open_production()

    def open_production(self, job_path: Path | None = None) -> ProductionWindow:
        """Show this window's production window (one per main window); load `job_path`."""
        from app.gui.production.window import ProductionWindow  # loaded on first use

        window = self.findChild(ProductionWindow)
        if window is None:
            window = ProductionWindow(self.bridge, self.settings, self, parent=self)
        window.show()
        window.raise_()
        window.activateWindow()
        if job_path is not None:
            window.load_job_file(job_path)
        elif window.job is None:
            window.choose_job()
        return window

    # --- operator mode (app/gui/production) --------------------------------------------------

    def lockable_actions(self) -> list[QAction]:
        """What operator mode hides: settings, other images, other devices, report files."""
        actions = [self.settings_action, self.open_action, self.add_action]
        actions += [self.report_problem_action, self.remove_device_action]
        actions += [self.settings_menu.menuAction(), self.recent_menu.menuAction()]
        if self._built:
            actions.append(self.export_action)
        return actions

    def operator_actions(self) -> list[QAction]:
        """What an operator keeps: nothing here changes a setting, a file or another device."""
        menus = [self.file_menu, self.device_menu, self.view_menu, self.help_menu]
        return [
            self.production_action,
            self.quit_action,  # closing is refused while locked
            self.refresh_action,
            self.log_drawer.toggleViewAction(),
            self.about_action,
            self.docs_action,
            self.shortcuts_action,
            *(menu.menuAction() for menu in menus),
        ]

    def lockable_widgets(self) -> list[QWidget]:
        """What operator mode disables: the right side (slot actions, upload panel, diagnostics)."""
        holder = self.splitter.widget(1)
        return [holder] if holder is not None else []

    def set_operator_lock(self, locked: bool) -> None:
        self.operator_locked = locked
        for action in self.lockable_actions():
            action.setVisible(not locked)
            action.setEnabled(not locked)
        for widget in self.lockable_widgets():
            widget.setEnabled(not locked)
        self.setAcceptDrops(not locked)

    def _about(self) -> None:
        QMessageBox.about(self, "About Slotwise", about_text())

    def _open_docs(self) -> None:
        path = documentation_path()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        else:
            QMessageBox.information(
                self,
                "Documentation",
                "The guide is docs/gui.md in the Slotwise source; README.md lists the others.",
            )

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(what, keys) of every action that has a shortcut, from the actions themselves."""
        rows = {
            (
                action.text().replace("&", "").rstrip("\u2026."),
                action.shortcut().toString(QKeySequence.SequenceFormat.NativeText),
            )
            for action in self.findChildren(QAction)
            if not action.shortcut().isEmpty() and action.text()
        }
        return sorted(rows)

    def show_shortcuts(self) -> QMessageBox:
        table = "".join(
            f"<tr><td>{html.escape(what)}</td><td><b>{html.escape(keys)}</b></td></tr>"
            for what, keys in self.shortcut_rows()
        )
        box = QMessageBox(self)
        box.setObjectName("shortcuts-dialog")
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(f"<table cellspacing=6>{table}</table>")
        box.open()
        return box

    def report_problem(self) -> None:
        """The diagnostic bundle of the selected device, to attach to a problem report."""
        if not self._built or self.controller.session is None:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Report a problem",
                "Select the device the problem is about first: the bundle reads it (its "
                "report, SMP traffic and log). Without one, save the log drawer's "
                "Operations log (Save\u2026) and send that.",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setObjectName("report-problem-dialog")
            box.open()  # not exec(): the window (and a test) keeps running
            return
        self.diagnostics.ask_export()

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
        if self.operator_locked:
            event.ignore()  # closing the main window would stop the line
            return
        self.feed.stop_discovery()
        if self.remember_geometry:
            self.settings.save_geometry(QByteArray(self.saveGeometry()))
        self.bridge.stop()
        super().closeEvent(event)


def _scroll(view: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(view)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    # an explicit minimum: without it QSplitter sizes from the content's hints and the
    # window could not be smaller than a laptop screen
    scroll.setMinimumSize(360, 240)
    return scroll
