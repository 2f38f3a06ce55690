"""Which DDI controller id a device gets: one template over what the device tells.

A template is text with fields in braces; `|` inside braces gives fallbacks, tried in order:

    {platform}-{setting:device/serial|usb_serial|ble|address}     (the default)

Fields: `platform` (OS info `i`, the board), `node` (OS info `n`), `ble` (the BLE address),
`usb_serial` (the USB serial number of the serial port), `address` (the link address as
given, e.g. `udp-127.0.0.1-1337`), `setting:NAME` (a settings value the firmware keeps, read
as UTF-8 text). The result keeps letters, digits and `. _ - :`; anything else becomes `-`.
CLI, GUI and production jobs all call `controller_id()`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.fleet.ddi import FleetError

DEFAULT_TEMPLATE = "{platform}-{setting:device/serial|usb_serial|ble|address}"
MAX_CONTROLLER_ID = 128
"""gooseBit keeps 255 characters, hawkBit 256; stay well inside both."""

_FIELD = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")
_NAMES = ("platform", "node", "ble", "usb_serial", "address")


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What a device (and its link) tells about who it is; None where it tells nothing."""

    platform: str | None = None
    node: str | None = None
    ble: str | None = None
    usb_serial: str | None = None
    address: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)

    def value(self, name: str) -> str | None:
        if name.startswith("setting:"):
            return self.settings.get(name.removeprefix("setting:"))
        if name in _NAMES:
            value: str | None = getattr(self, name)
            return value
        raise FleetError(
            f"unknown controller-id field {{{name}}}; use {', '.join(_NAMES)} or setting:NAME"
        )


def setting_names(template: str) -> list[str]:
    """The settings a template may read (so only those are asked of the device)."""
    names = []
    for match in _FIELD.finditer(template):
        for choice in match.group(1).split("|"):
            if choice.startswith("setting:"):
                names.append(choice.removeprefix("setting:"))
    return names


def controller_id(template: str, facts: DeviceFacts) -> str:
    """Render `template` over `facts`.

    Raises:
        FleetError: a field is unknown, or none of a field's choices has a value.
    """
    if not template.strip():
        raise FleetError("the controller-id template is empty")

    def fill(match: re.Match[str]) -> str:
        choices = match.group(1).split("|")
        for choice in choices:
            value = facts.value(choice.strip())
            if value:
                return value
        raise FleetError(
            f"the device tells none of {{{match.group(1)}}}, so the controller id "
            f"{template!r} cannot be made; type one with --controller-id"
        )

    return clean_controller_id(_FIELD.sub(fill, template))


def clean_controller_id(text: str) -> str:
    cleaned = _UNSAFE.sub("-", text.strip()).strip("-")
    if not cleaned:
        raise FleetError(f"{text!r} leaves no usable controller id")
    if len(cleaned) > MAX_CONTROLLER_ID:
        raise FleetError(f"the controller id is longer than {MAX_CONTROLLER_ID} characters")
    return cleaned
