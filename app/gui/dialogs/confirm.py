"""Ask once before a dangerous action, naming its consequence. Non-blocking (window-modal)."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QWidget


def ask(
    parent: QWidget, title: str, consequence: str, action_text: str, on_yes: Callable[[], None]
) -> QMessageBox:
    """Show a window-modal question; `on_yes` runs only if the user picks `action_text`.

    `open()` rather than `exec()`: no nested event loop, so the core keeps reporting while
    the question is up, and tests can find and answer it like a user.
    """
    box = QMessageBox(parent)
    box.setObjectName("confirm-dialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(f"<b>{html.escape(title)}</b>")
    box.setInformativeText(consequence)
    # the consequence names versions and slots the device reported: text, never markup
    informative = box.findChild(QLabel, "qt_msgbox_informativelabel")
    if informative is not None:
        informative.setTextFormat(Qt.TextFormat.PlainText)
    # Qt sizes a message box to its shortest text: a two-sentence consequence wrapped into
    # a narrow column ("cramped"); give it a reading width
    box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 28em; }")
    yes = box.addButton(action_text, QMessageBox.ButtonRole.AcceptRole)
    yes.setObjectName("confirm-yes")
    no = box.addButton(QMessageBox.StandardButton.Cancel)
    no.setObjectName("confirm-cancel")
    box.setDefaultButton(no)  # Enter on a dangerous question must not do the dangerous thing

    def finished() -> None:
        if box.clickedButton() is yes:
            on_yes()
        box.deleteLater()

    box.finished.connect(finished)
    box.open()
    return box


def press_yes(box: QMessageBox) -> None:
    """Answer an open question from `ask` with its action button (scripts drive the GUI)."""
    yes = box.findChild(QPushButton, "confirm-yes")
    if yes is not None:
        yes.click()


def grab_with(window: QWidget, box: QMessageBox) -> QPixmap:
    """The window with its window-modal question painted centred on it: offscreen they are
    two top-level surfaces, so one grab cannot hold both (docs screenshots)."""
    picture = window.grab()
    question = box.grab()
    painter = QPainter(picture)
    painter.fillRect(picture.rect(), QColor(0, 0, 0, 64))  # the dim of a modal sheet
    corner = picture.rect().center() - question.rect().center()
    painter.drawPixmap(QPoint(corner.x(), corner.y()), question)
    painter.end()
    return picture
