"""Typed SMP messages and the packet codec. Pure: no I/O.

Every command is a pair of frozen dataclasses: a `Request` subclass that names its group,
command, op and reply type, and a `Response`. One generic converter maps dataclass fields to
CBOR keys in both directions (field name, or `key=` metadata for names like "no-downgrade"),
so client and simulator share one definition of each message.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import (
    Any,
    ClassVar,
    Generic,
    Self,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from app.errors import DecodeError
from app.smp.codec import decode_body, encode_body, encode_body_zcbor
from app.smp.errors import error_from_body
from app.smp.header import HEADER_SIZE, Header, Op, Version

T = TypeVar("T")


def key(name: str, **kwargs: Any) -> Any:
    """A dataclass field whose CBOR key differs from its Python name."""
    return dataclasses.field(metadata={"key": name}, **kwargs)


@dataclasses.dataclass(frozen=True)
class Struct:
    """A CBOR map with typed fields; base of requests, responses and nested entries.

    Not slotted: `Request.__init_subclass__` registers the class object that @dataclass keeps.
    """

    def to_body(self) -> dict[str, Any]:
        """The CBOR map; fields that are None are left out."""
        body: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                body[f.metadata.get("key", f.name)] = _to_cbor(value)
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Self:
        """Build from a decoded map: unknown keys ignored, missing optional fields defaulted.

        Raises DecodeError when a required field is missing or a value has the wrong type.
        """
        hints = _hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            cbor_key = f.metadata.get("key", f.name)
            if cbor_key in body:
                where = f"{cls.__name__}.{cbor_key}"
                values[f.name] = _from_cbor(body[cbor_key], hints[f.name], where)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{cls.__name__}: required field {cbor_key!r} is missing")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Response(Struct):
    """A successful reply body."""


R = TypeVar("R", bound=Response)


@dataclasses.dataclass(frozen=True)
class Request(Struct, Generic[R]):
    """A request body, generic over its reply: `class Echo(Request[EchoResponse])`.

    Subclasses set GROUP, COMMAND and OP; RESPONSE is taken from the type argument, so the
    reply type is written once and `await client.request(Echo(d="hi"))` is typed EchoResponse.
    """

    GROUP: ClassVar[int]
    COMMAND: ClassVar[int]
    OP: ClassVar[Op]
    RESPONSE: ClassVar[type[Response]]
    ALSO_OPS: ClassVar[tuple[Op, ...]] = ()
    """Other ops a server accepts for this command (echo answers both read and write)."""
    REGISTER: ClassVar[bool] = True
    """False for a second reading of a command another class defines (a different reply
    type for the same request): servers keep decoding the first."""
    KEEP_DUPLICATE_KEYS: ClassVar[bool] = False
    """The reply may repeat a map key (codec.MapEntries): decode it keeping every entry."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Request:
                (cls.RESPONSE,) = get_args(base)
        if "OP" in cls.__dict__ and cls.REGISTER:  # concrete request: register for servers
            if not isinstance(getattr(cls, "RESPONSE", None), type):
                raise TypeError(f"{cls.__name__} must name its reply: Request[SomeResponse]")
            for op in (cls.OP, *cls.ALSO_OPS):
                _REGISTRY[(cls.GROUP, cls.COMMAND, op)] = cls

    def decode_response(self, header: Header, body: Mapping[str, Any]) -> R:
        """The typed reply, or DeviceError when the body carries an error."""
        error = error_from_body(body, group=self.GROUP, command=self.COMMAND)
        if error is not None:
            raise error
        # RESPONSE is the class's type argument R (set in __init_subclass__), so this holds.
        return cast(R, self.RESPONSE.from_body(body))


_REGISTRY: dict[tuple[int, int, Op], type[Request[Any]]] = {}


def request_class(group: int, command: int, op: Op) -> type[Request[Any]] | None:
    """The request type a server should decode for this header, if the protocol defines one."""
    return _REGISTRY.get((group, command, op))


def all_request_classes() -> list[type[Request[Any]]]:
    """Every request type once (echo is registered under both read and write)."""
    return list(dict.fromkeys(_REGISTRY.values()))


def encode_packet(header: Header, body: Mapping[str, Any], *, zcbor: bool = False) -> bytes:
    """Header (with its length filled in) followed by the canonical CBOR body (or, with
    `zcbor`, the body as Zephyr writes it: see codec.encode_body_zcbor)."""
    payload = encode_body_zcbor(dict(body)) if zcbor else encode_body(dict(body))
    if len(payload) > 0xFFFF:
        raise ValueError(f"SMP body of {len(payload)} bytes exceeds the 16-bit length field")
    return dataclasses.replace(header, length=len(payload)).encode() + payload


def encode_request(request: Request, sequence: int, version: int = Version.V2) -> bytes:
    header = Header(
        op=request.OP,
        group=request.GROUP,
        command=request.COMMAND,
        sequence=sequence,
        version=version,
    )
    return encode_packet(header, request.to_body())


def decode_packet(data: bytes, *, keep_duplicates: bool = False) -> tuple[Header, dict[str, Any]]:
    """Split one whole packet into header and body; raises only DecodeError."""
    header = Header.decode(data)
    body = data[HEADER_SIZE:]
    if len(body) != header.length:
        raise DecodeError(f"SMP header declares {header.length} body bytes but {len(body)} arrived")
    return header, decode_body(body, keep_duplicates=keep_duplicates)


def decode_reply(request: Request[R], data: bytes) -> R:
    """Decode a whole reply packet to `request`'s response type (or raise DeviceError)."""
    header, body = decode_packet(data, keep_duplicates=request.KEEP_DUPLICATE_KEYS)
    return request.decode_response(header, body)


# --- the generic converter -------------------------------------------------------------------

_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        # localns={} keeps a field's default out of name lookup: FileHash's `type = None`
        # would otherwise turn `ClassVar[type[Response]]` into `None[Response]`.
        _HINTS[cls] = get_type_hints(cls, localns={})
    return _HINTS[cls]


def _to_cbor(value: Any) -> Any:
    if isinstance(value, Struct):
        return value.to_body()
    if isinstance(value, list | tuple):
        return [_to_cbor(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_cbor(v) for k, v in value.items()}
    return value


def _from_cbor(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _from_cbor(value, option, where)
            except DecodeError as exc:
                errors.append(str(exc))
        raise DecodeError("; ".join(errors))
    if hint is Any:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise DecodeError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = get_args(hint)
        return [_from_cbor(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected a map, got {type(value).__name__}")
        _, item = get_args(hint)
        return {k: _from_cbor(v, item, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Struct):
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected a map, got {type(value).__name__}")
        return hint.from_body(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise DecodeError(f"{where}: expected a boolean, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DecodeError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint in (str, bytes):
        if not isinstance(value, hint):
            raise DecodeError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
        return value
    raise TypeError(f"unsupported field type {hint!r} at {where}")  # a bug in a definition
