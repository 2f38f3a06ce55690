"""SMP over UDP: one packet per datagram, IPv4 or IPv6, default port 1337 (transports.md §3)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable

from app.errors import TransportClosed, TransportError, TransportRefused
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)

DEFAULT_PORT = 1337
LINK_MTU = 1500
_IP_UDP_OVERHEAD = {socket.AF_INET: 28, socket.AF_INET6: 48}
"""IP + UDP header bytes, so requests never need IP fragmentation (§3 client rules)."""


def parse_udp_address(text: str) -> tuple[str, int]:
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port else DEFAULT_PORT
    if text.count(":") > 1:  # bare IPv6
        return text, DEFAULT_PORT
    host, _, port = text.partition(":")
    if not host:
        raise ValueError(f"no host in UDP address {text!r}")
    try:
        number = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"bad UDP port in {text!r}") from None
    if not 0 <= number < 65536:  # 0: let a server pick a free port
        raise ValueError(f"UDP port {number} out of range")
    return host, number


REFUSALS_TO_GIVE_UP = 3
"""ICMP "port unreachable" answers in a row, with no datagram between, that end the link."""
REFUSAL_RECHECK_S = 0.05
"""Pause before sending the last frame again to confirm a refusal (a stray ICMP, or a device
whose port was closed for an instant, is not mistaken for nothing listening)."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, inbox: asyncio.Queue[bytes | None], on_refused: Callable[[], None]) -> None:
        self._inbox = inbox
        self._on_refused = on_refused

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._inbox.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)
        if isinstance(exc, ConnectionRefusedError):  # ICMP port unreachable
            self._on_refused()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inbox.put_nowait(None)


class UdpTransport:
    """A connected UDP socket to one device."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, *, mtu: int = LINK_MTU) -> None:
        self.host = host
        self.port = port
        self._mtu = mtu
        self._transport: asyncio.DatagramTransport | None = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._family = socket.AF_INET6 if _is_ipv6(host) else socket.AF_INET
        self._refusals = 0
        """ICMP refusals since the last datagram from the device."""
        self._last_frame: bytes | None = None
        self._refused: str | None = None

    @classmethod
    def from_address(cls, text: str) -> UdpTransport:
        host, port = parse_udp_address(text)
        return cls(host, port)

    @property
    def info(self) -> LinkInfo:
        shown = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        budget = self._mtu - _IP_UDP_OVERHEAD[self._family]
        return LinkInfo(
            kind="udp", address=shown, max_frame_bytes=budget, reliable=False, mtu=self._mtu
        )

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def open(self) -> None:
        if self.is_open:
            return
        loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._refusals, self._refused, self._last_frame = 0, None, None
        try:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise TransportError(f"cannot resolve {self.host}: {exc.strerror or exc}") from exc
        family, _, _, _, sockaddr = infos[0]
        self._family = socket.AddressFamily(family)
        # IPv4 and IPv6 addresses both start (host, port); IPv6 adds flow info and scope id.
        remote = (str(sockaddr[0]), int(sockaddr[1]))
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._inbox, self._note_refusal),
                remote_addr=remote,
                family=family,
            )
        except OSError as exc:
            raise TransportError(
                f"cannot open UDP to {self.info.address}: {exc.strerror or exc}"
            ) from exc

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._inbox.put_nowait(None)

    async def send(self, frame: bytes) -> None:
        if self._refused is not None:
            raise TransportRefused(self._refused)
        if self._transport is None or self._transport.is_closing():
            raise TransportClosed(f"UDP link to {self.info.address} is closed")
        self._last_frame = frame
        self._transport.sendto(frame)

    async def receive(self) -> bytes:
        data = await self._inbox.get()
        if data is None:
            self._inbox.put_nowait(None)  # keep waking later receivers too
            if self._refused is not None:
                raise TransportRefused(self._refused)
            raise TransportClosed(f"UDP link to {self.info.address} closed")
        self._refusals = 0
        return data

    def _note_refusal(self) -> None:
        """The host said no one listens on the port: confirm by asking again, then give up.

        Waiting out every timeout would take the whole --timeout per request although the
        answer (ICMP port unreachable) came at once.
        """
        self._refusals += 1
        if self._refusals >= REFUSALS_TO_GIVE_UP:
            self._refused = (
                f"no answer from {self.info.address}: nothing listens on that port "
                f"(the host refused {self._refusals} datagrams in a row)"
            )
            self._inbox.put_nowait(None)
            return
        loop = asyncio.get_running_loop()
        loop.call_later(REFUSAL_RECHECK_S * self._refusals, self._resend)

    def _resend(self) -> None:
        transport, frame = self._transport, self._last_frame
        still_refused = self._refused is None and self._refusals  # no datagram came meanwhile
        if still_refused and transport is not None and not transport.is_closing() and frame:
            transport.sendto(frame)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
