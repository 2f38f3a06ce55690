"""A small JSON Schema validator for the keywords docs/report.schema.json uses.

Covers type, const, enum, properties, required, additionalProperties, propertyNames, items,
anyOf, $ref (local #/$defs), pattern and minimum; an unknown keyword is an error, so the schema
cannot quietly use something this validator skips.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs"}


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation of `schema` by `instance`, as "path: problem" strings."""
    errors: list[str] = []
    _check(instance, schema, schema, "$", errors)
    return errors


def _check(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str, errors: list[str]
) -> None:
    for keyword, rule in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        checker = _KEYWORDS.get(keyword)
        if checker is None:
            raise ValueError(f"schema keyword {keyword!r} at {path} is not supported")
        checker(value, rule, schema, root, path, errors)


def _type(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    names = rule if isinstance(rule, list) else [rule]
    if not any(_TYPES[name](value) for name in names):
        errors.append(f"{path}: {value!r} is not of type {names}")


def _const(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if value != rule or type(value) is not type(rule):
        errors.append(f"{path}: {value!r} is not {rule!r}")


def _enum(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if not any(value == r and type(value) is type(r) for r in rule):
        errors.append(f"{path}: {value!r} is not one of {rule}")


def _properties(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for name, sub in rule.items():
            if name in value:
                _check(value[name], sub, root, f"{path}.{name}", errors)


def _required(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        errors.extend(f"{path}: missing {name!r}" for name in rule if name not in value)


def _additional(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if not isinstance(value, dict):
        return
    known = set(schema.get("properties", {}))
    for name, item in value.items():
        if name in known:
            continue
        if rule is False:
            errors.append(f"{path}: unexpected key {name!r}")
        elif isinstance(rule, dict):
            _check(item, rule, root, f"{path}.{name}", errors)


def _property_names(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for name in value:
            _check(name, rule, root, f"{path} key {name!r}", errors)


def _items(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, rule, root, f"{path}[{index}]", errors)


def _any_of(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    for option in rule:
        trial: list[str] = []
        _check(value, option, root, path, trial)
        if not trial:
            return
    errors.append(f"{path}: {value!r} matches none of the allowed shapes")


def _ref(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if not rule.startswith("#/$defs/"):
        raise ValueError(f"only local $defs references are supported, not {rule!r}")
    _check(value, root["$defs"][rule.removeprefix("#/$defs/")], root, path, errors)


def _pattern(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if isinstance(value, str) and re.search(rule, value) is None:
        errors.append(f"{path}: {value!r} does not match {rule!r}")


def _minimum(value, rule, schema, root, path, errors):  # type: ignore[no-untyped-def]
    if _TYPES["number"](value) and value < rule:
        errors.append(f"{path}: {value!r} is below {rule}")


_KEYWORDS = {
    "type": _type,
    "const": _const,
    "enum": _enum,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "propertyNames": _property_names,
    "items": _items,
    "anyOf": _any_of,
    "$ref": _ref,
    "pattern": _pattern,
    "minimum": _minimum,
}
