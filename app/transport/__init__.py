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
        return _ble_transport(rest)
    raise ValueError(f"unknown link {kind!r} in {spec!r}: use udp, serial or ble")


def _ble_transport(text: str) -> Transport:
    """BLE through bleak (the OS's Bluetooth), or through Bumble on a dedicated HCI dongle.

    Chosen here rather than in ble.py so that ble.py, which ble_bumble.py builds on, never
    imports the Bumble backend back.
    """
    from app.transport.ble import BleakScannerAdapter, BleTransport, bleak_client, parse_ble_spec

    options = parse_ble_spec(text)
    if options.hci is not None:
        from app.transport.ble_bumble import bumble_transport

        return bumble_transport(options)
    return BleTransport(options, client_factory=bleak_client, scanner=BleakScannerAdapter())


__all__ = ["LinkInfo", "Transport", "open_transport"]
