"""What every link looks like to the client: whole SMP frames in, whole frames out.

A transport knows nothing of CBOR or sequence numbers. Serial (console framing), BLE (GATT
fragments) and UDP (one datagram per packet) differ only in framing, size limits and
reliability, which they describe with the properties below so the client and the upload
engine can size requests and decide on retransmission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What the link allows, learned in `open()`.

    `max_frame_bytes` is the largest SMP packet (8-byte header + CBOR) the link itself can carry
    in one request: UDP datagram budget, BLE reassembly limit or ATT payload, serial buffer
    minus length and CRC. The device's own buffer (MCUmgr params) may be smaller; the client
    takes the minimum of both.
    """

    kind: str
    """"udp", "serial" or "ble"."""
    address: str
    """Human-readable peer: "127.0.0.1:1337", "/dev/ttyACM0@115200", "C0:FF:EE:00:00:01"."""
    max_frame_bytes: int
    reliable: bool
    """False when frames may be lost, duplicated or reordered (UDP): the client retransmits."""
    mtu: int | None = None
    """BLE ATT MTU, or the UDP path MTU budget, where it applies."""
    device_buffer_overhead: int = 0
    """Bytes of the device's MCUmgr buffer the framing itself uses: 4 on the serial console
    (length + CRC share the buffer, transports.md §5.2), 0 elsewhere. A request may be at most
    `buf_size - device_buffer_overhead` bytes."""
    fragment_bytes: int | None = None
    """Where the link carries a packet in pieces that each take one link packet whatever their
    size (BLE: one ATT write of ATT_MTU - 3 bytes per link-layer packet, and a connection event
    carries a fixed number of packets), the size of a piece; None for byte streams and
    datagrams. A request spanning several pieces wastes nothing when it fills its last one."""


@runtime_checkable
class Transport(Protocol):
    """Moves whole SMP frames to and from one device."""

    @property
    def info(self) -> LinkInfo: ...

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None:
        """Connect; raises TransportError with a sentence when the device cannot be reached."""

    async def close(self) -> None:
        """Idempotent; wakes every pending `receive()` with TransportClosed."""

    async def send(self, frame: bytes) -> None:
        """Send one whole SMP packet (the transport fragments or frames it)."""

    async def receive(self) -> bytes:
        """The next whole SMP packet from the device; TransportClosed if the link drops."""
