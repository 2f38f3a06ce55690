"""Issue 17, item 15: findings computed from a device's diagnostics, each with its evidence,
the same in the HTML report's summary, `slotwise report` on the terminal and the GUI."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.client import SmpClient
from app.gui.demo import DEMO_IMAGE
from app.sim.device import SimConfig, SimDevice
from app.smp.groups.os import MemoryPool
from app.workflows.diagnostics import Reading, StatsReadout, TaskRow, now
from app.workflows.findings import Kind, Severity, find
from app.workflows.report import collect_report, render_html, report_json, write_bundle


@pytest.fixture
def device() -> SimDevice:
    """A board with 1 x 512-byte MCUmgr buffers, its clock never set, and the demo image
    waiting in slot 1."""
    board = SimDevice(SimConfig(name="findings-board", buf_size=512, buf_count=1))
    board.install(1, DEMO_IMAGE.read_bytes())
    return board


async def pending_report(client: SmpClient) -> Any:
    slots = await client.image_state()
    waiting = next(s for s in slots if s.slot == 1)
    assert waiting.hash is not None
    await client.image_test(waiting.hash)
    return await collect_report(client, pull=["/lfs/coredump.bin"])


async def test_findings_come_from_the_device_with_their_evidence(
    client: SmpClient, device: SimDevice
) -> None:
    """A pending image, small buffers and an unset clock are found, each with the numbers."""
    device.files["/lfs/coredump.bin"] = b"\x7fELF" + bytes(60)
    report = await pending_report(client)
    found = {f.kind: f for f in report.findings()}
    assert set(found) >= {
        Kind.PENDING_IMAGE,
        Kind.SMALL_BUFFERS,
        Kind.CLOCK_NEVER_SET,
        Kind.CRASH_DUMP,
    }
    assert "1.1.0" in found[Kind.PENDING_IMAGE].title
    assert found[Kind.SMALL_BUFFERS].evidence[0] == "1 \u00d7 512 bytes"
    assert "RTC_NOT_SET" in found[Kind.CLOCK_NEVER_SET].evidence[0]
    assert "/lfs/coredump.bin" in found[Kind.CRASH_DUMP].evidence[0]
    assert Kind.STACK_NEAR_OVERFLOW not in found  # the simulator's stacks are roomy


async def test_thresholds_on_stacks_heap_and_counters(client: SmpClient, device: SimDevice) -> None:
    """A thread at 94% of its stack, a pool whose low-water mark fell to 3 of 64 blocks and an
    error counter that grew between two reads are each one finding naming the numbers."""
    snapshot = (await collect_report(client)).snapshot
    stats = StatsReadout({"net": {"rx_err": 1, "rx_ok": 10}}, {})
    crafted = replace(
        snapshot,
        tasks=Reading(now(), value=(TaskRow("main", 1, 1, 1, 1920, 2048, 5, 9),)),
        mempools=Reading(now(), value={"kheap": MemoryPool(blksiz=8, nblks=64, nfree=20, min=3)}),
        stats=Reading(now(), value=stats),
    )
    later = StatsReadout({"net": {"rx_err": 4, "rx_ok": 99}}, {})
    found = {f.kind: f for f in find(crafted, stats_later=later)}
    assert found[Kind.STACK_NEAR_OVERFLOW].evidence == (
        "main: 1920 of 2048 bytes of stack used (93%)",
    )
    assert "3 of 64 blocks" in found[Kind.HEAP_LOW_WATER].evidence[0]
    assert found[Kind.STATS_GREW].evidence == ("net.rx_err: 1 \u2192 4",)
    roomy = replace(
        crafted, tasks=Reading(now(), value=(TaskRow("main", 1, 1, 1, 1000, 2048, 5, 9),))
    )
    assert Kind.STACK_NEAR_OVERFLOW not in {f.kind for f in find(roomy)}


async def test_report_summary_and_terminal_show_the_same_findings(
    client: SmpClient, device: SimDevice, tmp_path: Path, qapp: Any
) -> None:
    """The HTML summary comes first and lists every finding and its evidence; the JSON holds
    them; the terminal lines of `slotwise report` are the same titles."""
    from PySide6.QtGui import QTextDocument

    from app.workflows.findings import findings_text

    report = await pending_report(client)
    titles = [f.title for f in report.findings()]
    write_bundle(report, tmp_path / "r.zip")
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        page = bundle.read("report.html").decode()
    assert [f["title"] for f in report_json(report)["findings"]] == titles
    document = QTextDocument()
    document.setHtml(page)
    text = document.toPlainText()
    assert text.index("summary") < text.index("capabilities")
    for finding in report.findings():
        assert finding.title in text
        assert all(line in text for line in finding.evidence)
    assert "image 0 slot 1: 1.1.0" in text  # what is pending, in the summary
    terminal = "\n".join(findings_text(report.findings()))
    assert all(title in terminal for title in titles)
    assert render_html(report_json(report)).count('class="summary"') == 1


async def test_a_clock_never_set_is_a_note_not_an_error(client: SmpClient) -> None:
    """The device's RTC_NOT_SET answer is a finding (a note); the report does not also count
    it as an error met, so "N errors noted" and the findings agree."""
    report = await collect_report(client)
    (clock,) = [f for f in report.findings() if f.kind is Kind.CLOCK_NEVER_SET]
    assert clock.severity is Severity.NOTE
    assert report.errors == ()
    assert report_json(report)["errors"] == []
    assert report.snapshot.datetime.code == "RTC_NOT_SET"  # the reading still says why
