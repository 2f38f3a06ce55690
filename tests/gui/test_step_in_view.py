"""Issue 17, item 7: the step the technician is on shows without scrolling, at 1280x800 and
1024x768: the progress bar while the upload runs, then the result and Confirm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.sim.link import LinkModel

from .conftest import connect, start_sim
from .test_update_flow import drop_file


def in_view(widget: QWidget) -> bool:
    """Shown and not clipped away by the scroll area (what the technician can see)."""
    region = widget.visibleRegion()
    return widget.isVisible() and region.boundingRect().height() >= widget.height() - 1


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_progress_then_result_and_confirm_are_in_view(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    bridge: CoreBridge,
    make_image: Callable[..., Path],
    size: tuple[int, int],
) -> None:
    """Upload is in view once the verdict is there; the progress bar while the upload runs;
    the result sentence and Confirm when it ends: the user never scrolls to find them."""
    window.resize(*size)
    connect(qtbot, window, start_sim(bridge, LinkModel(rate_bps=24_000)))  # ~3 s: time to look
    drop_file(window, make_image("1.1.0", size=64 * 1024))
    panel = window.upload_panel
    qtbot.waitUntil(panel.upload_button.isEnabled, timeout=10000)
    qtbot.waitUntil(lambda: in_view(panel.upload_button))  # the verdict's next step shows
    qtbot.mouseClick(panel.upload_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.bar.value() > 0 and in_view(panel.bar), timeout=20000)
    assert window.controller.uploading  # seen while the upload runs, not after
    qtbot.waitUntil(lambda: panel.confirm_button.isVisible(), timeout=30000)
    qtbot.waitUntil(lambda: in_view(panel.confirm_button) and in_view(panel.result_label))
