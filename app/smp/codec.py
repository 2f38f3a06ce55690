"""CBOR bodies: exactly one map with text keys (spec digest §2). Pure: no I/O.

Requests are encoded canonically (as the `smp` package does) so encoders agree byte for byte;
both definite and indefinite-length replies (zcbor) decode. `encode_body_zcbor` writes the
way Zephyr's zcbor does (indefinite maps and arrays, keys in the order given), for simulator
profiles that must answer byte for byte like real firmware. A map whose keys repeat (Zephyr's
task map without thread names) survives `decode_body(..., keep_duplicates=True)` as
`MapEntries`.
"""

from __future__ import annotations

import io
from typing import Any

import cbor2

from app.errors import DecodeError

_MAX_DEPTH = 16
"""Zephyr limits nesting far below this; deeper input is hostile or corrupt."""


class MapEntries(tuple[tuple[str, Any], ...]):
    """A CBOR map as its (key, value) entries in wire order: keys may repeat."""

    __slots__ = ()


def encode_body(body: dict[str, Any]) -> bytes:
    return cbor2.dumps(body, canonical=True)


def encode_body_zcbor(body: dict[str, Any] | MapEntries) -> bytes:
    """`body` as Zephyr's zcbor writes it: maps and arrays of indefinite length, keys in the
    order given (MapEntries may repeat them), scalars in their shortest form."""
    out = bytearray()
    _write_zcbor(out, body)
    return bytes(out)


def _write_zcbor(out: bytearray, value: Any) -> None:
    if isinstance(value, dict | MapEntries):
        out.append(0xBF)
        for k, v in value.items() if isinstance(value, dict) else value:
            _write_zcbor(out, k)
            _write_zcbor(out, v)
        out.append(0xFF)
    elif isinstance(value, list | tuple):
        out.append(0x9F)
        for item in value:
            _write_zcbor(out, item)
        out.append(0xFF)
    else:
        out += cbor2.dumps(value)


def plain_maps(value: Any) -> Any:
    """`value` with every MapEntries turned into a dict (the last of a repeated key wins, as
    in a plain decode), for encoders that cannot write a repeated key."""
    if isinstance(value, MapEntries):
        return {k: plain_maps(v) for k, v in value}
    if isinstance(value, dict):
        return {k: plain_maps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_maps(v) for v in value]
    return value


def _reject_tag(_decoder: object, tag: object) -> object:
    raise DecodeError("CBOR tags are not used by SMP")


def decode_body(data: bytes, *, keep_duplicates: bool = False) -> dict[str, Any]:
    """One CBOR map with text keys and nothing after it; anything else raises DecodeError.

    With `keep_duplicates`, a nested map whose keys repeat comes back as MapEntries (every
    entry, in order) instead of a dict that keeps only the last value of each key.
    """
    if not data:
        raise DecodeError("empty SMP body (expected a CBOR map)")
    if keep_duplicates:
        return _decode_keeping_duplicates(data)
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


# --- a small decoder that keeps repeated map keys ----------------------------------------------
# cbor2 builds a dict for every map, so a repeated key silently keeps its last value. Used only
# for replies known to repeat keys (task statistics without CONFIG_THREAD_NAME), so its speed
# does not matter; it accepts what SMP bodies use and nothing else.


def _decode_keeping_duplicates(data: bytes) -> dict[str, Any]:
    reader = _Reader(data)
    value = reader.item(0)
    if reader.at != len(data):
        raise DecodeError(f"{len(data) - reader.at} stray bytes after the CBOR body")
    if isinstance(value, MapEntries):
        raise DecodeError("the SMP body map repeats a key")
    if not isinstance(value, dict):
        raise DecodeError(f"SMP body is a CBOR {type(value).__name__}, not a map")
    return value


_BREAK = object()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def _take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise DecodeError("malformed CBOR body: truncated")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def _argument(self, info: int) -> int | None:
        """The head's argument; None for indefinite length (info 31)."""
        if info < 24:
            return info
        if info == 31:
            return None
        if info > 27:
            raise DecodeError(f"malformed CBOR body: reserved additional info {info}")
        return int.from_bytes(self._take(1 << (info - 24)), "big")

    def item(self, depth: int, allow_break: bool = False) -> Any:
        if depth > _MAX_DEPTH:
            raise DecodeError("CBOR body nested too deeply")
        (initial,) = self._take(1)
        major, info = initial >> 5, initial & 0x1F
        if initial == 0xFF:
            if allow_break:
                return _BREAK
            raise DecodeError("malformed CBOR body: unexpected break")
        if major == 7:
            return self._simple(info)
        count = self._argument(info)
        if major in (0, 1):
            if count is None:
                raise DecodeError("malformed CBOR body: indefinite integer")
            return count if major == 0 else -1 - count
        if major in (2, 3):
            return self._string(major, count, depth)
        if major == 4:
            return self._array(count, depth)
        if major == 5:
            return self._map(count, depth)
        raise DecodeError("CBOR tags are not used by SMP")

    def _simple(self, info: int) -> Any:
        simple: dict[int, Any] = {20: False, 21: True, 22: None}
        if info in simple:
            return simple[info]
        if info in (25, 26, 27):
            size = 1 << (info - 24)
            return cbor2.loads(bytes([0xE0 | info]) + self._take(size))
        raise DecodeError(f"unexpected CBOR simple value {info}")

    def _string(self, major: int, count: int | None, depth: int) -> str | bytes:
        if count is None:
            parts = []
            while (part := self.item(depth + 1, allow_break=True)) is not _BREAK:
                parts.append(part)
            raw = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
        else:
            raw = self._take(count)
        if major == 2:
            return raw
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise DecodeError(f"malformed CBOR body: {exc}") from exc

    def _array(self, count: int | None, depth: int) -> list[Any]:
        items: list[Any] = []
        while count is None or len(items) < count:
            item = self.item(depth + 1, allow_break=count is None)
            if item is _BREAK:
                break
            items.append(item)
        return items

    def _map(self, count: int | None, depth: int) -> dict[str, Any] | MapEntries:
        entries: list[tuple[str, Any]] = []
        while count is None or len(entries) < count:
            key = self.item(depth + 1, allow_break=count is None)
            if key is _BREAK:
                break
            if not isinstance(key, str):
                raise DecodeError(f"CBOR map key {key!r} is not text")
            entries.append((key, self.item(depth + 1)))
        keys = {k for k, _ in entries}
        return dict(entries) if len(keys) == len(entries) else MapEntries(entries)
