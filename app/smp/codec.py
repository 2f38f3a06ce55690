"""CBOR bodies: exactly one map with text keys (spec digest §2). Pure: no I/O.

Requests are encoded canonically (as the `smp` package does) so encoders agree byte for byte;
both definite and indefinite-length replies (zcbor) decode.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

from app.errors import DecodeError

_MAX_DEPTH = 16
"""Zephyr limits nesting far below this; deeper input is hostile or corrupt."""


def encode_body(body: dict[str, Any]) -> bytes:
    return cbor2.dumps(body, canonical=True)


def _reject_tag(_decoder: object, tag: object) -> object:
    raise DecodeError("CBOR tags are not used by SMP")


def decode_body(data: bytes) -> dict[str, Any]:
    """One CBOR map with text keys and nothing after it; anything else raises DecodeError."""
    if not data:
        raise DecodeError("empty SMP body (expected a CBOR map)")
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream, tag_hook=_reject_tag).decode()
    except DecodeError:
        raise
    except Exception as exc:  # cbor2 raises many types on hostile input; this is the boundary
        raise DecodeError(f"malformed CBOR body: {exc}") from exc
    if stream.tell() != len(data):
        raise DecodeError(f"{len(data) - stream.tell()} stray bytes after the CBOR body")
    if not isinstance(value, dict):
        raise DecodeError(f"SMP body is a CBOR {type(value).__name__}, not a map")
    _check_tree(value, 0)
    return value


def _check_tree(value: object, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise DecodeError("CBOR body nested too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodeError(f"CBOR map key {key!r} is not text")
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)
    elif not isinstance(value, str | bytes | int | float | bool) and value is not None:
        raise DecodeError(f"unexpected CBOR value of type {type(value).__name__}")
