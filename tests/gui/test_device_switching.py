"""Issue 17, items 3 to 5: nothing stale on screen. Confirm ends with its result; switching
boards starts every per-device view over; a board that cannot be reached says so in the
device view, with Retry."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings, Preferences
from app.gui.targets import DeviceTarget
from app.sim.device import SimConfig, SimDevice
from app.sim.serve import UdpSimServer

from .conftest import connect, start_sim, udp_target
from .test_update_flow import click, upload_in_test_mode


@pytest.fixture
def quick_window(
    qtbot: QtBot, bridge: CoreBridge, trusted_settings: AppSettings
) -> Iterator[MainWindow]:
    """A window whose device answers time out after 0.5 s (an unreachable board fails fast)."""
    trusted_settings.save(Preferences(timeout_s=0.5))
    window = MainWindow(bridge, trusted_settings)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_confirm_ends_with_what_the_device_keeps(
    qtbot: QtBot, quick_window: MainWindow, bridge: CoreBridge, make_image: Callable[..., Path]
) -> None:
    """After Confirm the result says the device keeps the version, not "Confirming…"."""
    window = quick_window
    connect(qtbot, window, start_sim(bridge))
    upload_in_test_mode(qtbot, window, make_image("1.1.0"))
    panel = window.upload_panel
    click(qtbot, panel.confirm_button)
    assert panel.result_label.text() == "Confirming the running image\u2026"
    qtbot.waitUntil(
        lambda: panel.result_label.text() == "Confirmed: the device keeps version 1.1.0.",
        timeout=10000,
    )
    assert not panel.confirm_button.isVisible()


def test_switching_boards_leaves_nothing_of_the_previous_one(
    qtbot: QtBot, quick_window: MainWindow, bridge: CoreBridge, make_image: Callable[..., Path]
) -> None:
    """Progress, result and Confirm of board A go when board B is picked, and the verdict is
    judged against B (A's "already runs" does not carry over)."""
    window = quick_window
    first, second = start_sim(bridge), start_sim(bridge)
    connect(qtbot, window, first, "Board A")
    image = make_image("1.1.0")
    upload_in_test_mode(qtbot, window, image)
    panel = window.upload_panel
    assert panel.progress_box.isVisible() and panel.confirm_button.isVisible()
    assert panel.result_label.text()
    connect(qtbot, window, second, "Board B")
    assert not panel.progress_box.isVisible()
    assert not panel.confirm_button.isVisible()
    assert panel.result_label.text() == ""
    connect(qtbot, window, first, "Board A")
    window.open_image(image)  # the verdict now: this image already runs on A
    qtbot.waitUntil(lambda: "already runs" in panel.verdict.plain_text(), timeout=10000)
    connect(qtbot, window, second, "Board B")
    assert "already runs" not in panel.verdict.plain_text()
    assert "upgrade (the device runs 1.0.0)" in panel.verdict.plain_text()


def test_unreachable_board_says_why_in_the_device_view_and_retries(
    qtbot: QtBot, quick_window: MainWindow, bridge: CoreBridge, make_image: Callable[..., Path]
) -> None:
    """A board nobody answers for: the view names it and the failure, shows no verdict of the
    board before, and Retry reads it once it answers."""
    window = quick_window
    first = start_sim(bridge)
    connect(qtbot, window, first, "Board A")
    image = make_image("1.1.0")
    upload_in_test_mode(qtbot, window, image)
    window.open_image(image)
    panel, view = window.upload_panel, window.device_view
    qtbot.waitUntil(lambda: "already runs" in panel.verdict.plain_text(), timeout=10000)
    port = free_udp_port()
    gone = DeviceTarget(
        spec=f"udp:127.0.0.1:{port}", kind="udp", name="Board C", address=f"127.0.0.1:{port}"
    )
    window.add_targets([gone])
    assert window.device_pane.select_spec(gone.spec)
    qtbot.waitUntil(view.unreachable_box.isVisible, timeout=20000)
    said = view.unreachable_label.text()
    assert "Board C" in said and "cannot be reached" in said
    assert view.header.name_label.text() == "Board C"
    assert "already runs" not in panel.verdict.plain_text()
    assert not panel.upload_button.isEnabled()
    assert view.retry_button.isEnabled()
    server = UdpSimServer(SimDevice(SimConfig(name="board-c")), port=port)
    bridge.wait(server.start())
    bridge.add_cleanup(server.stop)
    click(qtbot, view.retry_button)
    qtbot.waitUntil(lambda: len(view.cards) >= 2, timeout=20000)
    assert not view.unreachable_box.isVisible()
    assert udp_target(server).spec == gone.spec


def test_roll_back_after_an_upload_clears_its_result(
    qtbot: QtBot, quick_window: MainWindow, bridge: CoreBridge, make_image: Callable[..., Path]
) -> None:
    """After a roll back the panel no longer says "now runs 1.1.0 … confirm it" nor offers
    that Confirm (seen under Xvfb: it stayed, and would have confirmed the old image)."""
    from .test_update_flow import answer_yes

    window = quick_window
    connect(qtbot, window, start_sim(bridge))
    upload_in_test_mode(qtbot, window, make_image("1.1.0"))
    panel = window.upload_panel
    assert panel.confirm_button.isVisible() and "1.1.0" in panel.result_label.text()
    click(qtbot, window.device_view.card(0, 0).buttons["rollback"])
    answer_yes(qtbot, window)
    qtbot.waitUntil(
        lambda: (
            window.device_view.card(0, 0) is not None
            and window.device_view.card(0, 0).version_label.text() == "1.0.0"
        ),
        timeout=20000,
    )
    assert not panel.confirm_button.isVisible()
    assert panel.result_label.text() == "" and not panel.progress_box.isVisible()


def test_unreachable_reason_is_shown_as_text_not_markup(quick_window: MainWindow) -> None:
    """A reason carrying markup (device or user text) is shown literally, never rendered."""
    view = quick_window.device_view
    view.show_unreachable('<img src="x"><a href="file:///">click</a>')
    said = view.unreachable_label.text()
    assert "&lt;img" in said and "<img" not in said and "<a href" not in said


def test_upload_is_offered_only_when_there_is_something_to_send(
    qtbot: QtBot, quick_window: MainWindow, bridge: CoreBridge, make_image: Callable[..., Path]
) -> None:
    """The verdict "already runs; nothing to upload" leaves Upload disabled (it used to upload
    nothing and show "Done 100%"); on a board that runs something else it is offered."""
    window = quick_window
    first, second = start_sim(bridge), start_sim(bridge)
    connect(qtbot, window, first, "Board A")
    image = make_image("1.1.0")
    upload_in_test_mode(qtbot, window, image)
    panel = window.upload_panel
    window.open_image(image)
    qtbot.waitUntil(lambda: "already runs" in panel.verdict.plain_text(), timeout=10000)
    qtbot.waitUntil(lambda: not panel.controller.busy, timeout=10000)
    assert panel.choose_button.isEnabled()  # the panel is idle and usable, Upload is not
    assert not panel.upload_button.isEnabled()
    connect(qtbot, window, second, "Board B")
    qtbot.waitUntil(panel.upload_button.isEnabled, timeout=10000)
