"""A running version that is not a version number never skips the downgrade check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.cli import main
from app.sim.device import Reply, SimConfig, SimDevice
from app.smp.header import Header
from app.smp.message import decode_packet, encode_packet
from app.workflows.batch import BatchRunner, default_connect
from app.workflows.job import make_job
from tests.upload.conftest import ImageFactory, ThreadedSim

IMAGE_GROUP, IMAGE_STATE = 1, 0


class GarbledVersionDevice(SimDevice):
    """Lists its running image's version as text that is no version number."""

    def process(self, frame: bytes) -> Reply:
        reply = super().process(frame)
        request = Header.decode(frame)
        if reply.frame is None or (request.group, request.command) != (IMAGE_GROUP, IMAGE_STATE):
            return reply
        header, body = decode_packet(reply.frame)
        for slot in body.get("images", []):
            if slot.get("active"):
                slot["version"] = "release-candidate"
        return dataclasses.replace(reply, frame=encode_packet(header, body))


def _board() -> GarbledVersionDevice:
    return GarbledVersionDevice(SimConfig(slot_size=1024 * 1024, buf_count=4))


def test_cli_refuses_an_unreadable_running_version_unless_allowed(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """upload says the version cannot be compared and stops; --allow-downgrade goes ahead."""
    path = images("1.2.0", 20 * 1024)
    with ThreadedSim(_board()) as sim:
        assert main(["-d", sim.spec, "upload", str(path), "--mode", "none"]) == 1
        err = capsys.readouterr().err.splitlines()[-1]
        assert "'release-candidate', which is not a version number" in err
        assert "--allow-downgrade" in err
        assert sim.device.counters["bytes_written"] == 0
        args = ["-d", sim.spec, "upload", str(path), "--mode", "none", "--allow-downgrade"]
        assert main(args) == 0
        assert sim.device.slots(0)[1].version == "1.2.0"


async def test_a_job_refuses_a_board_whose_version_cannot_be_read(
    images: ImageFactory, tmp_path: Path
) -> None:
    """In production the board fails with the reason; nothing is written to it."""
    from app.sim.serve import UdpSimServer

    device = _board()
    async with UdpSimServer(device) as server:
        job = make_job(images("1.2.0", 20 * 1024), [], mode="none")
        (row,) = await BatchRunner(job, connect=default_connect(2.0)).run([f"udp:{server.address}"])
    assert not row.passed and "not a version number" in row.failure_reason
    assert device.counters["bytes_written"] == 0
