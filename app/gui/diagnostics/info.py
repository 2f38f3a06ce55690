"""Device info page: every OS info field, bootloader info and queries, MCUmgr parameters,
the device clock (read, set from this PC), memory pools, and Zephyr storage erase."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.gui.diagnostics.base import DiagContext, DiagPage
from app.gui.dialogs.confirm import ask
from app.gui.plain_text import plain_label
from app.smp.groups.os import BootloaderInfoResponse, MemoryPool
from app.text import BLOCK_CHARS, device_text
from app.workflows.diagnostics import (
    OS_INFO_FIELDS,
    BootloaderInfo,
    Feature,
    OsInfo,
    Support,
    mode_text,
    read_bootloader,
    read_os_info,
    set_datetime_now,
)

DASH = "\u2014"


def _value() -> QLabel:
    label = plain_label(DASH)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class InfoPage(DiagPage):
    """Shows what the OS and the bootloader say; each box hides if its command is missing."""

    feature = Feature.OS_INFO
    title = "Device info"
    scrollable = True

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Read all")
        self.refresh_button.clicked.connect(self.device_changed)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self._build_os())
        layout.addWidget(self._build_boot())
        layout.addWidget(self._build_params_clock())
        layout.addWidget(self._build_pools())
        layout.addWidget(self._build_storage())
        layout.addWidget(self.status)
        layout.addStretch(1)

    # --- building ---------------------------------------------------------------------------

    def _build_os(self) -> QGroupBox:
        self.os_box = QGroupBox("OS / application info")
        form = QFormLayout(self.os_box)
        self.os_fields: dict[str, QLabel] = {}
        self.os_all = _value()
        form.addRow("All (a):", self.os_all)
        for char, label in OS_INFO_FIELDS:
            self.os_fields[char] = _value()
            form.addRow(f"{label.capitalize()} ({char}):", self.os_fields[char])
        return self.os_box

    def _build_boot(self) -> QGroupBox:
        self.boot_box = QGroupBox("Bootloader")
        form = QFormLayout(self.boot_box)
        self.boot_name, self.boot_mode, self.boot_downgrade = _value(), _value(), _value()
        form.addRow("Bootloader:", self.boot_name)
        form.addRow("Mode:", self.boot_mode)
        form.addRow("No-downgrade:", self.boot_downgrade)
        row = QHBoxLayout()
        self.query_edit = QLineEdit()
        self.query_edit.setPlaceholderText("another query, e.g. mode")
        self.query_button = QPushButton("Ask")
        self.query_button.clicked.connect(self.ask_query)
        row.addWidget(self.query_edit, 1)
        row.addWidget(self.query_button)
        form.addRow("Query:", row)
        self.query_answer = _value()
        form.addRow("Answer:", self.query_answer)
        return self.boot_box

    def _build_params_clock(self) -> QGroupBox:
        box = QGroupBox("MCUmgr parameters and clock")
        form = QFormLayout(box)
        self.params_label = _value()
        form.addRow("Buffers:", self.params_label)
        row = QHBoxLayout()
        self.clock_label = _value()
        self.clock_read = QPushButton("Read")
        self.clock_read.clicked.connect(self.read_clock)
        self.clock_set = QPushButton("Set from PC clock")
        self.clock_set.setToolTip("Send this computer's local time (the device keeps no zone)")
        self.clock_set.clicked.connect(self.set_clock)
        self.clock_utc = QCheckBox("as UTC")
        self.clock_utc.setToolTip("Send UTC instead of this computer's local time")
        row.addWidget(self.clock_label, 1)
        row.addWidget(self.clock_read)
        row.addWidget(self.clock_set)
        row.addWidget(self.clock_utc)
        form.addRow("Date and time:", row)
        return box

    def _build_pools(self) -> QGroupBox:
        self.pool_box = QGroupBox("Memory pools")
        layout = QVBoxLayout(self.pool_box)
        self.pool_table = QTableWidget(0, 5)
        self.pool_table.setHorizontalHeaderLabels(
            ["Pool", "Block size", "Blocks", "Free", "Lowest free"]
        )
        self.pool_table.verticalHeader().setVisible(False)
        self.pool_table.setMaximumHeight(120)
        layout.addWidget(self.pool_table)
        return self.pool_box

    def _build_storage(self) -> QGroupBox:
        self.storage_box = QGroupBox("Storage")
        row = QHBoxLayout(self.storage_box)
        note = QLabel("Erase the whole storage partition: settings, NVS and files are lost.")
        note.setWordWrap(True)
        self.erase_button = QPushButton("Erase storage\u2026")
        self.erase_button.setObjectName("erase-storage")
        self.erase_button.clicked.connect(self.ask_erase)
        row.addWidget(note, 1)
        row.addWidget(self.erase_button)
        return self.storage_box

    # --- reading ----------------------------------------------------------------------------

    def _supports(self, feature: Feature) -> bool:
        caps = self.context.capabilities
        return caps is None or caps.support(feature) != Support.UNSUPPORTED

    def device_changed(self) -> None:
        caps = self.context.capabilities
        self.boot_box.setVisible(self._supports(Feature.BOOTLOADER_INFO))
        self.pool_box.setVisible(self._supports(Feature.MEMPOOL_STATS))
        self.storage_box.setVisible(self._supports(Feature.STORAGE_ERASE))
        self.erase_button.setToolTip(
            "The device did not say whether it supports storage erase"
            if caps is not None and caps.support(Feature.STORAGE_ERASE) == Support.UNKNOWN
            else ""
        )
        self.clock_read.setEnabled(self._supports(Feature.DATETIME))
        self.clock_set.setEnabled(self._supports(Feature.DATETIME))
        self.context.call(
            read_os_info,
            on_result=self.show_os_info,
            on_error=self.show_error,
            feature=Feature.OS_INFO,
        )
        if self._supports(Feature.BOOTLOADER_INFO):
            self.context.call(
                read_bootloader,
                on_result=self.show_bootloader,
                on_error=self.show_error,
                feature=Feature.BOOTLOADER_INFO,
            )
        if self._supports(Feature.PARAMS):
            self.context.call(
                lambda c: c.params(),
                on_result=lambda p: self.params_label.setText(
                    f"{p.buf_count} \u00d7 {p.buf_size} bytes"
                ),
                on_error=self.params_label.setText,
                feature=Feature.PARAMS,
            )
        else:
            self.params_label.setText("not supported by this firmware (defaults apply)")
        if self._supports(Feature.DATETIME):
            self.read_clock()
        else:
            self.clock_label.setText("not supported by this firmware")
        if self._supports(Feature.MEMPOOL_STATS):
            self.context.call(
                lambda c: c.mempool_stats(),
                on_result=self.show_pools,
                on_error=self.show_error,
                feature=Feature.MEMPOOL_STATS,
            )

    def show_os_info(self, info: OsInfo) -> None:
        self.os_all.setText(device_text(info.all, limit=BLOCK_CHARS))
        for char, label in self.os_fields.items():
            value = info.fields.get(char)
            label.setText(
                device_text(value) if value is not None else "not reported by this firmware"
            )

    def show_bootloader(self, info: BootloaderInfo) -> None:
        self.boot_name.setText(device_text(info.name) if info.name else "not reported")
        self.boot_mode.setText(
            info.mode_text if info.mode is None else f"{info.mode_text} (mode {info.mode})"
        )
        self.boot_downgrade.setText(
            "yes: older versions are refused" if info.no_downgrade else "no"
        )

    def show_pools(self, pools: dict[str, MemoryPool]) -> None:
        self.pool_table.setRowCount(len(pools))
        for row, (name, pool) in enumerate(sorted(pools.items())):
            for col, value in enumerate((name, pool.blksiz, pool.nblks, pool.nfree, pool.min)):
                self.pool_table.setItem(
                    row, col, QTableWidgetItem(DASH if value is None else str(value))
                )

    def ask_query(self) -> None:
        query = self.query_edit.text().strip()

        async def run(client: SmpClient) -> BootloaderInfoResponse:
            return await client.bootloader_info(query or None)

        def show(reply: BootloaderInfoResponse) -> None:
            parts = [
                f"{k}: {v}"
                for k, v in (
                    ("bootloader", reply.bootloader),
                    ("mode", reply.mode),
                    ("no-downgrade", reply.no_downgrade),
                )
                if v is not None
            ]
            if reply.mode is not None:
                parts.append(mode_text(reply.mode))
            self.query_answer.setText(", ".join(parts) or "(empty answer)")

        self.context.call(
            run, on_result=show, on_error=self.query_answer.setText, feature=Feature.BOOTLOADER_INFO
        )

    def read_clock(self) -> None:
        self.context.call(
            lambda c: c.datetime_get(),
            on_result=self.clock_label.setText,
            on_error=self.clock_label.setText,
            feature=Feature.DATETIME,
            quiet=True,
        )

    def set_clock(self) -> None:
        def done(sent: str) -> None:
            self.show_info(f"Device clock set to {sent}.")
            self.read_clock()

        utc = self.clock_utc.isChecked()
        self.context.call(
            lambda c: set_datetime_now(c, utc=utc),
            on_result=done,
            on_error=self.show_error,
            feature=Feature.DATETIME,
        )

    def ask_erase(self) -> None:
        ask(
            self,
            "Erase the device's storage?",
            "Every setting, NVS entry and file in the storage partition is erased for good. "
            "The application may not start correctly until it recreates them.",
            "Erase storage",
            self.erase_storage,
        )

    def erase_storage(self) -> None:
        self.show_info("Erasing storage\u2026")
        self.context.call(
            lambda c: c.storage_erase(),
            on_result=lambda _: self.show_info("Storage erased."),
            on_error=self.show_error,
            feature=Feature.STORAGE_ERASE,
        )
