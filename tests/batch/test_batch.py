"""The production batch engine, results log, station mode and `slotwise flash`."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.sim.device import SimConfig
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer
from app.workflows.batch import BatchRunner, BoardEvent, default_connect
from app.workflows.job import JobError, load_job, make_job
from app.workflows.results import CSV_COLUMNS, ResultsLog, read_csv, read_jsonl
from app.workflows.station import Station, job_finder
from tests.waiting import until

Start = Callable[..., Any]


def _write_job(tmp_path: Path, image: Path, key: Path, devices: list[str], extra: str = "") -> Path:
    job = tmp_path / "job.toml"
    job.write_text(
        f"""
[job]
name = "sensor 1.1.0"
image = "{image}"
keys = ["{key}"]
expected_version = "1.1.0"
mode = "test"
concurrency = 4
retries = 0
station = "line 3"
operator = "dana"

[targets]
devices = {devices!r}

[identity]
read = ["os_info"]
{extra}
""".replace("'", '"')
    )
    return job


async def test_one_bad_board_never_disturbs_the_others(
    boards: Start, signed_image: Path, signing_key: Path, tmp_path: Path
) -> None:
    """Four boards: a reset mid-upload resumes and passes, a small slot and a silent board
    fail with their reasons, the healthy one passes; one exact row per board is logged."""
    healthy = await boards()
    resetting = await boards()
    small = await boards(SimConfig(slot_size=16 * 1024))
    silent = await boards()
    resetting.device.reset_at_upload_offset(signed_image.stat().st_size // 2)
    silent.device.stop_answering()
    specs = {
        name: f"udp:{s.address}"
        for name, s in [
            ("healthy", healthy),
            ("resetting", resetting),
            ("small", small),
            ("silent", silent),
        ]
    }
    job = load_job(_write_job(tmp_path, signed_image, signing_key, list(specs.values())))
    report = tmp_path / "results.csv"
    runner = BatchRunner(job, ResultsLog.for_report(report), connect=default_connect(1.0))

    rows = await runner.run(list(specs.values()))

    by_device = {r.device: r for r in rows}
    assert [by_device[specs[n]].result for n in ("healthy", "resetting", "small", "silent")] == [
        "pass",
        "pass",
        "fail",
        "fail",
    ]
    assert by_device[specs["resetting"]].resumes >= 1
    assert resetting.runtime.stats.reboots == 2  # the injected fault, then the test reset
    small_reason = by_device[specs["small"]].failure_reason
    assert "slot" in small_reason and "large" in small_reason
    assert small.device.slots(0)[1].hash is None  # refused before a byte was uploaded
    assert "uploading" not in by_device[specs["small"]].durations_s
    assert by_device[specs["silent"]].failure_reason.startswith("connect: no answer")

    csv_rows = read_csv(report)
    json_rows = read_jsonl(report.with_suffix(".jsonl"))
    assert len(csv_rows) == len(json_rows) == 4
    assert tuple(csv_rows[0].keys()) == CSV_COLUMNS
    image_hash = job.images[0].image_hash.hex()
    factory_hash = healthy.device.slots(0)[1].hash
    for row in csv_rows:
        assert row["station"] == "line 3" and row["operator"] == "dana"
        assert row["job"] == "sensor 1.1.0" and row["mode"] == "test"
        assert row["transport"] == "udp" and row["address"] in row["device"]
        stamp = dt.datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
        assert (
            stamp.tzinfo is not None
            and abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120
        )
        assert float(row["duration_total_s"]) > 0
        if row["result"] == "pass":
            assert row["previous_version"] == "1.0.0"
            assert row["new_version"] == "1.1.0" and row["new_hash"] == image_hash
            assert row["previous_hash"] != image_hash and row["failure_reason"] == ""
            assert "Zephyr" in row["identity"]
            assert float(row["duration_uploading_s"]) > 0
        else:
            assert row["failure_reason"] and row["new_hash"] == ""
    assert factory_hash is not None  # the healthy board now holds the old image in slot 1
    assert json_rows[0]["durations_s"]["total"] > 0


async def test_the_log_is_appended_never_rewritten(
    boards: Start, signed_image: Path, signing_key: Path, tmp_path: Path
) -> None:
    """A second run appends its rows after the first run's, header written once."""
    board = await boards()
    job = make_job(signed_image, [signing_key], mode="none", retries=0)
    report = tmp_path / "log.csv"
    for _ in range(2):
        await BatchRunner(job, ResultsLog(report), connect=default_connect(1.0)).run(
            [f"udp:{board.address}"]
        )
    text = report.read_text()
    assert text.count("timestamp,station") == 1
    assert len(read_csv(report)) == 2


async def test_a_changed_image_file_stops_the_job(
    boards: Start, image_factory: Callable[..., Path], signing_key: Path, tmp_path: Path
) -> None:
    """The image is pinned at load: tampering with it afterwards stops the job unflashed."""
    board = await boards()
    image = image_factory("1.1.0")
    copy = tmp_path / "app.bin"
    copy.write_bytes(image.read_bytes())
    job = make_job(copy, [signing_key], retries=0)
    data = bytearray(copy.read_bytes())
    data[700] ^= 0x01
    copy.write_bytes(bytes(data))
    runner = BatchRunner(job, connect=default_connect(1.0))
    rows = await runner.run([f"udp:{board.address}"])
    assert rows == []
    assert runner.stopped is not None and "changed on disk" in runner.stopped
    assert board.device.slots(0)[1].hash is None


def test_a_job_refuses_an_image_that_does_not_verify(
    image_factory: Callable[..., Path], tmp_path: Path
) -> None:
    """Wrong expected version and a wrong key both stop the job at load, with the reason."""
    image = image_factory("1.1.0")
    other_key = tmp_path / "other.pem"
    subprocess.run(
        [sys.executable, "-m", "imgtool.main", "keygen", "-k", str(other_key), "-t", "ecdsa-p256"],
        check=True,
        capture_output=True,
    )
    with pytest.raises(JobError, match=r"expects 2\.0\.0"):
        make_job(image, [], expected_version="2.0.0")
    with pytest.raises(JobError, match="failed verification"):
        make_job(image, [other_key])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_station_mode_flashes_a_board_that_appears_later(
    boards: Start, signed_image: Path, signing_key: Path, tmp_path: Path
) -> None:
    """A station watching a UDP address flashes the board that starts answering there."""
    port = _free_port()
    job_file = _write_job(tmp_path, signed_image, signing_key, [])
    job_file.write_text(
        job_file.read_text().replace("devices = []", f'devices = []\nudp = ["127.0.0.1:{port}"]')
    )
    job = load_job(job_file)
    runner = BatchRunner(job, connect=default_connect(1.0))
    finder = job_finder(job.targets, timeout_s=0.5)
    scans = 0

    def counting_finder() -> Any:
        nonlocal scans
        scans += 1
        return finder()

    station = Station(runner, counting_finder, poll_s=0.1)
    stop = asyncio.Event()
    watching = asyncio.create_task(station.run(stop))
    await until(lambda: scans >= 2)  # a whole scan of the empty address is done
    assert station.rows == [] and station.counters.in_progress == 0  # nothing there yet
    board: UdpSimServer = await boards(port=port)
    await until(lambda: bool(station.rows), timeout_s=60)
    stop.set()
    await asyncio.wait_for(watching, 30)
    assert [r.result for r in station.rows] == ["pass"]
    assert station.counters.passed == 1 and station.counters.in_progress == 0
    assert board.device.running_version(0) == "1.1.0"


def test_flash_cli_prints_a_line_per_board_and_exits_by_result(
    signed_image: Path, signing_key: Path, tmp_path: Path
) -> None:
    """`slotwise flash FILE --device ...` exits 1 when a board fails, 0 when all pass."""
    from sim_process import free_loopback_host, running_sim

    dead = f"{free_loopback_host()}:9"
    with running_sim("--udp", "127.0.0.1:0", state_dir=tmp_path / "board") as (good, _):
        base = [
            sys.executable,
            "-m",
            "app",
            "--timeout",
            "1",
            "flash",
            str(signed_image),
            "--key",
            str(signing_key),
            "--mode",
            "none",
            "--retries",
            "0",
            "--report",
            str(tmp_path / "r.csv"),
        ]
        mixed = subprocess.run(
            [*base, "--device", f"udp:{good}", "--device", f"udp:{dead}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert mixed.returncode == 1, mixed.stderr
        lines = mixed.stdout.splitlines()
        assert any(line.startswith(f"PASS udp:{good}") for line in lines)
        assert any(line.startswith(f"FAIL udp:{dead}") for line in lines)
        assert lines[-1] == "1 passed, 1 failed"
        alone = subprocess.run(
            [*base, "--device", f"udp:{good}"], capture_output=True, text=True, timeout=120
        )
        assert alone.returncode == 0, alone.stdout + alone.stderr
        assert len(read_csv(tmp_path / "r.csv")) == 3


async def test_every_link_an_attempt_opened_is_closed_even_when_it_fails(
    boards: Start, signed_image: Path, signing_key: Path
) -> None:
    """A link that drops mid-upload (forcing a reconnect) and a board that then fails the
    hash check leave no link open: the first client and the reconnected one are closed."""
    board = await boards(link=LinkModel(rate_bps=60_000))  # slow enough to see progress
    board.device.corrupt_after_upload()
    opened: list[Any] = []
    plain = default_connect(1.0)

    async def recording(spec: str) -> Any:
        client = await plain(spec)
        opened.append(client)
        return client

    def drop_link_once(event: BoardEvent) -> None:
        if event.stage == "uploading" and 0.3 < event.fraction < 1 and len(opened) == 1:
            opened.append(None)  # mark: dropped once
            asyncio.get_running_loop().create_task(opened[0].transport.close())

    job = make_job(signed_image, [signing_key], retries=0)
    runner = BatchRunner(job, connect=recording, on_board=drop_link_once)
    (row,) = await runner.run([f"udp:{board.address}"])
    clients = [c for c in opened if c is not None]
    assert row.result == "fail"
    assert len(clients) >= 2  # the dropped link made the engine reconnect
    assert all(not client.transport.is_open for client in clients)
