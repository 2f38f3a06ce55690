"""What must hold before the QApplication exists, each said in one line when it does not.

- The platform plugin can start: on Linux with X11, Qt's xcb plugin aborts the process
  (SIGABRT, no Python traceback) when a library it links is missing or the display does not
  answer. Both are checked here first, so `slotwise` says what is wrong and what to install.
- The Qt binding keeps Python's reference counts: PySide6 6.12.0 drops a reference to True on
  every `Signal.emit()` and to None on every call of a method that returns nothing. On Python
  3.11, where True and None are not immortal, a few thousand emits later the interpreter
  aborts with "bool_dealloc: deallocating True or False" (issue 17, item 2).

Loads only QtCore (no QGuiApplication), so it is safe to run before the platform is chosen.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CANARY_CALLS = 64
"""Enough calls that a leak of one reference per call cannot hide in unrelated churn."""
XCB_PLUGIN = "platforms/libqxcb.so"


def binding_problem() -> str | None:
    """Why this PySide6 would crash the application, or None when it keeps its references."""
    import PySide6
    from PySide6.QtCore import QObject, Signal

    class _Canary(QObject):
        ping = Signal(bool)

    canary = _Canary()
    canary.ping.connect(_ignore)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(CANARY_CALLS):
        canary.ping.emit(True)  # returns True
        canary.setObjectName("canary")  # returns None
    lost_true = before_true - sys.getrefcount(True)
    lost_none = before_none - sys.getrefcount(None)
    if lost_true < CANARY_CALLS and lost_none < CANARY_CALLS:
        return None
    return (
        f"PySide6 {PySide6.__version__} loses Python references on every signal and call "
        f"(Python {sys.version_info.major}.{sys.version_info.minor}), and the application "
        "would crash; install a working version with `pip install 'PySide6<6.12'`, or use "
        "Python 3.12 or newer"
    )


def _ignore(_value: bool) -> None:
    """The canary's slot: a connected signal takes the same path as the window's."""


def platform_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why Qt's platform plugin cannot start here, or None when it can (or we cannot tell).

    Checked only where Qt would use X11 (Linux, DISPLAY set, QT_QPA_PLATFORM unset or xcb):
    the plugin's libraries, then a connection to the display.
    """
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    chosen = env.get("QT_QPA_PLATFORM", "")
    display = env.get("DISPLAY", "")
    if chosen and not chosen.startswith("xcb"):
        return None
    if not display:
        return None if env.get("WAYLAND_DISPLAY") and not chosen else _no_display(chosen)
    missing = missing_libraries(_xcb_plugin())
    if missing:
        packages = " ".join(debian_package(name) for name in missing)
        return (
            f"Qt's X11 plugin cannot load: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing; install "
            f"{'it' if len(missing) == 1 else 'them'} (Debian/Ubuntu: "
            f"`sudo apt install {packages}`)"
        )
    if not display_answers(display):
        return (
            f"cannot open the display {display!r} (no X server answers there); start one, "
            "fix DISPLAY, or render offscreen with `slotwise --demo --screenshot demo.png`"
        )
    return None


def _no_display(chosen: str) -> str | None:
    if chosen:  # QT_QPA_PLATFORM=xcb and no DISPLAY: xcb would abort
        return "QT_QPA_PLATFORM asks for X11 but DISPLAY is not set"
    return None


def _xcb_plugin() -> Path | None:
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    path = plugins / XCB_PLUGIN
    return path if path.is_file() else None


def missing_libraries(plugin: Path | None) -> list[str]:
    """The shared libraries `plugin` needs that the loader cannot find (sonames)."""
    if plugin is None:
        return []
    ldd = shutil.which("ldd")
    if ldd is not None:
        try:
            done = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None:
            found = re.findall(r"^\s*(\S+) => not found", done.stdout, flags=re.MULTILINE)
            return sorted(set(found))
    try:  # no ldd: the loader names the first library it misses
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY)
    except OSError as exc:
        first = re.match(r"(\S+?\.so[.\d]*): cannot open shared object", str(exc))
        return [first.group(1)] if first else []
    return []


def debian_package(soname: str) -> str:
    """Debian's package for a library: libxcb-icccm.so.4 -> libxcb-icccm4 (policy 8.1)."""
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if match is None:
        return soname
    name, major = match.groups()
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


_held: list[tuple[ctypes.CDLL, int]] = []
"""The connection display_answers() keeps open until release_display()."""


def display_answers(display: str) -> bool:
    """Whether an X server accepts a connection on `display` (libxcb, as Qt itself uses).

    A working connection is kept open until release_display(): an X server with no other
    client (a bare Xvfb, no window manager) resets when its last client leaves and refuses
    connections for that moment, so Qt's own connection right after a closed one can fail
    and abort the process (seen in about 1 of 100 back-to-back connects)."""
    path = ctypes.util.find_library("xcb")
    if path is None:
        return True  # no libxcb: missing_libraries() has named it already
    xcb = ctypes.CDLL(path)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    screen = ctypes.c_int(0)
    connection = xcb.xcb_connect(display.encode(), ctypes.byref(screen))
    answers = bool(connection) and xcb.xcb_connection_has_error(connection) == 0
    if answers:
        release_display()
        _held.append((xcb, connection))
    elif connection:
        xcb.xcb_disconnect(connection)
    return answers


def release_display() -> None:
    """Close the connection display_answers() kept, once Qt holds its own."""
    while _held:
        xcb, connection = _held.pop()
        xcb.xcb_disconnect(connection)


def startup_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """The first reason the application cannot start here, or None."""
    return platform_problem(environ) or binding_problem()


def render_offscreen(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """A scripted render (`--screenshot`) needs no display: use Qt's offscreen platform,
    unless the caller chose a platform on purpose."""
    environ.setdefault("QT_QPA_PLATFORM", "offscreen")
