"""The demo's simulated BLE device: the real BleTransport over the fake radio (no Qt here).

The peripheral takes a fresh random address after each reset, as many boards do, so the
device is opened by its advertised name and the list shows the address last seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.gui.targets import DeviceTarget
from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral
from app.sim.demo import demo_board
from app.sim.link import LinkModel
from app.sim.runtime import SimRuntime
from app.transport.ble import BleOptions, BleTransport

if TYPE_CHECKING:
    from app.gui.demo import DemoDevices

BLE_NAME = "slotwise-demo-ble"


async def start_ble_demo(demo: DemoDevices, link: LinkModel) -> None:
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
