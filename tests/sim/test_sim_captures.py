"""The zephyr-3.4 profile answers every captured request as the real firmware did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.sim.device import SimConfig, SimDevice
from app.smp.groups.img import ImageUpload
from app.smp.header import Header
from app.smp.message import decode_packet, encode_request

CAPTURE = Path(__file__).parents[1] / "data" / "captures" / "zephyr-3.4-smp_svr-udp.json"
"""The repository's copy of ../shared/captures (real Zephyr 3.4 smp_svr frames)."""
DYNAMIC = {"ticks"}
"""Stat fields that count time on the device, so only their presence is compared."""


def _entries() -> list[dict[str, Any]]:
    return json.loads(CAPTURE.read_text())


def _normalise(value: Any, key: str = "") -> Any:
    """Hashes of different images and time-dependent counters compare equal."""
    if isinstance(value, dict):
        return {k: _normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if key == "hash" and isinstance(value, bytes):
        return f"<{len(value)}-byte hash>"
    if key in DYNAMIC and isinstance(value, int):
        return "<counter>"
    return value


def _fill_upload_gap(device: SimDevice, entries: list[dict[str, Any]], index: int) -> None:
    """Send the chunks the capture elided, so the device reaches the next captured offset."""
    entry = entries[index]
    header, body = decode_packet(bytes.fromhex(entry["request_hex"]))
    if not (header.group == 1 and header.command == 1) or body.get("off", 0) == 0:
        return
    session = device.upload
    assert session is not None
    off, seq = session.off, 200
    while off < body["off"] and off == session.off:
        size = min(1024, body["off"] - off)
        seq = (seq + 1) % 256
        device.process(encode_request(ImageUpload(off=off, data=bytes([off % 251]) * size), seq))
        off += size


@pytest.fixture(scope="module")
def replies() -> list[tuple[dict[str, Any], Header, dict[str, Any]]]:
    """Each capture entry with the simulator's decoded answer, replayed in capture order."""
    device = SimDevice(
        SimConfig(profile="zephyr-3.4", buf_size=1536, buf_count=2, slot_size=0x40000)
    )
    entries = _entries()
    out = []
    for index, entry in enumerate(entries):
        if entry["name"] == "image upload chunk":
            _fill_upload_gap(device, entries, index)
        reply = device.process(bytes.fromhex(entry["request_hex"]))
        assert reply.frame is not None, entry["name"]
        header, body = decode_packet(reply.frame)
        out.append((entry, header, body))
    return out


@pytest.mark.parametrize("index", range(len(_entries())), ids=[e["name"] for e in _entries()])
def test_capture_entry(
    replies: list[tuple[dict[str, Any], Header, dict[str, Any]]], index: int
) -> None:
    """The simulator's reply to this captured request has the captured header and body."""
    entry, header, body = replies[index]
    want_header, want_body = decode_packet(bytes.fromhex(entry["response_hex"]))
    assert (header.op, header.version, header.group, header.command, header.sequence) == (
        want_header.op,
        want_header.version,
        want_header.group,
        want_header.command,
        want_header.sequence,
    )
    assert _normalise(body) == _normalise(want_body)
