"""Fixtures for the simulated device: a bench around a fresh board, and test images."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sim_helpers import Bench

from app.sim.device import SimConfig, SimDevice
from app.sim.mcuboot import build_image


@pytest.fixture
def make_bench() -> Callable[..., Bench]:
    """A factory of benches around fresh devices; keyword arguments go to SimConfig."""

    def make(**config: object) -> Bench:
        config.setdefault("slot_size", 128 * 1024)
        return Bench(SimDevice(SimConfig(**config)))  # type: ignore[arg-type]

    return make


@pytest.fixture
def bench(make_bench: Callable[..., Bench]) -> Bench:
    """A modern-Zephyr board running its factory 1.0.0 image, secondary slot empty."""
    return make_bench()


@pytest.fixture
def new_image() -> bytes:
    """A valid MCUboot image, version 1.2.3, about 6 KB."""
    return build_image("1.2.3", bytes(range(256)) * 24)
