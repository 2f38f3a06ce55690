"""The diagnostic bundle: JSON valid against docs/report.schema.json, HTML safe and loadable."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app import __version__
from app.client import SmpClient
from app.sim.device import SimConfig, SimDevice
from app.workflows.report import (
    TrafficRecorder,
    archive_name,
    collect_report,
    render_html,
    report_json,
    write_bundle,
)

from .schema_check import validate

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "report.schema.json").read_text())
HOSTILE = "<script>alert('x')</script>&<b>"


@pytest.fixture
def device(profile: str) -> SimDevice:
    """A board whose name (the OS info node name) is hostile HTML."""
    return SimDevice(SimConfig(name=HOSTILE, profile=profile))


async def make_bundle(client: SmpClient, device: SimDevice, out: Path) -> dict[str, Any]:
    traffic = TrafficRecorder()
    client.on_traffic = traffic
    device.files["/lfs/log.txt"] = b"boot\n" * 100
    device.files["/lfs/core.bin"] = bytes(range(256)) * 40
    report = await collect_report(
        client,
        pull=["/lfs/log.txt", "/lfs/core.bin", "/lfs/nope"],
        traffic=traffic,
        device_name="Bench board",
    )
    write_bundle(report, out)
    return report_json(report)


@pytest.mark.parametrize("profile", ["zephyr-modern", "old-firmware", "zephyr-3.4"])
async def test_report_json_matches_schema(
    client: SmpClient, device: SimDevice, tmp_path: Path, profile: str
) -> None:
    """Reports from every firmware profile validate against the documented schema."""
    doc = await make_bundle(client, device, tmp_path / "r.zip")
    assert validate(doc, SCHEMA) == []
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        assert json.loads(bundle.read("report.json")) == doc
    assert doc["app"]["version"] == __version__
    assert doc["device"]["name"] == "Bench board"
    assert doc["sections"]["images"]["ok"] and doc["sections"]["images"]["value"][0]["hash"]


async def test_validator_rejects_broken_reports(
    client: SmpClient, device: SimDevice, tmp_path: Path
) -> None:
    """The schema check fails on a missing key, a wrong type and an unknown feature."""
    doc = await make_bundle(client, device, tmp_path / "r.zip")
    for mutate in (
        lambda d: d.pop("sections"),
        lambda d: d["sections"]["params"].__setitem__("ok", "yes"),
        lambda d: d["capabilities"]["features"][0].__setitem__("feature", "warp"),
        lambda d: d["files"][0].__setitem__("sha256", "xyz"),
        lambda d: d.__setitem__("extra", 1),
    ):
        broken = copy.deepcopy(doc)
        mutate(broken)
        assert validate(broken, SCHEMA), mutate


async def test_bundle_holds_files_traffic_and_errors(
    client: SmpClient, device: SimDevice, tmp_path: Path
) -> None:
    """Pulled files are stored with their sha256, a missing one is an error, traffic is logged."""
    import hashlib

    doc = await make_bundle(client, device, tmp_path / "r.zip")
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        core = bundle.read("files/lfs_core.bin")
        traffic = bundle.read("traffic.log").decode()
    assert core == device.files["/lfs/core.bin"]
    entry = next(f for f in doc["files"] if f["path"] == "/lfs/core.bin")
    assert entry["sha256"] == hashlib.sha256(core).hexdigest() and entry["size"] == len(core)
    missing = next(f for f in doc["files"] if f["path"] == "/lfs/nope")
    assert missing["archive_name"] is None and "does not exist" in missing["error"]
    assert any(e.startswith("file /lfs/nope") for e in doc["errors"])
    lines = traffic.splitlines()[1:]
    assert doc["traffic"]["frames"] == len(lines) > 10
    assert any(" rx READ_RSP fs(8) cmd 0 " in line for line in lines)


async def test_html_escapes_device_text(
    client: SmpClient, device: SimDevice, tmp_path: Path, qapp: Any
) -> None:
    """Device strings appear escaped, and Qt's rich-text engine loads the page."""
    from PySide6.QtGui import QTextDocument

    await make_bundle(client, device, tmp_path / "r.zip")
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        page = bundle.read("report.html").decode()
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert "&amp;&lt;b&gt;" in page
    document = QTextDocument()
    document.setHtml(page)
    text = document.toPlainText()
    assert HOSTILE in text and "Slotwise diagnostic report" in text
    assert "MCUboot" in text


def test_html_renders_a_failed_section() -> None:
    """A failed section shows its error sentence instead of a value."""
    doc = {
        "device": {"name": None, "address": "a", "link": "udp", "max_frame_bytes": 1, "mtu": None},
        "generated_at": "t",
        "app": {"version": "1"},
        "capabilities": {"source": "probe", "detected_at": "t", "features": []},
        "sections": {
            "params": {
                "read_at": "t",
                "ok": False,
                "unsupported": True,
                "error": "no <params>",
                "value": None,
            }
        },
        "files": [],
        "errors": [],
        "client": {},
        "traffic": {"frames": 0, "file": None},
    }
    page = render_html(doc)
    assert "no &lt;params&gt;" in page


def test_archive_names_stay_inside_files_and_unique() -> None:
    """Device paths become flat, distinct member names under files/."""
    taken: set[str] = set()
    names = [archive_name(p, taken) for p in ("/lfs/a b", "/lfs/a_b", "/../../etc/passwd", "/")]
    assert names[0] == "files/lfs_a_b" and names[1] == "files/lfs_a_b.2"
    assert all(n.startswith("files/") and "/" not in n[6:] and ".." not in n for n in names)


async def test_a_person_reads_words_not_python(
    client: SmpClient, device: SimDevice, tmp_path: Path, qapp: Any
) -> None:
    """The HTML says yes/no and names the bootloader mode; traffic.log says true/false:
    Python's True, False and None appear nowhere a person reads (issue 17, item 9)."""
    from PySide6.QtGui import QTextDocument

    await make_bundle(client, device, tmp_path / "r.zip")
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        page = bundle.read("report.html").decode()
        traffic = bundle.read("traffic.log").decode()
    document = QTextDocument()
    document.setHtml(page)
    text = document.toPlainText()
    for word in ("True", "False", "None"):
        assert word not in text.split(), word
        assert f": {word}" not in traffic and f"[{word}" not in traffic, word
    assert "active: true" in traffic
    assert "downgrades refused" in text and "swap using" in text
