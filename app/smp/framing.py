"""Byte-stream framing of SMP packets for serial and BLE links. Pure: no I/O, no asyncio.

Three framings (spec digest transports.md):
- serial console (§1): base64 lines behind 0x06 0x09 / 0x04 0x14 markers, with a length prefix
  and a CRC-16/XMODEM; `encode_serial_frame` and `SerialFrameDecoder`;
- raw serial (§1.6) and BLE (§2.2): bare packets whose boundaries come from the SMP header's
  Data Length; `RawPacketAssembler`, `FrameAssembler` (one shared `PacketAssembler`) and
  `split_for_att`.

Every framer is fed arbitrary chunks with `feed(chunk) -> list[bytes]` and returns whole SMP
packets. Bad input is counted in a `FramingStats`, logged and dropped; framers never raise on
input and always resynchronise (a start marker, or a fresh buffer, starts over).
"""

from __future__ import annotations

import binascii
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, fields

from app.smp.header import HEADER_SIZE, MAX_BODY_BYTES

log = logging.getLogger(__name__)

START_MARKER = b"\x06\x09"
"""First line of a serial packet; Zephyr `MCUMGR_SERIAL_HDR_PKT` (§1.1)."""
CONTINUATION_MARKER = b"\x04\x14"
"""Every further line of a serial packet; Zephyr `MCUMGR_SERIAL_HDR_FRAG` (§1.1)."""
DEFAULT_LINE_BYTES = 127
"""Zephyr `MCUMGR_SERIAL_MAX_FRAME`: marker + base64 + newline (§1.3)."""
MAX_PACKET_BYTES = HEADER_SIZE + MAX_BODY_BYTES
"""The largest packet a 16-bit Data Length can describe."""
_LINE_OVERHEAD = len(START_MARKER) + 1  # marker and newline
_LENGTH = struct.Struct(">H")
_CRC = struct.Struct(">H")


@dataclass(slots=True)
class FramingStats:
    """What a framer delivered and what it dropped, by reason (counts since creation)."""

    packets: int = 0
    console_lines: int = 0
    bad_crc: int = 0
    """CRC-16 of the packet did not match its trailer."""
    bad_base64: int = 0
    """A marked line was not valid base64."""
    bad_length: int = 0
    """The serial length prefix cannot describe an SMP packet (too short for a header)."""
    oversized: int = 0
    """The declared length exceeds the framer's `max_packet_bytes`."""
    overrun: int = 0
    """More bytes arrived for a serial packet than its length prefix declared."""
    orphan_continuation: int = 0
    """A continuation line arrived with no packet in progress."""
    interrupted: int = 0
    """A packet in progress was abandoned (new start marker, or `reset()`)."""
    overlong_line: int = 0
    """A line grew past `max_line_bytes` before its newline."""
    bad_header: int = 0
    """Bytes where a raw/BLE packet should start cannot be an SMP header (op bits > 3)."""

    @property
    def dropped(self) -> int:
        """Every drop, whatever the reason."""
        return sum(
            getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("packets", "console_lines")
        )


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0), as Zephyr's `crc16_itu_t(0, ...)` (§1.2)."""
    return binascii.crc_hqx(data, 0)


# --- serial console framing (§1) ------------------------------------------------------------


def encode_serial_frame(packet: bytes, max_line_bytes: int = DEFAULT_LINE_BYTES) -> bytes:
    """The wire lines for one SMP packet (§1.1-1.3).

    The blob (u16 BE length = packet + 2, packet, CRC BE) is base64-encoded once and cut into
    slices of a multiple of 4 characters, because the device decodes each line on its own.

    Raises ValueError when the packet cannot be framed or the line limit is too small.
    """
    if not HEADER_SIZE <= len(packet) <= MAX_PACKET_BYTES:
        raise ValueError(
            f"an SMP packet has {HEADER_SIZE}..{MAX_PACKET_BYTES} bytes, not {len(packet)}"
        )
    chars_per_line = (max_line_bytes - _LINE_OVERHEAD) // 4 * 4
    if chars_per_line < 4:
        raise ValueError(f"a line limit of {max_line_bytes} bytes leaves no room for base64")
    blob = _LENGTH.pack(len(packet) + 2) + packet + _CRC.pack(crc16_xmodem(packet))
    text = binascii.b2a_base64(blob, newline=False)
    lines = []
    for start in range(0, len(text), chars_per_line):
        marker = START_MARKER if start == 0 else CONTINUATION_MARKER
        lines.append(marker + text[start : start + chars_per_line] + b"\n")
    return b"".join(lines)


class SerialFrameDecoder:
    """Turns console bytes into SMP packets, passing every other line on as device output.

    Accepts both the host style (whole blob base64-encoded, cut in 4-char multiples) and the
    Zephyr transmit style (93 raw bytes per line, CRC possibly on an extra line, §1.4): the
    base64 text of all lines is decoded as one stream until the length prefix is satisfied.
    """

    def __init__(
        self,
        on_console_line: Callable[[str], None] | None = None,
        *,
        max_packet_bytes: int = MAX_PACKET_BYTES,
        max_line_bytes: int = 4 * MAX_PACKET_BYTES // 3 + 64,
    ) -> None:
        self.on_console_line = on_console_line
        self.max_packet_bytes = max_packet_bytes
        self.max_line_bytes = max_line_bytes
        self.stats = FramingStats()
        self._line = bytearray()
        self._skipping_line = False  # the current line overflowed; discard up to its newline
        self._in_packet = False
        self._text = b""  # base64 characters not yet decodable (fewer than 4)
        self._decoded = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Whole packets completed by `chunk` (split anywhere), in arrival order."""
        packets: list[bytes] = []
        data = bytes(chunk)
        while data:
            newline = data.find(b"\n")
            part, data = (data, b"") if newline < 0 else (data[:newline], data[newline + 1 :])
            self._append(part)
            if newline >= 0:
                line, skipped = bytes(self._line), self._skipping_line
                self._line.clear()
                self._skipping_line = False
                if not skipped:
                    packet = self._take_line(line)
                    if packet is not None:
                        packets.append(packet)
        return packets

    def reset(self) -> None:
        """Forget any partial line and packet (e.g. after the port was reopened)."""
        if self._in_packet:
            self._drop("interrupted", "packet abandoned by reset")
        self._line.clear()
        self._skipping_line = False

    @property
    def in_packet(self) -> bool:
        """A packet's first line arrived and more lines are awaited."""
        return self._in_packet

    def _append(self, part: bytes) -> None:
        if self._skipping_line:
            return
        self._line += part
        if len(self._line) > self.max_line_bytes:
            # Keep memory bounded on a stream with no newlines; the line cannot be ours.
            self.stats.overlong_line += 1
            log.warning("serial line longer than %d bytes discarded", self.max_line_bytes)
            if self._in_packet:
                self._drop("interrupted", "packet abandoned by an over-long line")
            self._line.clear()
            self._skipping_line = True

    def _take_line(self, line: bytes) -> bytes | None:
        if line.endswith(b"\r"):
            line = line[:-1]
        start = _find_marker(line)
        if start < 0:
            self._console(line)
            return None
        if start > 0:
            # Console text without a newline (e.g. a shell prompt) before the frame (§1.4).
            self._console(line[:start])
        marker, text = line[start : start + 2], line[start + 2 :]
        if marker == START_MARKER:
            if self._in_packet:
                self._drop("interrupted", "new start marker before the packet completed")
            self._in_packet = True
            self._text = b""
            self._decoded.clear()
        elif not self._in_packet:
            self.stats.orphan_continuation += 1
            log.warning("serial continuation line with no packet in progress dropped")
            return None
        return self._add_text(text)

    def _add_text(self, text: bytes) -> bytes | None:
        pending = self._text + text
        usable = len(pending) // 4 * 4
        try:
            self._decoded += binascii.a2b_base64(pending[:usable], strict_mode=True)
        except binascii.Error as exc:
            self._drop("bad_base64", f"invalid base64 ({exc})")
            return None
        self._text = pending[usable:]
        if len(self._decoded) < 2:
            return None
        (length,) = _LENGTH.unpack_from(self._decoded)
        if length < HEADER_SIZE + 2:
            self._drop("bad_length", f"length prefix {length} is shorter than a header + CRC")
            return None
        if length - 2 > self.max_packet_bytes:
            self._drop("oversized", f"length prefix {length} exceeds the packet limit")
            return None
        total = 2 + length
        if len(self._decoded) < total:
            return None
        if len(self._decoded) > total or self._text:
            self._drop("overrun", f"more bytes than the length prefix {length} declared")
            return None
        packet = bytes(self._decoded[2:length])
        (crc,) = _CRC.unpack_from(self._decoded, length)
        if crc16_xmodem(packet) != crc:
            self._drop("bad_crc", f"CRC mismatch on a {len(packet)}-byte packet")
            return None
        self._in_packet = False
        self._decoded.clear()
        self.stats.packets += 1
        log.debug("serial packet received: %s", packet.hex(" "))
        return packet

    def _drop(self, reason: str, text: str) -> None:
        setattr(self.stats, reason, getattr(self.stats, reason) + 1)
        log.warning("serial SMP packet dropped: %s", text)
        self._in_packet = False
        self._text = b""
        self._decoded.clear()

    def _console(self, line: bytes) -> None:
        if not line:
            return  # blank lines (the host's flush newline echoed back) carry nothing
        self.stats.console_lines += 1
        if self.on_console_line is not None:
            self.on_console_line(line.decode("utf-8", errors="replace"))


def _find_marker(line: bytes) -> int:
    """Index of the first packet marker in the line, or -1."""
    found = [i for i in (line.find(START_MARKER), line.find(CONTINUATION_MARKER)) if i >= 0]
    return min(found, default=-1)


# --- raw serial and BLE: boundaries from the SMP header (§1.6, §2.2) -------------------------


class PacketAssembler:
    """Reassembles bare SMP packets from chunks using the header's Data Length.

    Extra bytes after a packet start the next one. Fewer than 8 bytes wait for more. A header
    whose op bits are impossible or whose packet would exceed `max_packet_bytes` cannot be a
    packet start: the buffer is discarded (counted) so the next chunk starts afresh.
    """

    def __init__(self, max_packet_bytes: int = 16384) -> None:
        # 16 KiB is several times any Zephyr NETBUF_SIZE in the digest (2475 at most).
        self.max_packet_bytes = max_packet_bytes
        self.stats = FramingStats()
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Whole packets completed by `chunk`, in order."""
        self._buffer += chunk
        packets = []
        while len(self._buffer) >= HEADER_SIZE:
            if self._buffer[0] & 0b111 > 3:
                self._discard("bad_header", f"op bits {self._buffer[0] & 0b111} are not an op")
                break
            (length,) = _LENGTH.unpack_from(self._buffer, 2)
            total = HEADER_SIZE + length
            if total > self.max_packet_bytes:
                self._discard(
                    "oversized",
                    f"declared packet of {total} bytes exceeds "
                    f"the limit of {self.max_packet_bytes}",
                )
                break
            if len(self._buffer) < total:
                break
            packets.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
            self.stats.packets += 1
        return packets

    def reset(self) -> None:
        """Abandon a partial packet (a link's input timeout or reconnect, §1.6, §2.4)."""
        if self._buffer:
            self._discard("interrupted", "partial packet abandoned by reset")

    @property
    def pending_bytes(self) -> int:
        """Bytes held for a packet not yet complete."""
        return len(self._buffer)

    def _discard(self, reason: str, text: str) -> None:
        setattr(self.stats, reason, getattr(self.stats, reason) + 1)
        log.warning("%d buffered bytes dropped: %s", len(self._buffer), text)
        self._buffer.clear()


class RawPacketAssembler(PacketAssembler):
    """Raw-UART framing (§1.6): a binary-clean stream of bare SMP packets."""


class FrameAssembler(PacketAssembler):
    """BLE framing (§2.2): notification payloads appended until the header's length is met."""


ATT_HEADER_BYTES = 3
"""Opcode + attribute handle of an ATT Write Command or Handle Value Notification."""


def att_payload_bytes(att_mtu: int) -> int:
    """SMP bytes one ATT write or notification carries: ATT_MTU less its header (§2.2)."""
    return att_mtu - ATT_HEADER_BYTES


def split_for_att(packet: bytes, payload_bytes: int) -> list[bytes]:
    """Consecutive slices of at most `payload_bytes` (ATT_MTU - 3) for write commands (§2.2)."""
    if payload_bytes < 1:
        raise ValueError(f"an ATT payload of {payload_bytes} bytes cannot carry data")
    return [packet[i : i + payload_bytes] for i in range(0, len(packet), payload_bytes)]
