"""Settings browser: read a setting by name and show it as text, integer or hex; write,
delete, and the device-wide commit, load and save. SMP cannot list setting names, so the
names used here are remembered in the name box."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.client import SmpClient
from app.gui.diagnostics.base import DiagContext, DiagPage
from app.text import device_text
from app.workflows.diagnostics import (
    INT_WIDTHS,
    Feature,
    SettingValueError,
    ValueType,
    decode_setting,
    encode_setting,
)


class SettingsPage(DiagPage):
    feature = Feature.SETTINGS
    title = "Settings"

    def __init__(self, context: DiagContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        layout = QVBoxLayout(self.content)
        form = QFormLayout()
        self.name = QComboBox()
        self.name.setEditable(True)
        if (edit := self.name.lineEdit()) is not None:
            edit.setPlaceholderText("e.g. app/mode")
        self.name.setAccessibleName("Setting name")
        form.addRow("Name:", self.name)
        type_row = QHBoxLayout()
        self.kind = QComboBox()
        for kind, text in (
            (ValueType.TEXT, "Text (UTF-8)"),
            (ValueType.INT, "Integer"),
            (ValueType.HEX, "Hex bytes"),
        ):
            self.kind.addItem(text, str(kind))
        self.kind.currentIndexChanged.connect(self._show_value)
        self.int_width = QComboBox()
        for width in INT_WIDTHS:
            self.int_width.addItem(f"{width} byte{'s' if width > 1 else ''}", width)
        self.int_width.setCurrentIndex(INT_WIDTHS.index(4))
        type_row.addWidget(self.kind, 1)
        type_row.addWidget(self.int_width)
        form.addRow("Type:", type_row)
        self.value = QLineEdit()
        self.value.setAccessibleName("Setting value")
        form.addRow("Value:", self.value)
        layout.addLayout(form)
        layout.addLayout(self._build_buttons())
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.raw: bytes | None = None
        """The bytes last read, so changing the type re-shows them."""

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("read", "Read", self.read),
            ("write", "Write", self.write),
            ("delete", "Delete", self.delete),
            ("commit", "Commit", lambda: self.device_wide("commit")),
            ("load", "Load", lambda: self.device_wide("load")),
            ("save", "Save", lambda: self.device_wide("save")),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            row.addWidget(button)
        self.buttons["commit"].setToolTip("Apply settings written but not yet committed")
        self.buttons["load"].setToolTip("Reload all settings from persistent storage")
        self.buttons["save"].setToolTip("Save all settings to persistent storage")
        return row

    @property
    def value_type(self) -> ValueType:
        return ValueType(self.kind.currentData())

    def _setting_name(self) -> str | None:
        name = self.name.currentText().strip()
        if not name:
            self.show_error("Enter a setting name first.")
            return None
        if self.name.findText(name) < 0:
            self.name.insertItem(0, name)
        return name

    def _show_value(self) -> None:
        if self.raw is None:
            return
        try:
            self.value.setText(device_text(decode_setting(self.raw, self.value_type)))
            self.show_info(f"{len(self.raw)} bytes: {self.raw.hex(' ') or '(empty)'}")
        except SettingValueError as exc:
            self.value.setText("")
            self.show_error(f"{exc} (bytes: {self.raw.hex(' ')})")

    def read(self) -> None:
        name = self._setting_name()
        if name is None:
            return

        def show(raw: bytes) -> None:
            self.raw = raw
            self._show_value()

        self.context.call(
            lambda c: c.setting_read(name),
            on_result=show,
            on_error=self.show_error,
            feature=Feature.SETTINGS,
        )

    def write(self) -> None:
        name = self._setting_name()
        if name is None:
            return
        try:
            data = encode_setting(self.value.text(), self.value_type, self.int_width.currentData())
        except SettingValueError as exc:
            self.show_error(str(exc))
            return

        def done(_: object) -> None:
            self.raw = data
            self.show_info(f"Wrote {name} = {data.hex(' ') or '(empty)'}.")

        self.context.call(
            lambda c: c.setting_write(name, data),
            on_result=done,
            on_error=self.show_error,
            feature=Feature.SETTINGS,
        )

    def delete(self) -> None:
        name = self._setting_name()
        if name is None:
            return
        self.context.call(
            lambda c: c.setting_delete(name),
            on_result=lambda _: self.show_info(f"Deleted {name}."),
            on_error=self.show_error,
            feature=Feature.SETTINGS,
        )

    def device_wide(self, action: str) -> None:
        done = {
            "commit": "Settings committed.",
            "load": "Settings reloaded from storage.",
            "save": "Settings saved to storage.",
        }[action]

        async def run(client: SmpClient) -> None:
            await {
                "commit": client.settings_commit,
                "load": client.settings_load,
                "save": client.settings_save,
            }[action]()

        self.context.call(
            run,
            on_result=lambda _: self.show_info(done),
            on_error=self.show_error,
            feature=Feature.SETTINGS,
        )
