"""The pre-flight's independent reads go together, as many as the device has buffers for."""

from __future__ import annotations

import pytest

from app.sim.device import SimDevice, profile_config
from app.smp.header import Header
from app.workflows.update import read_device_state
from tests.upload.conftest import serve


def _pattern(traffic: list[tuple[str, bytes]]) -> str:
    """'t' per request sent, 'r' per reply received, in order."""
    return "".join(direction[0] for direction, _ in traffic)


@pytest.mark.parametrize(
    ("profile", "pattern"),
    [
        ("zephyr-3.4-fast", "tr" + "tttt" + "rrrr"),  # 8 buffers: params, then four together
        ("zephyr-3.4-stock", "tr" * 5),  # 2 buffers: one at a time (a second would be refused)
    ],
)
async def test_reads_after_params_go_together(profile: str, pattern: str) -> None:
    """Params first, then bootloader name, mode, slot info and image state in one round trip
    where the device has the buffers; the state read is the same either way."""
    device = SimDevice(profile_config(profile, slot_size=1024 * 1024))
    async with serve("udp", device) as rig:
        client = await rig.connect()
        traffic: list[tuple[str, bytes]] = []
        client.on_traffic = lambda direction, frame: traffic.append((direction, frame))
        state = await read_device_state(client)
    assert _pattern(traffic) == pattern
    assert {Header.decode(f).command for d, f in traffic if d == "tx"} >= {0, 6}
    assert state.buffers.buf_count == device.config.buf_count
    assert [s.version for s in state.slots] == ["1.0.0"]
