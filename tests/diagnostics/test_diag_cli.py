"""Each diagnostics command through `slotwise` itself, against a simulator on a real link."""

from __future__ import annotations

import datetime
import json
import os
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.sim.device import SimDevice


def run(capsys: pytest.CaptureFixture[str], spec: str, *argv: str) -> tuple[int, str, str]:
    code = main(["-d", spec, "--timeout", "3", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_caps_params_bootloader(capsys: pytest.CaptureFixture[str], sim_spec: str) -> None:
    """caps lists features, params the buffers, bootloader its name and mode."""
    code, out, _ = run(capsys, sim_spec, "caps", "--json")
    assert code == 0
    caps = json.loads(out)
    assert caps["source"] == "enum" and caps["features"]["shell"] == "supported"
    code, out, _ = run(capsys, sim_spec, "caps")
    assert code == 0 and "yes task statistics" in " ".join(out.split())
    assert run(capsys, sim_spec, "params")[1].strip() == "4 buffers of 2048 bytes"
    code, out, _ = run(capsys, sim_spec, "bootloader", "--json")
    assert code == 0 and json.loads(out)["bootloader"] == "MCUboot"
    assert "mode_text" in json.loads(out)


def test_datetime_set_now_then_read(capsys: pytest.CaptureFixture[str], sim_spec: str) -> None:
    """An unset clock is one error line; --set-now sets it to this PC's minute."""
    code, out, err = run(capsys, sim_spec, "datetime")
    assert code == 1 and "never been set" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, sim_spec, "datetime", "--set-now")
    assert code == 0 and out.startswith("device clock set to ")
    sent = datetime.datetime.fromisoformat(out.split()[-1])
    code, out, _ = run(capsys, sim_spec, "datetime")
    assert code == 0
    assert 0 <= (datetime.datetime.fromisoformat(out.strip()) - sent).total_seconds() < 5
    code, out, _ = run(capsys, sim_spec, "datetime", "--set-now", "--utc")
    sent_utc = datetime.datetime.fromisoformat(out.split()[-1]).replace(tzinfo=datetime.UTC)
    assert code == 0
    assert abs((datetime.datetime.now(datetime.UTC) - sent_utc).total_seconds()) < 60


def test_tasks_mempool_stats(
    capsys: pytest.CaptureFixture[str], sim_spec: str, device: SimDevice
) -> None:
    """tasks, mempool and stats print what the device reports, as text and JSON."""
    code, out, _ = run(capsys, sim_spec, "tasks", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["name"] for r in rows} == {t.name for t in device.profile.tasks}
    assert all(
        r["stack_size_bytes"]
        == 4 * next(t.stksiz for t in device.profile.tasks if t.name == r["name"])
        for r in rows
    )
    code, out, _ = run(capsys, sim_spec, "tasks")
    assert code == 0 and "idle" in out and "%" in out
    code, out, _ = run(capsys, sim_spec, "mempool")
    assert code == 0 and "blocks of" in out
    code, out, _ = run(capsys, sim_spec, "stats", "--json")
    assert code == 0 and set(json.loads(out)["groups"]) == set(device.profile.stat_groups)
    name = device.profile.stat_groups[0]
    code, out, _ = run(capsys, sim_spec, "stats", name)
    assert code == 0 and out.startswith(name)
    code, out, _ = run(capsys, sim_spec, "stats", "--list")
    assert code == 0 and out.split() == list(device.profile.stat_groups)
    code, _, err = run(capsys, sim_spec, "stats", "no_such_group")
    assert code == 1 and "no statistics group" in err


def test_settings_commands(
    capsys: pytest.CaptureFixture[str], sim_spec: str, device: SimDevice
) -> None:
    """settings set/get with each type, delete and save act on the device's settings."""
    assert (
        run(capsys, sim_spec, "settings", "set", "app/n", "-5", "--type", "int", "--width", "2")[0]
        == 0
    )
    assert device.settings["app/n"] == b"\xfb\xff"
    assert run(capsys, sim_spec, "settings", "get", "app/n", "--type", "int")[1] == "-5\n"
    assert run(capsys, sim_spec, "settings", "set", "app/h", "de ad", "--type", "hex")[0] == 0
    assert run(capsys, sim_spec, "settings", "get", "app/h")[1] == "de ad\n"
    assert run(capsys, sim_spec, "settings", "set", "app/t", "hi there")[0] == 0
    assert run(capsys, sim_spec, "settings", "get", "app/t", "--type", "text")[1] == "hi there\n"
    assert run(capsys, sim_spec, "settings", "save")[0] == 0
    assert run(capsys, sim_spec, "settings", "delete", "app/t")[0] == 0
    assert "app/t" not in device.settings
    code, _, err = run(capsys, sim_spec, "settings", "set", "app/x", "zz", "--type", "hex")
    assert code == 1 and "not hex bytes" in err


def test_fs_put_get_hash_and_shell(
    capsys: pytest.CaptureFixture[str], sim_spec: str, device: SimDevice, tmp_path: Path
) -> None:
    """fs put/get move files both ways, fs hash compares, shell prints the output."""
    local = tmp_path / "up.bin"
    local.write_bytes(os.urandom(20_000))
    assert run(capsys, sim_spec, "fs", "put", str(local), "/lfs/up.bin")[0] == 0
    assert device.files["/lfs/up.bin"] == local.read_bytes()
    back = tmp_path / "down.bin"
    assert run(capsys, sim_spec, "fs", "get", "/lfs/up.bin", str(back))[0] == 0
    assert back.read_bytes() == local.read_bytes()
    folder = tmp_path / "into"
    folder.mkdir()
    assert run(capsys, sim_spec, "fs", "get", "/lfs/up.bin", str(folder))[0] == 0
    assert (folder / "up.bin").read_bytes() == local.read_bytes()
    back.write_bytes(b"keep me")  # an existing local file is never replaced silently
    assert run(capsys, sim_spec, "fs", "get", "/lfs/up.bin", str(back))[0] == 2
    assert back.read_bytes() == b"keep me"
    assert run(capsys, sim_spec, "fs", "get", "/lfs/up.bin", str(back), "--force")[0] == 0
    assert back.read_bytes() == local.read_bytes()
    code, out, _ = run(capsys, sim_spec, "fs", "hash", "/lfs/up.bin", "--local", str(local))
    assert code == 0 and out.strip().endswith("match")
    other = tmp_path / "other.bin"
    other.write_bytes(b"different")
    code, out, _ = run(capsys, sim_spec, "fs", "hash", "/lfs/up.bin", "--local", str(other))
    assert code == 1 and "DIFFER" in out
    code, out, _ = run(capsys, sim_spec, "shell", "kernel", "uptime")
    assert code == 0 and out.startswith("Uptime") and out.endswith("\n")


@pytest.mark.parametrize("profile", ["zephyr-3.4"])
def test_unsupported_commands_are_one_plain_line(
    capsys: pytest.CaptureFixture[str], sim_spec: str
) -> None:
    """On firmware without a group, a command prints one plain sentence and exits 1."""
    for argv in (
        ["settings", "get", "a"],
        ["fs", "get", "/lfs/a"],
        ["shell", "help"],
        ["datetime"],
        ["mempool"],
        ["bootloader"],
    ):
        code, out, err = run(capsys, sim_spec, *argv)
        assert code == 1, argv
        assert err.count("\n") == 1 and "firmware does not support" in err, (argv, err)
        assert "Traceback" not in err and out == ""


def test_report_command_writes_bundle(
    capsys: pytest.CaptureFixture[str], sim_spec: str, device: SimDevice, tmp_path: Path
) -> None:
    """report writes a zip with JSON, HTML, traffic log and the pulled file."""
    device.files["/lfs/log.txt"] = b"boot ok\n"
    out_zip = tmp_path / "r.zip"
    code, out, _ = run(
        capsys,
        sim_spec,
        "report",
        "--out",
        str(out_zip),
        "--pull",
        "/lfs/log.txt",
        "--pull",
        "/lfs/missing.txt",
    )
    assert code == 0 and str(out_zip) in out
    with zipfile.ZipFile(out_zip) as bundle:
        names = set(bundle.namelist())
        assert {"report.json", "report.html", "traffic.log", "files/lfs_log.txt"} <= names
        assert bundle.read("files/lfs_log.txt") == b"boot ok\n"
        doc = json.loads(bundle.read("report.json"))
        assert "tx READ" in bundle.read("traffic.log").decode()
    assert [f["error"] is None for f in doc["files"]] == [True, False]
    assert any("missing.txt" in e for e in doc["errors"])


def test_usage_errors(capsys: pytest.CaptureFixture[str], sim_spec: str, tmp_path: Path) -> None:
    """A missing local file or an empty shell command is a usage error (status 2)."""
    code, _, err = run(capsys, sim_spec, "fs", "put", str(tmp_path / "nope"), "/lfs/x")
    assert code == 2 and "cannot read" in err
    assert run(capsys, sim_spec, "shell")[0] == 2


def test_report_prints_the_findings(
    capsys: pytest.CaptureFixture[str], sim_spec: str, tmp_path: Path
) -> None:
    """`report` says on the terminal what the HTML summary says: each finding and its evidence
    (the simulator's clock was never set)."""
    code, out, _ = run(capsys, sim_spec, "report", "--out", str(tmp_path / "r.zip"))
    assert code == 0
    with zipfile.ZipFile(tmp_path / "r.zip") as bundle:
        doc = json.loads(bundle.read("report.json"))
    assert doc["findings"] and out.count("\n        ") >= len(doc["findings"])
    for finding in doc["findings"]:
        assert finding["title"] in out
        assert all(line in out for line in finding["evidence"])
    assert "The device clock was never set" in out
