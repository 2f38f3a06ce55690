"""The device list: one row per DeviceTarget, merged as discovery reports them."""

from __future__ import annotations

from dataclasses import replace
from enum import IntEnum
from typing import Any, TypeAlias

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from app.gui.icons import icon
from app.gui.targets import DeviceTarget

Index: TypeAlias = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    TARGET = Qt.ItemDataRole.UserRole + 1
    ADDRESS = Qt.ItemDataRole.UserRole + 2
    DETAIL = Qt.ItemDataRole.UserRole + 3
    SEARCH = Qt.ItemDataRole.UserRole + 4


def describe_target(target: DeviceTarget) -> str:
    """The second line of a row: address, signal strength and whether it speaks SMP."""
    parts = [target.address]
    if target.rssi is not None:
        parts.append(f"{target.rssi} dBm")
    if target.answers_smp is True:
        parts.append("SMP \u2713")
    elif target.answers_smp is False:
        parts.append("no SMP answer")
    return "  \u00b7  ".join(parts)


class DeviceListModel(QAbstractListModel):
    """Devices found by discovery or added by hand, keyed by their spec."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[DeviceTarget] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        target = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return target.name
        if role == Qt.ItemDataRole.DecorationRole:
            return icon(target.kind)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{target.name}, {target.kind.upper()}, {describe_target(target)}"
        if role == Role.TARGET:
            return target
        if role == Role.ADDRESS:
            return target.address
        if role == Role.DETAIL:
            return describe_target(target)
        if role == Role.SEARCH:
            return f"{target.name} {target.address} {target.kind}".lower()
        return None

    def upsert(self, target: DeviceTarget) -> int:
        """Add a device or refresh its row (keeping a known SMP answer); returns the row."""
        for row, known in enumerate(self._rows):
            if known.spec == target.spec:
                if target.answers_smp is None and known.answers_smp is not None:
                    target = replace(target, answers_smp=known.answers_smp)
                if target != known:
                    self._rows[row] = target
                    index = self.index(row)
                    self.dataChanged.emit(index, index)
                return row
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(target)
        self.endInsertRows()
        return len(self._rows) - 1

    def remove(self, spec: str) -> None:
        for row, known in enumerate(self._rows):
            if known.spec == spec:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
                return

    def target(self, row: int) -> DeviceTarget | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def targets(self) -> list[DeviceTarget]:
        return list(self._rows)


class DeviceFilterModel(QSortFilterProxyModel):
    """Filters rows by the text in the filter box (name, address or link kind)."""

    def __init__(self, source: DeviceListModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.setFilterRole(Role.SEARCH)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
