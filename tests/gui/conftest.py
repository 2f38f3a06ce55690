"""GUI fixtures: a core bridge stopped after every test, settings in tmp_path, a simulated
device on real UDP, and images made by imgtool at test time."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.exceptions import TimeoutError
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.gui.targets import DeviceTarget
from app.sim.device import SimConfig, SimDevice
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer

IMGTOOL = [sys.executable, "-m", "imgtool.main"]


def start_sim(
    bridge: CoreBridge, link: LinkModel | None = None, config: SimConfig | None = None
) -> UdpSimServer:
    """A simulated device on 127.0.0.1 (port 0), stopped when the bridge stops."""
    server = UdpSimServer(SimDevice(config or SimConfig(name="gui-test-board")), link)
    bridge.wait(server.start())
    bridge.add_cleanup(server.stop)
    return server


def udp_target(server: UdpSimServer, name: str = "Test board") -> DeviceTarget:
    return DeviceTarget(spec=f"udp:{server.address}", kind="udp", name=name, address=server.address)


@pytest.fixture
def sim(bridge: CoreBridge) -> UdpSimServer:
    """A device running a confirmed 1.0.0 in slot 0 with slot 1 empty."""
    return start_sim(bridge)


@pytest.fixture
def window(qtbot: QtBot, bridge: CoreBridge, settings: AppSettings) -> Iterator[MainWindow]:
    win = MainWindow(bridge, settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ECDSA P-256 key made by imgtool for this test session."""
    key = tmp_path_factory.mktemp("keys") / "test-key.pem"
    subprocess.run(
        [*IMGTOOL, "keygen", "-k", str(key), "-t", "ecdsa-p256"], check=True, capture_output=True
    )
    return key


@pytest.fixture(scope="session")
def make_image(tmp_path_factory: pytest.TempPathFactory, signing_key: Path) -> Callable[..., Path]:
    """make_image(version, size=..., signed=True, encrypted=False, clear=False) -> a file made
    by imgtool; `encrypted` encrypts it for the signing key (`clear`: imgtool's --clear)."""
    folder = tmp_path_factory.mktemp("images")

    def make(
        version: str = "1.1.0",
        size: int = 24 * 1024,
        signed: bool = True,
        encrypted: bool = False,
        clear: bool = False,
    ) -> Path:
        payload = folder / f"payload-{version}-{size}.bin"
        payload.write_bytes(bytes((i * 7 + len(version)) & 0xFF for i in range(size)))
        kind = "signed" if signed else "unsigned"
        kind += "-enc" if encrypted else ""
        kind += "-clear" if clear else ""
        out = folder / f"app-{version}-{size}-{kind}.bin"
        args = [
            *IMGTOOL,
            "sign",
            "--header-size",
            "0x200",
            "--pad-header",
            "--align",
            "4",
            "--slot-size",
            "0x80000",
            "--version",
            version,
        ]
        if signed:
            args += ["-k", str(signing_key)]
        if encrypted:
            args += ["-E", str(signing_key), *(["--clear"] if clear else [])]
        subprocess.run([*args, str(payload), str(out)], check=True, capture_output=True)
        return out

    return make


def connect(
    qtbot: QtBot, window: MainWindow, server: UdpSimServer, name: str = "Test board"
) -> None:
    """List the simulated device, select it, and wait until its slots are shown."""
    window.add_targets([udp_target(server, name)])
    assert window.device_pane.select_spec(f"udp:{server.address}")
    try:
        qtbot.waitUntil(
            lambda: window.controller.snapshot is not None and len(window.device_view.cards) >= 2,
            timeout=20000,
        )
    except TimeoutError:  # say what the window logged
        log = window.log_drawer.operations.toPlainText()
        raise AssertionError(f"device not shown within 20 s; the window logged:\n{log}") from None


def on_loop(bridge: CoreBridge, fn: Callable[[], object]) -> None:
    """Run `fn` on the core loop thread (the simulator lives there), and wait for it."""

    async def call() -> None:
        fn()

    bridge.wait(call())


@pytest.fixture
def trusted_settings(settings: AppSettings, signing_key: Path) -> AppSettings:
    """Settings whose trusted key store holds the test signing key as "test-key"."""
    from app.image.keys import KeyStore

    KeyStore(settings.keys_dir).add("test-key", signing_key)
    return settings
