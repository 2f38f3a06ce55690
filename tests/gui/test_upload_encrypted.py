"""Encrypted images in the upload panel: an image whose contents could not be checked, or one
made with `imgtool sign --clear`, is uploaded only after the user's yes to a question whose
default is No; Cancel uploads nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.sim.serve import UdpSimServer

from .conftest import connect
from .test_update_flow import click
from .test_upload_questions import assert_nothing_happened, open_question, press, ready_to_upload


def test_unproven_encrypted_image_asks_with_no_as_default(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """The verdict says the contents were not checked; Upload asks first, Enter would cancel,
    and Cancel leaves the device untouched."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.5.0", encrypted=True), "none")
    panel = window.upload_panel
    assert panel.check is not None and panel.check.unproven and not panel.check.ok
    assert panel.verdict.headline.text() == (
        "Encrypted image: signature valid, contents not checked"
    )
    click(qtbot, panel.upload_button)
    box = open_question(qtbot, window)
    assert box.windowTitle() == "Upload an encrypted image whose contents were not checked?"
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert not window.controller.uploading
    press(qtbot, window, box, "confirm-cancel")
    assert_nothing_happened(qtbot, window, sim)


def test_yes_uploads_the_unproven_image_and_logs_the_choice(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """After the yes the image is uploaded, and the log records the choice."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.6.0", encrypted=True), "none")
    click(qtbot, window.upload_panel.upload_button)
    box = open_question(qtbot, window)
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        press(qtbot, window, box, "confirm-yes")
    assert finished.args[0].result.ok, finished.args[0].result.message
    assert sim.device.counters["bytes_written"] > 0
    assert "CHOICE: uploading encrypted image" in window.log_drawer.operations.toPlainText()


def test_clear_payload_image_asks_before_a_normal_upload(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """An `imgtool sign --clear` image is valid, but meant for the primary slot: Upload asks,
    naming why, and Cancel uploads nothing."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.7.0", encrypted=True, clear=True), "test")
    panel = window.upload_panel
    assert panel.check is not None and panel.check.ok and panel.check.clear_payload
    click(qtbot, panel.upload_button)
    box = open_question(qtbot, window)
    assert box.windowTitle() == "Upload an image meant for the primary slot?"
    assert "will reject it" in box.informativeText()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    press(qtbot, window, box, "confirm-cancel")
    assert_nothing_happened(qtbot, window, sim)


def test_yes_uploads_the_clear_payload_image(
    qtbot: QtBot,
    trusted_settings: object,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """The question is the policy's CLEAR_PAYLOAD finding in its own sentence; the yes reaches
    the workflow (which refuses the image without it), and the image is uploaded."""
    connect(qtbot, window, sim)
    ready_to_upload(qtbot, window, make_image("4.8.0", encrypted=True, clear=True), "none")
    panel = window.upload_panel
    assert panel.check is not None
    (asked,) = panel.check.questions
    click(qtbot, panel.upload_button)
    box = open_question(qtbot, window)
    assert box.informativeText() == f"{asked.sentence[:1].upper()}{asked.sentence[1:]}."
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        press(qtbot, window, box, "confirm-yes")
    assert finished.args[0].result.ok, finished.args[0].result.message
    assert sim.device.counters["bytes_written"] > 0
