"""Opening the device named by `--device` for a CLI command."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

from app.client import SmpClient
from app.errors import SlotwiseError
from app.transport import open_transport


class UsageError(SlotwiseError):
    """The command line itself is wrong (exit status 2)."""


@contextlib.asynccontextmanager
async def connected(args: argparse.Namespace) -> AsyncIterator[SmpClient]:
    """A connected client for `args.device`, closed on exit."""
    if not args.device:
        raise UsageError("this command needs a device: -d udp:HOST[:PORT], "
                         "-d serial:PORT[@BAUD] or -d ble:ADDRESS_OR_NAME")
    try:
        transport = open_transport(args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    async with SmpClient(transport, timeout_s=args.timeout) as client:
        yield client
