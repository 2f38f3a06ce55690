"""Add a device by hand: a UDP host and port, or a serial port and baud rate."""

from __future__ import annotations

import ipaddress
import socket

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.plain_text import plain_label
from app.gui.targets import DeviceTarget
from app.transport.udp import parse_udp_address


def serial_ports() -> list[str]:
    """Serial ports the OS lists now (pyserial); empty when it lists none."""
    try:
        from serial.tools import list_ports
    except ImportError:
        return []
    return sorted(p.device for p in list_ports.comports())


def check_host(host: str) -> None:
    """An IP address, or a name this computer can resolve; else ValueError in words (the
    link would only fail later, as "no answer", without saying why)."""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError):
        raise ValueError(
            f"No host named \u201c{host}\u201d is known to this computer: check the name, or "
            "enter an IP address like 192.0.2.10:1337."
        ) from None


class AddDeviceDialog(QDialog):
    """`target()` is the DeviceTarget once accepted; invalid input keeps the dialog open."""

    def __init__(self, parent: QWidget | None = None, *, baud: int = 115200) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add device")
        self.setObjectName("add-device-dialog")
        self._target: DeviceTarget | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItems(["UDP", "Serial"])
        self.kind.setAccessibleName("Link type")
        form.addRow("&Link:", self.kind)
        layout.addLayout(form)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_udp())
        self.pages.addWidget(self._build_serial(baud))
        self.kind.currentIndexChanged.connect(self.pages.setCurrentIndex)
        layout.addWidget(self.pages)
        self.error = plain_label("")
        self.error.setStyleSheet("color: #d64545")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Input problem")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(lambda _i: self._focus_first_field())
        self.setTabOrder(self.kind, self.udp_address)
        self._focus_first_field()

    def _focus_first_field(self) -> None:
        """The address (or port) is what the user came to type, not the link type."""
        first = self.udp_address if self.kind.currentIndex() == 0 else self.serial_port
        first.setFocus()

    def _build_udp(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.udp_address = QLineEdit()
        self.udp_address.setPlaceholderText("192.0.2.10:1337")
        self.udp_address.setAccessibleName("UDP host and port")
        form.addRow("&Host:port:", self.udp_address)
        self.udp_name = QLineEdit()
        self.udp_name.setPlaceholderText("optional")
        self.udp_name.setAccessibleName("Device name")
        form.addRow("&Name:", self.udp_name)
        return page

    def _build_serial(self, baud: int) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.serial_port = QComboBox()
        self.serial_port.setEditable(True)
        self.serial_port.addItems(serial_ports())
        self.serial_port.setAccessibleName("Serial port")
        form.addRow("&Port:", self.serial_port)
        self.baud = QSpinBox()
        self.baud.setRange(1200, 4_000_000)
        self.baud.setValue(baud)
        self.baud.setAccessibleName("Baud rate")
        form.addRow("&Baud:", self.baud)
        return page

    def _accept(self) -> None:
        try:
            self._target = self._read()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

    def _read(self) -> DeviceTarget:
        if self.kind.currentIndex() == 0:
            text = self.udp_address.text().strip()
            if not text:
                raise ValueError("Enter the device's address, like 192.0.2.10:1337.")
            host, port = parse_udp_address(text)
            check_host(host)
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            name = self.udp_name.text().strip() or address
            return DeviceTarget(spec=f"udp:{address}", kind="udp", name=name, address=address)
        port_name = self.serial_port.currentText().strip()
        if not port_name:
            raise ValueError("Choose or type a serial port, like /dev/ttyACM0 or COM3.")
        baud = self.baud.value()
        return DeviceTarget(
            spec=f"serial:{port_name}@{baud}",
            kind="serial",
            name=port_name.rsplit("/", 1)[-1],
            address=f"{port_name} @ {baud}",
        )

    def target(self) -> DeviceTarget | None:
        return self._target
