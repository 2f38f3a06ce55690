"""Production-view fixtures: a core bridge stopped after every test, simulated boards on real
UDP sockets living on the bridge's loop, job files for imgtool-signed images, and the window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.production import ProductionWindow
from app.gui.settings import AppSettings
from app.sim.device import SimConfig, SimDevice
from app.sim.serve import UdpSimServer
from app.workflows.batch import default_connect
from app.workflows.supervisor import hash_password

PASSWORD = "line-3-supervisor"


@pytest.fixture
def start_board(bridge: CoreBridge) -> Callable[..., UdpSimServer]:
    """`start_board(SimConfig(...))`: a simulated board on 127.0.0.1, stopped with the bridge."""

    def start(config: SimConfig | None = None) -> UdpSimServer:
        server = UdpSimServer(SimDevice(config or SimConfig(name="line-board")), boot_s=0.05)
        bridge.wait(server.start())
        bridge.add_cleanup(server.stop)
        return server

    return start


def on_loop(bridge: CoreBridge, fn: Callable[[], object]) -> None:
    """Run `fn` on the core loop thread (the simulators live there) and wait for it."""

    async def call() -> None:
        fn()

    bridge.wait(call())


@pytest.fixture
def write_job(tmp_path: Path, signed_image: Path, signing_key: Path) -> Callable[..., Path]:
    """`write_job(devices, barcode=..., password=True)`: a job file for the signed 1.1.0 image."""

    def write(
        devices: list[str],
        *,
        barcode: str = "",
        password: bool = True,
        identity: str = '["os_info"]',
        retries: int = 0,
        concurrency: int = 4,
    ) -> Path:
        job = tmp_path / "line3.toml"
        secret = f'supervisor_password = "{hash_password(PASSWORD)}"' if password else ""
        devices_toml = "[" + ", ".join(f'"{d}"' for d in devices) + "]"
        job.write_text(f"""
[job]
name = "sensor 1.1.0"
image = "{signed_image}"
keys = ["{signing_key}"]
expected_version = "1.1.0"
mode = "test"
concurrency = {concurrency}
retries = {retries}
station = "line 3"
operator = "dana"
{secret}

[targets]
devices = {devices_toml}

[identity]
read = {identity}

{barcode}
""")
        return job

    return write


@pytest.fixture
def production(
    qtbot: QtBot, bridge: CoreBridge, settings: AppSettings, tmp_path: Path
) -> Iterator[ProductionWindow]:
    """The production window on the test bridge; results go to tmp_path/results.csv."""
    window = ProductionWindow(
        bridge,
        settings,
        connect=default_connect(1.0),
        results_path=tmp_path / "results.csv",
        poll_s=0.1,
    )
    qtbot.addWidget(window)
    window.show()
    yield window
    if window.controller is not None and window.controller.running:
        window.controller.stop()
        qtbot.waitUntil(lambda: not window.controller.running, timeout=20000)  # type: ignore[union-attr]
    if window.operator:
        window._set_operator(False)  # teardown only: a failed test may leave it locked
    window.close()


def load(qtbot: QtBot, window: ProductionWindow, job: Path) -> None:
    """Load `job` through the window (verified on the core loop) and wait until it is shown."""
    with qtbot.waitSignal(window.job_loaded, timeout=10000):
        window.load_job_file(job)
