"""The diagnostics pages as real widgets (offscreen) against the simulator over UDP."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QProgressBar, QPushButton
from pytestqt.qtbot import QtBot

from app.gui.diagnostics.files import FilesPage
from app.gui.diagnostics.info import InfoPage
from app.gui.diagnostics.logs import LogPage
from app.gui.diagnostics.settings_page import SettingsPage
from app.gui.diagnostics.shell import ShellPage, clean_output
from app.gui.diagnostics.stats import StatsPage
from app.gui.diagnostics.tasks import TasksPage
from app.sim.device import SimDevice
from app.workflows.diagnostics import OS_INFO_FIELDS

WAIT_MS = 5000


def open_page(panel: Any, page_type: type) -> Any:
    """Bring a page to the front, as a user clicking its tab (pages read when first shown)."""
    page = panel.page(page_type)
    panel.tabs.setCurrentWidget(page)
    return page


def test_info_page_shows_every_field(qtbot: QtBot, panel: Any, device: SimDevice) -> None:
    """Every OS info field, the bootloader mode, buffers and the unset clock are shown."""
    page = open_page(panel, InfoPage)
    qtbot.waitUntil(lambda: page.os_fields["o"].text() == "Zephyr", timeout=WAIT_MS)
    for char, _ in OS_INFO_FIELDS:
        expected = device.profile.os_info.get(char, device.config.name)
        assert page.os_fields[char].text() == expected, char
    qtbot.waitUntil(lambda: "swap using move" in page.boot_mode.text(), timeout=WAIT_MS)
    assert page.boot_name.text() == "MCUboot"
    qtbot.waitUntil(lambda: page.params_label.text() == "4 \u00d7 2048 bytes", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "never been set" in page.clock_label.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.pool_table.rowCount() == 1, timeout=WAIT_MS)


def test_clock_set_from_pc_and_bootloader_query(qtbot: QtBot, panel: Any) -> None:
    """ "Set from PC clock" sets the device clock; an unknown query is answered in words."""
    page = open_page(panel, InfoPage)
    qtbot.mouseClick(page.clock_set, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.clock_label.text()[:2] == "20", timeout=WAIT_MS)
    assert "Device clock set to" in page.status.text()
    page.query_edit.setText("colour")
    qtbot.mouseClick(page.query_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "invalid" in page.query_answer.text(), timeout=WAIT_MS)


def test_storage_erase_asks_once(qtbot: QtBot, panel: Any, device: SimDevice) -> None:
    """Erase storage asks first; Cancel keeps the data, confirming erases it."""
    device.settings["app/keep"] = b"1"
    page = open_page(panel, InfoPage)
    for answer in ("confirm-cancel", "confirm-yes"):
        qtbot.mouseClick(page.erase_button, Qt.MouseButton.LeftButton)
        box = page.findChild(QMessageBox, "confirm-dialog")
        qtbot.waitUntil(lambda b=box: b is not None and b.isVisible(), timeout=WAIT_MS)
        button = box.findChild(QPushButton, answer)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        if answer == "confirm-cancel":
            qtbot.waitUntil(
                lambda: page.findChild(QMessageBox, "confirm-dialog") is None, timeout=WAIT_MS
            )
            assert device.settings == {"app/keep": b"1"}
    qtbot.waitUntil(lambda: page.status.text() == "Storage erased.", timeout=WAIT_MS)
    assert device.settings == {}


def test_tasks_auto_refresh(qtbot: QtBot, panel: Any, device: SimDevice) -> None:
    """The task table fills with stack bars and refreshes itself on the chosen interval."""
    page = open_page(panel, TasksPage)
    qtbot.waitUntil(lambda: page.table.rowCount() == len(device.profile.tasks), timeout=WAIT_MS)
    bar = page.table.cellWidget(0, 3)
    assert isinstance(bar, QProgressBar) and bar.maximum() > 0 and "%" in bar.text()
    first = page.rows
    page.refresher.interval.setValue(0.2)
    page.refresher.auto.setChecked(True)
    start = page.reads
    qtbot.waitUntil(lambda: page.reads >= start + 3, timeout=WAIT_MS)
    assert [r.stack_used_bytes for r in page.rows] != [r.stack_used_bytes for r in first]
    page.refresher.auto.setChecked(False)
    assert not page.refresher.timer.isActive()


def test_stats_highlight_changed_counters(qtbot: QtBot, panel: Any, device: SimDevice) -> None:
    """Groups are listed; with auto-refresh a changing counter is highlighted and charted."""
    page = open_page(panel, StatsPage)
    qtbot.waitUntil(lambda: page.groups.count() == len(device.profile.stat_groups), timeout=WAIT_MS)
    items = page.groups.findItems("smp_svr_stats", Qt.MatchFlag.MatchExactly)
    page.groups.setCurrentItem(items[0])
    qtbot.waitUntil(lambda: "ticks" in page.values, timeout=WAIT_MS)
    page.refresher.interval.setValue(0.2)
    page.refresher.auto.setChecked(True)
    qtbot.waitUntil(lambda: "ticks" in page.changed, timeout=WAIT_MS)
    assert "s1" not in page.changed
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "ticks")
    assert page.table.item(row, 1).background().style() == Qt.BrushStyle.SolidPattern
    assert page.table.item(row, 2).text().startswith("+")
    s1 = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "s1")
    assert page.table.item(s1, 1).background().style() == Qt.BrushStyle.NoBrush
    assert len(page.trends["ticks"].values) >= 2
    page.refresher.stop()


def test_settings_write_read_delete(qtbot: QtBot, panel: Any, device: SimDevice) -> None:
    """A setting written as an integer is stored little-endian, re-shown as hex, deleted."""
    page = open_page(panel, SettingsPage)
    page.name.setEditText("app/level")
    page.kind.setCurrentIndex(page.kind.findData("int"))
    page.int_width.setCurrentIndex(page.int_width.findData(2))
    page.value.setText("-3")
    qtbot.mouseClick(page.buttons["write"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: device.settings.get("app/level") == b"\xfd\xff", timeout=WAIT_MS)
    page.value.clear()
    qtbot.mouseClick(page.buttons["read"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.value.text() == "-3", timeout=WAIT_MS)
    page.kind.setCurrentIndex(page.kind.findData("hex"))
    assert page.value.text() == "fd ff"
    qtbot.mouseClick(page.buttons["save"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Settings saved to storage.", timeout=WAIT_MS)
    qtbot.mouseClick(page.buttons["delete"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "app/level" not in device.settings, timeout=WAIT_MS)
    page.value.setText("zz")
    qtbot.mouseClick(page.buttons["write"], Qt.MouseButton.LeftButton)
    assert "not hex bytes" in page.status.text()


def test_files_upload_download_compare(
    qtbot: QtBot, panel: Any, device: SimDevice, tmp_path: Path
) -> None:
    """Upload shows progress and verifies, download writes the file, paths are remembered."""
    page = open_page(panel, FilesPage)
    local = tmp_path / "blob.bin"
    local.write_bytes(os.urandom(300_000))
    page.path.setEditText("/lfs/blob.bin")
    page.upload_from(local)
    qtbot.waitUntil(lambda: "verified" in page.status.text(), timeout=10_000)
    assert device.files["/lfs/blob.bin"] == local.read_bytes()
    assert page.progress.maximum() == 300_000 and not page.progress.isVisible()
    back = tmp_path / "back.bin"
    page.download_to(back)
    qtbot.waitUntil(lambda: "Downloaded" in page.status.text(), timeout=10_000)
    assert back.read_bytes() == local.read_bytes()
    other = tmp_path / "other.bin"
    other.write_bytes(b"not the same")
    page.compare_with(other)
    qtbot.waitUntil(lambda: "differ" in page.status.text(), timeout=WAIT_MS)
    assert page.last_check is not None and not page.last_check.matches
    page.path.setEditText("/lfs/missing.txt")
    page.read_status()
    qtbot.waitUntil(lambda: "does not exist" in page.status.text(), timeout=WAIT_MS)
    saved = json.loads((tmp_path / "recent.json").read_text())
    assert saved[:2] == ["/lfs/missing.txt", "/lfs/blob.bin"]
    assert page.path.findText("/lfs/blob.bin") >= 0


def test_shell_console_and_history(qtbot: QtBot, panel: Any) -> None:
    """Commands run on the device, output lands line by line, Up recalls the last command."""
    page = open_page(panel, ShellPage)
    page.input.setText("kernel uptime")
    qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Uptime:" in page.output.toPlainText(), timeout=WAIT_MS)
    page.input.setText("nosuch")
    qtbot.keyClick(page.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "[exit status -8]" in page.output.toPlainText(), timeout=WAIT_MS)
    lines = page.output.toPlainText().splitlines()
    assert lines[0] == "$ kernel uptime" and lines[1].startswith("Uptime:")
    qtbot.keyClick(page.input, Qt.Key.Key_Up)
    assert page.input.text() == "nosuch"
    qtbot.keyClick(page.input, Qt.Key.Key_Up)
    assert page.input.text() == "kernel uptime"
    qtbot.keyClick(page.input, Qt.Key.Key_Down)
    qtbot.keyClick(page.input, Qt.Key.Key_Down)
    assert page.input.text() == ""


def test_quick_commands_keep_prompt_and_output_together(qtbot: QtBot, panel: Any) -> None:
    """Commands sent before earlier ones answered still print prompt, then its output."""
    page = open_page(panel, ShellPage)
    for command in ("echo one", "echo two", "echo three"):
        page.input.setText(command)
        page.run_input()
    qtbot.waitUntil(lambda: page.pending == 0, timeout=WAIT_MS)
    assert page.output.toPlainText().splitlines() == [
        "$ echo one",
        "one",
        "$ echo two",
        "two",
        "$ echo three",
        "three",
    ]


def test_clean_output_handles_line_ends_and_escapes() -> None:
    """CRLF ends lines, a bare CR overwrites, colour codes and control bytes vanish."""
    raw = "a\r\nprogress 10%\rprogress 100%\n\x1b[1;32mok\x1b[0m\x07\tend"
    assert clean_output(raw) == "a\nprogress 100%\nok\tend"


def test_log_page_says_unsupported(qtbot: QtBot, panel: Any) -> None:
    """The log group is missing on Zephyr: the tab is disabled and the page says so."""
    page = open_page(panel, LogPage)
    index = panel.tabs.indexOf(page)
    assert not panel.tabs.isTabEnabled(index) and not page.supported
    assert "does not support log" in page.unsupported_label.text()


def test_log_page_renders_entries(qtbot: QtBot, panel: Any) -> None:
    """Log entries (Mynewt log_mgmt shape) are listed with time, level and text or hex."""
    from app.smp.groups.log import LogEntry, LogInfo, LogShowResponse

    page = panel.page(LogPage)
    page._show_entries(
        LogShowResponse(
            logs=[
                LogInfo(
                    name="reboot",
                    type=1,
                    entries=[
                        LogEntry(msg="booted <ok>", ts=1_700_000_000_000_000, level=1, index=7),
                        LogEntry(msg=b"\x01\x02", ts=-1, level=3, index=8),
                    ],
                )
            ]
        )
    )
    assert page.table.rowCount() == 2
    assert page.table.item(0, 1).text().startswith("2023-11-14T22:13:20")
    assert page.table.item(0, 3).text() == "booted <ok>"
    assert page.table.item(1, 1).text() == "-1" and page.table.item(1, 3).text() == "01 02"


@pytest.mark.parametrize("profile", ["zephyr-3.4"])
def test_old_zephyr_hides_missing_features(qtbot: QtBot, panel: Any) -> None:
    """Without settings, FS and shell, those tabs are disabled with a plain sentence."""
    for page_type in (SettingsPage, FilesPage, ShellPage):
        page = open_page(panel, page_type)
        assert not page.supported and not panel.tabs.isTabEnabled(panel.tabs.indexOf(page))
        assert page.unsupported_label.text().startswith("This device's firmware does not")
    assert panel.page(TasksPage).supported and panel.page(StatsPage).supported
    info = open_page(panel, InfoPage)
    assert not info.clock_set.isEnabled() and info.boot_box.isHidden()
    assert "settings" in panel.caps_label.text()


@pytest.mark.parametrize("profile", ["old-firmware"])
def test_device_without_enum_offers_unprobed_erase(qtbot: QtBot, panel: Any) -> None:
    """Without Enum, storage erase cannot be probed: offered with a note, not hidden."""
    info = open_page(panel, InfoPage)
    assert not info.storage_box.isHidden()
    assert "did not say" in info.erase_button.toolTip()
    assert "probed" in panel.caps_label.text()


def test_export_report_bundle(qtbot: QtBot, panel: Any, device: SimDevice, tmp_path: Path) -> None:
    """Export writes the zip with the session's traffic, the pulled file and a valid JSON."""
    from .schema_check import validate

    device.files["/lfs/core.bin"] = b"\x00core" * 100
    out = tmp_path / "report.zip"
    logged: list[str] = []
    panel.controller.logged.connect(lambda _level, text: logged.append(text))
    with qtbot.waitSignal(panel.report_written, timeout=10_000):
        panel.export_report(out, ["/lfs/core.bin"])
    schema = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())
    with zipfile.ZipFile(out) as bundle:
        doc = json.loads(bundle.read("report.json"))
        traffic = bundle.read("traffic.log").decode()
        assert bundle.read("files/lfs_core.bin") == device.files["/lfs/core.bin"]
    assert validate(doc, schema) == []
    assert doc["device"]["name"] == "Diag board"
    noted = len(doc["errors"])
    plural = "" if noted == 1 else "s"
    assert f"Report written to {out} ({noted} error{plural} noted in it)" in logged
    # the session's own connect traffic (image state read) is there, not only the report's
    assert traffic.count(" tx READ image(1) cmd 0 ") >= 2
    assert panel.export_button.isEnabled()


def test_main_window_has_diagnostics_beside_slots(
    qtbot: QtBot, bridge: Any, gui_sim: Any, tmp_path: Path
) -> None:
    """The main window shows Slots and Diagnostics tabs (and Fleet, docs/fleet.md); selecting a
    device detects caps."""
    from PySide6.QtWidgets import QTabWidget

    from app.gui.main_window import MainWindow
    from app.gui.settings import AppSettings
    from app.gui.targets import DeviceTarget

    window = MainWindow(bridge, AppSettings(tmp_path / "s.ini", keys_dir=tmp_path / "keys"))
    qtbot.addWidget(window)
    window.show()
    tabs = window.findChild(QTabWidget, "device-tabs")
    assert tabs is not None
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Slots", "Diagnostics", "Fleet"]
    assert tabs.widget(0) is window.right_scroll and tabs.widget(1) is window.diagnostics
    target = DeviceTarget(
        spec=f"udp:{gui_sim.address}", kind="udp", name="W", address=gui_sim.address
    )
    window.add_targets([target])
    window.device_pane.select_spec(target.spec)
    qtbot.waitUntil(lambda: window.controller.snapshot is not None, timeout=WAIT_MS)
    assert window.diagnostics.context.capabilities is None  # not asked while hidden
    tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.diagnostics.context.capabilities is not None, timeout=WAIT_MS)
    assert window.diagnostics.export_button.isEnabled()
    # the log drawer's "record traffic" switch stays the drawer's; the report records anyway
    assert window.controller.tap.enabled is False
    window.controller.tap.enabled = True
    assert window.diagnostics.traffic._tap.enabled is True
    window.controller.tap.enabled = False
    out = tmp_path / "w.zip"
    with qtbot.waitSignal(window.diagnostics.report_written, timeout=10_000):
        window.diagnostics.export_report(out, [])
    with zipfile.ZipFile(out) as bundle:
        assert " tx READ image(1) cmd 0 " in bundle.read("traffic.log").decode()


def test_findings_page_shows_the_reports_findings(qtbot: QtBot, panel: Any) -> None:
    """The diagnostics page lists the report's findings with their evidence (issue 17, 15)."""
    from app.gui.diagnostics.findings_page import FindingsPage

    page = open_page(panel, FindingsPage)
    qtbot.waitUntil(lambda: page.findings is not None, timeout=WAIT_MS)
    assert page.findings
    text = page.list_label.text()
    for finding in page.findings:
        assert finding.title in text
    assert "The device clock was never set" in text and "RTC_NOT_SET" in text


def test_picking_another_device_clears_every_page(qtbot: QtBot, panel: Any) -> None:
    """The last device's diagnostics go the moment another is picked, even one that never
    answers: no page keeps showing the previous board (issue 17, item 4)."""
    from app.gui.diagnostics.findings_page import FindingsPage
    from app.gui.targets import DeviceTarget

    page = open_page(panel, FindingsPage)
    qtbot.waitUntil(lambda: page.findings is not None, timeout=WAIT_MS)
    assert page.supported
    panel.controller.select(
        DeviceTarget(spec="udp:127.0.0.1:9", kind="udp", name="Gone", address="127.0.0.1:9")
    )
    assert panel.context.capabilities is None
    for index in range(panel.tabs.count()):
        shown = panel.tabs.widget(index)
        assert not shown.supported, shown.title
        assert shown.unsupported_label.text() == "No device connected."
    assert panel.caps_label.text() == "Connecting\u2026"
