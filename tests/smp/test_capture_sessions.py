"""The decoder against whole captured sessions of real Zephyr 3.4 builds (stock, fast, full).

Every captured request decodes to its typed Request, whose encoding carries the same body;
every captured reply decodes to that request's typed Response or a DeviceError with a
sentence, and the one broken reply (a bare stale header on the full build) is a DecodeError.
"""

from __future__ import annotations

from typing import Any

import pytest
from capture_replay import BUILDS, load_session

import app.smp.groups  # noqa: F401  (registers every request type)
from app.errors import DecodeError
from app.smp.codec import decode_body
from app.smp.errors import DeviceError, error_from_body
from app.smp.header import HEADER_SIZE, Header
from app.smp.message import Response, decode_reply, request_class


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"bytes"}:
            return bytes.fromhex(value["bytes"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _singles(build: str) -> list[dict[str, Any]]:
    return [
        e
        for e in load_session(build)["exchanges"]
        if isinstance(e["request_hex"], str) and isinstance(e["response_hex"], str)
    ]


CASES = [(build, e["name"]) for build in BUILDS for e in _singles(build)]


@pytest.mark.parametrize(("build", "name"), CASES)
def test_captured_exchange_decodes(build: str, name: str) -> None:
    """The request decodes to its type with the same body; the reply to a value or an error."""
    entry = next(e for e in _singles(build) if e["name"] == name)
    request_bytes = bytes.fromhex(entry["request_hex"])
    reply = bytes.fromhex(entry["response_hex"])
    header = Header.decode(request_bytes)
    cls = request_class(header.group, header.command, header.op)
    try:
        body = decode_body(request_bytes[HEADER_SIZE:])
    except DecodeError:
        body = None  # the malformed-CBOR probe
    if cls is None or body is None:
        err = error_from_body(decode_body(reply[HEADER_SIZE:]), group=0, command=0)
        assert err is not None and err.rc in (3, 8)
        return
    request = cls.from_body(body)
    assert request.to_body() == body
    if len(reply) == HEADER_SIZE:  # the full build's stale header: no body ever comes
        with pytest.raises(DecodeError):
            decode_reply(request, reply)
        return
    assert Header.decode(reply).sequence == header.sequence
    assert decode_body(reply[HEADER_SIZE:]) == _plain(entry["response"])
    try:
        decoded = decode_reply(request, reply)
    except DeviceError as exc:
        assert exc.rc == _plain(entry["response"])["rc"] and str(exc)
        return
    assert isinstance(decoded, Response)
    for duplicated in entry.get("duplicate_keys") or ():
        assert len(decoded.tasks) == duplicated["entries"]
