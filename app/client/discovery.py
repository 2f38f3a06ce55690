"""Finding devices on every link with one async API: `discover(...)` yields as they appear.

- BLE: advertisements through the BleScanner seam, filtered to the SMP service unless
  `ble_all`; a device is yielded again when its RSSI or name changes while scanning.
- Serial: pyserial's list_ports (USB VID:PID, serial number, manufacturer, product) plus
  explicitly named ports; optionally an SMP echo probe marks the ports that answer.
- UDP: a host[:port], a CIDR block ("192.168.1.0/24[:port]") or a range
  ("10.0.0.5-10.0.0.40[:port]"), probed with an SMP echo, bounded concurrency, short timeout.
  A single named host is always reported (answering or not); from blocks, only answerers.
mDNS is not implemented (Zephyr's SMP UDP transport does not advertise a service type).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.client.client import SmpClient
from app.errors import SlotwiseError
from app.transport.base import Transport
from app.transport.ble import BleScanner
from app.transport.udp import DEFAULT_PORT, UdpTransport, parse_udp_address

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5
UDP_CONCURRENCY = 64
MAX_UDP_HOSTS = 4096
"""A /20 at most: a larger block is more likely a typo than a device network."""


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """One device seen on one link; `spec` opens it (`open_transport(found.spec)`)."""

    transport: str
    """"ble", "serial" or "udp"."""
    address: str
    name: str
    rssi: int | None = None
    vid_pid: str | None = None
    serial_number: str | None = None
    manufacturer: str | None = None
    product: str | None = None
    answers_smp: bool | None = None
    """True/False when probed (serial, UDP) or advertised (BLE SMP service); None: unknown."""
    hci: str | None = None
    """BLE seen through this Bumble controller (it is reached through it too)."""

    @property
    def spec(self) -> str:
        via = f"@{self.hci}" if self.hci else ""
        return f"{self.transport}:{self.address}{via}"


async def discover(
    *,
    ble_scanner: BleScanner | None = None,
    ble_all: bool = False,
    ble_hci: str | None = None,
    serial: bool = False,
    serial_ports: Iterable[str] = (),
    probe_serial: bool = False,
    udp: Sequence[str] = (),
    timeout_s: float = 3.0,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
    on_error: Callable[[SlotwiseError], None] | None = None,
) -> AsyncIterator[FoundDevice]:
    """Every device found on the links asked for, as it is found, until `timeout_s`.

    `ble_hci` scans BLE through that Bumble controller (app/transport/ble_bumble.py) instead
    of `ble_scanner`, and the devices found carry it in their spec.

    A link that fails (no Bluetooth) does not stop the others: its error goes to `on_error`
    (default: the log). Raises ValueError for a malformed UDP target before anything is probed.
    """
    sources: list[AsyncIterator[FoundDevice]] = []
    if udp:
        targets = [parse_udp_target(text) for text in udp]
        sources.append(_udp(targets, probe_timeout_s))
    if ble_hci is not None:
        from app.transport.ble_bumble import ControllerScanner

        sources.append(_ble(ControllerScanner(ble_hci), ble_all, timeout_s, ble_hci))
    elif ble_scanner is not None:
        sources.append(_ble(ble_scanner, ble_all, timeout_s))
    if serial or list(serial_ports):
        sources.append(_serial(serial, list(serial_ports), probe_serial, probe_timeout_s))
    async for found in _merge(sources, on_error or _log_error):
        yield found


def _log_error(exc: SlotwiseError) -> None:
    log.warning("discovery: %s", exc)


async def _merge(
    sources: list[AsyncIterator[FoundDevice]], on_error: Callable[[SlotwiseError], None]
) -> AsyncIterator[FoundDevice]:
    queue: asyncio.Queue[FoundDevice | None] = asyncio.Queue()

    async def pump(source: AsyncIterator[FoundDevice]) -> None:
        try:
            async for item in source:
                queue.put_nowait(item)
        except SlotwiseError as exc:  # one link failing (no Bluetooth) must not stop the rest
            on_error(exc)
        finally:
            queue.put_nowait(None)

    tasks = [asyncio.create_task(pump(source), name="discovery") for source in sources]
    try:
        remaining = len(tasks)
        while remaining:
            item = await queue.get()
            if item is None:
                remaining -= 1
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# --- BLE ---------------------------------------------------------------------------------------


async def _ble(
    scanner: BleScanner, show_all: bool, timeout_s: float, hci: str | None = None
) -> AsyncIterator[FoundDevice]:
    last: dict[str, FoundDevice] = {}
    async for adv in scanner.scan(timeout_s=timeout_s, smp_only=not show_all):
        found = FoundDevice(
            "ble",
            adv.address,
            adv.name or adv.address,
            rssi=adv.rssi,
            answers_smp=adv.has_smp_service,
            hci=hci,
        )
        if last.get(adv.address) != found:  # new, or its RSSI or name changed
            last[adv.address] = found
            yield found


# --- serial ------------------------------------------------------------------------------------


async def _serial(
    list_system: bool, extra: list[str], probe: bool, probe_timeout_s: float
) -> AsyncIterator[FoundDevice]:
    ports = list_serial_ports() if list_system else []
    listed = {p.address for p in ports}
    ports += [FoundDevice("serial", path, path) for path in extra if path not in listed]
    if not probe:
        for port in ports:
            yield port
        return
    from app.transport.serial import SerialTransport

    async def probed(port: FoundDevice) -> FoundDevice:
        answers = await probe_smp(SerialTransport(port.address), probe_timeout_s)
        return replace(port, answers_smp=answers)

    for next_done in asyncio.as_completed([probed(port) for port in ports]):
        yield await next_done


def list_serial_ports() -> list[FoundDevice]:
    """The system's serial ports with their USB identity, from pyserial."""
    from serial.tools import list_ports

    found = []
    for info in sorted(list_ports.comports(), key=lambda p: p.device):
        vid_pid = (
            f"{info.vid:04X}:{info.pid:04X}"
            if info.vid is not None and info.pid is not None
            else None
        )
        found.append(
            FoundDevice(
                "serial",
                info.device,
                _port_name(info),
                vid_pid=vid_pid,
                serial_number=info.serial_number,
                manufacturer=info.manufacturer,
                product=info.product,
            )
        )
    return found


def _port_name(info: Any) -> str:
    for text in (info.product, info.description, info.device):
        if text and text != "n/a":
            return str(text)
    return str(info.device)


# --- UDP ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UdpTarget:
    hosts: tuple[str, ...]
    port: int
    single: bool


def parse_udp_target(text: str) -> UdpTarget:
    """host[:port], CIDR[:port] or FIRST-LAST[:port] (IPv4 for blocks and ranges)."""
    text = text.strip()
    if "/" in text or (
        "-" in text and text.replace("-", "").replace(".", "").split(":")[0].isdigit()
    ):
        block, _, port_text = text.partition(":")
        port = int(port_text) if port_text.isdigit() else DEFAULT_PORT
        if port_text and not port_text.isdigit():
            raise ValueError(f"bad UDP port in {text!r}")
        hosts = _expand(block, text)
        return UdpTarget(tuple(hosts), port, single=False)
    host, port = parse_udp_address(text)
    return UdpTarget((host,), port, single=True)


def _expand(block: str, text: str) -> list[str]:
    try:
        if "/" in block:
            net = ipaddress.ip_network(block, strict=False)
            if net.num_addresses > MAX_UDP_HOSTS + 2:
                raise ValueError(
                    f"{text!r} has {net.num_addresses} addresses; probe at most {MAX_UDP_HOSTS}"
                )
            hosts = [str(h) for h in (net.hosts() if net.num_addresses > 2 else net)]
        else:
            first, _, last = block.partition("-")
            lo, hi = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
            if hi < lo:
                raise ValueError(f"range {text!r} ends before it starts")
            if int(hi) - int(lo) >= MAX_UDP_HOSTS:
                raise ValueError(f"{text!r} spans more than {MAX_UDP_HOSTS} hosts")
            hosts = [str(ipaddress.IPv4Address(n)) for n in range(int(lo), int(hi) + 1)]
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError) as exc:
        raise ValueError(f"bad address in UDP range {text!r}: {exc}") from exc
    if len(hosts) > MAX_UDP_HOSTS:
        raise ValueError(f"{text!r} has {len(hosts)} hosts; probe at most {MAX_UDP_HOSTS}")
    return hosts


async def _udp(targets: list[UdpTarget], probe_timeout_s: float) -> AsyncIterator[FoundDevice]:
    limit = asyncio.Semaphore(UDP_CONCURRENCY)

    async def probed(host: str, port: int, single: bool) -> FoundDevice | None:
        async with limit:
            answers = await probe_smp(UdpTransport(host, port), probe_timeout_s)
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return FoundDevice("udp", shown, shown, answers_smp=answers) if answers or single else None

    jobs = [probed(host, t.port, t.single) for t in targets for host in t.hosts]
    for next_done in asyncio.as_completed(jobs):
        found = await next_done
        if found is not None:
            yield found


# --- the SMP probe -----------------------------------------------------------------------------


async def probe_smp(transport: Transport, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """True when an SMP echo is answered over `transport` within `timeout_s` (then closed)."""
    client = SmpClient(transport, timeout_s=timeout_s, retries=1)
    try:
        await client.open()
        return await client.echo("slotwise") == "slotwise"
    except (SlotwiseError, OSError, ValueError) as exc:
        log.debug("no SMP on %s: %s", transport.info.address, exc)
        return False
    finally:
        await client.close()


__all__ = ["FoundDevice", "discover", "list_serial_ports", "parse_udp_target", "probe_smp"]
