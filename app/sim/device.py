"""The simulated board: slots with MCUboot rules and a handler per SMP command.

Pure and synchronous: `process(frame)` takes one whole SMP request packet and returns a `Reply`;
it never raises, whatever the bytes. Timing (latency, bandwidth, buffers, reboots) belongs to
the servers in serve.py, which read `work_s` and `reboot` from each reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Reply:
    frame: bytes | None
    """The response packet, or None when the device sends nothing (dropped or faulted)."""
    work_s: float = 0.0
    """Time the device is busy before it answers (flash erase and writes)."""
    reboot: bool = False
    """The device resets right after this reply (reset command, or an injected fault)."""


@dataclass(slots=True)
class SimConfig:
    """Everything that makes one simulated device what it is."""

    name: str = "slotwise-sim"
    images: int = 1
    slot_size: int = 512 * 1024
    buf_size: int = 2048
    buf_count: int = 4
    flash_write_bps: float | None = None
    profile: str = "zephyr-modern"
    state_dir: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)


class SimDevice:
    """Filled in by app/sim's device implementation (see the module docstring)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()

    def process(self, frame: bytes) -> Reply:
        raise NotImplementedError

    def reboot(self) -> None:
        raise NotImplementedError
