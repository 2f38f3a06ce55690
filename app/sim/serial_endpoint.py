"""The simulator on a pseudo-terminal: the host opens the slave side like a USB CDC ACM port.

Speaks the SMP console framing of transports.md §1 (or raw UART, §1.6) through the shared
framers in app/smp/framing.py; replies are written the way Zephyr transmits them (§1.4: the
whole blob in 124-char base64 slices, i.e. `encode_serial_frame` at the default line length).
Models a UART's speed (`baud`: 10 bits per byte, 8N1, both directions, on the framed bytes)
and, optionally, log output interleaved between frame lines, as the Zephyr shell transport
does. POSIX only (ptys).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tty
from types import TracebackType
from typing import Self

from app.sim.device import SimDevice
from app.sim.link import LinkModel
from app.sim.runtime import SimRuntime
from app.smp.framing import (
    FramingStats,
    RawPacketAssembler,
    SerialFrameDecoder,
    encode_serial_frame,
)

log = logging.getLogger(__name__)

BITS_PER_BYTE = 10
"""8N1: start bit, 8 data bits, stop bit."""
LOG_INTERVAL_S = 0.05


class UartPacer:
    """One direction of the modelled UART: each chunk leaves when the one before it has, plus
    its own wire time (`size / bytes_per_s`), never sooner. Keeps what it carried, so a test
    can check the schedule without a clock."""

    def __init__(self) -> None:
        self.free_at = 0.0
        """Loop time at which the line is idle again."""
        self.bytes = 0
        self.wire_s = 0.0
        """Wire time of everything carried: bytes / rate, summed per chunk."""

    def done_at(self, now: float, size: int, bytes_per_s: float) -> float:
        """When a chunk of `size` bytes handed over at `now` has been sent."""
        self.free_at = max(now, self.free_at) + size / bytes_per_s
        self.bytes += size
        self.wire_s += size / bytes_per_s
        return self.free_at

    async def carry(self, size: int, bytes_per_s: float | None) -> None:
        """Wait until a chunk of `size` bytes has crossed the line (no wait without a rate)."""
        if not bytes_per_s:
            return
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.done_at(loop.time(), size, bytes_per_s) - loop.time())


class PtySimServer:
    """A simulated device behind a pty; `path` is what the host opens (/dev/pts/N)."""

    def __init__(
        self,
        target: SimDevice | SimRuntime,
        link: LinkModel | None = None,
        *,
        baud: int | None = None,
        raw: bool = False,
        log_lines: bool = False,
        boot_s: float = 0.05,
    ) -> None:
        self._owns_runtime = not isinstance(target, SimRuntime)
        self.runtime = (
            SimRuntime(target, link, boot_s=boot_s) if isinstance(target, SimDevice) else target
        )
        self.baud = baud
        self.raw = raw
        self.log_lines = log_lines
        self._decoder = SerialFrameDecoder(self._host_text)
        self._default_line_bytes = self._decoder.max_line_bytes
        self._default_packet_bytes = self._decoder.max_packet_bytes
        self._assembler = RawPacketAssembler()
        self._master: int | None = None
        self._slave: int | None = None
        self.path = ""
        self._inbound: asyncio.Queue[bytes] = asyncio.Queue()
        self._lines: asyncio.Queue[bytes] = asyncio.Queue()
        self._logs: list[bytes] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._log_count = 0
        self.rx_pacer = UartPacer()
        """Host to device: what the device's receive side was paced for."""
        self.tx_pacer = UartPacer()
        """Device to host: replies and console lines."""

    @property
    def device(self) -> SimDevice:
        return self.runtime.device

    @property
    def stats(self) -> FramingStats:
        """What the device-side framer received and dropped."""
        return self._assembler.stats if self.raw else self._decoder.stats

    @property
    def bytes_per_s(self) -> float | None:
        return self.baud / BITS_PER_BYTE if self.baud else None

    async def start(self) -> None:
        if self._owns_runtime:
            await self.runtime.start()
        master, slave = os.openpty()
        # Raw mode: no echo and no CR/LF translation, like a real UART.
        tty.setraw(slave)
        tty.setraw(master)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._on_readable)
        self._tasks = [
            asyncio.create_task(self._paced_input(), name="sim-pty-rx"),
            asyncio.create_task(self._writer(), name="sim-pty-tx"),
        ]
        if self.log_lines:
            self._tasks.append(asyncio.create_task(self._logger(), name="sim-pty-log"))

    async def stop(self) -> None:
        self._close_fds()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._owns_runtime:
            await self.runtime.stop()

    def hangup(self) -> None:
        """Close the pty as if the board were unplugged: the host's reads fail at once."""
        self._close_fds()

    def write_console(self, text: str) -> None:
        """Emit one console line (boot banner, a log message) between frame lines."""
        self._logs.append(text.encode() + b"\r\n")
        self._lines.put_nowait(b"")  # wake the writer

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

    # --- device receive side ------------------------------------------------------------------

    def _on_readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: nobody has the slave open; we keep ours, so rare
            log.debug("sim pty read: %s", exc)
            return
        if data:
            self._inbound.put_nowait(data)

    async def _paced_input(self) -> None:
        while True:
            data = await self._inbound.get()
            await self.rx_pacer.carry(len(data), self.bytes_per_s)
            self._apply_line_limits()
            packets = self._assembler.feed(data) if self.raw else self._decoder.feed(data)
            for packet in packets:
                self.runtime.deliver(packet, self._reply)

    def _apply_line_limits(self) -> None:
        """MCUboot's serial recovery reads short lines into one small buffer (recovery.py)."""
        profile = self.device.recovery_profile if self.device.in_recovery else None
        if profile is None:
            self._decoder.max_line_bytes = self._default_line_bytes
            self._decoder.max_packet_bytes = self._default_packet_bytes
        else:
            self._decoder.max_line_bytes = profile.max_line_bytes - 1  # the newline counts
            self._decoder.max_packet_bytes = profile.max_packet_bytes

    def _host_text(self, line: str) -> None:
        log.debug("sim pty: non-SMP input line %r ignored", line)

    # --- device transmit side -----------------------------------------------------------------

    def _reply(self, packet: bytes) -> None:
        if self.raw:
            self._lines.put_nowait(packet)
            return
        wire = encode_serial_frame(packet)
        for line in wire.splitlines(keepends=True):
            self._lines.put_nowait(line)

    async def _writer(self) -> None:
        while True:
            line = await self._lines.get()
            for chunk in (*self._take_logs(), line):
                if not chunk:
                    continue
                await self.tx_pacer.carry(len(chunk), self.bytes_per_s)
                await self._write(chunk)

    def _take_logs(self) -> list[bytes]:
        logs, self._logs = self._logs, []
        return logs

    async def _write(self, data: bytes) -> None:
        while data and self._master is not None:
            try:
                written = os.write(self._master, data)
            except BlockingIOError:
                await asyncio.sleep(0.005)  # the host is not reading; the pty buffer is full
                continue
            except OSError as exc:
                log.debug("sim pty write: %s", exc)
                return
            data = data[written:]

    async def _logger(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(LOG_INTERVAL_S)
            self._log_count += 1
            stamp = loop.time()
            self.write_console(f"[{stamp:012.3f}] <inf> sim: heartbeat {self._log_count}")

    def _close_fds(self) -> None:
        if self._master is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._master)
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        self._master = self._slave = None
