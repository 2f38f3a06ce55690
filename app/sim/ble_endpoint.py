"""The simulator as a BLE peripheral, reached through an in-process fake of the GATT seam.

Bleak cannot run without a radio, so `FakeGattClient` and `FakeBleScanner` implement the seam
of app/transport/ble.py against `SimBlePeripheral`s on a `FakeRadio`; everything above the seam
(BleTransport) is the real code. The peripheral models what matters on air (transports.md §2):
the ATT MTU (min of both sides), connection events (`conn_interval_s`, `packets_per_interval`
in each direction), write-without-response + notify on the SMP characteristic only, device-side
reassembly on or off (§2.2), security that rejects the CCCD write until paired (§2.1),
disconnects and a fresh random address after reset. `simulated_ble_transport()` gives the
GUI's demo mode a ready BleTransport. The same device as a real GATT server on a Bumble host
is app/sim/bumble_peripheral.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable

from app.sim.runtime import SimRuntime
from app.smp.framing import PacketAssembler, att_payload_bytes, split_for_att
from app.transport.ble import (
    SMP_CHARACTERISTIC_UUID,
    SMP_SERVICE_UUID,
    Advertisement,
    AttError,
    BleOptions,
    BleTransport,
    DeviceNotFound,
    NotifyCallback,
)

log = logging.getLogger(__name__)

HOST_MAX_MTU = 517
"""What desktop stacks offer in the MTU exchange (BlueZ, Windows, macOS all ask for 517)."""
ATT_INSUFFICIENT_AUTHENTICATION = 0x05
ATT_WRITE_NOT_PERMITTED = 0x03
ADVERTISING_INTERVAL_S = 0.02
TIMER_SLACK_S = 0.002
"""How late an asyncio timer may wake a writer that waited for a connection event."""
_addresses = itertools.count(1)


def random_address() -> str:
    """A fresh static random address (top bits 11), unique in this process."""
    n = next(_addresses)
    return "C0:" + ":".join(f"{(n >> shift) & 0xFF:02X}" for shift in (32, 24, 16, 8, 0))


class _Pacer:
    """Connection events every `interval_s`, each carrying up to `per_event` packets."""

    def __init__(self, interval_s: float, per_event: int) -> None:
        self.interval_s = interval_s
        self.per_event = max(per_event, 1)
        self._event_at = -math.inf
        self._used = 0

    def reserve(self, now: float) -> float:
        """When the next packet goes out (a time >= now)."""
        if self.interval_s <= 0:
            return now
        if now > self._event_at + TIMER_SLACK_S:  # a writer woken for this event may join it
            self._event_at = math.ceil(now / self.interval_s) * self.interval_s
            self._used = 0
        if self._used >= self.per_event:
            self._event_at += self.interval_s
            self._used = 0
        self._used += 1
        return self._event_at


class SimBlePeripheral:
    """A simulated board advertising the SMP service; answers through its SimRuntime."""

    def __init__(
        self,
        runtime: SimRuntime,
        *,
        name: str | None = None,
        address: str | None = None,
        mtu: int = 247,
        conn_interval_s: float = 0.0,
        packets_per_interval: int = 4,
        reassembly: bool = True,
        requires_pairing: bool = False,
        rssi: int = -55,
        advertises_smp: bool = True,
    ) -> None:
        self.runtime = runtime
        self.name = name or runtime.device.config.name
        self.address = address or random_address()
        self.mtu = mtu
        self.conn_interval_s = conn_interval_s
        self.packets_per_interval = packets_per_interval
        self.reassembly = reassembly
        self.requires_pairing = requires_pairing
        self.rssi = rssi
        self.advertises_smp = advertises_smp
        self.bonded: set[str] = set()
        self.advertising = True
        self._link: FakeGattClient | None = None
        self._assembler = PacketAssembler(runtime.device.config.buf_size)
        self._to_device = _Pacer(conn_interval_s, packets_per_interval)
        self._to_host = _Pacer(conn_interval_s, packets_per_interval)
        self._timers: set[asyncio.TimerHandle] = set()
        self._outbox: deque[tuple[FakeGattClient, bytes]] = deque()
        self.writes = 0
        self.notifications = 0
        # a rebooting board drops its BLE link, as a real one does after a reset
        runtime.reboot_listeners.append(self.disconnect)

    @property
    def connected(self) -> bool:
        return self._link is not None

    def advertisement(self) -> Advertisement:
        uuids = (SMP_SERVICE_UUID,) if self.advertises_smp else ()
        return Advertisement(self.address, self.name, self.rssi, uuids)

    def disconnect(self) -> None:
        """Drop the link now (out of range, reset): the host is told at once."""
        link, self._link = self._link, None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._outbox.clear()
        self._assembler.reset()
        if link is not None:
            link.link_lost()

    def change_address(self, address: str | None = None) -> str:
        """Reset with a new random address, as many devices do; the link drops."""
        self.disconnect()
        self.address = address or random_address()
        return self.address

    # --- the air interface, used by FakeGattClient ----------------------------------------------

    def accept(self, link: FakeGattClient) -> int:
        """A connection; returns the ATT MTU agreed in the exchange."""
        if self._link is not None:
            self.disconnect()  # one central at a time, like smp_svr
        self._link = link
        self._assembler.reset()
        return min(self.mtu, HOST_MAX_MTU)

    def subscribe(self, link: FakeGattClient) -> None:
        if self.requires_pairing and link.host_id not in self.bonded:
            # Zephyr MCUMGR_TRANSPORT_BT_PERM_RW_AUTHEN: the CCCD write is refused.
            raise AttError(
                ATT_INSUFFICIENT_AUTHENTICATION, "ATT error 0x05: insufficient authentication"
            )

    def write_time(self, now: float) -> float:
        return self._to_device.reserve(now)

    def written(self, link: FakeGattClient, data: bytes) -> None:
        """A write command reached the device (after its connection event)."""
        if link is not self._link:
            return
        if self.requires_pairing and link.host_id not in self.bonded:
            return  # write-without-response on an insecure link: silently ignored (§2.1)
        self.writes += 1
        # Without reassembly every write is a whole packet (the Kconfig default, §2.2).
        packets = self._assembler.feed(data) if self.reassembly else [data]
        for packet in packets:
            self.runtime.deliver(packet, self._notify)

    def _notify(self, packet: bytes) -> None:
        link = self._link
        if link is None:
            return
        loop = asyncio.get_running_loop()
        for chunk in split_for_att(packet, att_payload_bytes(link.mtu)):
            self._schedule(self._to_host.reserve(loop.time()), link, chunk)

    def _schedule(self, when: float, link: FakeGattClient, chunk: bytes) -> None:
        # Timers due at the same instant may fire in any order (asyncio's heap is not
        # stable), so each timer delivers the oldest queued chunk: notifications stay in order.
        self._outbox.append((link, chunk))

        def fire() -> None:
            self._timers.discard(handle)
            if self._outbox:
                self._deliver(*self._outbox.popleft())

        handle = asyncio.get_running_loop().call_at(when, fire)
        self._timers.add(handle)

    def _deliver(self, link: FakeGattClient, chunk: bytes) -> None:
        if link is self._link:
            self.notifications += 1
            link.notified(chunk)


class FakeRadio:
    """The air between fake centrals and simulated peripherals (one per test or demo)."""

    def __init__(self, host_id: str = "host") -> None:
        self.host_id = host_id
        self.peripherals: list[SimBlePeripheral] = []

    def add(self, peripheral: SimBlePeripheral) -> SimBlePeripheral:
        self.peripherals.append(peripheral)
        return peripheral

    def find(self, address: str) -> SimBlePeripheral | None:
        for peripheral in self.peripherals:
            if peripheral.advertising and peripheral.address.lower() == address.lower():
                return peripheral
        return None

    def pair(self, peripheral: SimBlePeripheral) -> None:
        """What the user does in the system Bluetooth settings."""
        peripheral.bonded.add(self.host_id)

    def client(self, address: str, on_disconnect: Callable[[], None]) -> FakeGattClient:
        """A GattClientFactory."""
        return FakeGattClient(self, address, on_disconnect)

    def scanner(self) -> FakeBleScanner:
        return FakeBleScanner(self)


class FakeGattClient:
    """The GattClient seam, wired to a SimBlePeripheral on a FakeRadio."""

    def __init__(self, radio: FakeRadio, address: str, on_disconnect: Callable[[], None]) -> None:
        self._radio = radio
        self._address = address
        self._on_disconnect = on_disconnect
        self._peripheral: SimBlePeripheral | None = None
        self._callback: NotifyCallback | None = None
        self.mtu = 23

    @property
    def host_id(self) -> str:
        return self._radio.host_id

    @property
    def address(self) -> str:
        return self._address

    @property
    def is_connected(self) -> bool:
        return self._peripheral is not None

    async def connect(self) -> None:
        peripheral = self._radio.find(self._address)
        await asyncio.sleep(0)  # connection set-up is never synchronous on a real stack
        if peripheral is None:
            raise DeviceNotFound(f"BLE device {self._address} not found")
        self.mtu = peripheral.accept(self)
        self._peripheral = peripheral

    async def disconnect(self) -> None:
        peripheral, self._peripheral = self._peripheral, None
        if peripheral is not None and peripheral._link is self:
            peripheral._link = None
            peripheral.disconnect()

    async def start_notify(self, char: str, callback: NotifyCallback, /) -> None:
        peripheral = self._require(char)
        peripheral.subscribe(self)
        self._callback = callback

    async def write_gatt_char(self, char: str, data: bytes, response: bool, /) -> None:
        peripheral = self._require(char)
        if response:
            raise AttError(
                ATT_WRITE_NOT_PERMITTED, "the SMP characteristic only takes write-without-response"
            )
        if len(data) > att_payload_bytes(self.mtu):
            raise AttError(
                0x0D, f"{len(data)} bytes exceed the ATT payload of {att_payload_bytes(self.mtu)}"
            )
        loop = asyncio.get_running_loop()
        delay = peripheral.write_time(loop.time()) - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the OS queues the write until a connection event
        if self._peripheral is not peripheral:
            raise DeviceNotFound(f"BLE device {self._address} disconnected during a write")
        peripheral.written(self, bytes(data))

    async def att_mtu(self) -> int:
        return self.mtu

    def notified(self, chunk: bytes) -> None:
        if self._callback is not None:
            self._callback(SMP_CHARACTERISTIC_UUID, bytearray(chunk))

    def link_lost(self) -> None:
        if self._peripheral is not None:
            self._peripheral = None
            self._on_disconnect()

    def _require(self, char: str) -> SimBlePeripheral:
        if self._peripheral is None:
            raise DeviceNotFound(f"BLE device {self._address} is not connected")
        if char.lower() != SMP_CHARACTERISTIC_UUID:
            raise AttError(0x0A, f"characteristic {char} not found")
        return self._peripheral


class FakeBleScanner:
    """The BleScanner seam over a FakeRadio: every advertiser reports every interval."""

    def __init__(self, radio: FakeRadio, interval_s: float = ADVERTISING_INTERVAL_S) -> None:
        self._radio = radio
        self._interval_s = interval_s

    async def scan(
        self, *, timeout_s: float, smp_only: bool = True
    ) -> AsyncIterator[Advertisement]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for peripheral in list(self._radio.peripherals):
                if peripheral.advertising and not peripheral.connected:
                    adv = peripheral.advertisement()
                    if adv.has_smp_service or not smp_only:
                        yield adv
            await asyncio.sleep(min(self._interval_s, max(deadline - loop.time(), 0)))


def simulated_ble_transport(
    runtime: SimRuntime,
    mtu: int = 247,
    *,
    conn_interval_s: float = 0.0075,
    packets_per_interval: int = 4,
    reassembly: bool = True,
    radio: FakeRadio | None = None,
    name: str | None = None,
) -> BleTransport:
    """A BleTransport to a simulated BLE device on `runtime` (start the runtime yourself)."""
    radio = radio or FakeRadio()
    peripheral = radio.add(
        SimBlePeripheral(
            runtime,
            name=name,
            mtu=mtu,
            conn_interval_s=conn_interval_s,
            packets_per_interval=packets_per_interval,
            reassembly=reassembly,
        )
    )
    options = BleOptions(
        peripheral.address,
        name=peripheral.name,
        reassembly=reassembly,
        max_packet_bytes=runtime.device.config.buf_size,
    )
    return BleTransport(
        options, client_factory=radio.client, scanner=radio.scanner(), scan_timeout_s=1.0
    )


__all__ = [
    "FakeBleScanner",
    "FakeGattClient",
    "FakeRadio",
    "SimBlePeripheral",
    "simulated_ble_transport",
]
