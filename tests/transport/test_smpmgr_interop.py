"""Interoperability: the `smpmgr` CLI against `slotwise sim --serial-pty` (framing proof)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.client import SmpClient
from app.transport.serial import SerialTransport

SMPMGR = shutil.which("smpmgr") or str(Path(sys.executable).with_name("smpmgr"))


@pytest.fixture(scope="module")
def sim_pty() -> Iterator[str]:
    """`slotwise sim --serial-pty --log-lines` as a subprocess; yields its pty path."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "sim", "--serial-pty", "--log-lines"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening serial /dev/"), (line, proc.stderr and proc.stderr.read())
        yield line.split()[2]
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def smpmgr(port: str, *args: str) -> str:
    """Run smpmgr on the port; its output, or a failed test with its stderr."""
    done = subprocess.run(
        [SMPMGR, "--port", port, "--timeout", "5", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_smpmgr_echo(sim_pty: str) -> None:
    """smpmgr's echo gets our simulator's answer through console framing and log noise."""
    assert "r='interop works'" in smpmgr(sim_pty, "os", "echo", "interop works")


async def test_smpmgr_image_state_matches_ours(sim_pty: str) -> None:
    """smpmgr reads the same image version and hash as our own client on the same port."""
    out = smpmgr(sim_pty, "image", "state-read")
    async with SmpClient(SerialTransport(sim_pty)) as client:
        ours = (await client.image_state())[0]
    assert ours.hash is not None
    assert f"version='{ours.version}'" in out
    assert ours.hash.hex().upper() in out


def test_cli_commands_take_a_serial_device(
    sim_pty: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`slotwise -d serial:PORT@BAUD,...` works for device commands (echo, images --json)."""
    from app.cli import main

    assert main(["-d", f"serial:{sim_pty}", "echo", "via the cli"]) == 0
    assert capsys.readouterr().out.strip() == "via the cli"
    assert main(["-d", f"serial:{sim_pty}@115200,dtr=0", "images", "--json"]) == 0
    assert '"version": "1.0.0"' in capsys.readouterr().out


def test_cli_bad_serial_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed serial spec exits 2 with one sentence, no traceback."""
    from app.cli import main

    assert main(["-d", "serial:/dev/x,bogus", "echo"]) == 2
    err = capsys.readouterr().err
    assert "unknown serial option 'bogus'" in err and "Traceback" not in err


def test_cli_discover_probes_ports(sim_pty: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`slotwise discover --port P --probe --json` reports the simulator's pty as answering SMP."""
    import json

    from app.cli import main

    assert main(["discover", "--port", sim_pty, "--probe", "--json"]) == 0
    found = {d["address"]: d for d in json.loads(capsys.readouterr().out)}
    assert found[sim_pty]["answers_smp"] is True
    assert found[sim_pty]["spec"] == f"serial:{sim_pty}"
