"""`slotwise upload` on a real terminal (a pty): the bar starts with the upload, and the
result is said once."""

from __future__ import annotations

import os
import select
import signal
import sys
from collections.abc import Callable, Iterator

import pytest

from app.cli import main
from app.sim.link import LinkModel
from app.workflows.progress import ProgressEvent
from tests.upload.conftest import ImageFactory, ThreadedSim, sim_device


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """Call it to put stdout and stderr on one pseudo-terminal (pytest's capture re-installs
    its own streams when the test starts) and, later, to read what the terminal showed."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs a pty")
    master, slave = os.openpty()
    screen = open(slave, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below

    def shown() -> str:
        if sys.stdout is not screen:
            monkeypatch.setattr(sys, "stdout", screen)
            monkeypatch.setattr(sys, "stderr", screen)
            return ""
        screen.flush()
        chunks = []
        while select.select([master], [], [], 0)[0]:
            chunks.append(os.read(master, 65536))
        return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")

    try:
        yield shown
    finally:
        monkeypatch.undo()
        screen.close()
        os.close(master)


def test_upload_on_a_terminal_draws_the_bar_from_0_and_says_the_result_once(
    images: ImageFactory, terminal: Callable[[], str]
) -> None:
    """No 100 % bar before the upload starts, and the final sentence appears once."""
    path = images("1.2.0", 40 * 1024)
    terminal()
    with ThreadedSim(sim_device()) as sim:
        assert main(["-d", sim.spec, "upload", str(path)]) == 0
    screen = terminal()
    before_upload = screen.split(f"uploading {path} to image 0")[0]
    assert "%" not in before_upload  # no bar before the upload's own line
    frames = screen.split(f"uploading {path} to image 0\n")[1].split("\n")[0].split("\r")[1:]
    assert frames[0].startswith("[..............................]   0%")
    assert frames[-1].startswith("[##############################] 100%")
    result = "image 0 now runs 1.2.0, not confirmed yet"
    assert screen.count(result) + screen.count(result.capitalize()) == 1, screen


def test_ctrl_c_mid_upload_says_on_its_own_line_what_the_device_holds(
    images: ImageFactory, terminal: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the upload: exit 130, a line of its own (not glued to the bar) saying
    the image is incomplete and unmarked, and the device still runs the old image."""
    from app.cli import upload

    draw = upload._Printer._bar

    def draw_then_interrupt(printer: upload._Printer, event: ProgressEvent) -> None:
        draw(printer, event)
        if event.fraction >= 0.3:  # the user presses Ctrl-C: SIGINT, as a terminal sends it
            monkeypatch.setattr(upload._Printer, "_bar", draw)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(upload._Printer, "_bar", draw_then_interrupt)
    path = images("1.2.0", 40 * 1024)
    terminal()
    with ThreadedSim(sim_device(), LinkModel(rate_bps=40_000)) as sim:  # about 1 s
        assert main(["-d", sim.spec, "upload", str(path)]) == 130
        secondary = sim.device.flags(1)
    screen = terminal()
    line = next(each for each in screen.split("\n") if "interrupted" in each)
    assert line.startswith("slotwise: interrupted: the upload stopped at "), screen
    assert "incomplete and not marked" in line and "resumes where it stopped" in line
    assert sim.device.running_version() == "1.0.0"
    assert not secondary.pending and not secondary.permanent
