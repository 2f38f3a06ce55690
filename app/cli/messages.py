"""The one error line every subcommand ends with: `slotwise: ` and a sentence in lower case.

Sentences from the core (an image verdict, a job) are written to stand alone, capitalised
and with a period, as the GUI shows them; on the command line they follow `slotwise: `, so
the first word is lowered (unless it is a name, like Bluetooth) and the final period dropped.
Device text inside is neutralised (app/text.py), so the line stays one line.
"""

from __future__ import annotations

import sys

from app.text import device_text

ERROR_CHARS = 1000
"""Longest error line; a device's reason string inside it is what could make it longer."""
NAMES = frozenset(
    {"Bluetooth", "BlueZ", "MCUboot", "Zephyr", "Intel", "PySide6", "Qt", "Windows", "Linux"}
)
"""First words kept capitalised (acronyms such as SMP or USB are kept anyway)."""


def error_line(message: object) -> str:
    """`slotwise: sentence`, one line, following README's message rule."""
    text = device_text(message, limit=ERROR_CHARS).strip()
    first = text.split(" ", 1)[0].rstrip(",:;")
    if text[:1].isupper() and text[1:2].islower() and first not in NAMES:
        text = text[0].lower() + text[1:]
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    return f"slotwise: {text}"


def say_error(message: object) -> None:
    """Print the error line on stderr."""
    print(error_line(message), file=sys.stderr)
