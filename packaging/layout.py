"""The shape of a built bundle, shared by the spec, installer checks and tests.

dist/slotwise/ holds the launchers below and _internal/ (Python, Qt, app/ with app/resources/).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BUNDLE_NAME = "slotwise"
"""COLLECT's name: the folder under dist/ and the Linux/macOS program inside it."""
INTERNAL = "_internal"


@dataclass(frozen=True, slots=True)
class Launcher:
    name: str
    console: bool
    purpose: str


def launchers(platform: str) -> tuple[Launcher, ...]:
    """The executables built for `platform` (a sys.platform value)."""
    if platform == "win32":
        return (
            Launcher(
                "slotwise",
                True,
                "the command line, --version, --self-test; without a command it opens the window",
            ),
            # No console window flashes up when the Start menu starts this one.
            Launcher("slotwise-gui", False, "the Start-menu and desktop shortcut target"),
        )
    if platform == "darwin":  # Slotwise.app needs a windowed program; a terminal still works
        return (Launcher("slotwise", False, "the .app's program and the command line"),)
    return (Launcher("slotwise", True, "the program: window without a command, else the CLI"),)


def program(bundle: Path, platform: str, name: str = "slotwise") -> Path:
    """Path of launcher `name` inside a built one-folder bundle."""
    return bundle / (f"{name}.exe" if platform == "win32" else name)
