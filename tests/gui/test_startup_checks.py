"""Issue 17, item 1: the application never aborts in Qt's xcb plugin. `--screenshot` renders
offscreen by itself; a display that does not answer is said in one line, by the window and
by `--self-test`, before any QApplication exists."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.gui.startup_checks import (
    debian_package,
    display_answers,
    platform_problem,
    release_display,
)

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


@pytest.fixture
def bare_x_server() -> Iterator[tuple[str, Callable[[], socket.socket]]]:
    """A TCP X11 endpoint that accepts one client and answers its connection setup with a
    minimal success (no screens): enough for libxcb's xcb_connect, as an idle Xvfb does.
    Gives the display name and a call that returns the server's side of the connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for number in range(150, 400):  # X11 over TCP listens on port 6000 + display number
        try:
            listener.bind(("127.0.0.1", 6000 + number))
            break
        except OSError:
            continue
    else:
        pytest.skip("no free X11 TCP port")
    listener.listen(1)
    accepted: list[socket.socket] = []

    def serve() -> None:
        peer, _ = listener.accept()
        accepted.append(peer)
        peer.recv(4096)  # the client's setup request (byte order, version, authorisation)
        extra = struct.pack("<IIII", 0, 0x00200000, 0x001FFFFF, 256)  # release, ids, buffer
        extra += struct.pack("<HHBBBBBBBB4x", 0, 65535, 1, 0, 0, 0, 32, 32, 8, 255)
        # one screen (libxcb refuses a display whose screen number is not in the list)
        extra += struct.pack(
            "<IIIIIHHHHHHIBBBB",
            0x100,
            0x20,
            0xFFFFFF,
            0,
            0,
            1024,
            768,
            270,
            203,
            1,
            1,
            0x21,
            0,
            0,
            24,
            0,
        )
        peer.sendall(struct.pack("<BBHHH", 1, 0, 11, 0, len(extra) // 4) + extra)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def server_side() -> socket.socket:
        thread.join(timeout=10)
        return accepted[0]

    try:
        yield f"127.0.0.1:{listener.getsockname()[1] - 6000}", server_side
    finally:
        release_display()
        listener.close()
        thread.join(timeout=10)
        for peer in accepted:
            peer.close()


def test_the_display_check_keeps_its_connection_until_qt_has_its_own(
    bare_x_server: tuple[str, Callable[[], socket.socket]],
) -> None:
    """A bare X server (Xvfb, no window manager) resets when its last client leaves and
    refuses connections meanwhile; Qt's xcb plugin then aborts. So the check's connection
    is still open when it returns, and closes on release_display()."""
    display, server_side = bare_x_server
    assert display_answers(display)
    peer = server_side()
    with pytest.raises(BlockingIOError):  # open: no end-of-stream waiting to be read
        peer.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    release_display()
    peer.settimeout(10)
    assert peer.recv(1) == b""  # closed by the client
