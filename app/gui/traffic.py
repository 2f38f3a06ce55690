"""SMP packets as readable text for the log drawer's traffic view. Pure: no Qt, no I/O."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.errors import DecodeError
from app.smp.codec import decode_body
from app.smp.header import Header, group_name
from app.smp.text import render_value


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One packet as the client's `on_traffic` hook saw it."""

    at: float
    direction: str
    frame: bytes

    @classmethod
    def now(cls, direction: str, frame: bytes) -> TrafficRecord:
        return cls(time.time(), direction, bytes(frame))


def describe_frame(direction: str, frame: bytes) -> str:
    """`tx img #3 write cmd 1 {off: 0, data: <2000 bytes>}` — header fields, then the body."""
    arrow = "\u2192" if direction == "tx" else "\u2190"
    try:
        header = Header.decode(frame)
    except DecodeError as exc:
        return f"{arrow} undecodable {len(frame)}-byte packet: {exc}"
    op = header.op.name.lower().replace("_rsp", " reply")
    head = (
        f"{arrow} {group_name(header.group)} cmd {header.command} {op} "
        f"seq {header.sequence} ({header.length} B)"
    )
    try:
        body = decode_body(frame[8 : 8 + header.length])
    except DecodeError as exc:
        return f"{head} <bad CBOR: {exc}>"
    return f"{head} {render_value(body)}"
