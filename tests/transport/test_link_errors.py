"""A serial port or Bluetooth that cannot be used is said once, in words: no doubled
"[Errno 2] ... [Errno 2]", no library logger lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main
from app.transport.ble import BLUETOOTH_MISSING, bluetooth_unavailable
from app.transport.serial import open_error


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "sentence"),
    [
        ("/dev/ttyNOPE0", "serial port /dev/ttyNOPE0 does not exist (is the board plugged in?)"),
        ("{tmp}/plain-file", "{tmp}/plain-file is not a serial port"),
        ("{tmp}", "{tmp} is a directory, not a serial port"),
    ],
)
def test_a_serial_port_that_cannot_open_is_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, sentence: str
) -> None:
    """pyserial's doubled text becomes what is wrong with the port."""
    (tmp_path / "plain-file").write_text("not a tty")
    port = target.format(tmp=tmp_path)
    code, err = run(capsys, "-d", f"serial:{port}", "echo")
    assert code == 1
    assert err == f"slotwise: {sentence.format(tmp=tmp_path)}\n"


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (FileNotFoundError(2, "No such file or directory"), BLUETOOTH_MISSING),
        (OSError("No Bluetooth adapters found."), f"{BLUETOOTH_MISSING} (no adapter)"),
        (
            OSError("[org.freedesktop.DBus.Error.ServiceUnknown] The name org.bluez was not"),
            f"{BLUETOOTH_MISSING} (the BlueZ service is not running)",
        ),
        (OSError("[org.bluez.Error.NotReady] Resource Not Ready"), "Bluetooth is turned off"),
        (OSError("Device with address AA was not found"), None),
    ],
)
def test_bluetooth_that_is_missing_or_off_is_named(
    error: BaseException, sentence: str | None
) -> None:
    """bleak's ways of saying "no Bluetooth here" map to one sentence; others stay as they are."""
    assert bluetooth_unavailable(error) == sentence


def test_pyserial_errno_is_read_from_its_arguments() -> None:
    """pyserial puts the errno first in its exception's arguments, not in .errno."""
    import serial

    busy = serial.SerialException(16, "could not open port /dev/ttyACM0: [Errno 16] busy")
    assert open_error("/dev/ttyACM0", busy) == (
        "serial port /dev/ttyACM0 is busy: another program has it open"
    )


@pytest.mark.skipif(
    os.path.exists("/run/dbus/system_bus_socket")
    or os.path.exists("/var/run/dbus/system_bus_socket"),
    reason="this machine has a system D-Bus (and perhaps BlueZ)",
)
def test_without_bluez_the_cli_says_bluetooth_is_not_available(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Connecting by address or scanning by name, with no BlueZ: one line in words."""
    for spec in ("ble:AA:BB:CC:DD:EE:FF", "ble:sensor-1"):
        code, err = run(capsys, "-d", spec, "echo")
        assert code == 1 and err == f"slotwise: {BLUETOOTH_MISSING}\n"
    code, err = run(capsys, "discover", "--ble", "--scan-time", "0.5")
    assert code == 1 and err == f"slotwise: {BLUETOOTH_MISSING}\n"
