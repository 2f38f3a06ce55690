"""`slotwise upload` end to end: in-process `app.cli.main` against a simulator on a thread."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli import main
from app.sim.link import LinkModel
from tests.upload.conftest import ImageFactory, ThreadedSim, sim_device


def one_error_line(err: str) -> str:
    """The one reason line; warnings (such as "signature NOT checked") are separate lines."""
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith("slotwise: warning:")
    ]
    assert len(lines) == 1, lines
    assert "Traceback" not in err
    return lines[0]


def test_upload_test_mode_end_to_end(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """`upload FILE` verifies, uploads, tests and resets; the device then runs the image."""
    path = images("1.2.0", 40 * 1024)
    with ThreadedSim(sim_device()) as sim:
        code = main(["-d", sim.spec, "upload", str(path)])
        out = capsys.readouterr().out
        assert code == 0
        assert "now runs 1.2.0" in out
        assert f"slotwise -d {sim.spec} confirm" in out
        assert sim.device.running_version() == "1.2.0"


def test_json_lines_for_station_scripts(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints only JSON Lines: progress events, then one result line."""
    path = images("1.2.0", 40 * 1024)
    with ThreadedSim(sim_device()) as sim:
        code = main(["-d", sim.spec, "upload", str(path), "--json", "--mode", "none"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert lines[-1]["event"] == "result" and lines[-1]["ok"] is True
    assert lines[-1]["images"][0]["outcome"] == "uploaded"
    uploading = [e for e in lines if e["event"] == "progress" and e["stage"] == "uploading"]
    assert uploading and max(e["bytes_acked"] for e in uploading) == path.stat().st_size


def test_invalid_image_is_refused_with_one_line(
    images: ImageFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupted image exits 1 with the verdict's reason before anything is sent."""
    data = bytearray(images("1.2.0", 20 * 1024).read_bytes())
    data[0x400] ^= 0x01
    broken = tmp_path / "broken.bin"
    broken.write_bytes(bytes(data))
    with ThreadedSim(sim_device()) as sim:
        code = main(["-d", sim.spec, "upload", str(broken)])
        assert sim.device.counters["requests"] == 0
    assert code == 1
    assert one_error_line(capsys.readouterr().err).startswith("slotwise: ")


def test_key_must_verify(
    images: ImageFactory, other_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --key the signature must verify: a foreign key is refused, the signer's passes."""
    path = images("1.2.0", 20 * 1024)
    with ThreadedSim(sim_device()) as sim:
        assert main(["-d", sim.spec, "upload", str(path), "--key", str(other_key)]) == 1
        one_error_line(capsys.readouterr().err)
        assert (
            main(
                [
                    "-d",
                    sim.spec,
                    "upload",
                    str(path),
                    "--mode",
                    "none",
                    "--key",
                    str(images.public_key),
                ]
            )
            == 0
        )


def test_confirm_needs_yes(images: ImageFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """--mode confirm without --yes is refused; with --yes the image is permanent."""
    path = images("1.2.0", 20 * 1024)
    with ThreadedSim(sim_device()) as sim:
        assert main(["-d", sim.spec, "upload", str(path), "--mode", "confirm"]) == 2
        assert "--yes" in one_error_line(capsys.readouterr().err)
        assert sim.device.counters["requests"] == 0
        assert main(["-d", sim.spec, "upload", str(path), "--mode", "confirm", "--yes"]) == 0
        assert "is confirmed" in capsys.readouterr().out
        assert sim.device.running_version() == "1.2.0"


def test_explain_names_the_firmware_setting(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """--explain prints the plan and says which setting limits a 2-buffer device."""
    path = images("1.2.0", 40 * 1024)
    with ThreadedSim(sim_device(buf_count=2), LinkModel(latency_s=0.005)) as sim:
        code = main(["-d", sim.spec, "upload", str(path), "--mode", "none", "--explain"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Upload only" in out
    assert "CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT" in out


def test_downgrade_refused_then_allowed(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """An older image exits 1 naming --allow-downgrade; with it the upload goes ahead."""
    path = images("0.9.0", 20 * 1024)
    with ThreadedSim(sim_device()) as sim:
        assert main(["-d", sim.spec, "upload", str(path)]) == 1
        assert "--allow-downgrade" in one_error_line(capsys.readouterr().err)
        assert main(["-d", sim.spec, "upload", str(path), "--json"]) == 1
        captured = capsys.readouterr()
        last = json.loads(captured.out.splitlines()[-1])
        assert last["event"] == "result" and last["ok"] is False
        assert "--allow-downgrade" in one_error_line(captured.err)
        assert (
            main(["-d", sim.spec, "upload", str(path), "--allow-downgrade", "--mode", "none"]) == 0
        )


@pytest.mark.parametrize("off", [-5, 10**9])
def test_device_offset_outside_the_image_is_one_line(
    off: int, images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A device answering an upload chunk with a negative offset, or one past the image, stops
    the upload with one line (no traceback, never "uploaded"); nothing is marked or reset."""
    path = images("1.2.0", 40 * 1024)
    with ThreadedSim(sim_device()) as sim:
        sim.device.answer_upload_offset(off)
        code = main(["-d", sim.spec, "upload", str(path)])
        assert sim.device.counters["reboots"] == 0
        assert sim.device.running_version() == "1.0.0"
    captured = capsys.readouterr()
    assert code == 1 and "uploaded" not in captured.out
    line = one_error_line(captured.err)
    assert f"offset {off}" in line and "outside" in line


def test_upload_summary_uses_the_windows_units(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary gives the size and the rate in KiB and KiB/s, as the window does."""
    from app.units import format_bytes

    path = images("1.2.0", 40 * 1024)
    with ThreadedSim(sim_device()) as sim:
        assert main(["-d", sim.spec, "upload", str(path), "--mode", "none"]) == 0
    out = capsys.readouterr().out
    size = path.stat().st_size
    assert f"{size} bytes ({format_bytes(size)}) in " in out
    took = re.search(r" in (\d+\.\d+) s ", out)
    assert took and float(took.group(1)) > 0  # a quick upload is "0.026 s", never "0.0 s"
    assert re.search(r"\(\d+\.\d+ (KiB|MiB)/s\)", out) and "kB/s" not in out
