"""`slotwise --demo`: simulated devices in-process, plus a bundled signed image and its key.

Runs on the core loop (no Qt here). UDP on loopback always; a serial pty and a simulated BLE
device when their modules are present (each one is optional: the demo degrades to UDP-only).
The demo key is trusted in demo mode only, never written to the user's key store.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.gui.icons import DEMO
from app.gui.session import Opener
from app.gui.targets import DeviceTarget
from app.sim.demo import demo_board
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer

if TYPE_CHECKING:
    from app.transport.ble import BleScanner

log = logging.getLogger(__name__)

DEMO_IMAGE = DEMO / "demo-app-1.1.0.signed.bin"
DEMO_PUBLIC_KEY = DEMO / "demo-key.pub.pem"
DEMO_KEY_NAME = "slotwise-demo"
BLE_NAME = "slotwise-demo-ble"
DEMO_LINK = LinkModel(latency_s=0.002, rate_bps=48_000)
"""Slow enough that a user sees the progress bar and chart move, fast enough to not bore."""


@dataclass(slots=True)
class DemoDevices:
    """What the demo started: list rows, transport openers for fakes, and how to stop it."""

    targets: list[DeviceTarget] = field(default_factory=list)
    openers: dict[str, Opener] = field(default_factory=dict)
    stoppers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    console: dict[str, Callable[[str], None]] = field(default_factory=dict)
    """spec -> writes a line to that device's console (serial demo only)."""
    servers: list[object] = field(default_factory=list)
    scanners: list[BleScanner] = field(default_factory=list)
    """BLE scanners over the demo's fake radio, for live discovery (RSSI updates)."""

    async def stop(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                await stop()
            except Exception as exc:  # keep stopping the others
                log.warning("demo device did not stop cleanly: %s", exc)
        self.stoppers.clear()


async def start_demo(
    demo: DemoDevices | None = None,
    link: LinkModel = DEMO_LINK,
    *,
    serial: bool = True,
    ble: bool = True,
) -> DemoDevices:
    """Start the demo devices on the running loop, into `demo` (whose `stop()` undoes it)."""
    demo = demo if demo is not None else DemoDevices()
    udp = UdpSimServer(demo_board("demo-board-udp"), link)
    await udp.start()
    demo.servers.append(udp)
    demo.stoppers.append(udp.stop)
    demo.targets.append(
        DeviceTarget(
            spec=f"udp:{udp.address}",
            kind="udp",
            name="Demo board (UDP)",
            address=udp.address,
            answers_smp=True,
        )
    )
    if serial:
        await _start_serial(demo, link)
    if ble:
        await _start_ble(demo, link)
    return demo


async def _start_serial(demo: DemoDevices, link: LinkModel) -> None:
    if importlib.util.find_spec("app.sim.serial_endpoint") is None:
        return
    try:
        from app.sim.serial_endpoint import PtySimServer

        pty = PtySimServer(demo_board("demo-board-serial"), link, baud=None, log_lines=False)
        await pty.start()
    except (ImportError, OSError) as exc:  # no ptys on this platform
        log.info("demo: no serial device (%s)", exc)
        return
    demo.servers.append(pty)
    demo.stoppers.append(pty.stop)
    spec = f"serial:{pty.path}"
    demo.console[spec] = pty.write_console
    demo.targets.append(
        DeviceTarget(
            spec=spec, kind="serial", name="Demo board (serial)", address=pty.path, answers_smp=True
        )
    )


async def _start_ble(demo: DemoDevices, link: LinkModel) -> None:
    if importlib.util.find_spec("app.sim.ble_endpoint") is None:
        return
    try:
        await _start_ble_device(demo, link)
    except (ImportError, AttributeError, TypeError, OSError) as exc:
        log.info("demo: no simulated BLE device (%s)", exc)


async def _start_ble_device(demo: DemoDevices, link: LinkModel) -> None:
    """The real BleTransport over the fake radio. The peripheral takes a fresh random address
    after each reset, as many boards do, so it is opened by its advertised name."""
    from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral
    from app.sim.runtime import SimRuntime
    from app.transport.ble import BleOptions, BleTransport

    runtime = SimRuntime(demo_board(BLE_NAME), link)
    await runtime.start()
    demo.stoppers.append(runtime.stop)
    radio = FakeRadio()
    peripheral = radio.add(
        SimBlePeripheral(
            runtime,
            name=BLE_NAME,
            mtu=247,
            conn_interval_s=0.0075,
            packets_per_interval=4,
            rssi=-58,
        )
    )
    options = BleOptions(
        BLE_NAME, name=BLE_NAME, reassembly=True, max_packet_bytes=runtime.device.config.buf_size
    )

    def opener() -> BleTransport:
        return BleTransport(
            options, client_factory=radio.client, scanner=radio.scanner(), scan_timeout_s=2.0
        )

    spec = f"ble:{BLE_NAME}"
    demo.openers[spec] = opener
    demo.scanners.append(radio.scanner())
    demo.targets.append(
        DeviceTarget(
            spec=spec,
            kind="ble",
            name="Demo board (BLE)",
            address=peripheral.address,
            rssi=peripheral.rssi,
            answers_smp=True,
        )
    )


def demo_image() -> Path:
    return DEMO_IMAGE
