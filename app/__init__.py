"""Slotwise: firmware update and diagnostics for Zephyr/MCUboot devices over SMP."""

from __future__ import annotations

from functools import cache


@cache
def _installed_version() -> str:
    # importlib.metadata costs ~50 ms to import; looked up on first use so the GUI's
    # first paint does not wait for it
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slotwise")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0+source"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'app' has no attribute {name!r}")
