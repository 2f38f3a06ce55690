"""`slotwise --self-test`: prove that this installation (above all a frozen build) works.

It runs the pieces a user needs, in-process and without a device or a display: the Qt
application and the main window, the CoreBridge's asyncio thread, a simulated device on
loopback UDP whose slots are read through the bridge exactly as the window reads them, the
bundled demo image verified against the bundled key (app/image), and the SVG icon plugins.
It prints one line per check and exits 0, or 1 with the first failure's reason.

No Qt at module level: `app.gui` is imported only once the platform plugin has been chosen,
so `slotwise --help` and the CLI never load Qt.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app import __version__

if TYPE_CHECKING:
    from app.gui.bridge import CoreBridge

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 20.0
"""How long the slot read through the bridge may take (the simulator answers in ms)."""
WATCHDOG_S = 90.0
"""A self-test that hangs (a deadlocked thread in a broken build) is killed, not waited on."""
SOURCE_VERSION = "0.0.0+source"


class SelfTestFailed(Exception):
    """One check failed; the message is the reason printed to the user."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Options:
    """What the self-test checks; tests point these at broken copies to see it fail."""

    demo_image: Path | None = None
    """Defaults to the image `slotwise --demo` uploads (app/resources/demo)."""
    demo_key: Path | None = None
    require_version: bool | None = None
    """Insist on a real version (not the source-tree fallback); default: when frozen."""


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def choose_platform(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """Render offscreen on a Linux box without a display; returns the platform it set."""
    if not sys.platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    environ["QT_QPA_PLATFORM"] = "offscreen"
    return "offscreen"


class SelfTest:
    """Runs the checks in order; a failed check ends the run (later ones depend on it)."""

    def __init__(self, options: Options, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.checks: list[Check] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="slotwise-selftest-"))
        self._bridge: CoreBridge | None = None
        self._window: Any = None

    def run(self) -> int:
        self._print(
            f"slotwise {__version__} self-test "
            f"({'frozen build' if frozen() else 'source'}, Python "
            f"{platform.python_version()}, {platform.system()} {platform.machine()})"
        )
        steps: list[tuple[str, Callable[[], str]]] = [
            ("version", self._check_version),
            ("qt", self._check_qt),
            ("icons", self._check_icons),
            ("window", self._check_window),
            ("simulator", self._check_slots),
            ("demo image", self._check_demo_image),
            ("shutdown", self._check_shutdown),
        ]
        try:
            for name, step in steps:
                try:
                    detail = step()
                except SelfTestFailed as exc:
                    return self._fail(name, str(exc))
                except Exception as exc:  # a broken build fails in unforeseeable ways
                    log.debug("self-test step %s crashed", name, exc_info=True)
                    return self._fail(name, f"{type(exc).__name__}: {exc}")
                self.checks.append(Check(name, True, detail))
                self._print(f"  ok    {name:<11} {detail}")
        finally:
            self._close()
        self._print(f"PASS: {len(self.checks)} checks")
        return 0

    # --- the checks -------------------------------------------------------------------------

    def _check_version(self) -> str:
        required = self.options.require_version
        if required is None:
            required = frozen()
        if required and __version__ == SOURCE_VERSION:
            raise SelfTestFailed(
                "no version metadata: the build did not bundle "
                "slotwise's dist-info (packaging/slotwise.spec)"
            )
        return __version__

    def _check_qt(self) -> str:
        chosen = choose_platform()
        from app.gui.startup_checks import startup_problem

        problem = startup_problem()  # an xcb plugin that cannot start would abort the process
        if problem is not None:
            raise SelfTestFailed(problem)
        from app.gui.application import application  # Qt loads here, after the platform choice

        app = application()
        name = app.platformName()
        if not name:
            raise SelfTestFailed("Qt started without a platform plugin")
        qt = getattr(sys.modules.get("PySide6"), "__version__", "?")
        how = " (no display: offscreen)" if chosen else ""
        return f"PySide6 {qt}, {type(app).__name__} on platform '{name}'{how}"

    def _check_icons(self) -> str:
        from app.gui.icons import ICONS, app_icon

        if not (ICONS / "slotwise.svg").is_file():
            raise SelfTestFailed(f"the application icon is missing: {ICONS / 'slotwise.svg'}")
        pixmap = app_icon().pixmap(64, 64)
        if pixmap.isNull():
            raise SelfTestFailed(
                "the application icon does not render (Qt SVG plugins missing: "
                "iconengines/qsvgicon, imageformats/qsvg)"
            )
        image = pixmap.toImage()
        drawn = sum(
            1
            for x in range(0, 64, 4)
            for y in range(0, 64, 4)
            if image.pixelColor(x, y).alpha() > 0
        )
        if drawn == 0:
            raise SelfTestFailed("the application icon renders empty (Qt SVG plugins broken)")
        return f"SVG icons render ({len(list(ICONS.glob('*.svg')))} in {ICONS.parent.name}/)"

    def _check_window(self) -> str:
        from app.gui.bridge import CoreBridge
        from app.gui.main_window import MainWindow
        from app.gui.settings import AppSettings

        # A throw-away settings file: the self-test must not touch the user's preferences.
        settings = AppSettings(self._tmp / "settings.ini", keys_dir=self._tmp / "keys")
        self._bridge = CoreBridge()
        if not self._bridge.running:
            raise SelfTestFailed("the core asyncio thread did not start")
        self._window = MainWindow(self._bridge, settings)
        grab = self._window.grab()  # paints every widget once, without showing the window
        if grab.isNull():
            raise SelfTestFailed("the main window did not render")
        modules = sorted(
            m.removeprefix("PySide6.") for m in sys.modules if m.startswith("PySide6.Qt")
        )
        return (
            f"main window built and painted ({grab.width()}x{grab.height()}), core loop "
            f"thread running; Qt modules: {', '.join(modules)}"
        )

    def _check_slots(self) -> str:
        from app.gui.targets import DeviceTarget
        from app.sim.device import SimConfig, SimDevice
        from app.sim.serve import UdpSimServer

        bridge, window = self._bridge, self._window
        assert bridge is not None and window is not None
        config = SimConfig(name="selftest-board")
        server = UdpSimServer(SimDevice(config), host="127.0.0.1", port=0)
        bridge.wait(_start(server))
        bridge.add_cleanup(server.stop)
        target = DeviceTarget(
            spec=f"udp:{server.address}", kind="udp", name="Self-test board", address=server.address
        )
        results: list[Any] = []
        window.controller.snapshot_changed.connect(results.append)
        window.controller.failed.connect(lambda text: results.append(SelfTestFailed(text)))
        window.add_targets([target])
        if not window.device_pane.select_spec(target.spec):
            raise SelfTestFailed("the simulated device did not appear in the device list")
        started = time.monotonic()
        _process_events_until(lambda: bool(results), READ_TIMEOUT_S)
        if not results:
            raise SelfTestFailed(
                f"no answer from the simulated device within "
                f"{READ_TIMEOUT_S:.0f} s (bridge or UDP broken)"
            )
        first = results[0]
        if isinstance(first, Exception):
            raise SelfTestFailed(f"reading the simulated device failed: {first}")
        running = first.running()
        if running is None or running.version != config.factory_version or not running.hash:
            raise SelfTestFailed(f"unexpected slots from the simulated device: {first.slots}")
        elapsed_ms = (time.monotonic() - started) * 1000
        return (
            f"read {len(first.slots)} slots over udp:{server.address} through the bridge "
            f"in {elapsed_ms:.0f} ms (running {running.version}, "
            f"hash {running.hash.hex()[:12]}…)"
        )

    def _check_demo_image(self) -> str:
        from app.gui.demo import DEMO_IMAGE, DEMO_PUBLIC_KEY
        from app.image import KeyFileInvalid, KeyStore, verify_path

        image = self.options.demo_image or DEMO_IMAGE
        key = self.options.demo_key or DEMO_PUBLIC_KEY
        for path in (image, key):
            if not path.is_file():
                raise SelfTestFailed(f"bundled resource missing: {path}")
        keys = KeyStore()
        try:
            keys.add("slotwise-demo", key)
        except KeyFileInvalid as exc:
            raise SelfTestFailed(f"the demo key is unusable: {exc}") from exc
        verdicts = verify_path(image, keys)
        problems = [p for v in verdicts for p in v.problems]
        if not verdicts or problems or not all(v.valid for v in verdicts):
            raise SelfTestFailed(f"the demo image does not verify: {'; '.join(problems)}")
        verdict = verdicts[0]
        if verdict.signature.ok is not True or verdict.image is None:
            raise SelfTestFailed("the demo image's signature was not checked against the key")
        return (
            f"{image.name} {verdict.image.header.version}: hash ok, "
            f"{verdict.signature.algorithm} signature ok ({verdict.signature.key})"
        )

    def _check_shutdown(self) -> str:
        bridge, window = self._bridge, self._window
        assert bridge is not None and window is not None
        window.close()  # MainWindow.closeEvent stops the bridge (cleanups, loop, thread)
        window.deleteLater()
        bridge.stop()
        self._window = None
        if bridge.running:
            raise SelfTestFailed("the core loop thread did not stop")
        return "window closed, simulator and core loop stopped"

    # --- plumbing ---------------------------------------------------------------------------

    def _fail(self, name: str, reason: str) -> int:
        self.checks.append(Check(name, False, reason))
        self._print(f"  FAIL  {name:<11} {reason}")
        self._print(f"FAIL: {name}: {reason}")
        return 1

    def _close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        if self._bridge is not None:
            self._bridge.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


async def _start(server: Any) -> None:
    await server.start()


def _process_events_until(done: Callable[[], bool], timeout_s: float) -> None:
    """Let Qt deliver the bridge's queued results until `done()` or the timeout."""
    from app.gui.application import application

    app = application()
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)


@contextmanager
def _watchdog(timeout_s: float, out: TextIO) -> Iterator[None]:
    """Kill the process if the self-test hangs: a frozen-build check must always end."""
    finished = threading.Event()

    def guard() -> None:
        if not finished.wait(timeout_s):
            print(f"FAIL: self-test did not finish within {timeout_s:.0f} s", file=out, flush=True)
            os._exit(3)

    thread = threading.Thread(target=guard, name="slotwise-selftest-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join()


def run(
    options: Options | None = None, out: TextIO | None = None, watchdog_s: float = WATCHDOG_S
) -> int:
    """Run the self-test; 0 when every check passed, 1 otherwise (the reason is printed)."""
    stream = out if out is not None else sys.stdout
    with _watchdog(watchdog_s, stream):
        return SelfTest(options or Options(), stream).run()
