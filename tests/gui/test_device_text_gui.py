"""Device text reaches the window's labels, tables and consoles neutralised (app/text.py)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.gui.diagnostics.shell import clean_output
from app.gui.session import _slot_views
from app.gui.widgets.log_drawer import LogDrawer
from app.smp.groups.img import ImageSlot

HOSTILE = "1.0.0\u202egnp.exe\x1b]0;title\x07\r\nforged\x9b"


def test_a_slot_version_enters_the_view_model_neutralised() -> None:
    """The version a slot card shows cannot reverse, retitle or add lines."""
    (view,) = _slot_views([ImageSlot(slot=0, version=HOSTILE, active=True)], None)
    assert view.version == "1.0.0\\u202egnp.exe\\x1b]0;title\\x07\\r\\nforged\\x9b"


def test_the_device_console_shows_escapes_not_control_characters(qtbot: QtBot) -> None:
    """A console line from the device is appended with its controls made visible."""
    drawer = LogDrawer()
    qtbot.addWidget(drawer)
    drawer.add_console(HOSTILE)
    shown = drawer.console_view.toPlainText()
    assert "\u202e" not in shown and "\x1b" not in shown and "\x9b" not in shown
    assert shown.count("\n") == 0 and "forged" in shown


def test_shell_output_keeps_lines_and_drops_bidi_overrides() -> None:
    """Shell output keeps its lines; a bidi override or C1 control is shown as an escape."""
    assert clean_output("ok\u202e\r\nnext\x9b") == "ok\\u202e\nnext\\x9b"


def test_device_words_are_never_rendered_as_markup(qtbot: QtBot) -> None:
    """A version `<img src=...>` or a board name `<a href=...>` was rich text to the slot card
    and the device header (Qt guesses markup from a leading tag): shown as the text it is."""
    from PySide6.QtCore import Qt

    from app.gui.targets import DeviceIdentity, DeviceSnapshot, DeviceTarget
    from app.gui.widgets.device_view import DeviceHeader
    from app.gui.widgets.slot_card import SlotCard

    markup = '<img src="/tmp/x.png"><a href="https://evil.example">1.0.0</a>'
    (view,) = _slot_views([ImageSlot(slot=0, version=markup, active=True)], None)
    target = DeviceTarget("udp:127.0.0.1:1", "udp", markup, "127.0.0.1")
    identity = DeviceIdentity(
        markup, markup, markup, "MCUboot", "", False, 1, 1, "udp", "x", None, 512
    )
    card = SlotCard(view, DeviceSnapshot(target, identity, (view,)))
    header = DeviceHeader()
    qtbot.addWidget(card)
    qtbot.addWidget(header)
    header.show_identity(identity)
    labels = [card.version_label, header.name_label, *header.fields.values()]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in labels)
    assert card.version_label.text() == markup and header.name_label.text() == markup
