"""Text a device sends reaches the terminal, the GUI's view and the files neutralised and capped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.cli import main
from app.sim.device import Reply, SimConfig, SimDevice
from app.smp.header import Header, Op
from app.smp.message import encode_packet
from app.text import FIELD_CHARS, device_text
from tests.upload.conftest import ThreadedSim

HOSTILE = "1.2.3\x1b[2J\x1b]0;owned\x07\r\nslotwise: forged line\u202egnp.exe\x9b"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain 1.2.3+4", "plain 1.2.3+4"),
        ("a\x1b[31mred", "a\\x1b[31mred"),
        ("two\r\nlines", "two\\r\\nlines"),
        ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
        ("rtl\u202eoverride \u2066iso", "rtl\\u202eoverride \\u2066iso"),
        ("line\u2028sep", "line\\u2028sep"),
        ("no\u00a0break", "no break"),
        ("µC ünïcödé ✓", "µC ünïcödé ✓"),
    ],
)
def test_control_and_format_characters_become_visible_escapes(raw: str, shown: str) -> None:
    """Escape sequences, line breaks, C1 controls and bidi overrides cannot act."""
    assert device_text(raw) == shown


def test_long_text_is_cut_and_says_how_much() -> None:
    """A 3,000-character name is cut at the field limit with the count of what was left out."""
    shown = device_text("n" * 3000)
    assert shown == "n" * FIELD_CHARS + f"… ({3000 - FIELD_CHARS} more characters)"


def test_shell_output_keeps_its_lines_and_tabs_only() -> None:
    """Multi-line text keeps LF and TAB, and nothing else that moves the cursor."""
    assert device_text("a\tb\nc\r\x1b[Ad", multiline=True) == "a\tb\nc\\r\\x1b[Ad"


class HostileDevice(SimDevice):
    """Answers every request with an error whose reason is an escape-laden, overlong string."""

    def process(self, frame: bytes) -> Reply:
        request = Header.decode(frame)
        op = Op.READ_RSP if request.op is Op.READ else Op.WRITE_RSP
        header = dataclasses.replace(request, op=op)
        return Reply(encode_packet(header, {"rc": 6, "rsn": HOSTILE + "x" * 3000}))


def test_a_device_reason_reaches_the_terminal_as_one_safe_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An `rsn` with escape sequences and CR/LF cannot forge or recolour the error line."""
    with ThreadedSim(HostileDevice(SimConfig())) as sim:
        code = main(["-d", sim.spec, "images"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and err.startswith("slotwise: ")
    assert "\x1b" not in err and "\r" not in err and "\u202e" not in err and "\x9b" not in err
    assert "\\x1b[2J" in err and "more characters" in err


def test_echoed_and_listed_device_text_is_neutralised(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """What the device echoes, and a settings value it returns, print without raw controls."""
    with ThreadedSim(SimDevice(SimConfig())) as sim:
        assert main(["-d", sim.spec, "echo", HOSTILE]) == 0
        echoed = capsys.readouterr().out
        assert main(["-d", sim.spec, "settings", "set", "x/y", HOSTILE]) == 0
        capsys.readouterr()
        assert main(["-d", sim.spec, "settings", "get", "x/y", "--type", "text"]) == 0
        stored = capsys.readouterr().out
    for out in (echoed, stored):
        assert out.count("\n") == 1 and "\x1b" not in out and "\r" not in out
        assert "forged line" in out and "\\u202e" in out
