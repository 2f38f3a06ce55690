"""The results log: what a PASS row records, and CSV and JSON Lines agreeing after a kill."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.workflows.batch import BatchRunner, default_connect
from app.workflows.job import make_job
from app.workflows.results import ResultRow, ResultsLog, read_csv, read_jsonl

Start = Callable[..., Any]


def _row(device: str, version: str = "1.1.0", **extra: Any) -> ResultRow:
    return ResultRow(
        timestamp="2026-12-05T16:00:00Z",
        station="line 3",
        operator="dana",
        job="sensor",
        device=device,
        transport="udp",
        address=device.removeprefix("udp:"),
        identity={"os_info": "Zephyr"},
        new_version=version,
        result="pass",
        durations_s={"connect": 0.25, "total": 1.5},
        **extra,
    )


async def test_mode_none_pass_rows_record_what_was_flashed(
    boards: Start, signed_image: Path, signing_key: Path, tmp_path: Path
) -> None:
    """--mode none lists no new slot, yet its PASS row names the version and hash uploaded."""
    board = await boards()
    job = make_job(signed_image, [signing_key], mode="none")
    report = tmp_path / "results.csv"
    runner = BatchRunner(job, ResultsLog.for_report(report), connect=default_connect(2.0))
    (row,) = await runner.run([f"udp:{board.address}"])
    assert row.passed, row.failure_reason
    assert row.new_version == "1.1.0"
    assert row.new_hash == job.images[0].image_hash.hex()
    (logged,) = read_csv(report)
    assert (logged["new_version"], logged["new_hash"]) == ("1.1.0", row.new_hash)


def test_a_run_killed_between_the_two_files_is_repaired_on_the_next_start(
    tmp_path: Path,
) -> None:
    """JSONL is written first; the next log on the same files appends the CSV row it lacks."""
    report = tmp_path / "results.csv"
    ResultsLog.for_report(report).append(_row("udp:a"))
    killed = _row("udp:b")  # written to the JSON Lines file only, then the process died
    with report.with_suffix(".jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(killed.to_json()) + "\n")
        f.write('{"timestamp": "2026-12-05T16:0')  # and a third row cut off mid-write

    ResultsLog.for_report(report).append(_row("udp:c"))

    csv_rows, json_rows = read_csv(report), read_jsonl(report.with_suffix(".jsonl"))
    assert [r["device"] for r in csv_rows] == ["udp:a", "udp:b", "udp:c"]
    assert [r["device"] for r in json_rows] == ["udp:a", "udp:b", "udp:c"]
    assert ResultRow.from_csv(csv_rows[1]) == killed


def test_an_older_log_ahead_in_csv_gets_its_json_lines_row(tmp_path: Path) -> None:
    """A log written CSV-first by an older version and killed: the JSONL row is rebuilt."""
    report = tmp_path / "results.csv"
    log = ResultsLog(csv_path=report)
    log.append(_row("udp:a"))
    log.append(_row("udp:b", previous_version="1.0.0"))  # CSV only
    ResultsLog.for_report(report).reconcile()
    json_rows = read_jsonl(report.with_suffix(".jsonl"))
    assert [ResultRow.from_json(r) for r in json_rows] == [
        _row("udp:a"),
        _row("udp:b", previous_version="1.0.0"),
    ]


def test_device_text_in_a_csv_row_cannot_forge_cells_or_lines(tmp_path: Path) -> None:
    """A version with an escape sequence and a line break is stored as visible escapes."""
    report = tmp_path / "results.csv"
    ResultsLog.for_report(report).append(_row("udp:a", version="1.1.0\x1b[2J\r\nforged,row"))
    (logged,) = read_csv(report)
    assert logged["new_version"] == "1.1.0\\x1b[2J\\r\\nforged,row"
    assert report.read_text(encoding="utf-8").count("\n") == 2  # header and one row
