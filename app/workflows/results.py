"""The production results log: one row per device attempt, in CSV and JSON Lines.

Rows are appended and flushed to disk (fsync) as each attempt finishes; an existing log is
never rewritten, so a crash loses at most the rows still in flight. Each row goes to the JSON
Lines file first, then the CSV: a process killed in between leaves the JSONL one row ahead,
and the next `ResultsLog` on the same files appends the missing CSV rows (or, for a log
written by an older version in the other order, the missing JSONL rows) before anything else,
so the two files always end up holding the same rows. A JSONL line cut off mid-write is not
a row: that incomplete tail is dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.text import device_text

CSV_FIELD_CHARS = 2000
"""Longest CSV cell; a device's text beyond it is cut (the JSON Lines row keeps it all)."""
STAGES = ("connect", "identify", "checking", "uploading", "resetting", "waiting")
"""Stages timed per attempt; the CSV has one duration column for each, plus the total."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One device attempt, as the log records it."""

    timestamp: str
    """UTC, ISO 8601, when the attempt finished."""
    station: str
    operator: str
    job: str
    device: str
    """The device spec (udp:HOST:PORT, serial:PORT, ble:ADDRESS)."""
    transport: str
    address: str
    identity: dict[str, str] = field(default_factory=dict)
    barcode: str = ""
    previous_version: str = ""
    previous_hash: str = ""
    new_version: str = ""
    new_hash: str = ""
    mode: str = ""
    result: str = "fail"
    """"pass" or "fail"."""
    failure_reason: str = ""
    attempt: int = 1
    retries: int = 0
    """Requests resent during the upload (timeouts, ENOMEM, rewinds)."""
    resumes: int = 0
    durations_s: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.result == "pass"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_csv(self) -> dict[str, str]:
        flat = {
            name: value
            for name, value in asdict(self).items()
            if name not in ("identity", "durations_s")
        }
        flat["identity"] = json.dumps(self.identity, sort_keys=True) if self.identity else ""
        for stage in (*STAGES, "total"):
            seconds = self.durations_s.get(stage)
            flat[f"duration_{stage}_s"] = "" if seconds is None else f"{seconds:.3f}"
        # Device text (versions, reasons, identity) cannot forge cells or act on a viewer.
        return {k: device_text(v, limit=CSV_FIELD_CHARS) for k, v in flat.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultRow:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_csv(cls, flat: dict[str, str]) -> ResultRow:
        """A row read back from the CSV (the inverse of `to_csv`)."""
        durations = {
            stage: float(flat[f"duration_{stage}_s"])
            for stage in (*STAGES, "total")
            if flat.get(f"duration_{stage}_s")
        }
        text = {
            f.name: flat.get(f.name, "")
            for f in fields(cls)
            if f.name not in ("identity", "durations_s", "attempt", "retries", "resumes")
        }
        return cls(
            **text,
            identity=json.loads(flat["identity"]) if flat.get("identity") else {},
            attempt=int(flat.get("attempt") or 1),
            retries=int(flat.get("retries") or 0),
            resumes=int(flat.get("resumes") or 0),
            durations_s=durations,
        )


CSV_COLUMNS = (
    "timestamp",
    "station",
    "operator",
    "job",
    "device",
    "transport",
    "address",
    "identity",
    "barcode",
    "previous_version",
    "previous_hash",
    "new_version",
    "new_hash",
    "mode",
    "result",
    "failure_reason",
    "attempt",
    "retries",
    "resumes",
    *(f"duration_{s}_s" for s in (*STAGES, "total")),
)


class ResultsLog:
    """Appends rows to a CSV file, a JSON Lines file, or both."""

    def __init__(self, csv_path: Path | None = None, jsonl_path: Path | None = None) -> None:
        self.csv_path = csv_path
        self.jsonl_path = jsonl_path
        self._reconciled = False

    @classmethod
    def for_report(cls, path: Path) -> ResultsLog:
        """`results.csv` also writes `results.jsonl` beside it, and the other way round."""
        if path.suffix.lower() in (".jsonl", ".json"):
            return cls(path.with_suffix(".csv"), path)
        return cls(path, path.with_suffix(".jsonl"))

    def append(self, row: ResultRow) -> None:
        if not self._reconciled:
            self.reconcile()
        if self.jsonl_path is not None:  # first: the file a killed run leaves one row ahead
            self._append_jsonl(self.jsonl_path, row)
        if self.csv_path is not None:
            self._append_csv(self.csv_path, row)

    def reconcile(self) -> None:
        """Make the CSV and the JSON Lines file hold the same rows after a killed run."""
        self._reconciled = True
        if self.csv_path is None or self.jsonl_path is None:
            return
        json_rows = _complete_jsonl_rows(self.jsonl_path)
        csv_rows = read_csv(self.csv_path) if self.csv_path.exists() else []
        for data in json_rows[len(csv_rows) :]:
            self._append_csv(self.csv_path, ResultRow.from_json(data))
        for flat in csv_rows[len(json_rows) :]:
            self._append_jsonl(self.jsonl_path, ResultRow.from_csv(flat))

    @staticmethod
    def _append_jsonl(path: Path, row: ResultRow) -> None:
        line = json.dumps(row.to_json(), sort_keys=True, ensure_ascii=False) + "\n"
        _append_durably(path, line.encode("utf-8"))

    @staticmethod
    def _append_csv(path: Path, row: ResultRow) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
        if not path.exists() or path.stat().st_size == 0:
            writer.writeheader()
        writer.writerow(row.to_csv())
        _append_durably(path, text.getvalue().encode("utf-8"))


def _append_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines log; an incomplete last line (a write cut off) is removed."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        os.truncate(path, len(complete))
    return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
