"""The root of every error Slotwise raises on purpose.

Each subsystem raises a subclass with one sentence a technician can act on; the CLI and GUI
show ``str(err)`` and never a traceback for these.
"""


class SlotwiseError(Exception):
    """Base of all expected failures."""


class TransportError(SlotwiseError):
    """The link to the device failed (closed, unplugged, unreachable)."""


class TransportClosed(TransportError):
    """The link dropped or was closed while a request was waiting."""


class TransportRefused(TransportClosed):
    """The host said nothing listens where the device should be (UDP: ICMP port unreachable),
    so the request never reached a device."""


class TransportTimeout(TransportError, TimeoutError):
    """The device did not answer in time."""


class ProtocolError(SlotwiseError):
    """Bytes from the device did not form a valid SMP message."""


class DecodeError(ProtocolError):
    """Bytes that are not a valid SMP header, CBOR body or message of the expected shape."""
