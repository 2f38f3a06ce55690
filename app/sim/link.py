"""The link and buffer model applied per packet by the simulator's servers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkModel:
    """How a simulated device's link behaves.

    Defaults are a fast, lossless loopback so tests run quickly; profiles and the CLI set
    realistic values.
    """

    latency_s: float = 0.0
    """One-way delay added to every packet in each direction."""
    rate_bps: float | None = None
    """Bytes per second in each direction (None: unlimited)."""
    loss: float = 0.0
    """Probability that a packet is lost, applied independently in each direction."""
    mtu: int = 1500
    """Largest datagram the link carries (UDP) or ATT MTU (BLE)."""
    seed: int | None = None
    """Seed for loss decisions, so a test can replay a loss pattern."""
