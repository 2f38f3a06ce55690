"""Hypothesis strategies for SMP messages, built from the dataclass field types.

Shared by the tests in tests/smp (importable because pytest puts this directory on sys.path).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Any, Union, get_args, get_origin, get_type_hints

from hypothesis import strategies as st

import app.smp.groups  # noqa: F401  (registers every request type)
from app.smp.groups.os import MemoryPoolStatsResponse
from app.smp.message import Request, Response, Struct, all_request_classes

CBOR_INT = st.integers(min_value=-(2**63), max_value=2**64 - 1)
"""Integers CBOR carries without bignum tags (major types 0 and 1)."""

SHORT_TEXT = st.text(max_size=12)

cbor_leaf = st.one_of(
    st.none(),
    st.booleans(),
    CBOR_INT,
    st.text(max_size=20),
    st.binary(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
)
"""Any scalar a CBOR body may hold after decode_body."""

cbor_tree = st.recursive(
    cbor_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(SHORT_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
"""Nested lists/maps of scalars with text keys: the shapes decode_body can return."""

cbor_map = st.dictionaries(SHORT_TEXT, cbor_tree, max_size=6)


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """Values of the Python type `hint` as used in Struct fields."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy_for(option) for option in get_args(hint)))
    if hint is type(None):
        return st.none()
    if hint is Any:
        return cbor_tree
    if origin is list:
        (item,) = get_args(hint)
        return st.lists(strategy_for(item), max_size=3)
    if origin is dict:
        _, item = get_args(hint)
        return st.dictionaries(SHORT_TEXT, strategy_for(item), max_size=3)
    if origin is tuple:
        return st.tuples(*(strategy_for(item) for item in get_args(hint)))
    if isinstance(hint, type) and issubclass(hint, Struct):
        return struct_strategy(hint)
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: CBOR_INT,
        str: st.text(max_size=40),
        bytes: st.binary(max_size=64),
        float: st.floats(allow_nan=False, allow_infinity=False),
    }
    return scalars[hint]


@functools.cache
def struct_strategy(cls: type[Struct]) -> st.SearchStrategy[Any]:
    """Instances of a Struct subclass with every field (optional ones too) generated."""
    if cls is MemoryPoolStatsResponse:
        # Its map is keyed by pool name; a pool called "rc" or "err" would read as an error
        # reply, which no firmware produces (spec digest §6.0.3).
        names = SHORT_TEXT.filter(lambda name: name not in ("rc", "err"))
        from app.smp.groups.os import MemoryPool

        return st.builds(cls, pools=st.dictionaries(names, struct_strategy(MemoryPool), max_size=3))
    hints = get_type_hints(cls, localns={})  # a field named `type` shadows the builtin
    kwargs = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.builds(cls, **kwargs)


def request_classes() -> list[type[Request]]:
    """Every registered request type once (echo is registered under two ops)."""
    return list(dict.fromkeys(all_request_classes()))


def response_classes() -> list[type[Response]]:
    """Every response type some request expects, once."""
    return list(dict.fromkeys(cls.RESPONSE for cls in request_classes()))
