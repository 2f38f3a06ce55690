"""The Fleet tab end to end: controller id, what the server assigns, the verdict view, and
"Install assigned update" against a hawkBit-shaped DDI server and a simulated board."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.sim.serve import UdpSimServer
from tests.fleet.ddi_server import TENANT, DdiServer, HawkbitLike

from .conftest import connect


@pytest.fixture
def hawkbit(make_image: Callable[..., Path]) -> Iterator[tuple[DdiServer, HawkbitLike]]:
    state = HawkbitLike(artifact=make_image("1.1.0").read_bytes())
    with DdiServer(state) as server:
        yield server, state


@pytest.fixture(autouse=True)
def fleet_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fleet's state dir (queue, cache, remembered server) in tmp_path, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("SLOTWISE_NO_KEYRING", "1")
    return tmp_path / "state"


def test_install_assigned_update_from_the_fleet_tab(
    qtbot: QtBot,
    window: MainWindow,
    trusted_settings: AppSettings,
    sim: UdpSimServer,
    hawkbit: tuple[DdiServer, HawkbitLike],
) -> None:
    """The tab shows the controller id, the action and the verdict; installing ends with the
    board on the new image and the server told success."""
    server, state = hawkbit
    connect(qtbot, window, sim)
    panel = window.fleet_panel
    port = sim.address.rsplit(":", 1)[1]
    expected = f"Controller id: nrf52840dk-nrf52840-udp-127.0.0.1-{port}"
    qtbot.waitUntil(lambda: panel.controller_label.text() == expected, timeout=10000)
    assert not state.requests  # shown from the device alone, before any server is asked
    panel.url_edit.setText(server.url)
    panel.tenant_edit.setText(TENANT)
    qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.plan is not None, timeout=20000)
    assert panel.controller_label.text() == expected
    assert "Action 11: download forced, update forced" in panel.assigned_label.text()
    verdict = panel.verdict.plain_text()
    assert verdict.startswith("Assigned app.bin: signature valid, ready to install")
    assert "Signature valid" in verdict
    assert not state.feedback()  # checking tells the server nothing

    assert panel.install_button.isEnabled()
    qtbot.mouseClick(panel.install_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.outcome is not None, timeout=30000)

    assert panel.outcome is not None and panel.outcome.ok, panel.status_label.text()
    last = state.feedback()[-1]["status"]
    assert (last["execution"], last["result"]["finished"]) == ("closed", "success")
    qtbot.waitUntil(lambda: window.device_view.card(0, 0) is not None, timeout=5000)
    card = window.device_view.card(0, 0)
    assert card is not None and card.version_label.text().startswith("1.1.0")


def test_untrusted_image_cannot_be_installed(
    qtbot: QtBot,
    window: MainWindow,
    settings: AppSettings,
    sim: UdpSimServer,
    hawkbit: tuple[DdiServer, HawkbitLike],
) -> None:
    """With no trusted key the verdict view says why and the install button stays off."""
    server, _ = hawkbit
    connect(qtbot, window, sim)
    panel = window.fleet_panel
    panel.url_edit.setText(server.url)
    panel.tenant_edit.setText(TENANT)
    qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.plan is not None, timeout=20000)
    assert panel.verdict.plain_text().startswith("Assigned app.bin: this image cannot be installed")
    assert not panel.install_button.isEnabled()


HOSTILE = '<a href="https://evil.example">click</a><img src="/etc/x.png">\u202e\x1b[2J\r\nforged'


def test_server_text_is_shown_as_text_never_as_markup(qtbot: QtBot, window: MainWindow) -> None:
    """A chunk or file name holding HTML was rendered by the labels (a link, an image) and its
    controls reached them raw; now each label is plain text with the controls escaped."""
    from app.fleet.gateway import FleetEvent, FleetPlan

    panel = window.fleet_panel
    panel._current = lambda: True  # type: ignore[method-assign]  # no device needed here
    panel._on_plan(FleetPlan("X", True, (f"Chunk {HOSTILE} 1.0: app.bin.",)))
    panel._on_event(FleetEvent("X", f"downloading {HOSTILE}"))
    for label in (panel.assigned_label, panel.status_label, panel.controller_label):
        assert label.textFormat() == Qt.TextFormat.PlainText
        assert "\u202e" not in label.text() and "\x1b" not in label.text()
    assert "\n" not in panel.assigned_label.text() and "\\r\\nforged" in panel.status_label.text()
