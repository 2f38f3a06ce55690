"""Slotwise: firmware update and diagnostics for Zephyr/MCUboot devices over SMP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("slotwise")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
