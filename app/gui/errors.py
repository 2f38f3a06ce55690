"""One sentence for any error the core raises, as the GUI shows it (no Qt here)."""

from __future__ import annotations

from app.errors import SlotwiseError, TransportClosed, TransportTimeout
from app.text import device_text


def describe_error(exc: BaseException) -> str:
    """What went wrong, in words a technician can act on; the log keeps the trace.

    The sentence may quote the device (an `rsn`, a version), so it passes device_text()."""
    return device_text(_sentence(exc), limit=1000)


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, TransportTimeout):
        return f"The device did not answer in time. {exc}"
    if isinstance(exc, TransportClosed):
        return f"The connection to the device was lost. {exc}"
    if isinstance(exc, SlotwiseError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return f"System error: {exc.strerror or exc}"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"
