"""The upload panel's detail line and throughput chart after the upload's last chunk."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.gui.widgets.throughput import ThroughputChart
from app.workflows.progress import ProgressEvent, Stage

FILE = 49_766  # 48.6 KiB


def test_waiting_for_the_device_says_so_not_a_stale_byte_count(window: MainWindow) -> None:
    """At 100% while the device resets, the detail line says the file is sent and what the
    panel waits for, not "45.1 KiB of the 48.6 KiB file"."""
    panel = window.upload_panel
    panel.show_progress(
        ProgressEvent(Stage.UPLOADING, bytes_acked=46_182, total_bytes=FILE, rate_bps=40_000)
    )
    assert "45.1 KiB of the 48.6 KiB file" in panel.detail_label.text()
    panel.show_progress(ProgressEvent(Stage.RESETTING, message="resetting the device"))
    panel.show_progress(ProgressEvent(Stage.WAITING, message="waiting for the device to come back"))
    detail = panel.detail_label.text()
    assert detail.startswith("All 48.6 KiB sent")
    assert "waiting for the device to come back" in detail and "of the" not in detail


def test_the_chart_time_axis_starts_at_the_upload_start(qtbot: QtBot) -> None:
    """The first rate is measured a moment in (0.3 s): the time axis still starts at 0 s."""
    chart = ThroughputChart()
    qtbot.addWidget(chart)
    chart.add_point(0.3, 40_000)
    chart.add_point(0.5, 41_000)
    assert chart.x_axis.min() == 0.0 and chart.x_axis.max() >= 1.0
    chart.add_point(2.5, 42_000)
    assert chart.x_axis.min() == 0.0 and chart.x_axis.max() >= 2.5
