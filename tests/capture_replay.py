"""Real firmware's own bytes on a real UDP socket: a peer that answers each request with the
reply Zephyr 3.4 gave the same request in a capture (tests/data/captures).

A request is matched by op, group, command and decoded body, and answered with the first
captured reply to it, its sequence number set to the request's. A request the capture never
saw is answered only where the capture shows the firmware's rule: a group missing from the
build answers `rc 8` to every command (the capture's "unknown group 77" reply), and a command
all of whose captured replies are the same error gets that error. Anything else is not
answered, as a device that drops a packet.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from pathlib import Path
from typing import Any

from app.smp.codec import decode_body
from app.smp.header import HEADER_SIZE, Header

CAPTURES = Path(__file__).parent / "data" / "captures"
BUILDS = ("stock", "fast", "full")
"""The whole-session captures: zephyr-3.4-{build}.json."""


def load_session(build: str) -> dict[str, Any]:
    return json.loads((CAPTURES / f"zephyr-3.4-{build}.json").read_text())  # type: ignore[no-any-return]


def exchange_pairs(session: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """Every single (request, reply) pair of a session; bursts and the upload's elided final
    request are left out."""
    pairs = []
    for entry in session["exchanges"]:
        request, reply = entry["request_hex"], entry["response_hex"]
        if isinstance(request, str) and isinstance(reply, str):
            pairs.append((bytes.fromhex(request), bytes.fromhex(reply)))
    return pairs


def _key(packet: bytes) -> tuple[int, int, int, str] | None:
    try:
        header = Header.decode(packet)
        body = decode_body(packet[HEADER_SIZE:])
    except Exception:  # an undecodable captured request (the malformed-CBOR probe)
        return None
    return (int(header.op), header.group, header.command, json.dumps(body, default=repr))


class CaptureReplayServer:
    """Answers UDP requests on 127.0.0.1 from one capture; runs on a thread of its own."""

    def __init__(self, build: str) -> None:
        self._answers: dict[tuple[int, int, int, str], bytes] = {}
        self._by_command: dict[tuple[int, int], set[bytes]] = {}
        self._missing_group: bytes | None = None
        for request, reply in exchange_pairs(load_session(build)):
            key = _key(request)
            if key is None:
                continue
            self._answers.setdefault(key, reply)
            self._by_command.setdefault((key[1], key[2]), set()).add(reply[HEADER_SIZE:])
            if key[1] == 77:
                self._missing_group = reply[HEADER_SIZE:]
        self._groups = {group for group, _ in self._by_command}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="capture-replay")
        self.unanswered: list[bytes] = []

    @property
    def spec(self) -> str:
        host, port = self._sock.getsockname()
        return f"udp:{host}:{port}"

    def __enter__(self) -> CaptureReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def answer(self, request: bytes) -> bytes | None:
        """The captured reply to `request` with its sequence number, or None."""
        key = _key(request)
        if key is None:
            return None
        reply = self._answers.get(key)
        if reply is None:
            body = self._fallback(key[1], key[2])
            if body is None:
                return None
            reply = bytes([request[0] | 1]) + bytes(request[1:HEADER_SIZE]) + body
            reply = reply[:2] + len(body).to_bytes(2, "big") + reply[4:]
        return reply[:6] + request[6:7] + reply[7:]

    def _fallback(self, group: int, command: int) -> bytes | None:
        if group not in self._groups:
            return self._missing_group
        bodies = self._by_command.get((group, command), set())
        if len(bodies) == 1:
            (body,) = bodies
            if decode_body(body).get("rc"):  # only an error is generalised, never a value
                return body
        return None

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.05)
            if not ready:
                continue
            request, peer = self._sock.recvfrom(65536)
            reply = self.answer(request)
            if reply is None:
                self.unanswered.append(request)
            else:
                self._sock.sendto(reply, peer)
