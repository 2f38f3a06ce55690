"""A simulated device on a real link (UDP socket or serial pty), a client connected to it, and
the same simulator on a loop thread of its own for the synchronous CLI tests.

`kind` runs each transport-parametrized test once per link; the serial case joins as soon as
app/sim/serial_endpoint.py exists. Override `profile` with `@pytest.mark.parametrize`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.client import SmpClient
from app.sim.device import SimConfig, SimDevice
from app.sim.serve import UdpSimServer
from app.transport import open_transport

HAS_SERIAL_SIM = importlib.util.find_spec("app.sim.serial_endpoint") is not None
TRANSPORTS = [
    "udp",
    pytest.param(
        "serial",
        marks=pytest.mark.skipif(
            not HAS_SERIAL_SIM, reason="app/sim/serial_endpoint.py has not landed"
        ),
    ),
]


def make_server(device: SimDevice, kind: str) -> Any:
    """An unstarted simulator endpoint for `kind` ("udp" or "serial")."""
    if kind == "udp":
        return UdpSimServer(device, boot_s=0.01)
    from app.sim.serial_endpoint import PtySimServer

    return PtySimServer(device, boot_s=0.01)


def spec_of(server: Any, kind: str) -> str:
    return f"udp:{server.address}" if kind == "udp" else f"serial:{server.path}"


@pytest.fixture
def profile() -> str:
    return "zephyr-modern"


@pytest.fixture
def device(profile: str) -> SimDevice:
    """A board of the given firmware profile running its factory image."""
    return SimDevice(SimConfig(name="diag-board", profile=profile))


@pytest.fixture(params=TRANSPORTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(device: SimDevice, kind: str) -> AsyncIterator[Any]:
    async with make_server(device, kind) as running:
        yield running


@pytest.fixture
async def client(server: Any, kind: str) -> AsyncIterator[SmpClient]:
    async with SmpClient(open_transport(spec_of(server, kind)), timeout_s=3.0) as connected:
        yield connected


class SimThread:
    """A simulator on its own asyncio loop thread, for code that runs `asyncio.run` itself."""

    def __init__(self, device: SimDevice, kind: str) -> None:
        self.device = device
        self.kind = kind
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="diag-sim-loop")
        self.server: Any = None

    def start(self) -> str:
        self.thread.start()

        async def begin() -> Any:
            server = make_server(self.device, self.kind)
            await server.start()
            return server

        self.server = asyncio.run_coroutine_threadsafe(begin(), self.loop).result(10)
        return spec_of(self.server, self.kind)

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def sim_spec(device: SimDevice, kind: str) -> Iterator[str]:
    """The `-d` spec of a simulator running on a thread, stopped after the test."""
    sim = SimThread(device, kind)
    try:
        yield sim.start()
    finally:
        sim.stop()


# --- GUI: a core bridge, a simulator on its loop, a controller and the diagnostics panel ------


@pytest.fixture
def gui_sim(bridge: Any, device: SimDevice) -> UdpSimServer:
    """The simulator on the bridge's loop over UDP, stopped when the bridge stops."""
    server = UdpSimServer(device, boot_s=0.01)
    bridge.wait(server.start())
    bridge.add_cleanup(server.stop)
    return server


@pytest.fixture
def panel(qtbot: Any, bridge: Any, gui_sim: UdpSimServer, tmp_path: Any) -> Any:
    """The diagnostics panel for a selected, connected device whose capabilities are known."""
    from app.gui.controller import DeviceController
    from app.gui.diagnostics import DiagnosticsPanel
    from app.gui.diagnostics.base import RecentPaths
    from app.gui.targets import DeviceTarget

    controller = DeviceController(bridge, timeout_s=3.0)
    widget = DiagnosticsPanel(bridge, controller, RecentPaths(tmp_path / "recent.json"))
    qtbot.addWidget(widget)
    widget.show()
    controller.select(
        DeviceTarget(
            spec=f"udp:{gui_sim.address}", kind="udp", name="Diag board", address=gui_sim.address
        )
    )
    qtbot.waitUntil(lambda: widget.context.capabilities is not None, timeout=10_000)
    return widget
