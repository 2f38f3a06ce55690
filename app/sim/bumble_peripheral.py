"""The simulated device as a real BLE peripheral: a Bumble GATT server on any HCI controller.

`BumbleSimServer` runs a Bumble host on an HCI transport — a virtual controller reached over
TCP (`tcp-client:127.0.0.1:PORT`, see app/sim/ble_link.py), a USB or serial Bluetooth dongle
(`usb:0`, `serial:/dev/ttyACM0,1000000`), or an in-process controller on a `LocalLink` — and
serves the SMP service on it the way Zephyr's smp_svr does: the SMP characteristic takes
write-without-response and notifies; requests are reassembled across writes when
`reassembly` is on (MCUMGR_TRANSPORT_BT_REASSEMBLY); the advertisement carries the SMP service
UUID and the name (shortened to fit 31 bytes; the whole name in the scan response); one
central at a time (legacy advertising stops on connect); advertising resumes after a
disconnect, and after a reset once the device has booted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.errors import TransportError
from app.sim.runtime import SimRuntime
from app.smp.framing import PacketAssembler, att_payload_bytes, split_for_att
from app.transport.ble import SMP_CHARACTERISTIC_UUID, SMP_SERVICE_UUID
from app.transport.ble_bumble import close_bumble_device, make_bumble_device

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "C0:B0:00:00:00:01"
"""Static random address (top bits 11) of the simulated device."""
ADVERTISING_INTERVAL_MS = (100.0, 150.0)
"""Zephyr's BT_GAP_ADV_FAST_INT_MIN_2/MAX_2, what smp_svr advertises with (Bumble: 1 s)."""
LEGACY_ADVERTISING_BYTES = 31
"""Core spec Vol 6 Part B 2.3.1: a legacy advertising PDU carries 31 bytes of AD data."""


def advertising_data(name: str) -> tuple[bytes, bytes]:
    """(advertising data, scan response data) for the SMP service and `name`."""
    from bumble.core import UUID, AdvertisingData

    flags = (
        AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
        | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG
    )
    service = [
        (AdvertisingData.FLAGS, bytes([flags])),
        (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            bytes(UUID(SMP_SERVICE_UUID)),
        ),
    ]
    room = LEGACY_ADVERTISING_BYTES - len(bytes(AdvertisingData(service))) - 2
    encoded = name.encode()
    if len(encoded) <= room:
        name_field = (AdvertisingData.COMPLETE_LOCAL_NAME, encoded)
    else:
        name_field = (AdvertisingData.SHORTENED_LOCAL_NAME, encoded[:room])
    scan_response = AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, encoded[:29])])
    return bytes(AdvertisingData([*service, name_field])), bytes(scan_response)


class BumbleSimServer:
    """The simulator as a Bumble GATT server advertising the SMP service."""

    def __init__(
        self,
        runtime: SimRuntime,
        *,
        hci: str | None = None,
        link: Any = None,
        address: str = DEFAULT_ADDRESS,
        mtu: int = 247,
        reassembly: bool = True,
    ) -> None:
        if (hci is None) == (link is None):
            raise ValueError("give either an HCI transport spec or a LocalLink")
        self.runtime = runtime
        self.hci = hci
        self._link = link
        self.address = address
        self.mtu = mtu
        self.reassembly = reassembly
        self.device: Any = None
        self.connections = 0
        """Centrals accepted since start (a test waits for the next one)."""
        self._hci_transport: Any = None
        self._char: Any = None
        self._assemblers: dict[int, PacketAssembler] = {}
        self._outboxes: dict[int, asyncio.Queue[bytes]] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._advertising_lock = asyncio.Lock()
        self.advertising = asyncio.Event()
        """Set while the device advertises (a test waits for it after a reset)."""

    @property
    def name(self) -> str:
        return self.runtime.device.config.name

    async def start(self) -> None:
        from bumble import gatt

        device = await self._make_device()
        props = gatt.Characteristic.Properties
        self._char = gatt.Characteristic(
            SMP_CHARACTERISTIC_UUID,
            props.WRITE_WITHOUT_RESPONSE | props.NOTIFY,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._written),
        )
        device.add_service(gatt.Service(SMP_SERVICE_UUID, [self._char]))
        device.gatt_server.max_mtu = self.mtu
        device.advertising_data, device.scan_response_data = advertising_data(self.name)
        device.on("connection", self._connected)
        self.device = device
        try:
            await device.power_on()
            await self._start_advertising()
        except Exception as exc:  # bumble: HCI errors, timeouts, a controller that went away
            await self.stop()
            raise TransportError(f"Bluetooth controller {self.hci} did not start: {exc}") from exc
        self.runtime.reboot_listeners.append(self._rebooting)
        self.runtime.boot_listeners.append(self._booted)

    async def _make_device(self) -> Any:
        device, self._hci_transport = await make_bumble_device(
            self.name, self.address, hci=self.hci, link=self._link, controller_name="slotwise-sim"
        )
        return device

    async def stop(self) -> None:
        for listeners, listener in (
            (self.runtime.reboot_listeners, self._rebooting),
            (self.runtime.boot_listeners, self._booted),
        ):
            with contextlib.suppress(ValueError):
                listeners.remove(listener)
        await self.disconnect_all()
        for task in [*self._senders.values(), *self._tasks]:
            task.cancel()
        for task in [*self._senders.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._senders.clear()
        await close_bumble_device(self.device, self._hci_transport)
        self.device = None
        self._hci_transport = None

    async def disconnect_all(self) -> None:
        """Drop every link (reset, out of range)."""
        if self.device is not None:
            for connection in list(self.device.connections.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect()

    # --- advertising ------------------------------------------------------------------------

    async def _advertise(self) -> None:
        """Advertise again (after a disconnect or a boot), from a background task."""
        try:
            await self._start_advertising()
        except Exception as exc:  # the controller went away: nothing left to advertise on
            log.warning("sim: cannot advertise on %s: %s", self.hci or "the link", exc)

    async def _start_advertising(self) -> None:
        async with self._advertising_lock:  # a disconnect and a boot may both ask at once
            device = self.device
            if device is None or self.runtime.booting or device.connections:
                return
            low, high = ADVERTISING_INTERVAL_MS
            await device.start_advertising(
                advertising_interval_min=low, advertising_interval_max=high
            )
            self.advertising.set()
            log.info("sim: advertising as %s (%s)", self.name, self.address)

    def _in_background(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _rebooting(self) -> None:
        """A reset: the link drops and the radio is silent until the device has booted."""
        self.advertising.clear()
        self._in_background(self._go_silent())

    async def _go_silent(self) -> None:
        if self.device is not None:
            with contextlib.suppress(Exception):
                await self.device.stop_advertising()
        await self.disconnect_all()

    def _booted(self) -> None:
        self._in_background(self._advertise())

    # --- connections --------------------------------------------------------------------------

    def _connected(self, connection: Any) -> None:
        handle = connection.handle
        self.connections += 1
        self.advertising.clear()  # legacy advertising stops when a central connects
        self._assemblers[handle] = PacketAssembler(self.runtime.device.config.buf_size)
        self._outboxes[handle] = asyncio.Queue()
        self._senders[handle] = asyncio.create_task(self._sender(connection), name="sim-ble-notify")
        connection.on("disconnection", lambda _reason: self._gone(handle))

    def _gone(self, handle: int) -> None:
        self._assemblers.pop(handle, None)
        self._outboxes.pop(handle, None)
        task = self._senders.pop(handle, None)
        if task is not None:
            task.cancel()
        self._in_background(self._advertise())  # the next central may connect

    def _written(self, connection: Any, value: bytes) -> None:
        assembler = self._assemblers.get(connection.handle)
        if assembler is None:
            return
        packets = assembler.feed(bytes(value)) if self.reassembly else [bytes(value)]
        outbox = self._outboxes[connection.handle]
        for packet in packets:
            self.runtime.deliver(packet, outbox.put_nowait)

    async def _sender(self, connection: Any) -> None:
        outbox = self._outboxes[connection.handle]
        while True:
            packet = await outbox.get()
            for chunk in split_for_att(packet, att_payload_bytes(connection.att_mtu)):
                await self.device.notify_subscriber(connection, self._char, chunk)
