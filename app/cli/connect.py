"""Opening the device named by `--device` for a CLI command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from app.cli.options import answer_timeout_s
from app.client import SmpClient
from app.errors import SlotwiseError
from app.transport import open_transport


class UsageError(SlotwiseError):
    """The command line itself is wrong (exit status 2)."""


@contextlib.asynccontextmanager
async def connected(args: argparse.Namespace) -> AsyncIterator[SmpClient]:
    """A connected client for `args.device`, closed on exit."""
    if not args.device:
        raise UsageError(
            "this command needs a device: -d udp:HOST[:PORT], "
            "-d serial:PORT[@BAUD] or -d ble:ADDRESS_OR_NAME"
        )
    try:
        transport = open_transport(args.device)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    async with SmpClient(transport, timeout_s=answer_timeout_s(args)) as client:
        yield client


Action = Callable[[SmpClient, argparse.Namespace], Awaitable[int]]
"""A command body that talks to the connected device and returns the exit status."""


def with_client(action: Action) -> Callable[[argparse.Namespace], int]:
    """An argparse `func` that connects to `--device`, runs `action`, and closes the link."""

    def run(args: argparse.Namespace) -> int:
        async def main() -> int:
            async with connected(args) as client:
                return await action(client, args)

        return asyncio.run(main())

    return run
