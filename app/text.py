"""Text a device sent, made safe to show: the one rule the CLI, the GUI and the result files share.

A device's strings — an error's `rsn`, slot versions, names, OS info, settings, statistics and
task names, shell output — reach terminals, labels and CSV files. Sent raw, an escape sequence
recolours or rewrites the terminal, a CR or LF forges a line of output or a CSV row, a bidi
override reverses what a label shows, and a 3,000-character name pushes everything else out
of view. `device_text()` shows every such character as a visible escape (`\\x1b`, `\\n`,
`\\u202e`) and caps the length. HTML reports escape on their own.

Pure: no I/O.
"""

from __future__ import annotations

import unicodedata

FIELD_CHARS = 200
"""Longest one-line field shown (a version, a name, a reason); longer ones are cut."""
BLOCK_CHARS = 64 * 1024
"""Longest multi-line text shown at once (shell output, a log line batch)."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def device_text(value: object, *, limit: int = FIELD_CHARS, multiline: bool = False) -> str:
    """`value` as text that cannot act on a terminal, a label or a file.

    Control and format characters (Unicode categories Cc, Cf, Zl, Zp, and lone surrogates)
    become backslash escapes; `multiline` keeps LF and TAB as they are (shell output). Text
    longer than `limit` characters is cut there and says how much was left out.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    if text.isprintable():  # the common case, at C speed (only ASCII space is printable of Z*)
        return text
    return "".join(_shown(c, multiline) for c in text)


def _shown(char: str, multiline: bool) -> str:
    if multiline and char in "\n\t":
        return char
    if char == " " or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"):
        return char
    if unicodedata.category(char) == "Zs":  # no-break and other spaces: a plain space
        return " "
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
