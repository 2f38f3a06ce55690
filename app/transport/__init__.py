"""Byte movers: UDP, serial and BLE. `open_transport` imports a transport only when used."""

from __future__ import annotations

from app.transport.base import LinkInfo, Transport


def open_transport(spec: str) -> Transport:
    """A transport for a device spec: udp:HOST[:PORT], serial:PORT[@BAUD], ble:ADDRESS_OR_NAME.

    Raises ValueError with a sentence when the spec is malformed or the link kind unknown.
    """
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise ValueError(
            f"device {spec!r} must look like udp:HOST[:PORT], "
            "serial:PORT[@BAUD] or ble:ADDRESS_OR_NAME"
        )
    kind = kind.lower()
    if kind == "udp":
        from app.transport.udp import UdpTransport

        return UdpTransport.from_address(rest)
    if kind == "serial":
        from app.transport import serial

        return serial.transport_from_spec(rest)  # type: ignore[no-any-return]
    if kind == "ble":
        from app.transport import ble

        return ble.transport_from_spec(rest)  # type: ignore[no-any-return]
    raise ValueError(f"unknown link {kind!r} in {spec!r}: use udp, serial or ble")


__all__ = ["LinkInfo", "Transport", "open_transport"]
