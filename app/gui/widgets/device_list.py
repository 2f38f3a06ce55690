"""The left pane: devices found over BLE, serial and UDP, a filter box and "Add device…"."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.icons import icon
from app.gui.models.devices import DeviceFilterModel, DeviceListModel, Role
from app.gui.session import DeviceTarget

ROW_HEIGHT = 46


class DeviceDelegate(QStyledItemDelegate):
    """Two lines per device: name, then address · RSSI · SMP mark; transport icon on the left."""

    def sizeHint(self, option: QStyleOptionViewItem,
                 index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(220, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        style = option.widget.style() if option.widget else None
        self.initStyleOption(option, index)
        text_opt = QStyleOptionViewItem(option)
        text_opt.text = ""
        text_opt.icon = icon("")  # the icon is painted below, at our size
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, text_opt, painter,
                              option.widget)
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        painter.save()
        kind_icon = index.data(Qt.ItemDataRole.DecorationRole)
        if selected:  # the blue icons need a light plate on the highlight colour
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.base())
            painter.drawEllipse(QRect(rect.left() + 5, rect.top() + 8, 30, 30))
        if kind_icon is not None:
            kind_icon.paint(painter, QRect(rect.left() + 8, rect.top() + 11, 24, 24))
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_color)
        text_left = rect.left() + 42
        width = rect.width() - 48
        painter.drawText(QRect(text_left, rect.top() + 4, width, 20),
                         Qt.AlignmentFlag.AlignVCenter, str(index.data() or ""))
        painter.setFont(option.font)
        detail_color = text_color if selected else palette.placeholderText().color()
        painter.setPen(detail_color)
        detail = str(index.data(Role.DETAIL) or "")
        elided = painter.fontMetrics().elidedText(detail, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QRect(text_left, rect.top() + 23, width, 18),
                         Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()


class DeviceListPane(QWidget):
    """Emits `selected` with the chosen DeviceTarget (or None when the selection clears)."""

    selected = Signal(object)
    add_requested = Signal()
    rescan_requested = Signal()

    def __init__(self, model: DeviceListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = DeviceFilterModel(model)
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
        self.view.setItemDelegate(DeviceDelegate(self.view))
        self.view.setAccessibleName("Device list")
        self.view.setUniformItemSizes(True)
        self.view.setMinimumWidth(240)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        return self.view

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
