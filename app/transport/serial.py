"""SMP over a serial port (pyserial): console framing (transports.md §1) or raw UART (§1.6).

The port is usually shared with the device's console: lines that are not SMP frames are handed
to console listeners (the GUI's "device output" view), never treated as errors. Corrupt frames
are dropped and counted by the framer in app/smp/framing.py (`stats`).

pyserial is blocking, so one reader thread per open port feeds the event loop through
`call_soon_threadsafe`; writes run in the loop's executor. `close()` stops the thread. A port
that vanishes (USB unplugged, pty closed) ends every waiting `receive()` with TransportClosed
("device disconnected") as soon as the read fails.

Device spec (after "serial:"): ``PORT[@BAUD][,OPTION...]`` with options ``raw`` (Zephyr raw
UART / MCUboot raw protocol), ``rtscts`` (hardware flow control), ``dtr=0|1`` and ``rts=0|1``
(line state on open; many boards reset on DTR), ``line=N`` (line length incl. marker and
newline, default 127), ``max=N`` (largest SMP packet the link may carry).
Example: ``serial:/dev/ttyACM0@115200,dtr=0`` or ``serial:COM4@921600,raw``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import serial

try:  # POSIX: tcdrain() on an unplugged port raises termios.error, which is no OSError
    from termios import error as _TermiosError
except ImportError:  # Windows
    _TermiosError = OSError  # type: ignore[misc, assignment]

from app.errors import TransportClosed, TransportError
from app.smp.framing import (
    DEFAULT_LINE_BYTES,
    MAX_PACKET_BYTES,
    FramingStats,
    RawPacketAssembler,
    SerialFrameDecoder,
    encode_serial_frame,
)
from app.transport.base import LinkInfo

log = logging.getLogger(__name__)

DEFAULT_BAUD = 115200
CONSOLE_MAX_PACKET_BYTES = 0xFFFF - 2
"""The console length prefix (packet + CRC) is a u16 (§1.2); the device buffer is the real cap,
learned from MCUmgr params with `device_buffer_overhead` = 4 (§5.2)."""
RAW_INPUT_TIMEOUT_S = 0.5
"""A partial raw packet older than this is discarded, as the device does (§1.6)."""
_READ_POLL_S = 0.1
"""Reader thread wake-up period: bounds how long `close()` waits for the thread."""
_WRITE_TIMEOUT_S = 5.0

ConsoleListener = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SerialOptions:
    """How to open and frame one serial port."""

    port: str
    """Device path or pyserial URL: "/dev/ttyACM0", "COM4", "loop://"."""
    baud: int = DEFAULT_BAUD
    raw: bool = False
    """Bare SMP packets (Zephyr MCUMGR_TRANSPORT_RAW_UART), no base64 console framing (§1.6)."""
    rtscts: bool = False
    dtr: bool | None = None
    """DTR state on open; None leaves pyserial's default (asserted). Some boards reset on DTR."""
    rts: bool | None = None
    line_bytes: int = DEFAULT_LINE_BYTES
    """Longest line the device accepts, marker and newline included (Zephyr: 127, §1.3)."""
    max_packet_bytes: int | None = None
    """Largest SMP packet to send; None: what the framing itself can describe."""

    @property
    def max_frame_bytes(self) -> int:
        limit = MAX_PACKET_BYTES if self.raw else CONSOLE_MAX_PACKET_BYTES
        return min(limit, self.max_packet_bytes or limit)


def parse_serial_spec(text: str) -> SerialOptions:
    """``PORT[@BAUD][,raw][,rtscts][,dtr=0|1][,rts=0|1][,line=N][,max=N]`` -> options.

    Raises ValueError with a sentence for anything malformed.
    """
    head, *extras = [part.strip() for part in text.split(",")]
    port, at, baud_text = head.rpartition("@")
    if not at:
        port, baud_text = head, ""
    if not port:
        raise ValueError(f"no port in serial device {text!r}")
    options = SerialOptions(port=port)
    if baud_text:
        options = replace(options, baud=_positive_int(baud_text, "baud rate", text))
    for extra in extras:
        options = _apply_option(options, extra, text)
    return options


def _apply_option(options: SerialOptions, extra: str, text: str) -> SerialOptions:
    key, eq, value = extra.partition("=")
    key = key.lower()
    if key == "raw" and not eq:
        return replace(options, raw=True)
    if key == "rtscts" and not eq:
        return replace(options, rtscts=True)
    if key == "dtr" and value in ("0", "1"):
        return replace(options, dtr=value == "1")
    if key == "rts" and value in ("0", "1"):
        return replace(options, rts=value == "1")
    if key == "line" and eq:
        line = _positive_int(value, "line length", text)
        if line < 8:
            raise ValueError(f"a serial line of {line} bytes cannot carry a frame ({text!r})")
        return replace(options, line_bytes=line)
    if key == "max" and eq:
        return replace(options, max_packet_bytes=_positive_int(value, "packet limit", text))
    raise ValueError(
        f"unknown serial option {extra!r} in {text!r}: use raw, rtscts, "
        "dtr=0|1, rts=0|1, line=N or max=N"
    )


def _positive_int(value: str, what: str, text: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"bad {what} {value!r} in serial device {text!r}") from None
    if number <= 0:
        raise ValueError(f"the {what} must be positive in {text!r}")
    return number


def transport_from_spec(text: str) -> SerialTransport:
    """The transport for the part of a device spec after "serial:"."""
    return SerialTransport(parse_serial_spec(text))


class SerialTransport:
    """One serial port carrying SMP, shared with the device's console output."""

    def __init__(
        self, options: SerialOptions | str, *, on_console_line: ConsoleListener | None = None
    ) -> None:
        self.options = parse_serial_spec(options) if isinstance(options, str) else options
        self._listeners: list[ConsoleListener] = []
        self._console_queues: list[asyncio.Queue[str | None]] = []
        if on_console_line is not None:
            self._listeners.append(on_console_line)
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._write_lock = asyncio.Lock()
        self._closed_reason = "closed"
        self._last_rx = 0.0
        self._decoder = SerialFrameDecoder(self._console_line)
        self._raw = RawPacketAssembler()

    # --- what the client sees ---------------------------------------------------------------

    @property
    def info(self) -> LinkInfo:
        return LinkInfo(
            kind="serial",
            address=f"{self.options.port}@{self.options.baud}",
            max_frame_bytes=self.options.max_frame_bytes,
            reliable=True,
            device_buffer_overhead=0 if self.options.raw else 4,
        )

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @property
    def stats(self) -> FramingStats:
        """Packets delivered and frames dropped, by reason."""
        return self._raw.stats if self.options.raw else self._decoder.stats

    def add_console_listener(self, listener: ConsoleListener) -> Callable[[], None]:
        """Call `listener` with every non-SMP line from the device; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def console_lines(self) -> AsyncIterator[str]:
        """Device output lines as they arrive, until the port closes."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1000)
        self._console_queues.append(queue)
        try:
            while (line := await queue.get()) is not None:
                yield line
        finally:
            self._console_queues.remove(queue)

    # --- open / close -----------------------------------------------------------------------

    async def open(self) -> None:
        if self._port is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._closed_reason = "closed"
        self._decoder.reset()
        self._raw.reset()
        port = self._open_port()
        self._port = port
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._read_thread,
            args=(port,),
            daemon=True,
            name=f"serial-reader {self.options.port}",
        )
        self._thread.start()
        if not self.options.raw:
            # A lone newline flushes a partial line left in the device's buffer (§1.3).
            await self._write(b"\n")

    def _open_port(self) -> serial.SerialBase:
        opts = self.options
        try:
            port = serial.serial_for_url(
                opts.port,
                do_not_open=True,
                baudrate=opts.baud,
                rtscts=opts.rtscts,
                timeout=_READ_POLL_S,
                write_timeout=_WRITE_TIMEOUT_S,
            )
            # Set before open() so pyserial applies them as the port opens (no reset pulse).
            if opts.dtr is not None:
                port.dtr = opts.dtr
            if opts.rts is not None:
                port.rts = opts.rts
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(open_error(opts.port, exc)) from exc
        return port

    async def close(self) -> None:
        port, self._port = self._port, None
        self._stop.set()
        if port is not None:
            with contextlib.suppress(Exception):
                port.cancel_read()
        if self._thread is not None:
            # The thread wakes at least every _READ_POLL_S; cancel_read wakes it at once.
            # joined off the event loop: other devices and the GUI bridge keep running
            await asyncio.to_thread(self._thread.join, 2 * _READ_POLL_S + 1.0)
            self._thread = None
        if port is not None:
            with contextlib.suppress(Exception):
                port.close()
        self._wake_all()

    # --- frames -----------------------------------------------------------------------------

    async def send(self, frame: bytes) -> None:
        if self._port is None:
            raise TransportClosed(self._closed_message())
        if len(frame) > self.options.max_frame_bytes:
            raise TransportError(
                f"a {len(frame)}-byte SMP packet exceeds the serial limit of "
                f"{self.options.max_frame_bytes} bytes"
            )
        if self.options.raw:
            wire = frame
        else:
            try:
                wire = encode_serial_frame(frame, self.options.line_bytes)
            except ValueError as exc:
                raise TransportError(f"cannot frame this packet for serial: {exc}") from exc
        await self._write(wire)

    async def receive(self) -> bytes:
        data = await self._inbox.get()
        if data is None:
            self._inbox.put_nowait(None)  # keep waking later receivers too
            raise TransportClosed(self._closed_message())
        return data

    async def _write(self, data: bytes) -> None:
        port = self._port
        if port is None:
            raise TransportClosed(self._closed_message())
        async with self._write_lock:
            try:
                await asyncio.to_thread(_write_all, port, data)
            except (
                serial.SerialException,
                OSError,
                _TermiosError,
                TypeError,
                AttributeError,
            ) as exc:
                # TypeError/AttributeError: pyserial internals after a concurrent close.
                if self._port is None:
                    raise TransportClosed(self._closed_message()) from exc
                self._lost(f"write failed: {exc}")
                raise TransportClosed(self._closed_message()) from exc

    def _closed_message(self) -> str:
        if self._closed_reason == "closed":
            return f"serial port {self.options.port} is closed"
        return f"device disconnected: serial port {self.options.port} {self._closed_reason}"

    # --- the reader thread and its hand-over to the loop --------------------------------------

    def _read_thread(self, port: serial.SerialBase) -> None:
        loop = self._loop
        assert loop is not None
        while not self._stop.is_set():
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, _TermiosError, TypeError, ValueError) as exc:
                if not self._stop.is_set():
                    log.warning("serial port %s lost: %s", self.options.port, exc)
                    _call_soon(loop, self._lost, "vanished (unplugged?)")
                return
            if data:
                _call_soon(loop, self._on_bytes, data)

    def _on_bytes(self, data: bytes) -> None:
        log.debug("serial rx %d bytes", len(data))
        if self.options.raw:
            now = time.monotonic()
            if self._raw.pending_bytes and now - self._last_rx > RAW_INPUT_TIMEOUT_S:
                self._raw.reset()
            self._last_rx = now
            packets = self._raw.feed(data)
        else:
            packets = self._decoder.feed(data)
        for packet in packets:
            self._inbox.put_nowait(packet)

    def _lost(self, reason: str) -> None:
        if self._port is None:
            return
        self._closed_reason = reason
        port, self._port = self._port, None
        self._stop.set()
        with contextlib.suppress(Exception):
            port.close()
        self._wake_all()

    def _wake_all(self) -> None:
        self._inbox.put_nowait(None)
        for queue in self._console_queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def _console_line(self, line: str) -> None:
        for queue in self._console_queues:
            with contextlib.suppress(asyncio.QueueFull):  # a slow reader loses lines, not us
                queue.put_nowait(line)
        for listener in list(self._listeners):
            try:
                listener(line)
            except Exception:  # a broken listener must not stop the reader
                log.exception("console listener failed")


def _write_all(port: serial.SerialBase, data: bytes) -> None:
    written = port.write(data)
    if written is not None and written < len(data):
        raise serial.SerialTimeoutException(f"only {written} of {len(data)} bytes written")
    port.flush()


_OPEN_ERRORS = {
    errno.ENOENT: "serial port {port} does not exist (is the board plugged in?)",
    errno.ENODEV: "serial port {port} does not exist (is the board plugged in?)",
    errno.ENXIO: "serial port {port} does not exist (is the board plugged in?)",
    errno.EACCES: "no permission to open serial port {port} (on Linux, join the dialout "
    "or uucp group, then log in again)",
    errno.EPERM: "no permission to open serial port {port}",
    errno.EBUSY: "serial port {port} is busy: another program has it open",
    errno.ENOTTY: "{port} is not a serial port",
    errno.EISDIR: "{port} is a directory, not a serial port",
}
"""What pyserial's errno means, said once: its own text repeats the port and the errno."""


def open_error(port: str, exc: BaseException) -> str:
    """Why a serial port did not open, in one sentence."""
    code = getattr(exc, "errno", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]  # pyserial: SerialException(errno, "could not open port ...")
    text = str(exc)
    if code is None and "Inappropriate ioctl" in text:  # pyserial: "Could not configure port"
        code = errno.ENOTTY
    if code in _OPEN_ERRORS:
        return _OPEN_ERRORS[code].format(port=port)
    reason = os.strerror(code) if isinstance(code, int) else text or type(exc).__name__
    return f"cannot open serial port {port}: {reason}"


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: object
) -> None:
    # The loop may already be closed when a test tears down; nothing is waiting then.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)
