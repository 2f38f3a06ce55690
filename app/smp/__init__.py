"""The Simple Management Protocol itself: header, CBOR bodies, groups, errors.

Pure: no I/O and no asyncio, so the client and the simulator share every encoder and decoder.
"""

from app.errors import DecodeError
from app.smp.codec import decode_body
from app.smp.errors import DeviceError, MgmtErr
from app.smp.header import HEADER_SIZE, Group, Header, Op, Version
from app.smp.message import (
    Request,
    Response,
    decode_packet,
    encode_packet,
    encode_request,
    request_class,
)

__all__ = [
    "HEADER_SIZE",
    "DecodeError",
    "DeviceError",
    "Group",
    "Header",
    "MgmtErr",
    "Op",
    "Request",
    "Response",
    "Version",
    "decode_body",
    "decode_packet",
    "encode_packet",
    "encode_request",
    "request_class",
]
