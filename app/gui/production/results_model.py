"""The results table: one row per logged attempt, newest at the bottom, as the log has it."""

from __future__ import annotations

from typing import Any, TypeAlias

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.workflows.results import ResultRow

COLUMNS: tuple[tuple[str, str], ...] = (
    ("timestamp", "Time (UTC)"),
    ("device", "Device"),
    ("result", "Result"),
    ("barcode", "Barcode"),
    ("previous_version", "Was"),
    ("new_version", "Now"),
    ("new_hash", "Hash"),
    ("attempt", "Attempt"),
    ("duration", "Seconds"),
    ("failure_reason", "Reason"),
)

Index: TypeAlias = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractTableModel):
    """ResultRows in the order they were logged."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ResultRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return cell_text(row, key, full=role == Qt.ItemDataRole.ToolTipRole)
        if role == Qt.ItemDataRole.ForegroundRole and key == "result":
            return QBrush(QColor("#1e7e34" if row.passed else "#c62828"))
        return None

    def append(self, row: ResultRow) -> None:
        at = len(self.rows)
        self.beginInsertRows(QModelIndex(), at, at)
        self.rows.append(row)
        self.endInsertRows()

    def text(self, row: int, key: str) -> str:
        """The cell as shown, by column key (for tests and copying)."""
        return cell_text(self.rows[row], key)


def cell_text(row: ResultRow, key: str, *, full: bool = False) -> str:
    if key == "result":
        return "PASS" if row.passed else "FAIL"
    if key == "duration":
        total = row.durations_s.get("total")
        return "" if total is None else f"{total:.1f}"
    if key == "timestamp":
        return row.timestamp if full else row.timestamp[11:19]
    value = str(getattr(row, key))
    if key == "new_hash" and not full:
        return value[:12]
    return value
