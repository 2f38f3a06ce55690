"""Argument types shared by the subcommands: a bad number is a usage error (exit 2) at parse
time, with the same ranges the job file and the workflows accept."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built before any command's code is imported
    from app.client.upload import UploadOptions

ANSWER_TIMEOUT_S = 5.0
"""How long to wait for each answer when --timeout is not given."""


def answer_timeout_s(args: argparse.Namespace) -> float:
    """The global --timeout, or the default wait for one answer."""
    return float(args.timeout) if args.timeout is not None else ANSWER_TIMEOUT_S


def upload_waits(args: argparse.Namespace, options: UploadOptions) -> UploadOptions:
    """`options` with every wait for the device bounded by an explicit --timeout.

    Without it an upload keeps its own, longer patience for a stall (a first chunk waits for
    the slot's erase); with it, no single wait for the device outlasts what the user asked.
    """
    if args.timeout is None:
        return options
    return replace(
        options,
        stall_timeout_s=args.timeout,
        max_timeout_s=min(args.timeout, options.max_timeout_s),
        first_timeout_s=min(args.timeout, options.first_timeout_s),
    )


def positive_seconds(text: str) -> float:
    """A duration in seconds, more than 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def positive_number(text: str) -> float:
    """A rate or size, more than 0."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def non_negative_number(text: str) -> float:
    """A delay that may be 0."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number from `low` to `high` (no upper bound when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"must be a whole number, {bound}, not {value}")
        return value

    return parse


def existing_file(text: str) -> Path:
    """A file named on the command line: missing or unreadable is a usage error (exit 2)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text} cannot be read (permission denied)")
    return path


def existing_directory(text: str) -> Path:
    """A directory named on the command line (a key store)."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is not a directory" if path.exists() else f"{text} does not exist"
        )
    return path


def add_unproven_image_flags(p: argparse.ArgumentParser, verb: str, note: str = "") -> None:
    """The explicit yeses for images whose contents the policy cannot prove (its ASK findings):
    one wording for upload, flash and fleet, the flag names from the policy itself."""
    from app.workflows.preflight import YES_FLAGS, CheckKind

    p.add_argument(
        YES_FLAGS[CheckKind.CLEAR_PAYLOAD],
        action="store_true",
        help=f"{verb} an image made with imgtool sign --clear (flagged encrypted, stored in "
        f"clear), meant for the primary slot: a bootloader with encryption rejects it{note}",
    )
    p.add_argument(
        YES_FLAGS[CheckKind.ENCRYPTED_UNPROVEN],
        action="store_true",
        help=f"{verb} an encrypted image whose signature verifies although its contents cannot "
        f"be checked without the decryption key (the bootloader checks them after decryption)"
        f"{note}",
    )
