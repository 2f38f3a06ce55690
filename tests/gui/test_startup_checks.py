"""Issue 17, item 1: the application never aborts in Qt's xcb plugin. `--screenshot` renders
offscreen by itself; a display that does not answer is said in one line, by the window and
by `--self-test`, before any QApplication exists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.gui.startup_checks import debian_package, platform_problem

MISSING_DISPLAY = ":97"


def run_slotwise(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**base, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"), **env},
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.fixture
def missing_display() -> str:
    if Path(f"/tmp/.X11-unix/X{MISSING_DISPLAY[1:]}").exists():
        pytest.skip(f"an X server runs on {MISSING_DISPLAY}")
    return MISSING_DISPLAY


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and DISPLAY are Linux's")
def test_screenshot_renders_offscreen_with_no_display(tmp_path: Path) -> None:
    """With neither DISPLAY nor QT_QPA_PLATFORM, `--demo --screenshot` writes the PNG."""
    out = tmp_path / "demo.png"
    done = run_slotwise(tmp_path, "--demo", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and DISPLAY are Linux's")
@pytest.mark.parametrize("args", [["--demo"], ["--self-test"]])
def test_display_that_does_not_answer_is_one_line(
    tmp_path: Path, missing_display: str, args: list[str]
) -> None:
    """DISPLAY naming a display nobody serves: exit 1 with one sentence naming it, no abort."""
    done = run_slotwise(tmp_path, *args, DISPLAY=missing_display)
    assert done.returncode == 1, (done.returncode, done.stderr)
    said = done.stderr if args == ["--demo"] else done.stdout.splitlines()[-1]
    assert f"cannot open the display '{missing_display}'" in said
    if args == ["--demo"]:
        assert done.stderr.startswith("slotwise: ") and done.stderr.count("\n") == 1
    else:
        assert said.startswith("FAIL: qt: ")


def test_no_check_where_qt_does_not_use_x11() -> None:
    """Offscreen, Wayland-only and no display at all are not X11's problems."""
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":97"}) is None
    assert platform_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert platform_problem({}) is None


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-render-util.so.0.0.0", "libxcb-render-util0"),
    ],
)
def test_missing_library_names_its_debian_package(soname: str, package: str) -> None:
    """A library the loader misses is named with the package that installs it."""
    assert debian_package(soname) == package
