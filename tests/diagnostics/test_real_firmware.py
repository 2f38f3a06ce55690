"""What Slotwise shows for real Zephyr 3.4 firmware, driven by the firmware's own captured
bytes (tests/capture_replay.py) on a real UDP socket: every thread of a task map whose keys
repeat, every statistics group beside one too large for the buffer, and a missing group said
once, in words."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest
from capture_replay import CaptureReplayServer

from app.cli import main
from app.client import SmpClient
from app.transport import open_transport
from app.workflows.diagnostics import read_snapshot


@pytest.fixture(params=["stock", "fast"])
def replay(request: pytest.FixtureRequest) -> Iterator[CaptureReplayServer]:
    """A build without thread names, answering with its captured bytes."""
    with CaptureReplayServer(str(request.param)) as server:
        yield server


def run(capsys: pytest.CaptureFixture[str], spec: str, *argv: str) -> tuple[int, str, str]:
    code = main(["-d", spec, "--timeout", "3", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_tasks_shows_every_thread_and_its_state_in_words(
    capsys: pytest.CaptureFixture[str], replay: CaptureReplayServer
) -> None:
    """Ten threads keyed by repeated priorities are ten rows, each state spelled out."""
    code, out, _ = run(capsys, replay.spec, "tasks", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 10
    assert Counter(r["name"] for r in rows) == {"-1": 4, "0": 3, "-2": 1, "3": 1, "15": 1}
    assert sorted(r["tid"] for r in rows) == list(range(10))
    states = {r["tid"]: r["state_text"] for r in rows}
    assert (states[0], states[1], states[5], states[8]) == (
        "queued",
        "pending",
        "suspended",
        "ready",
    )
    code, out, _ = run(capsys, replay.spec, "tasks")
    assert code == 0 and len(out.strip().splitlines()) == 11 and "suspended" in out


def test_stats_shows_the_groups_beside_one_too_large(
    capsys: pytest.CaptureFixture[str], replay: CaptureReplayServer
) -> None:
    """flash_sim_stats answers EMSGSIZE: it is named with its reason, the others are shown."""
    code, out, err = run(capsys, replay.spec, "stats")
    assert code == 0
    assert "flash_sim_thresholds" in out and "max_write_calls" in out
    assert "smp_svr_stats" in out and "ticks" in out
    assert "flash_sim_stats" not in out
    (line,) = err.strip().splitlines()
    assert "flash_sim_stats" in line and "does not fit" in line
    code, out, _ = run(capsys, replay.spec, "stats", "--json")
    doc = json.loads(out)
    assert set(doc["groups"]) == {"flash_sim_thresholds", "smp_svr_stats"}
    assert set(doc["failed"]) == {"flash_sim_stats"}


async def test_snapshot_keeps_the_stats_groups_that_read(replay: CaptureReplayServer) -> None:
    """The report's snapshot has both readable groups and one error naming the third."""
    async with SmpClient(open_transport(replay.spec), timeout_s=3.0) as client:
        snap = await read_snapshot(client)
    assert snap.stats.ok and snap.stats.value is not None
    assert set(snap.stats.value.groups) == {"flash_sim_thresholds", "smp_svr_stats"}
    assert set(snap.stats.value.failed) == {"flash_sim_stats"}
    assert [e for e in snap.errors if "flash_sim_stats" in e]
    assert snap.tasks.value is not None and len(snap.tasks.value) == 10


def test_info_says_a_missing_group_once(
    capsys: pytest.CaptureFixture[str], replay: CaptureReplayServer
) -> None:
    """Without bootloader info, info says so once, in words."""
    code, out, _ = run(capsys, replay.spec, "info")
    assert code == 0
    (line,) = [x for x in out.splitlines() if x.startswith("bootloader")]
    assert line == "bootloader  not reported (this firmware has no bootloader info)"
    assert "not supported by this firmware" not in out
    assert "not in this firmware" in out  # os info and only once on its line
    assert out.count("not in this firmware") == 1


@pytest.mark.parametrize("profile", ["zephyr-3.4"])
@pytest.mark.parametrize("kind", ["udp"])
def test_erasing_an_empty_slot_says_it_is_empty(
    capsys: pytest.CaptureFixture[str], sim_spec: str
) -> None:
    """Zephyr 3.4 answers rc 1 to erasing an empty slot 1; the slot list is read first."""
    code, out, err = run(capsys, sim_spec, "erase")
    assert (code, out.strip(), err) == (0, "slot 1 is already empty: nothing to erase", "")


def test_preflight_names_a_bootloader_that_is_not_reported() -> None:
    """A firmware without bootloader info gets one plain sentence in the plan."""
    from app.client.sizing import DeviceBuffers
    from app.smp.groups.img import ImageSlot
    from app.workflows.update import UpdateOptions, describe_plan
    from app.workflows.update_types import DeviceState

    slot = ImageSlot(slot=0, version="1.0.0", hash=bytes(32), active=True, confirmed=True)
    state = DeviceState(DeviceBuffers(2048, 2, reported=True), (slot,))
    first = describe_plan(state, [], UpdateOptions())[0]
    assert first == (
        "The device does not report its bootloader (no bootloader info in its firmware)."
    )
