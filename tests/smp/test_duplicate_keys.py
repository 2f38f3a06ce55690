"""The duplicate-preserving decode: equal to the plain decode where no key repeats, and every
entry kept where one does (Zephyr 3.4's task map, captured)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from smp_values import cbor_map

from app.errors import DecodeError
from app.smp.codec import MapEntries, decode_body, encode_body, encode_body_zcbor
from app.smp.groups import os
from app.smp.message import decode_reply

CAPTURES = Path(__file__).parents[1] / "data" / "captures"


@settings(max_examples=300, deadline=None)
@given(body=cbor_map)
def test_keeping_duplicates_changes_nothing_without_them(body: dict[str, Any]) -> None:
    """Canonical and zcbor encodings of any map decode the same with and without the option."""
    for data in (encode_body(body), encode_body_zcbor(body)):
        assert decode_body(data, keep_duplicates=True) == decode_body(data)


@pytest.mark.parametrize("data", [b"\xbf\x61", b"\xa1\x01\x02", b"\xc1\x00", b"\x9f\xff", b""])
def test_bad_bodies_are_decode_errors(data: bytes) -> None:
    """Truncated maps, integer keys, tags and non-maps raise DecodeError only."""
    with pytest.raises(DecodeError):
        decode_body(data, keep_duplicates=True)


@pytest.mark.parametrize("build", ["stock", "fast"])
def test_captured_task_map_keeps_all_ten_threads(build: str) -> None:
    """The captured reply's ten entries survive, in order; a plain decode shows five."""
    session = json.loads((CAPTURES / f"zephyr-3.4-{build}.json").read_text())
    entry = next(e for e in session["exchanges"] if e["name"] == "os taskstat")
    reply = bytes.fromhex(entry["response_hex"])
    assert len(decode_body(reply[8:])["tasks"]) == 5
    tasks = decode_body(reply[8:], keep_duplicates=True)["tasks"]
    assert isinstance(tasks, MapEntries) and len(tasks) == 10
    decoded = decode_reply(os.TaskStats(), reply)
    assert isinstance(decoded, os.TaskStatsResponse)
    assert [info.tid for _, info in decoded.tasks] == list(range(10))
    assert [name for name, _ in decoded.tasks].count("-1") == 4
    assert encode_body_zcbor(os.TaskStatsResponse(tasks=decoded.tasks).to_body()) == reply[8:]


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (0, "ready"),
        (2, "pending"),
        (16, "suspended"),
        (128, "queued"),
        (0x112, "pending, suspended, 0x100"),
    ],
)
def test_thread_state_words(state: int, words: str) -> None:
    """Zephyr's thread_state bits read as words; unknown bits stay visible in hex."""
    assert os.thread_state_words(state) == words
