"""A paced Bluetooth LE link for Bumble's virtual controllers, and a process that hosts them.

Bumble's stock `LocalLink` hands every ACL packet to the peer at once and its controller
returns the host's buffer credit (HCI Number-Of-Completed-Packets) at once, so throughput over
it only measures Python. `PacedLink` with `PacedController`s models what bounds a real link:

* connection events on a fixed grid (`interval_s`), both directions on the same grid;
* at most `packets_per_event` link-layer packets per direction per event;
* the controller holds `acl_buffers` packets of `acl_packet_bytes` (8 x 251 here: LE Data
  Length Extension, a typical nRF controller) and returns a credit only when a packet has been
  carried, so a host cannot queue more than that in the controller;
* one FIFO per direction served by one timer (one timer per packet would reorder packets with
  equal deadlines: asyncio's timer heap is not stable).

The limit of such a link, in SMP bytes per second one way, is `LinkPacing.limit_bps`: each
packet carries one ATT write of ATT_MTU - 3 bytes (ATT_MTU 247 + the 4-byte L2CAP header fills
a 251-byte packet exactly).

`python -m app.sim.ble_link [--profile NAME | --interval-ms MS --packets-per-event N]
[--controllers K]` hosts K controllers on one link, each on a TCP port of 127.0.0.1 chosen by
the system, prints one `controller tcp-client:127.0.0.1:PORT` line per controller and runs
until SIGTERM/SIGINT. Any Bumble host (`slotwise sim --ble-hci`, `slotwise -d ble:...@HCI`,
smpclient's SMPBumbleTransport) reaches a controller through that spec. Without a profile the
link is Bumble's instant one. Start fresh controllers for each run: a controller keeps the
connection of a host that went away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import socket
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

from bumble import hci
from bumble.controller import Connection, Controller
from bumble.core import PhysicalTransport
from bumble.link import LocalLink
from bumble.transport.common import Transport
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from app.smp.framing import att_payload_bytes

L2CAP_HEADER_BYTES = 4


@dataclass(frozen=True, slots=True)
class LinkPacing:
    """How the paced link carries packets (see the module docstring)."""

    interval_s: float
    packets_per_event: int
    att_mtu: int = 247
    acl_buffers: int = 8
    acl_packet_bytes: int = 251

    @property
    def packets_per_write(self) -> int:
        """Link-layer packets one full ATT write (or notification) takes, L2CAP header included."""
        return math.ceil((self.att_mtu + L2CAP_HEADER_BYTES) / self.acl_packet_bytes)

    @property
    def limit_bps(self) -> float:
        """SMP bytes per second one direction carries at most: full ATT writes back to back."""
        writes_per_s = self.packets_per_event / self.packets_per_write / self.interval_s
        return writes_per_s * att_payload_bytes(self.att_mtu)

    def describe(self) -> str:
        return (
            f"{self.interval_s * 1000:g} ms x {self.packets_per_event} packets, "
            f"ATT MTU {self.att_mtu}"
        )


PROFILES: dict[str, LinkPacing] = {
    "7.5ms-x4": LinkPacing(0.0075, 4),
    "15ms-x4": LinkPacing(0.015, 4),
    "30ms-x6": LinkPacing(0.030, 6),
}
"""The benchmark's profiles: fast phone/desktop, a common default, a power-saving peripheral."""


class _Direction:
    """One direction of one connection: a FIFO of ACL packets, served per connection event."""

    def __init__(self, link: PacedLink, controller: Controller, connection: Connection) -> None:
        self._link = link
        self.controller = controller
        self.connection = connection
        self.queue: deque[hci.HCI_AclDataPacket] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._event_at = -math.inf

    def push(self, packet: hci.HCI_AclDataPacket) -> None:
        self.queue.append(packet)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            interval = self._link.pacing.interval_s
            # the next event on the grid, never one already served
            grid = (math.floor(loop.time() / interval) + 1) * interval
            self._arm(max(grid, self._event_at + interval))

    def _arm(self, when: float) -> None:
        self._event_at = when
        self._timer = asyncio.get_running_loop().call_at(when, self._carry)

    def _carry(self) -> None:
        self._timer = None
        carried = 0
        while self.queue and carried < self._link.pacing.packets_per_event:
            # feeding the connection's assembler hands a completed L2CAP PDU to the peer
            self.connection.assembler.feed_packet(self.queue.popleft())
            carried += 1
        self._link.carried += carried
        self._link.busiest_event = max(self._link.busiest_event, carried)
        if carried:
            self.controller.send_hci_packet(
                hci.HCI_Number_Of_Completed_Packets_Event(
                    connection_handles=[self.connection.handle], num_completed_packets=[carried]
                )
            )
        if self.queue:
            # the next event on the grid, even if this one ran late: a busy CPU costs time,
            # not link capacity
            self._arm(self._event_at + self._link.pacing.interval_s)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.queue.clear()


class PacedLink(LocalLink):
    """A LocalLink whose LE ACL data waits for connection events (see the module docstring)."""

    def __init__(self, pacing: LinkPacing) -> None:
        super().__init__()
        self.pacing = pacing
        self._directions: dict[tuple[int, int], _Direction] = {}
        self.carried = 0
        """ACL packets carried, both directions."""
        self.busiest_event = 0
        """Most packets one direction carried in one connection event."""
        self.most_queued = 0
        """Most packets one direction held in its controller at once (at most acl_buffers
        while the hosts honour the credits)."""

    def carry(
        self, controller: Controller, connection: Connection, packet: hci.HCI_AclDataPacket
    ) -> None:
        """A packet the host gave `controller` for `connection`: sent at a later event."""
        key = (id(controller), connection.handle)
        direction = self._directions.get(key)
        if direction is None or direction.connection is not connection:
            if direction is not None:
                direction.stop()
            direction = self._directions[key] = _Direction(self, controller, connection)
        direction.push(packet)
        self.most_queued = max(self.most_queued, len(direction.queue))

    def forget(self, controller: Controller, connection: Connection) -> None:
        """The connection is gone: what it still had queued is never carried."""
        direction = self._directions.pop((id(controller), connection.handle), None)
        if direction is not None:
            direction.stop()

    def stop(self) -> None:
        for direction in self._directions.values():
            direction.stop()
        self._directions.clear()


class PacedController(Controller):
    """A virtual controller whose LE ACL buffers and credits follow its PacedLink."""

    def __init__(
        self, name: str, link: PacedLink, host_source: Any = None, host_sink: Any = None
    ) -> None:
        super().__init__(name, host_source=host_source, host_sink=host_sink, link=link)
        self.paced_link = link
        self.le_acl_data_packet_length = link.pacing.acl_packet_bytes
        self.total_num_le_acl_data_packets = link.pacing.acl_buffers

    def on_hci_acl_data_packet(self, packet: hci.HCI_AclDataPacket) -> None:
        connection = self.find_connection_by_handle(packet.connection_handle)
        if connection is None or connection.transport != PhysicalTransport.LE:
            super().on_hci_acl_data_packet(packet)
            return
        self.paced_link.carry(self, connection, packet)

    def on_le_disconnected(self, connection: Connection, reason: int) -> None:
        self.paced_link.forget(self, connection)
        super().on_le_disconnected(connection, reason)


# --- the controllers process ---------------------------------------------------------------------


async def serve_controllers(
    count: int, pacing: LinkPacing | None, host: str = "127.0.0.1"
) -> tuple[list[str], list[Transport], LocalLink]:
    """`count` controllers on one link, each behind a TCP server; returns their HCI specs."""
    link: LocalLink = LocalLink() if pacing is None else PacedLink(pacing)
    specs: list[str] = []
    transports: list[Transport] = []
    for index in range(count):
        # IPPROTO_TCP named: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
        # so, and with Nagle on, small HCI packets wait for delayed ACKs (tens of ms)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))  # the system picks a free port: no races between runs
        transport = await open_tcp_server_transport_with_socket(sock)
        transports.append(transport)
        name = f"C{index}"
        if isinstance(link, PacedLink):
            PacedController(name, link, host_source=transport.source, host_sink=transport.sink)
        else:
            Controller(name, host_source=transport.source, host_sink=transport.sink, link=link)
        specs.append(f"tcp-client:{host}:{sock.getsockname()[1]}")
    return specs, transports, link


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.sim.ble_link",
        description="Bumble virtual controllers on one (optionally paced) BLE link.",
    )
    parser.add_argument("--controllers", type=int, default=2, metavar="K")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="a named pacing profile")
    parser.add_argument("--interval-ms", type=float, metavar="MS", help="connection interval")
    parser.add_argument("--packets-per-event", type=int, default=4, metavar="N")
    args = parser.parse_args(argv)
    if args.controllers < 1:
        parser.error("--controllers must be at least 1")
    if args.interval_ms is not None and (args.interval_ms <= 0 or args.packets_per_event < 1):
        parser.error("--interval-ms and --packets-per-event must be positive")
    return args


def pacing_from_args(args: argparse.Namespace) -> LinkPacing | None:
    if args.profile is not None:
        return PROFILES[args.profile]
    if args.interval_ms is not None:
        return LinkPacing(args.interval_ms / 1000.0, args.packets_per_event)
    return None


async def _main(args: argparse.Namespace) -> None:
    specs, transports, link = await serve_controllers(args.controllers, pacing_from_args(args))
    for spec in specs:
        print(f"controller {spec}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        if isinstance(link, PacedLink):
            link.stop()
        for transport in transports:
            with contextlib.suppress(Exception):
                await transport.close()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_main(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
