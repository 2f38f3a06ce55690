"""SMP over Bluetooth LE GATT (transports.md §2), above a narrow seam.

`BleTransport` talks to a `GattClient` (the few bleak calls it needs) and finds devices with a
`BleScanner`. Bleak fits both through the thin adapters in this module; Bumble through
ble_bumble.py; the simulator through app/sim/ble_endpoint.py's fakes. Everything above the
seam — fragmentation, reassembly, MTU sizing, pairing errors, disconnects, reconnect by name —
is the same code for every backend.

Device spec (after "ble:"): ``ADDRESS_OR_NAME[,reassembly][,name=NAME][,max=N][@HCI]``.
``reassembly`` says the device reassembles requests across ATT writes
(`MCUMGR_TRANSPORT_BT_REASSEMBLY`), so requests may exceed one ATT payload up to ``max``
(default 2048, its buffer); without it requests are capped at ATT_MTU - 3 (§2.2). ``name``
lets a device found by address be found again by name after its random address changed.
``@HCI`` runs a Bumble host on a dedicated controller instead of the OS stack, e.g.
``ble:C0:FF:EE:00:00:01@usb:0`` (see ble_bumble.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.errors import TransportClosed, TransportError
from app.smp.framing import FrameAssembler, FramingStats, att_payload_bytes, split_for_att
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)

SMP_SERVICE_UUID = "8d53dc1d-1db7-4cd3-868b-8a527460aa84"
"""Zephyr SMP GATT service (§2.1)."""
SMP_CHARACTERISTIC_UUID = "da2e7828-fbce-4e01-ae9e-261174997c48"
"""Write-without-response + notify characteristic (§2.1)."""
DEFAULT_ATT_MTU = 23
"""The ATT MTU before any exchange (Core spec Vol 3 Part F 3.2.8)."""
DEFAULT_REASSEMBLY_BYTES = 2048
SCAN_TIMEOUT_S = 5.0
PAIRING_HINT = "the device requires pairing: pair it in the system Bluetooth settings, then retry"

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")
"""A MAC address (BlueZ, Windows) or a CoreBluetooth UUID (macOS)."""
SECURITY_ATT_ERRORS = frozenset({0x05, 0x08, 0x0C, 0x0F})
"""Insufficient authentication, authorization, encryption key size, encryption."""

NotifyCallback = Callable[[Any, bytearray], None]


class BlePairingRequired(TransportError):
    """The device rejected us for lack of pairing/encryption (§2.1 security)."""


class DeviceNotFound(TransportError):
    """No device with this address or name is in range."""


class AttError(TransportError):
    """An ATT error response from the peer; `code` as in Core spec Vol 3 Part F 3.4.1.1."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


class GattClient(Protocol):
    """The GATT calls BleTransport uses. Adapters raise DeviceNotFound and AttError."""

    @property
    def address(self) -> str: ...

    @property
    def is_connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def start_notify(self, char: str, callback: NotifyCallback, /) -> None: ...

    async def write_gatt_char(self, char: str, data: bytes, response: bool, /) -> None: ...

    async def att_mtu(self) -> int:
        """The negotiated ATT MTU, waiting out platform quirks (see BleakGattClient)."""
        ...


GattClientFactory = Callable[[str, Callable[[], None]], GattClient]
"""(address, on_disconnect) -> a client not yet connected."""


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertising report (the scanner updates the RSSI as reports keep coming)."""

    address: str
    name: str | None
    rssi: int | None
    service_uuids: tuple[str, ...] = ()

    @property
    def has_smp_service(self) -> bool:
        return SMP_SERVICE_UUID in (uuid.lower() for uuid in self.service_uuids)


class BleScanner(Protocol):
    """Advertisements as they arrive, for `timeout_s`; only SMP devices when `smp_only`."""

    def scan(self, *, timeout_s: float, smp_only: bool = True) -> AsyncIterator[Advertisement]: ...


@dataclass(frozen=True, slots=True)
class BleOptions:
    target: str
    """An address, or an advertised name to scan for."""
    name: str | None = None
    reassembly: bool = False
    max_packet_bytes: int = DEFAULT_REASSEMBLY_BYTES
    hci: str | None = None
    """Bumble HCI transport ("usb:0", "serial:/dev/ttyUSB0,1000000"); None: the OS stack."""


def is_address(text: str) -> bool:
    return bool(_ADDRESS.match(text))


def parse_ble_spec(text: str) -> BleOptions:
    """``ADDRESS_OR_NAME[,reassembly][,name=NAME][,max=N][@HCI]`` -> options."""
    head, at, hci = text.partition("@")
    if at and not hci:
        raise ValueError(
            f"nothing after '@' in BLE device {text!r}: name a Bumble HCI transport such as usb:0"
        )
    target, *extras = [part.strip() for part in head.split(",")]
    if not target:
        raise ValueError(f"no address or name in BLE device {text!r}")
    name = None if is_address(target) else target
    reassembly, max_bytes = False, DEFAULT_REASSEMBLY_BYTES
    for extra in extras:
        key, eq, value = extra.partition("=")
        if key == "reassembly" and not eq:
            reassembly = True
        elif key == "name" and value:
            name = value
        elif key == "max" and value.isdigit() and int(value) >= 20:
            max_bytes = int(value)
        else:
            raise ValueError(
                f"unknown BLE option {extra!r} in {text!r}: use reassembly, "
                "name=NAME or max=N (N >= 20)"
            )
    return BleOptions(target, name, reassembly, max_bytes, hci or None)


class BleTransport:
    """One BLE connection carrying SMP; `open()` again reconnects (by address, then by name)."""

    def __init__(
        self,
        options: BleOptions | str,
        *,
        client_factory: GattClientFactory,
        scanner: BleScanner | None = None,
        scan_timeout_s: float = SCAN_TIMEOUT_S,
    ) -> None:
        self.options = parse_ble_spec(options) if isinstance(options, str) else options
        self._factory = client_factory
        self._scanner = scanner
        self._scan_timeout_s = scan_timeout_s
        self.name = self.options.name
        self.address = self.options.target if is_address(self.options.target) else None
        self._client: GattClient | None = None
        self._framer = FrameAssembler()
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._att_mtu = DEFAULT_ATT_MTU
        self._closed_reason = "closed"

    @property
    def info(self) -> LinkInfo:
        payload = att_payload_bytes(self._att_mtu)
        limit = self.options.max_packet_bytes if self.options.reassembly else payload
        return LinkInfo(
            kind="ble",
            address=self.address or self.options.target,
            max_frame_bytes=limit,
            reliable=True,
            mtu=self._att_mtu,
            fragment_bytes=payload,
        )

    @property
    def is_open(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def stats(self) -> FramingStats:
        """Reassembly counters: packets delivered, fragments dropped by reason."""
        return self._framer.stats

    # --- open, step by step -------------------------------------------------------------------

    async def open(self) -> None:
        if self.is_open:
            return
        self._inbox = asyncio.Queue()
        self._framer.reset()
        self._closed_reason = "closed"
        client = await self._connect()
        try:
            await self._subscribe(client)
            self._att_mtu = await client.att_mtu()
        except BaseException:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self._client = client
        log.info("BLE connected to %s, ATT MTU %d", client.address, self._att_mtu)

    async def _connect(self) -> GattClient:
        """By the known address first; re-scan by name when it is gone (new random address)."""
        if self.address is not None:
            try:
                return await self._connect_to(self.address)
            except DeviceNotFound:
                if self.name is None or self._scanner is None:
                    raise
                log.info(
                    "%s not found; scanning for %r (address may have changed)",
                    self.address,
                    self.name,
                )
        self.address = await self._find_device()
        return await self._connect_to(self.address)

    async def _connect_to(self, address: str) -> GattClient:
        client = self._factory(address, self._on_disconnect)
        try:
            await client.connect()
        except AttError as exc:
            raise _translated(exc) from exc
        return client

    async def _find_device(self) -> str:
        wanted = self.name or self.options.target
        if self._scanner is None:
            raise DeviceNotFound(f"no BLE scanner to look for {wanted!r}")
        async for adv in self._scanner.scan(timeout_s=self._scan_timeout_s, smp_only=False):
            if adv.name == wanted or adv.address.lower() == wanted.lower():
                self.name = adv.name or self.name
                return adv.address
        raise DeviceNotFound(
            f"no BLE device named {wanted!r} found within "
            f"{self._scan_timeout_s:g} s; is it powered and advertising?"
        )

    async def _subscribe(self, client: GattClient) -> None:
        try:
            await client.start_notify(SMP_CHARACTERISTIC_UUID, self._on_notify)
        except AttError as exc:
            raise _translated(exc) from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # the link may already be gone
                await client.disconnect()
        self._inbox.put_nowait(None)

    # --- frames -------------------------------------------------------------------------------

    async def send(self, frame: bytes) -> None:
        client = self._client
        if client is None or not client.is_connected:
            raise TransportClosed(self._closed_message())
        payload = att_payload_bytes(self._att_mtu)
        if len(frame) > self.info.max_frame_bytes:
            raise TransportError(
                f"a {len(frame)}-byte SMP packet exceeds the BLE limit of "
                f"{self.info.max_frame_bytes} bytes"
            )
        async with self._send_lock:  # fragments of two packets must never interleave
            for fragment in split_for_att(frame, payload):
                try:
                    await client.write_gatt_char(SMP_CHARACTERISTIC_UUID, fragment, False)
                except AttError as exc:
                    raise _translated(exc) from exc
                except TransportError:
                    if not client.is_connected:
                        raise TransportClosed(self._closed_message()) from None
                    raise

    async def receive(self) -> bytes:
        data = await self._inbox.get()
        if data is None:
            self._inbox.put_nowait(None)
            raise TransportClosed(self._closed_message())
        return data

    def _on_notify(self, _char: object, chunk: bytearray) -> None:
        for frame in self._framer.feed(bytes(chunk)):  # bad bytes are counted, dropped inside
            self._inbox.put_nowait(frame)

    def _on_disconnect(self) -> None:
        if self._client is None:
            return
        log.warning("BLE device %s disconnected", self.address)
        self._closed_reason = "disconnected"
        self._client = None
        self._framer.reset()
        self._inbox.put_nowait(None)

    def _closed_message(self) -> str:
        who = self.name or self.address or self.options.target
        if self._closed_reason == "disconnected":
            return f"device disconnected: BLE link to {who} dropped"
        return f"BLE link to {who} is closed"


def _translated(exc: AttError) -> TransportError:
    if exc.code in SECURITY_ATT_ERRORS:
        return BlePairingRequired(PAIRING_HINT)
    return TransportError(f"BLE error: {exc}")


# --- bleak adapters (the OS Bluetooth stack) --------------------------------------------------

_SECURITY_TEXT = re.compile(
    r"insufficient (authentication|encryption|authorization)|"
    r"(authentication|encryption) is insufficient|"
    r"AuthenticationFailed|ATT error: 0x0[58cCfF]\b",
    re.IGNORECASE,
)


class BleakGattClient:
    """BleakClient behind the GattClient seam, with the MTU quirks bleak documents."""

    def __init__(self, address: str, on_disconnect: Callable[[], None]) -> None:
        from bleak import BleakClient

        self._client = BleakClient(address, disconnected_callback=lambda _c: on_disconnect())

    @property
    def address(self) -> str:
        return str(self._client.address)

    @property
    def is_connected(self) -> bool:
        return bool(self._client.is_connected)

    async def connect(self) -> None:
        from bleak.exc import BleakDeviceNotFoundError, BleakError

        try:
            await self._client.connect()
        except BleakDeviceNotFoundError as exc:
            raise DeviceNotFound(f"BLE device {self.address} not found") from exc
        except (BleakError, OSError, TimeoutError) as exc:
            raise _bleak_error(exc, f"cannot connect to {self.address}") from exc

    async def disconnect(self) -> None:
        await self._client.disconnect()

    async def start_notify(self, char: str, callback: NotifyCallback, /) -> None:
        from bleak.exc import BleakError

        try:
            await self._client.start_notify(char, callback)
        except (BleakError, OSError) as exc:
            raise _bleak_error(exc, "cannot enable SMP notifications") from exc

    async def write_gatt_char(self, char: str, data: bytes, response: bool, /) -> None:
        from bleak.exc import BleakError

        try:
            await self._client.write_gatt_char(char, data, response=response)
        except (BleakError, OSError) as exc:
            raise _bleak_error(exc, "SMP write failed") from exc

    async def att_mtu(self) -> int:
        """ATT MTU = max write-without-response size + 3, with bleak's documented quirks.

        BlueZ reports 23 unless asked through AcquireWrite (`_acquire_mtu`, bleak's mtu_size
        example); Windows reports the default until the MTU exchange finishes, so we poll
        briefly for a larger value (bleak max_write_without_response_size docs); macOS
        reports the final size at once.
        """
        # private bleak API (its mtu_size example uses it); absent in other versions: skip
        backend: Any = getattr(self._client, "_backend", None)
        if (
            type(backend).__name__ == "BleakClientBlueZDBus"
            and self._client.mtu_size <= 23
            and hasattr(backend, "_acquire_mtu")
        ):
            with contextlib.suppress(Exception):  # older BlueZ: stay at the safe default
                await backend._acquire_mtu()
        char = self._client.services.get_characteristic(SMP_CHARACTERISTIC_UUID)
        size = char.max_write_without_response_size if char is not None else 20
        for _ in range(20):
            if size > 20:
                break
            await asyncio.sleep(0.1)
            size = char.max_write_without_response_size if char is not None else 20
        return max(size + 3, int(self._client.mtu_size), DEFAULT_ATT_MTU)


def bleak_client(address: str, on_disconnect: Callable[[], None]) -> GattClient:
    return BleakGattClient(address, on_disconnect)


def _bleak_error(exc: BaseException, what: str) -> TransportError:
    code = getattr(exc, "code", None)
    if (isinstance(code, int) and code in SECURITY_ATT_ERRORS) or _SECURITY_TEXT.search(str(exc)):
        return BlePairingRequired(PAIRING_HINT)
    unavailable = bluetooth_unavailable(exc)
    if unavailable is not None:
        return TransportError(unavailable)
    return TransportError(f"{what}: {exc}")


BLUETOOTH_MISSING = "Bluetooth is not available on this computer"
_NOT_AVAILABLE = (
    (re.compile(r"powered|NotReady|turned off", re.IGNORECASE), "Bluetooth is turned off"),
    (re.compile(r"no Bluetooth adapters?", re.IGNORECASE), f"{BLUETOOTH_MISSING} (no adapter)"),
    (
        re.compile(r"ServiceUnknown|org\.bluez.*not (found|provided)", re.IGNORECASE),
        f"{BLUETOOTH_MISSING} (the BlueZ service is not running)",
    ),
)


def bluetooth_unavailable(exc: BaseException) -> str | None:
    """The sentence for "there is no usable Bluetooth here", or None for other errors.

    bleak reports it as the D-Bus socket's FileNotFoundError ("[Errno 2]") when BlueZ is
    absent, or in D-Bus and backend words; the user needs the one sentence."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):  # no system D-Bus / BlueZ
        return BLUETOOTH_MISSING
    text = str(exc)
    for pattern, sentence in _NOT_AVAILABLE:
        if pattern.search(text):
            return sentence
    return None


class BleakScannerAdapter:
    """BleakScanner behind the BleScanner seam: reports as they arrive, RSSI updated."""

    async def scan(
        self, *, timeout_s: float, smp_only: bool = True
    ) -> AsyncIterator[Advertisement]:
        from bleak import BleakScanner
        from bleak.exc import BleakError

        reports: asyncio.Queue[Advertisement] = asyncio.Queue()

        def seen(device: Any, data: Any) -> None:
            reports.put_nowait(
                Advertisement(
                    device.address,
                    data.local_name or device.name,
                    data.rssi,
                    tuple(data.service_uuids),
                )
            )

        uuids = [SMP_SERVICE_UUID] if smp_only else None
        try:
            async with BleakScanner(detection_callback=seen, service_uuids=uuids):
                loop = asyncio.get_running_loop()
                deadline = loop.time() + timeout_s
                while (left := deadline - loop.time()) > 0:
                    with contextlib.suppress(TimeoutError):
                        yield await asyncio.wait_for(reports.get(), left)
        except (BleakError, OSError) as exc:
            raise TransportError(
                bluetooth_unavailable(exc) or f"cannot scan for BLE devices: {exc}"
            ) from exc
