"""Decoded CBOR bodies as text a person reads: `{off: 0, data: <2000 bytes>, match: true}`.

Compact CBOR diagnostic notation (RFC 8949 §8): true/false/null, never Python's
True/False/None, and long byte strings (upload chunks) as their length. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

MAX_INLINE_BYTES = 16
"""Byte strings longer than this show as a length, not a hex wall."""


def render_value(value: Any) -> str:
    """One CBOR value (as app.smp.codec decodes it) as compact, readable text."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {render_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, bytes | bytearray):
        if len(value) > MAX_INLINE_BYTES:
            return f"<{len(value)} bytes>"
        return "h'" + bytes(value).hex() + "'"
    if isinstance(value, str):
        return repr(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)
