"""The demo boards carry content worth exploring; plain simulated boards start empty."""

from __future__ import annotations

from app.sim.demo import demo_board, seed_demo_content
from app.sim.device import SimConfig, SimDevice


def test_demo_board_has_files_and_settings_a_plain_board_does_not() -> None:
    """A demo board has a boot log, a crash dump and settings; SimDevice() alone has none."""
    board = demo_board("demo")
    assert board.files["/lfs/log.txt"].startswith(b"*** Booting MCUboot")
    assert "/lfs/coredump.bin" in board.files
    assert board.settings["device/serial"] == board.stored_settings["device/serial"]
    plain = SimDevice(SimConfig())
    assert plain.files == {} and plain.settings == {}


def test_seeding_keeps_what_the_board_already_has() -> None:
    """Seeding never overwrites files or settings a kept state directory brought back."""
    board = SimDevice(SimConfig())
    board.files["/lfs/mine.txt"] = b"mine"
    board.stored_settings["app/name"] = b"kept"
    seed_demo_content(board)
    assert board.files == {"/lfs/mine.txt": b"mine"}
    assert board.stored_settings == {"app/name": b"kept"}
