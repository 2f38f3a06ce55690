"""GUI fixtures shared by the GUI, diagnostics and production suites (imported by their
conftests, so Qt is loaded only where GUI tests run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.gui.bridge import CoreBridge
from app.gui.settings import AppSettings


@pytest.fixture
def bridge(qapp: object) -> Iterator[CoreBridge]:
    """A running core loop thread, stopped (and checked stopped) after the test."""
    core = CoreBridge()
    yield core
    core.stop()
    assert not core.running


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    """Settings in a temporary file, never the user's."""
    return AppSettings(tmp_path / "slotwise.ini", keys_dir=tmp_path / "keys")
