"""`slotwise verify FILE`: the local image verdict (issue 3 fills this in)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Nothing yet: image verification lands with app/image."""
