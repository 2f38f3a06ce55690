"""Paints one device row: transport icon, name, then address · RSSI · SMP mark."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.gui.icons import icon
from app.gui.models.devices import Role

ROW_HEIGHT = 46


class DeviceDelegate(QStyledItemDelegate):
    """Two lines per device: name, then address · RSSI · SMP mark; transport icon on the left."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        # two lines of the row's own font (a larger desktop font cut the second line off)
        spacing = option.fontMetrics.lineSpacing()
        return QSize(220, max(ROW_HEIGHT, 2 * spacing + 12))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        style = option.widget.style() if option.widget else None
        self.initStyleOption(option, index)
        text_opt = QStyleOptionViewItem(option)
        text_opt.text = ""
        text_opt.icon = icon("")  # the icon is painted below, at our size
        if style is not None:
            style.drawControl(
                QStyle.ControlElement.CE_ItemViewItem, text_opt, painter, option.widget
            )
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_color = palette.highlightedText().color() if selected else palette.text().color()
        painter.save()
        kind_icon = index.data(Qt.ItemDataRole.DecorationRole)
        middle = rect.top() + rect.height() // 2
        if selected:  # the blue icons need a light plate on the highlight colour
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.base())
            painter.drawEllipse(QRect(rect.left() + 5, middle - 15, 30, 30))
        if kind_icon is not None:
            kind_icon.paint(painter, QRect(rect.left() + 8, middle - 12, 24, 24))
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(text_color)
        text_left = rect.left() + 42
        width = rect.width() - 48
        line = max(painter.fontMetrics().lineSpacing(), option.fontMetrics.lineSpacing())
        top = rect.top() + (rect.height() - 2 * line) // 2
        painter.drawText(
            QRect(text_left, top, width, line),
            Qt.AlignmentFlag.AlignVCenter,
            str(index.data() or ""),
        )
        painter.setFont(option.font)
        detail_color = text_color if selected else palette.placeholderText().color()
        painter.setPen(detail_color)
        detail = str(index.data(Role.DETAIL) or "")
        elided = painter.fontMetrics().elidedText(detail, Qt.TextElideMode.ElideRight, width)
        painter.drawText(
            QRect(text_left, top + line, width, line), Qt.AlignmentFlag.AlignVCenter, elided
        )
        painter.restore()
