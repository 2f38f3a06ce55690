"""Issue 17, item 8: one unit system (app/units.py) for the verdict, the progress, the
result, the chart and the CLI; the file size and what the slot needs are named apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.sim.link import LinkModel
from app.units import format_bytes, format_rate, format_seconds

from .conftest import connect, start_sim
from .test_update_flow import upload_in_test_mode


@pytest.mark.parametrize(
    ("count", "text"),
    [(None, "size unknown"), (812, "812 B"), (49_815, "48.6 KiB"), (1_310_720, "1.25 MiB")],
)
def test_sizes_are_binary_units(count: int | None, text: str) -> None:
    """Sizes in KiB/MiB (1024), the units slots and sectors are counted in."""
    assert format_bytes(count) == text


def test_rates_use_the_same_units() -> None:
    """Rates are the size units per second; no rate yet reads as dashes."""
    assert format_rate(41_062) == "40.1 KiB/s"
    assert format_rate(0) == "-- KiB/s"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.026, "0.026 s"), (1.14, "1.1 s"), (31.88, "31.9 s")]
)
def test_durations_keep_a_quick_upload_above_zero(seconds: float, text: str) -> None:
    """A 50 KiB upload on a fast link takes hundredths of a second: never "0.0 s"."""
    assert format_seconds(seconds) == text


def test_verdict_progress_and_result_name_the_same_file_size(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    bridge: CoreBridge,
    make_image: Callable[..., Path],
) -> None:
    """The verdict, the progress and the result say the file's size in one unit and call it
    the file; the verdict names what the slot needs apart; the chart spans the upload."""
    connect(qtbot, window, start_sim(bridge, LinkModel(rate_bps=48_000)))  # about 1 s
    image = make_image("1.1.0", size=48 * 1024)
    file_size = format_bytes(image.stat().st_size)
    verdict = upload_in_test_mode(qtbot, window, image)
    assert f"the {file_size} file fits the 512.0 KiB slot" in verdict
    assert "with MCUboot's trailer" in verdict
    panel = window.upload_panel
    assert panel.detail_label.text().startswith(f"{file_size} file uploaded in ")
    assert "iB/s" in panel.detail_label.text() and "kB/s" not in panel.detail_label.text()
    chart, series = panel.chart, panel.chart.series
    assert series.count() > 1
    last = series.at(series.count() - 1).x()
    assert chart.x_axis.max() <= max(last, series.at(0).x() + 1.0) + 1e-6
