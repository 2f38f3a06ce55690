"""A device (or its recovery bootloader) that lies to the multi-reads and the recovery flow:
device words are shown neutralised, impossible numbers are not shown as facts, and a lie
about the buffer is bounded by --timeout."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import cbor2
import pytest

from app.cli import main
from app.sim.device import Reply, SimConfig, SimDevice
from app.smp.header import Group, Header, Op
from app.smp.message import encode_packet
from tests.upload.conftest import ImageFactory, ThreadedSim
from tests.upload.test_cli_upload import one_error_line

HOSTILE = "n\x1b[2J\r\nslotwise: forged\u202e"


class LyingDevice(SimDevice):
    """Answers the commands in `lies` ((group, command) -> body) itself; the rest as the
    simulator does."""

    def __init__(self, config: SimConfig, lies: dict[tuple[int, int], Any]) -> None:
        super().__init__(config)
        self.lies = lies

    def process(self, frame: bytes) -> Reply:
        request = Header.decode(frame)
        lie = self.lies.get((request.group, request.command))
        if lie is None or (request.group == Group.IMAGE and request.op is not Op.READ):
            return super().process(frame)
        op = Op.READ_RSP if request.op is Op.READ else Op.WRITE_RSP
        body = lie(cbor2.loads(frame[8:])) if callable(lie) else lie
        return Reply(encode_packet(dataclasses.replace(request, op=op), body))


def test_a_failed_statistics_group_is_one_safe_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A group name and an `rsn` with escape sequences and CR/LF reached stderr raw: one
    failed group forged dozens of `slotwise:` lines."""

    def read(body: dict[str, Any]) -> dict[str, Any]:
        if body["name"] == HOSTILE:
            return {"rc": 6, "rsn": HOSTILE * 50}
        return {"name": body["name"], "fields": {"ok": 1}}

    lies = {(Group.STAT, 1): {"stat_list": [HOSTILE, "fine"]}, (Group.STAT, 0): read}
    with ThreadedSim(LyingDevice(SimConfig(), lies)) as sim:
        code = main(["-d", sim.spec, "stats"])
    captured = capsys.readouterr()
    assert code == 0 and "fine" in captured.out
    line = one_error_line(captured.err)
    assert "\x1b" not in captured.err and "\r" not in captured.err and "\u202e" not in line
    assert line.startswith("slotwise: statistics group n\\x1b[2J\\r\\n")


def test_negative_task_counters_are_not_shown_as_facts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Negative stack words made `4611686018427387904/-12 B -38430716820228227072%`."""
    task = {"prio": -1, "tid": 7, "state": 0, "stksiz": -3, "stkuse": 2**60, "cswcnt": -7}
    lies = {(Group.OS, 2): {"tasks": {"liar": task | {"runtime": -1}}}}
    with ThreadedSim(LyingDevice(SimConfig(), lies)) as sim:
        assert main(["-d", sim.spec, "tasks"]) == 0
        table = capsys.readouterr().out
        assert main(["-d", sim.spec, "tasks", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
    assert "%" not in table and "-12" not in table and "-7" not in table
    assert rows[0]["prio"] == -1  # a cooperative thread's priority is negative: kept
    for field in ("stack_size_bytes", "context_switches", "runtime"):
        assert rows[0][field] is None


def in_recovery(lies: dict[tuple[int, int], Any]) -> LyingDevice:
    device = LyingDevice(SimConfig(slot_size=1024 * 1024, recovery="mcuboot-recovery"), lies)
    device.corrupt_slot(0)
    return device


def test_recovery_info_shows_a_listed_version_safely(capsys: pytest.CaptureFixture[str]) -> None:
    lies = {(Group.IMAGE, 0): {"images": [{"image": 0, "slot": 0, "version": HOSTILE}]}}
    with ThreadedSim(in_recovery(lies), serial=True) as sim:
        assert main(["-d", sim.spec, "info"]) == 0
    out = capsys.readouterr().out
    assert "MCUboot serial recovery" in out
    assert "\x1b" not in out and "\r" not in out and "\nslotwise: forged" not in out
    assert "slot 0 n\\x1b[2J\\r\\nslotwise: forged" in out


def test_recover_bounds_a_lying_buffer_by_the_timeout(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recovery claiming a 1 TiB buffer gets requests it never answers; `--timeout 1` was
    ignored and the stall waited the upload's default 60 s."""
    path = images("1.3.0", 20 * 1024)
    lies = {(Group.OS, 6): {"buf_size": 2**40, "buf_count": 1}}
    with ThreadedSim(in_recovery(lies), serial=True) as sim:
        argv = ["-d", sim.spec, "--timeout", "1", "recover", str(path)]
        assert main([*argv, "--key", str(images.public_key)]) == 1
    assert "for 1 s" in one_error_line(capsys.readouterr().err)


class LyingUploadRecovery(SimDevice):
    """A board in serial recovery that answers its third upload chunk with `answer`."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(SimConfig(slot_size=1024 * 1024, recovery="mcuboot-recovery"))
        self.corrupt_slot(0)
        self.answer = answer
        self.chunks = 0

    def process(self, frame: bytes) -> Reply:
        request = Header.decode(frame)
        if request.group == Group.IMAGE and request.command == 1 and request.op is Op.WRITE:
            self.chunks += 1
            if self.chunks >= 3:
                header = dataclasses.replace(request, op=Op.WRITE_RSP)
                return Reply(encode_packet(header, self.answer))
        return super().process(frame)


@pytest.mark.parametrize("answer", [{"off": -1}, {"off": 10**30}, {}, {"rc": 99, "rsn": HOSTILE}])
def test_a_recovery_failing_mid_write_says_the_slot_is_partly_written(
    images: ImageFactory, capsys: pytest.CaptureFixture[str], answer: dict[str, Any]
) -> None:
    """The recovery writes straight into the primary slot: its failure said only "the upload
    stopped at 4% and nothing was marked", which reads as "nothing changed"."""
    path = images("1.3.0", 20 * 1024)
    with ThreadedSim(LyingUploadRecovery(answer), serial=True) as sim:
        argv = ["-d", sim.spec, "--timeout", "1", "recover", str(path)]
        assert main([*argv, "--key", str(images.public_key)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "partly written" in line and "run recover again" in line and "\x1b" not in line
