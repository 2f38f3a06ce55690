"""The diagnostic bundle: one zip with report.json (docs/report-schema.md), report.html for
people, traffic.log (the session's SMP packets) and the files pulled from the device.

`TrafficRecorder` plugs into `SmpClient(on_traffic=...)`. `collect_report()` reads everything
(async, on the client's loop); `write_bundle()` only writes the zip. No Qt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
import zipfile
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import __version__
from app.client import SmpClient
from app.errors import DecodeError, SlotwiseError
from app.smp.codec import decode_body
from app.smp.header import HEADER_SIZE, Header, group_name
from app.smp.text import render_value
from app.workflows import fs_transfer
from app.workflows.diagnostics import (
    FEATURE_TITLE,
    OS_INFO_FIELDS,
    DiagnosticSnapshot,
    Feature,
    Reading,
    StatsReadout,
    now,
    read_snapshot,
    read_stats,
)
from app.workflows.findings import Finding, find, findings_json

log = logging.getLogger(__name__)

SCHEMA_ID = "https://slotwise.invalid/report.schema.json"
SCHEMA_VERSION = 1
MAX_TRAFFIC_FRAMES = 50_000
"""A long session keeps its newest frames; older ones are counted as dropped."""


@dataclass(frozen=True, slots=True)
class TrafficFrame:
    at: dt.datetime
    direction: str
    frame: bytes


class TrafficRecorder:
    """Keeps every SMP packet of a session; call it as the client's `on_traffic` hook."""

    def __init__(self, max_frames: int = MAX_TRAFFIC_FRAMES) -> None:
        self.frames: deque[TrafficFrame] = deque(maxlen=max_frames)
        self.dropped = 0

    def __call__(self, direction: str, frame: bytes) -> None:
        self.add(now(), direction, frame)

    def add(self, at: dt.datetime, direction: str, frame: bytes) -> None:
        """Record a packet seen earlier (the GUI's traffic tap hands them over in batches)."""
        if len(self.frames) == self.frames.maxlen:
            self.dropped += 1
        self.frames.append(TrafficFrame(at, direction, bytes(frame)))

    def render(self) -> str:
        """One line per packet: time, direction, decoded header and body, then the hex."""
        lines = [
            f"# SMP traffic recorded by slotwise {__version__}; "
            f"{len(self.frames)} frames, {self.dropped} older frames dropped"
        ]
        lines += [describe_frame(f) for f in list(self.frames)]
        return "\n".join(lines) + "\n"


def describe_frame(item: TrafficFrame) -> str:
    stamp = item.at.isoformat(timespec="microseconds")
    try:
        header = Header.decode(item.frame)
    except DecodeError as exc:
        return f"{stamp} {item.direction} undecodable ({exc}) {item.frame.hex()}"
    try:
        body: object = decode_body(item.frame[HEADER_SIZE:])
    except DecodeError as exc:
        body = f"<bad CBOR: {exc}>"
    text = render_value(body)
    if len(text) > 300:
        text = text[:300] + "..."
    return (
        f"{stamp} {item.direction} {header.op.name} {group_name(header.group)}"
        f"({header.group}) cmd {header.command} seq {header.sequence} "
        f"len {header.length} {text} | {item.frame.hex()}"
    )


@dataclass(frozen=True, slots=True)
class PulledFile:
    path: str
    pulled_at: dt.datetime
    data: bytes | None = None
    error: str | None = None
    archive_name: str | None = None
    """Where the bytes are in the zip: files/<path with unsafe characters replaced>."""


def archive_name(path: str, taken: set[str]) -> str:
    """A zip member name for a device path that cannot escape files/ nor collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "_", path.strip("/")).strip("._") or "file"
    name, n = f"files/{safe}", 1
    while name in taken:
        n += 1
        name = f"files/{safe}.{n}"
    taken.add(name)
    return name


@dataclass(frozen=True, slots=True)
class Report:
    snapshot: DiagnosticSnapshot
    generated_at: dt.datetime
    files: tuple[PulledFile, ...] = ()
    traffic: TrafficRecorder | None = None
    client_stats: dict[str, int] = field(default_factory=dict)
    extra_errors: tuple[str, ...] = ()
    device_name: str | None = None
    stats_later: StatsReadout | None = None
    """The statistics read again after everything else (findings: counters that grew)."""

    @property
    def errors(self) -> tuple[str, ...]:
        """Every read or pull that failed: what "N errors noted" counts (CLI, GUI, report)."""
        return self.snapshot.errors + self.extra_errors

    def findings(self) -> list[Finding]:
        pulled = [f.path for f in self.files if f.data is not None]
        return find(self.snapshot, stats_later=self.stats_later, pulled_files=pulled)


async def pull_files(client: SmpClient, paths: Sequence[str]) -> tuple[PulledFile, ...]:
    """Download each path; a missing file becomes an entry with its error, not a failure."""
    pulled = []
    taken: set[str] = set()
    for path in paths:
        try:
            data = await fs_transfer.download(client, path)
            pulled.append(
                PulledFile(path, now(), data=data, archive_name=archive_name(path, taken))
            )
        except SlotwiseError as exc:
            pulled.append(PulledFile(path, now(), error=str(exc)))
    return tuple(pulled)


async def collect_report(
    client: SmpClient,
    *,
    pull: Sequence[str] = (),
    traffic: TrafficRecorder | None = None,
    snapshot: DiagnosticSnapshot | None = None,
    device_name: str | None = None,
) -> Report:
    """Read everything the device can tell (or use `snapshot`), then pull the chosen files."""
    snapshot = snapshot or await read_snapshot(client)
    files = await pull_files(client, pull)
    stats_later = None
    if snapshot.stats.ok:  # a second read: counters that grow while we watch are findings
        try:
            stats_later = await read_stats(client)
        except SlotwiseError as exc:
            log.info("second statistics read failed: %s", exc)
    errors = tuple(f"file {f.path}: {f.error}" for f in files if f.error)
    stats = {name: getattr(client.stats, name) for name in client.stats.__slots__}
    return Report(
        snapshot=snapshot,
        generated_at=now(),
        files=files,
        traffic=traffic,
        client_stats=stats,
        extra_errors=errors,
        device_name=device_name,
        stats_later=stats_later,
    )


# --- JSON -------------------------------------------------------------------------------------


def _reading(reading: Reading[Any], value: Any) -> dict[str, Any]:
    return {
        "read_at": reading.read_at.isoformat(),
        "ok": reading.ok,
        "unsupported": reading.unsupported,
        "error": reading.error,
        "value": value if reading.ok else None,
    }


def _sections(s: DiagnosticSnapshot) -> dict[str, Any]:
    os_value = None
    if s.os_info.value is not None:
        labels = dict(OS_INFO_FIELDS)
        os_value = {
            "all": s.os_info.value.all,
            "fields": {
                char: {"label": labels[char], "value": value}
                for char, value in s.os_info.value.fields.items()
            },
        }
    boot = s.bootloader.value
    images = s.images.value or []
    return {
        "os_info": _reading(s.os_info, os_value),
        "bootloader": _reading(
            s.bootloader,
            boot
            and {
                "name": boot.name,
                "mode": boot.mode,
                "mode_text": boot.mode_text,
                "no_downgrade": boot.no_downgrade,
            },
        ),
        "params": _reading(
            s.params,
            s.params.value and {"buf_size": s.params.value[0], "buf_count": s.params.value[1]},
        ),
        "datetime": _reading(s.datetime, s.datetime.value),
        "tasks": _reading(
            s.tasks,
            [
                {
                    "name": t.name,
                    "prio": t.prio,
                    "tid": t.tid,
                    "state": t.state,
                    "state_text": t.state_text,
                    "stack_used_bytes": t.stack_used_bytes,
                    "stack_size_bytes": t.stack_size_bytes,
                    "context_switches": t.context_switches,
                    "runtime": t.runtime,
                }
                for t in s.tasks.value or ()
            ],
        ),
        "mempools": _reading(
            s.mempools,
            {
                name: {"blksiz": p.blksiz, "nblks": p.nblks, "nfree": p.nfree, "min": p.min}
                for name, p in (s.mempools.value or {}).items()
            },
        ),
        "images": _reading(
            s.images,
            [
                {
                    "image": i.image_number,
                    "slot": i.slot,
                    "version": i.version,
                    "hash": i.hash.hex() if i.hash is not None else None,
                    "bootable": i.bootable,
                    "pending": i.pending,
                    "confirmed": i.confirmed,
                    "active": i.active,
                    "permanent": i.permanent,
                }
                for i in images
            ],
        ),
        "slot_info": _reading(
            s.slot_info,
            [
                {
                    "image": i.image,
                    "max_image_size": i.max_image_size,
                    "slots": [
                        {"slot": x.slot, "size": x.size, "upload_image_id": x.upload_image_id}
                        for x in i.slots
                    ],
                }
                for i in s.slot_info.value or []
            ],
        ),
        "stats": {
            **_reading(s.stats, s.stats.value and s.stats.value.groups),
            "failed": s.stats.value.failed if s.stats.value else {},
        },
        "hash_types": _reading(
            s.hash_types,
            {
                name: {"format": t.format, "size": t.size}
                for name, t in (s.hash_types.value or {}).items()
            },
        ),
        "logs": _reading(s.logs, s.logs.value),
    }


def report_json(report: Report) -> dict[str, Any]:
    """The machine-readable report, shaped as docs/report.schema.json describes."""
    s = report.snapshot
    caps = s.capabilities
    traffic = report.traffic
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "generated_at": report.generated_at.isoformat(),
        "app": {"name": "slotwise", "version": __version__},
        "device": {
            "name": report.device_name,
            "address": s.device_address,
            "link": s.link_kind,
            "max_frame_bytes": s.link_max_frame_bytes,
            "mtu": s.link_mtu,
        },
        "capabilities": {
            "source": caps.source,
            "detected_at": caps.detected_at.isoformat(),
            "groups": list(caps.groups) if caps.groups is not None else None,
            "features": [
                {
                    "feature": str(f.feature),
                    "title": FEATURE_TITLE[f.feature],
                    "support": str(f.support),
                    "note": f.note,
                }
                for f in caps.features
            ],
        },
        "findings": findings_json(report.findings()),
        "sections": _sections(s),
        "files": [
            {
                "path": f.path,
                "pulled_at": f.pulled_at.isoformat(),
                "archive_name": f.archive_name,
                "size": len(f.data) if f.data is not None else None,
                "sha256": hashlib.sha256(f.data).hexdigest() if f.data is not None else None,
                "error": f.error,
            }
            for f in report.files
        ],
        "errors": list(report.errors),
        "client": report.client_stats,
        "traffic": {
            "file": "traffic.log" if traffic is not None else None,
            "frames": len(traffic.frames) if traffic is not None else 0,
            "dropped": traffic.dropped if traffic is not None else 0,
        },
    }


class ReportError(SlotwiseError):
    """The bundle could not be written."""


def write_bundle(report: Report, out: Path) -> Path:
    """Write the zip; OSError becomes a ReportError with the path in its sentence."""
    document = report_json(report)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr("report.json", json.dumps(document, indent=2, ensure_ascii=False))
            bundle.writestr("report.html", render_html(document))
            if report.traffic is not None:
                bundle.writestr("traffic.log", report.traffic.render())
            for f in report.files:
                if f.data is not None and f.archive_name is not None:
                    bundle.writestr(f.archive_name, f.data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    log.info("report written to %s", out)
    return out


def supported_titles(report: Report) -> list[str]:
    """Titles of the features the device supports (for a one-line summary)."""
    caps = report.snapshot.capabilities
    return [FEATURE_TITLE[f] for f in Feature if caps.supports(f)]


# --- HTML -------------------------------------------------------------------------------------
# Everything the device sent is untrusted text: every value goes through html.escape, and the
# page loads nothing from outside (no scripts, no links), so it is safe to open anywhere.

_CSS = """body{font-family:sans-serif;margin:2em;color:#222;background:#fff;max-width:72em}
table{border-collapse:collapse;margin:.5em 0 1.5em;max-width:100%}td,th{border:1px solid #bbb;
padding:2px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#eee}
.bad{color:#a00}.ok{color:#070}.summary{border:2px solid #888;padding:.5em 1em;margin:1em 0}
.warn{color:#a00;font-weight:bold}.note{color:#555;font-weight:bold}
code{font-family:monospace}@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}
th{background:#333}}"""


def _e(value: object) -> str:
    """Escaped text of a value; yes/no for flags (a person reads this, not Python)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape("" if value is None else str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _kv(pairs: Sequence[tuple[object, object]]) -> str:
    return _table(("field", "value"), [(k, v) for k, v in pairs])


def _section_html(name: str, section: dict[str, Any]) -> str:
    title = f"<h2>{_e(name.replace('_', ' '))}</h2><p>read at {_e(section['read_at'])}</p>"
    if not section["ok"]:
        return title + f'<p class="bad">{_e(section["error"])}</p>'
    value = section["value"]
    if name == "os_info":
        rows = [
            (f"{v['label']} ({k})", v["value"] if v["value"] is not None else "refused")
            for k, v in value["fields"].items()
        ]
        return title + _kv([("all (a)", value["all"]), *rows])
    if name in ("tasks", "images") and value:
        headers = list(value[0])
        return title + _table(headers, [[row[h] for h in headers] for row in value])
    if name == "stats":
        return (
            title
            + "".join(
                f"<h3>{_e(group)}</h3>" + _kv(sorted(fields.items()))
                for group, fields in value.items()
            )
            + "".join(
                f'<h3>{_e(group)}</h3><p class="bad">{_e(reason)}</p>'
                for group, reason in section.get("failed", {}).items()
            )
        )
    if name == "bootloader":
        return title + _kv(
            [
                ("bootloader", value["name"]),
                ("mode", value["mode_text"]),
                ("downgrades refused", value["no_downgrade"]),
            ]
        )
    if name in ("mempools", "hash_types"):
        return title + _kv([(k, json.dumps(v)) for k, v in value.items()])
    if isinstance(value, dict):
        return title + _kv(list(value.items()))
    if isinstance(value, list):
        return title + _table(
            ("value",), [(json.dumps(v) if not isinstance(v, str) else v,) for v in value]
        )
    return title + f"<p><code>{_e(value)}</code></p>"


def _summary_html(doc: dict[str, Any]) -> str:
    """What a support engineer reads first: the device, what runs and waits, the findings."""
    device = doc["device"]
    images = (doc["sections"].get("images") or {}).get("value") or []
    found = doc.get("findings", [])
    running = [i for i in images if i["active"]]
    waiting = [i for i in images if i["pending"] and not i["active"]]
    os_fields = ((doc["sections"].get("os_info") or {}).get("value") or {}).get("fields", {})
    name = device["name"] or (os_fields.get("n") or {}).get("value")
    where = f"{device['link']} {device['address']}"
    rows: list[tuple[object, object]] = [
        ("device", f"{name} ({where})" if name else where),
        (
            "runs",
            "; ".join(
                f"image {i['image']}: {i['version']}"
                f"{', confirmed' if i['confirmed'] else ', NOT confirmed'}"
                for i in running
            )
            or "not read",
        ),
        (
            "pending",
            "; ".join(f"image {i['image']} slot {i['slot']}: {i['version']}" for i in waiting)
            or "nothing",
        ),
    ]
    items = "".join(
        f'<li><span class="{_e(f["severity"])}">{_e(f["severity"])}</span> {_e(f["title"])}'
        "<ul>" + "".join(f"<li>{_e(e)}</li>" for e in f["evidence"]) + "</ul></li>"
        for f in found
    )
    findings = f"<ul>{items}</ul>" if items else "<p>No findings.</p>"
    return (
        '<div class="summary"><h2>summary</h2>'
        + _kv(rows)
        + f"<h3>findings ({len(found)})</h3>"
        + findings
        + "</div>"
    )


def render_html(doc: dict[str, Any]) -> str:
    """A self-contained page with the same content as report.json."""
    device = doc["device"]
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>Slotwise report: {_e(device['address'])}</title><style>{_CSS}</style>",
        "</head><body>",
        f"<h1>Slotwise diagnostic report</h1><p>generated {_e(doc['generated_at'])} by "
        f"slotwise {_e(doc['app']['version'])}</p>",
        _summary_html(doc),
        "<h2>device</h2>",
        _kv(
            [
                ("name", device["name"]),
                ("address", device["address"]),
                ("link", device["link"]),
                ("largest frame (bytes)", device["max_frame_bytes"]),
                ("MTU", device["mtu"]),
            ]
        ),
        "<h2>capabilities</h2>",
        f"<p>detected by {_e(doc['capabilities']['source'])} at "
        f"{_e(doc['capabilities']['detected_at'])}</p>",
        _table(
            ("feature", "support", "how"),
            [(f["title"], f["support"], f["note"]) for f in doc["capabilities"]["features"]],
        ),
    ]
    parts += [_section_html(name, section) for name, section in doc["sections"].items()]
    parts.append("<h2>files pulled</h2>")
    parts.append(
        _table(
            ("path", "size", "sha256", "in bundle", "error"),
            [
                (f["path"], f["size"], f["sha256"], f["archive_name"], f["error"])
                for f in doc["files"]
            ],
        )
    )
    parts.append("<h2>errors met</h2>")
    parts.append(
        "<ul>" + "".join(f"<li>{_e(e)}</li>" for e in doc["errors"]) + "</ul>"
        if doc["errors"]
        else "<p>none</p>"
    )
    parts.append("<h2>link counters</h2>" + _kv(list(doc["client"].items())))
    parts.append(
        f"<p>SMP traffic: {_e(doc['traffic']['frames'])} frames in "
        f"{_e(doc['traffic']['file'])}</p></body></html>"
    )
    return "\n".join(parts)
