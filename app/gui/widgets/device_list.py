"""The left pane: devices found over BLE, serial and UDP, a filter box and "Add device…"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.gui.models.devices import DeviceFilterModel, DeviceListModel, Role
from app.gui.targets import DeviceTarget


class DeviceListPane(QWidget):
    """Emits `selected` with the chosen DeviceTarget (or None when the selection clears)."""

    selected = Signal(object)
    add_requested = Signal()
    remove_requested = Signal(object)
    """DeviceTarget the user asked to take off the list (context menu)."""
    rescan_requested = Signal()

    def __init__(self, model: DeviceListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = DeviceFilterModel(model)
        self._delegate: QStyledItemDelegate | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addWidget(self._build_title())
        layout.addWidget(self._build_filter())
        layout.addWidget(self._build_list(), 1)
        layout.addLayout(self._build_buttons())

    def _build_title(self) -> QLabel:
        title = QLabel("Devices")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        title.setFont(font)
        return title

    def _build_filter(self) -> QLineEdit:
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter by name or address")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.setAccessibleName("Filter devices")
        self.filter_box.textChanged.connect(self.proxy.setFilterFixedString)
        return self.filter_box

    def _build_list(self) -> QListView:
        self.view = QListView()
        self.view.setModel(self.proxy)
        # the painting delegate (and QStyle's many enums) loads with the first row, which
        # keeps it off the path to the window's first paint
        self.model.rowsInserted.connect(self._ensure_delegate)
        self.view.setAccessibleName("Device list")
        self.view.setUniformItemSizes(True)
        self.view.setMinimumWidth(240)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.removable: Callable[[DeviceTarget], bool] = lambda _t: True
        return self.view

    def context_menu_for(self, index: QModelIndex) -> QMenu | None:
        """The row's menu: Remove (for a device added by hand)."""
        target = index.data(Role.TARGET) if index.isValid() else None
        if target is None:
            return None
        menu = QMenu(self.view)
        remove = menu.addAction(icon("cancel"), f"Remove {target.name}")
        remove.setEnabled(self.removable(target))
        remove.triggered.connect(lambda: self.remove_requested.emit(target))
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        menu = self.context_menu_for(self.view.indexAt(pos))
        if menu is not None:
            menu.popup(self.view.viewport().mapToGlobal(pos))

    def _ensure_delegate(self) -> None:
        if self._delegate is None:
            from app.gui.widgets.device_delegate import DeviceDelegate

            self._delegate = DeviceDelegate(self.view)
            self.view.setItemDelegate(self._delegate)

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QPushButton(icon("add"), "Add device\u2026")
        self.add_button.setAccessibleName("Add a device by UDP address or serial port")
        self.add_button.clicked.connect(self.add_requested)
        self.rescan_button = QPushButton(icon("refresh"), "Scan")
        self.rescan_button.setAccessibleName("Scan for devices again")
        self.rescan_button.clicked.connect(self.rescan_requested)
        row.addWidget(self.add_button, 1)
        row.addWidget(self.rescan_button)
        return row

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        target = current.data(Role.TARGET) if current.isValid() else None
        self.selected.emit(target)

    def select_spec(self, spec: str) -> bool:
        """Select the row for `spec` (clearing the filter if it hides it)."""
        for row in range(self.model.rowCount()):
            target = self.model.target(row)
            if target is not None and target.spec == spec:
                index = self.proxy.mapFromSource(self.model.index(row))
                if not index.isValid():
                    self.filter_box.clear()
                    index = self.proxy.mapFromSource(self.model.index(row))
                self.view.setCurrentIndex(index)
                return True
        return False

    def current_target(self) -> DeviceTarget | None:
        index = self.view.currentIndex()
        return index.data(Role.TARGET) if index.isValid() else None
