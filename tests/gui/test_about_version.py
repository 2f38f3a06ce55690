"""The About box names the version from pyproject, the one source of the version."""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.gui.main_window import about_text


def test_about_names_the_pyproject_version() -> None:
    """About shows exactly the version pyproject.toml declares, and the licence."""
    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    text = about_text()
    assert text.startswith(f"Slotwise {declared}\n") and "Apache License 2.0" in text
