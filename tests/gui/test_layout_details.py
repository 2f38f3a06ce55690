"""Issue 17, item 10: small things a technician sees: "Recent" not clipped by its menu arrow,
device rows as tall as two lines of the desktop's font, a dangerous question at a reading
width, no empty icon gap on the production READY banner."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QMessageBox, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from app.gui.dialogs.confirm import ask
from app.gui.main_window import MainWindow
from app.gui.targets import DeviceTarget
from app.gui.widgets.device_delegate import DeviceDelegate


def test_recent_button_leaves_room_for_its_menu_arrow(window: MainWindow) -> None:
    """The button is wider than its word plus the arrow's room."""
    button = window.upload_panel.recent_button
    text = button.fontMetrics().horizontalAdvance(button.text())
    assert max(button.sizeHint().width(), button.minimumWidth()) >= text + 14 + 6
    assert not button.styleSheet()  # a style sheet would lose the dark theme's palette


def test_device_rows_fit_two_lines_of_a_large_font(window: MainWindow) -> None:
    """With a large desktop font a row still holds the name and the detail line (the BLE
    row's second line was cut off)."""
    window.add_targets(
        [DeviceTarget("ble:AA", "ble", "Demo board (BLE)", "C0:00:00:00:00:01", rssi=-58)]
    )
    view = window.device_pane.view
    font = QFont(view.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)
    view.setFont(font)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.font = font
    option.fontMetrics = view.fontMetrics()
    height = DeviceDelegate(view).sizeHint(option, view.model().index(0, 0)).height()
    assert height >= 2 * view.fontMetrics().lineSpacing() + 8


def test_dangerous_question_has_a_reading_width(qtbot: QtBot, window: MainWindow) -> None:
    """The consequence of Erase is set in a column at least ~28 characters wide."""
    box = ask(
        window,
        "Erase slot 1?",
        "The image in slot 1 (version 1.0.0) is erased; the device keeps running its "
        "current image, and the old one cannot be rolled back to.",
        "Erase",
        lambda: None,
    )
    qtbot.waitUntil(box.isVisible)
    label = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert label is not None
    assert label.width() >= 28 * label.fontMetrics().horizontalAdvance("m") * 0.9
    box.done(QMessageBox.StandardButton.Cancel)


def test_ready_banner_has_no_empty_icon_gap(qtbot: QtBot) -> None:
    """READY has no icon, so its banner shows no 28 px hole before the word."""
    from app.gui.production.card import DeviceCard

    card = DeviceCard("udp:127.0.0.1:1")
    qtbot.addWidget(card)
    card.show()
    assert card.status_label.text() == "READY"
    assert not card.icon_label.isVisible()


def test_window_never_opens_larger_than_the_screen(window: MainWindow) -> None:
    """With no saved size the window fits the screen's free area (at 1024x768 with no window
    manager, Upload and Refresh were beyond the screen's right edge)."""
    free = window.screen().availableGeometry()
    assert free.width() < 1180 or free.height() < 800  # offscreen's screen is the small one
    assert window.width() <= free.width() and window.height() <= free.height()
