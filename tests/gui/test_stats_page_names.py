"""The statistics page lists the device's group names neutralised and reads each by its own
name, as the device spells it."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.gui.diagnostics.base import DiagContext
from app.gui.diagnostics.stats import StatsPage

HOSTILE = "grp\u202egnp.exe\x1b]0;title\x07\r\nforged"


def test_group_names_are_shown_safely_and_read_as_sent(qtbot: QtBot) -> None:
    """A group name with a bidi override, an escape sequence and CR/LF was a list item as
    sent (reversed, two lines); the read still asks for the name the device gave."""
    page = StatsPage(DiagContext(None, None))  # type: ignore[arg-type]  # no device is asked
    qtbot.addWidget(page)
    asked: list[str] = []
    page.refresh = lambda: asked.append(page.group)  # type: ignore[method-assign]
    page.show_groups(["first", HOSTILE])
    page.groups.setCurrentRow(1)
    shown = page.groups.item(1).text()
    assert "\u202e" not in shown and "\x1b" not in shown and "\n" not in shown
    assert shown == "grp\\u202egnp.exe\\x1b]0;title\\x07\\r\\nforged"
    assert asked == ["first", HOSTILE]
