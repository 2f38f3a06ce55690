"""How Slotwise writes sizes and rates, for the CLI, the GUI and reports alike.

Binary units throughout (1 KiB = 1024 bytes, 1 MiB = 1024 KiB), the units flash sectors,
slots and MCUmgr buffers are counted in, so a 512 KiB slot and a 48.6 KiB image compare at
a glance; rates are the same units per second. Pure: no I/O.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB


def format_bytes(count: int | None) -> str:
    """`812 B`, `48.6 KiB`, `1.25 MiB`; "size unknown" for None."""
    if count is None:
        return "size unknown"
    if count < KIB:
        return f"{count} B"
    if count < MIB:
        return f"{count / KIB:.1f} KiB"
    return f"{count / MIB:.2f} MiB"


def format_rate(bytes_per_s: float | None) -> str:
    """`40.1 KiB/s`; "-- KiB/s" before a rate is known."""
    if not bytes_per_s:
        return "-- KiB/s"
    if bytes_per_s < KIB:
        return f"{bytes_per_s:.0f} B/s"
    if bytes_per_s < MIB:
        return f"{bytes_per_s / KIB:.1f} KiB/s"
    return f"{bytes_per_s / MIB:.2f} MiB/s"


def format_seconds(seconds: float) -> str:
    """`0.026 s`, `1.1 s`, `31.9 s`: a step that took time never shows as `0.0 s`."""
    return f"{seconds:.3f} s" if seconds < 0.1 else f"{seconds:.1f} s"
