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
