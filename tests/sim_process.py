"""Running `slotwise sim` as a real subprocess for CLI and interoperability tests."""

from __future__ import annotations

import os
import random
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_loopback_host() -> str:
    """A random 127.x.y.z address, so port 1337 (smpmgr's fixed UDP port) is free on it.

    Linux routes all of 127.0.0.0/8 to the loopback interface; other systems configure only
    127.0.0.1, so tests that need this skip there.
    """
    if not sys.platform.startswith("linux"):
        import pytest

        pytest.skip("needs the whole 127.0.0.0/8 loopback range (Linux)")
    return f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"


@contextmanager
def running_sim(*args: str, state_dir: Path | None = None) -> Iterator[tuple[str, str]]:
    """Start `slotwise sim ARGS`; yield (host:port, first line). Always stopped on exit."""
    command = [sys.executable, "-m", "app", "sim", *args]
    if state_dir is not None:
        command += ["--state-dir", str(state_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("listening "):
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise AssertionError(f"slotwise sim did not start: {line!r} {err}")
        yield line.split()[-1], line
    finally:
        _stop(proc)


@contextmanager
def running_controllers(count: int = 2, *args: str) -> Iterator[list[str]]:
    """Fresh Bumble virtual controllers on one link in their own process (app/sim/ble_link.py);
    yields one HCI spec per controller. Always stopped on exit: a controller keeps the
    connection of a host that went away, so every test gets its own."""
    command = [sys.executable, "-m", "app.sim.ble_link", "--controllers", str(count), *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        out = ""
        while out.count("\n") < count:  # os.read: the lines may arrive in one read
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            chunk = os.read(proc.stdout.fileno(), 4096).decode() if ready else ""
            if not chunk:
                proc.kill()
                _, err = proc.communicate(timeout=5)
                raise AssertionError(f"controllers did not start: {out!r} {err}")
            out += chunk
        specs = [line.split()[-1] for line in out.splitlines() if line.startswith("controller ")]
        assert len(specs) == count, out
        yield specs
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
