"""Endpoints that put a SimDevice on a real link. UDP here; serial and BLE in their modules."""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

from app.sim.device import SimDevice
from app.sim.link import LinkModel
from app.sim.runtime import SimRuntime

log = logging.getLogger(__name__)


class _UdpEndpoint(asyncio.DatagramProtocol):
    def __init__(self, runtime: SimRuntime) -> None:
        self._runtime = runtime
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector datagram transport does not subclass DatagramTransport
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) > self._runtime.link.mtu:
            data = data[: self._runtime.link.mtu]  # what a 1500-byte receive buffer keeps
        self._runtime.deliver(data, lambda frame: self._reply(frame, addr))

    def _reply(self, frame: bytes, addr: tuple[str | int, ...]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(frame, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("sim UDP error: %s", exc)


class UdpSimServer:
    """A simulated device answering SMP on a UDP port (port 0 picks a free one)."""

    def __init__(
        self,
        device: SimDevice,
        link: LinkModel | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        boot_s: float = 0.05,
    ) -> None:
        self.runtime = SimRuntime(device, link, boot_s=boot_s)
        self._host = host
        self._port = port
        self._endpoint: _UdpEndpoint | None = None

    @property
    def device(self) -> SimDevice:
        return self.runtime.device

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._endpoint is None or self._endpoint.transport is None:
            return self._port
        return int(self._endpoint.transport.get_extra_info("sockname")[1])

    @property
    def address(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        await self.runtime.start()
        loop = asyncio.get_running_loop()
        _, endpoint = await loop.create_datagram_endpoint(
            lambda: _UdpEndpoint(self.runtime), local_addr=(self._host, self._port)
        )
        self._endpoint = endpoint

    async def stop(self) -> None:
        if self._endpoint is not None and self._endpoint.transport is not None:
            self._endpoint.transport.close()
        self._endpoint = None
        await self.runtime.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
