"""Device-, user- and file-supplied text holding markup is shown literally, never rendered."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.production.card import DeviceCard
from app.sim.device import SimConfig
from tests.gui.conftest import connect, start_sim

DEVICE_NAME = '<b>board</b><img src="x">'
LISTED_NAME = '<a href="file:///">Board</a>'


def _labels_showing(window: MainWindow, marker: str) -> list[QLabel]:
    return [label for label in window.findChildren(QLabel) if marker in label.text()]


def test_device_and_list_names_with_markup_are_shown_as_text(
    qtbot: QtBot, window: MainWindow, bridge: CoreBridge
) -> None:
    server = start_sim(bridge, config=SimConfig(name=DEVICE_NAME))
    connect(qtbot, window, server, name=LISTED_NAME)
    qtbot.waitUntil(lambda: bool(_labels_showing(window, "<b>board</b>")), timeout=10000)
    shown = _labels_showing(window, "<b>board</b>") + _labels_showing(window, "<a href")
    assert window.device_view.header.name_label in shown
    for label in shown:
        assert label.textFormat() == Qt.TextFormat.PlainText, label.accessibleName()


def test_a_production_board_named_with_markup_is_shown_as_text(qtbot: QtBot) -> None:
    """A board's name (from the job's device list) shows literally on its card and tooltip."""
    card = DeviceCard(DEVICE_NAME)
    qtbot.addWidget(card)
    card.set_scanning(True)
    (title,) = [label for label in card.findChildren(QLabel) if label.text() == DEVICE_NAME]
    assert title.textFormat() == Qt.TextFormat.PlainText
    assert "&lt;b&gt;board" in card.toolTip() and "<b>board" not in card.toolTip()


def test_a_question_naming_a_device_version_shows_it_as_text(qtbot: QtBot) -> None:
    """The confirm question's title and consequence name versions the device reported."""
    from PySide6.QtWidgets import QWidget

    from app.gui.dialogs.confirm import ask

    parent = QWidget()
    qtbot.addWidget(parent)
    box = ask(parent, "Erase <b>x</b>?", f"Version {DEVICE_NAME} goes.", "Erase", lambda: None)
    informative = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert informative is not None and informative.text() == f"Version {DEVICE_NAME} goes."
    assert informative.textFormat() == Qt.TextFormat.PlainText
    assert "&lt;b&gt;x&lt;/b&gt;" in box.text() and box.textFormat() == Qt.TextFormat.RichText
    box.done(0)
