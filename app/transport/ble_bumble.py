"""BLE through a Bumble host on a dedicated controller (USB dongle, serial HCI), no OS stack.

`BumbleHost` owns one Bumble `Device` on an HCI transport ("usb:0", "serial:/dev/ttyUSB0,1000000",
or an in-process virtual controller on a `LocalLink` for tests and demos). `BumbleGattClient`
implements the GattClient seam of ble.py on it, so fragmentation, reassembly, MTU sizing and
error handling stay in BleTransport, shared with the bleak backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.errors import TransportError
from app.transport.ble import (
    SMP_CHARACTERISTIC_UUID,
    SMP_SERVICE_UUID,
    Advertisement,
    AttError,
    BleOptions,
    BleTransport,
    DeviceNotFound,
    GattClient,
    NotifyCallback,
)

log = logging.getLogger(__name__)

REQUESTED_MTU = 517
"""What we offer in the ATT MTU exchange (the largest ATT allows)."""
CONNECT_TIMEOUT_S = 5.0
HOST_ADDRESS = "F0:F0:F0:F0:F0:F0"
"""Static random address of our host when the controller has none of its own."""


async def make_bumble_device(
    name: str, address: str, *, hci: str | None, link: Any, controller_name: str
) -> tuple[Any, Any]:
    """A Bumble `Device` (not powered on) on the HCI controller `hci`, or on a virtual
    controller called `controller_name` attached to the LocalLink `link`; and the HCI transport
    to close after it (None for a virtual one). The central here and the simulator's
    peripheral (app/sim/bumble_peripheral.py) both stand on one.

    Raises:
        TransportError: the HCI controller cannot be opened.
    """
    from bumble import hci as bumble_hci
    from bumble.device import Device
    from bumble.host import Host

    if hci is None:
        from bumble.controller import Controller
        from bumble.transport.common import AsyncPipeSink

        controller = Controller(controller_name, link=link)
        host = Host(controller, AsyncPipeSink(controller))
        return Device(name=name, address=bumble_hci.Address(address), host=host), None
    from bumble.transport import open_transport

    try:
        transport = await open_transport(hci)
    except Exception as exc:  # bumble raises many types for a missing or busy controller
        raise TransportError(f"cannot open Bluetooth controller {hci}: {exc}") from exc
    host = Host(transport.source, transport.sink)
    return Device(name=name, address=bumble_hci.Address(address), host=host), transport


async def close_bumble_device(device: Any, hci_transport: Any) -> None:
    """Power the device off and close its HCI transport. A controller that went away (a dongle
    pulled, a peer process ended) makes bumble raise almost anything; closing goes on."""
    if device is not None:
        with contextlib.suppress(Exception):
            await device.power_off()
    if hci_transport is not None:
        with contextlib.suppress(Exception):
            await hci_transport.close()


class BumbleHost:
    """A powered Bumble device acting as central; one per controller."""

    def __init__(
        self, hci: str | None = None, *, link: Any = None, address: str = HOST_ADDRESS
    ) -> None:
        self.hci = hci
        self._link = link
        self._address = address
        self.device: Any = None
        self._hci_transport: Any = None
        self._lock = asyncio.Lock()

    @classmethod
    def virtual(cls, link: Any, address: str = HOST_ADDRESS) -> BumbleHost:
        """A host on an in-process controller attached to a bumble LocalLink (no radio)."""
        return cls(None, link=link, address=address)

    async def ensure_on(self) -> Any:
        async with self._lock:
            if self.device is None:
                self.device = await self._power_on()
        return self.device

    async def _power_on(self) -> Any:
        device, self._hci_transport = await make_bumble_device(
            "slotwise",
            self._address,
            hci=self.hci,
            link=self._link,
            controller_name="slotwise-host",
        )
        await device.power_on()
        return device

    async def close(self) -> None:
        await close_bumble_device(self.device, self._hci_transport)
        self.device = None
        self._hci_transport = None

    def client(self, address: str, on_disconnect: Callable[[], None]) -> GattClient:
        """A GattClientFactory."""
        return BumbleGattClient(self, address, on_disconnect)

    def scanner(self) -> BumbleScanner:
        return BumbleScanner(self)


class BumbleGattClient:
    """The GattClient seam on a Bumble central."""

    def __init__(self, host: BumbleHost, address: str, on_disconnect: Callable[[], None]) -> None:
        self._host = host
        self._address = address
        self._on_disconnect = on_disconnect
        self._connection: Any = None
        self._peer: Any = None
        self._char: Any = None

    @property
    def address(self) -> str:
        return self._address

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self) -> None:
        from bumble import hci
        from bumble.core import UUID
        from bumble.device import Peer

        device = await self._host.ensure_on()
        try:
            connection = await device.connect(hci.Address(self._address), timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # bumble: TimeoutError, HCI_Error, CommandTimeoutError
            raise DeviceNotFound(f"BLE device {self._address} not found ({exc})") from exc
        connection.on("disconnection", self._lost)
        self._connection = connection
        try:
            peer = Peer(connection)
            await peer.request_mtu(REQUESTED_MTU)
            services = await peer.discover_service(UUID(SMP_SERVICE_UUID))
            if not services:
                raise TransportError(f"{self._address} has no SMP service")
            chars = await peer.discover_characteristics([], services[0])
            wanted = UUID(SMP_CHARACTERISTIC_UUID)
            char = next((c for c in chars if c.uuid == wanted), None)
            if char is None:
                raise TransportError(f"{self._address} has no SMP characteristic")
            await peer.discover_descriptors(char)
        except BaseException:
            await self.disconnect()
            raise
        self._peer, self._char = peer, char

    async def disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def start_notify(self, char: str, callback: NotifyCallback, /) -> None:
        peer, proxy = self._require()
        try:
            await peer.subscribe(proxy, lambda value: callback(char, bytearray(value)))
        except Exception as exc:
            raise _att_error(exc, "cannot enable SMP notifications") from exc

    async def write_gatt_char(self, char: str, data: bytes, response: bool, /) -> None:
        peer, proxy = self._require()
        try:
            await peer.write_value(proxy, bytes(data), with_response=response)
        except Exception as exc:
            raise _att_error(exc, "SMP write failed") from exc

    async def att_mtu(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    def _lost(self, reason: int) -> None:
        if self._connection is not None:
            log.info("Bumble link to %s lost (reason 0x%02X)", self._address, reason)
            self._connection = None
            self._on_disconnect()

    def _require(self) -> tuple[Any, Any]:
        if self._connection is None or self._peer is None:
            raise DeviceNotFound(f"BLE device {self._address} is not connected")
        return self._peer, self._char


def _att_error(exc: Exception, what: str) -> TransportError:
    code = getattr(exc, "error_code", None)
    if isinstance(code, int) and type(exc).__name__ == "ATT_Error":
        return AttError(code, f"{what}: {exc}")
    return TransportError(f"{what}: {exc}")


class BumbleScanner:
    """The BleScanner seam on a Bumble central."""

    def __init__(self, host: BumbleHost) -> None:
        self._host = host

    async def scan(
        self, *, timeout_s: float, smp_only: bool = True
    ) -> AsyncIterator[Advertisement]:
        from bumble.core import AdvertisingData

        device = await self._host.ensure_on()
        reports: asyncio.Queue[Advertisement] = asyncio.Queue()

        def seen(adv: Any) -> None:
            data = adv.data
            name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
                AdvertisingData.SHORTENED_LOCAL_NAME
            )
            uuids = tuple(
                str(u).lower()
                for u in (
                    data.get(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) or []
                )
            )
            found = Advertisement(str(adv.address).split("/")[0], name, adv.rssi, uuids)
            if found.has_smp_service or not smp_only:
                reports.put_nowait(found)

        device.on("advertisement", seen)
        await device.start_scanning()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while (left := deadline - loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    yield await asyncio.wait_for(reports.get(), left)
        finally:
            device.remove_listener("advertisement", seen)
            await device.stop_scanning()


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, BumbleHost]] = (
    weakref.WeakKeyDictionary()
)


def shared_host(hci: str) -> BumbleHost:
    """The one Bumble host on controller `hci` in the running event loop.

    A controller serves one host at a time, so discovery and every connection through it
    (the GUI scans while a device is open) go through the same host."""
    hosts = _shared.setdefault(asyncio.get_running_loop(), {})
    host = hosts.get(hci)
    if host is None:
        host = hosts[hci] = BumbleHost(hci)
    return host


async def close_shared_hosts() -> None:
    """Power off and release every shared host of the running loop (the GUI's cleanup)."""
    hosts = _shared.pop(asyncio.get_running_loop(), {})
    for host in hosts.values():
        await host.close()


class ControllerScanner:
    """The BleScanner seam on the shared host of controller `hci` (looked up when scanning,
    on the loop that scans)."""

    def __init__(self, hci: str) -> None:
        self.hci = hci

    def scan(self, *, timeout_s: float, smp_only: bool = True) -> AsyncIterator[Advertisement]:
        return shared_host(self.hci).scanner().scan(timeout_s=timeout_s, smp_only=smp_only)


BUMBLE_MISSING = (
    "BLE through an HCI controller (ble:...@HCI) needs Bumble, an optional dependency: "
    "pip install 'slotwise[bumble]'"
)


def bumble_transport(options: BleOptions) -> BleTransport:
    """A BleTransport on the shared Bumble host of its controller, for `ble:...@HCI` specs.

    Raises TransportError with the install line when Bumble is not installed (it is an extra).
    """
    try:
        import bumble  # noqa: F401  (only whether it is there; the host imports what it uses)
    except ImportError as exc:
        raise TransportError(BUMBLE_MISSING) from exc
    hci = options.hci
    assert hci is not None, "bumble_transport needs an HCI spec"

    def client(address: str, on_disconnect: Callable[[], None]) -> GattClient:
        return shared_host(hci).client(address, on_disconnect)

    return BleTransport(options, client_factory=client, scanner=ControllerScanner(hci))
