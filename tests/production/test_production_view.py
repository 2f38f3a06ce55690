"""The production view driven like an operator would, against simulated boards on real UDP."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.production import ProductionWindow
from app.sim.device import SimConfig
from app.sim.serve import UdpSimServer
from app.workflows.results import read_csv

from .conftest import load, on_loop

Start = Callable[..., UdpSimServer]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "production.png"


def _finished(window: ProductionWindow) -> bool:
    return window.controller is not None and not window.controller.running


def test_batch_shows_pass_and_fail_cards_and_the_logged_rows(
    qtbot: QtBot,
    production: ProductionWindow,
    start_board: Start,
    write_job: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Start batch over three boards (one with a slot too small): two PASS cards, one FAIL card
    with the reason, three results-table rows matching the CSV, and the counters."""
    good = [start_board(), start_board()]
    small = start_board(SimConfig(name="small", slot_size=16 * 1024))
    specs = [f"udp:{s.address}" for s in (*good, small)]
    load(qtbot, production, write_job(specs))
    assert set(production.cards) == set(specs)
    assert all(c.status_text == "READY" for c in production.cards.values())
    assert production.summary.fields["version"].text() == "1.1.0"
    assert production.summary.fields["mode"].text() == "test"
    assert production.summary.fields["station"].text() == "line 3"
    job = production.job
    assert job is not None
    assert production.summary.fields["hash"].text().startswith(job.images[0].image_hash.hex()[:16])

    qtbot.mouseClick(production.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: production.results.rowCount() == 3 and _finished(production), timeout=60000
    )

    for spec in specs[:2]:
        card = production.cards[spec]
        assert card.status_text == "PASS"
        assert "1.0.0 \u2192 1.1.0" in card.detail_text
        assert not card.progress.isVisible()
    bad = production.cards[specs[2]]
    assert bad.status_text == "FAIL"
    assert "slot" in bad.detail_text and "large" in bad.detail_text
    assert not bad.icon_label.pixmap().isNull()  # an icon as well as the word and colour
    shown = {
        production.results.text(i, "device"): production.results.text(i, "result") for i in range(3)
    }
    assert shown == {specs[0]: "PASS", specs[1]: "PASS", specs[2]: "FAIL"}
    logged = read_csv(tmp_path / "results.csv")
    assert sorted((r["device"], r["result"]) for r in logged) == sorted(
        (s, "pass" if s != specs[2] else "fail") for s in specs
    )
    assert [production.summary.counter_text(k) for k in ("passed", "failed", "in_progress")] == [
        "2",
        "1",
        "0",
    ]
    assert production.rerun_button.isEnabled() and production.start_button.isEnabled()
    assert "2 passed, 1 failed" in production.status.text()
    _screenshot(production, tmp_path)


def _screenshot(window: ProductionWindow, tmp_path: Path) -> None:
    """Render the window; into docs/screenshots when SLOTWISE_SCREENSHOTS=1 (else tmp_path)."""
    target = (
        SCREENSHOT
        if os.environ.get("SLOTWISE_SCREENSHOTS") == "1"
        else (tmp_path / "production.png")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()  # pending layout requests, so the grab shows the final layout
    pixmap = window.grab()
    assert not pixmap.isNull() and pixmap.width() > 600
    assert pixmap.save(str(target))


def test_progress_cards_show_stage_and_percent(
    qtbot: QtBot, production: ProductionWindow, start_board: Start, write_job: Callable[..., Path]
) -> None:
    """While a slow board uploads, its card says UPLOADING with a percent and a progress bar."""
    from app.sim.link import LinkModel

    del LinkModel  # the flash write rate is enough to make the upload take a while
    slow = start_board(SimConfig(name="slow", flash_write_bps=30_000))
    spec = f"udp:{slow.address}"
    load(qtbot, production, write_job([spec]))
    production.start_batch()
    card = production.cards[spec]
    qtbot.waitUntil(
        lambda: card.status_text.startswith("UPLOADING ") and card.progress.value() > 0,
        timeout=20000,
    )
    assert card.status_text.endswith(" %")
    assert card.progress.isVisible()
    assert production.summary.counter_text("in_progress") == "1"
    qtbot.waitUntil(lambda: _finished(production), timeout=60000)
    assert card.status_text == "PASS"


def test_operator_mode_locks_the_windows_and_needs_the_password(
    qtbot: QtBot,
    bridge: CoreBridge,
    settings: object,
    write_job: Callable[..., Path],
    start_board: Start,
    signed_image: Path,
) -> None:
    """Operator mode hides settings, file pickers, the mode choice and slot actions (erase) in
    both windows, refuses closing, and is left only with the right supervisor password."""
    from app.gui.main_window import MainWindow
    from app.gui.targets import DeviceTarget

    from .conftest import PASSWORD

    board = start_board()  # with an image in slot 1, so its card offers "Erase slot"
    on_loop(bridge, lambda: board.device.install(1, signed_image.read_bytes()))
    main = MainWindow(bridge, settings)  # type: ignore[arg-type]
    qtbot.addWidget(main)
    main.show()
    spec = f"udp:{board.address}"
    main.add_targets([DeviceTarget(spec=spec, kind="udp", name="bench", address=board.address)])
    assert main.device_pane.select_spec(spec)
    qtbot.waitUntil(lambda: main.device_view.card(0, 1) is not None, timeout=20000)
    erase = main.device_view.card(0, 1).buttons["erase"]  # type: ignore[union-attr]
    window = main.open_production(write_job([]))
    qtbot.waitUntil(lambda: window.job is not None, timeout=10000)
    panel = main.upload_panel
    assert main.settings_action.isVisible() and main.open_action.isVisible()
    assert panel.mode_combo.isEnabled() and panel.choose_button.isEnabled()
    assert erase.isEnabled()
    assert window.load_button.isVisible() and window.settings_button.isVisible()

    assert window.enter_operator_mode()
    assert not main.settings_action.isVisible() and not main.settings_action.isEnabled()
    assert not main.open_action.isVisible() and not main.recent_menu.menuAction().isVisible()
    assert not main.export_action.isEnabled()  # Ctrl+E would open a file dialog
    assert not panel.mode_combo.isEnabled()  # no confirm choice
    assert not panel.choose_button.isEnabled()  # no other files
    assert not erase.isEnabled()  # and the other slot actions: confirm, test, roll back
    assert not window.load_button.isVisible() and not window.settings_button.isVisible()
    assert "OPERATOR MODE" in window.windowTitle()
    assert not main.close() and main.isVisible()
    assert not window.close() and window.isVisible()

    dialog = window.request_leave()
    assert dialog is not None
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)  # nothing typed
    assert window.operator and dialog.isVisible()
    assert "Type the supervisor password" in dialog.error.text()
    qtbot.keyClicks(dialog.password, "guess")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert window.operator and dialog.isVisible()
    assert "Wrong password" in dialog.error.text() and dialog.password.text() == ""
    assert not main.settings_action.isVisible()
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.operator, timeout=5000)
    assert main.settings_action.isVisible() and main.open_action.isVisible()
    assert panel.mode_combo.isEnabled() and erase.isEnabled()
    assert window.load_button.isVisible()
    window.close()
    main.close()


def test_operator_mode_without_a_password_is_refused(
    qtbot: QtBot, production: ProductionWindow, write_job: Callable[..., Path], settings: object
) -> None:
    """A job without supervisor_password_sha256 (and none in settings), or with a value that is
    no SHA-256, cannot lock the station; a password hash in the settings file is enough."""
    from app.gui.production.lock import set_settings_password

    job = write_job([], password=False)
    job.write_text(
        job.read_text().replace(
            'operator = "dana"', 'operator = "dana"\nsupervisor_password_sha256 = "letmein"'
        )
    )
    load(qtbot, production, job)
    assert not production.enter_operator_mode()
    assert not production.operator and "64 hex digits" in production.status.text()
    load(qtbot, production, write_job([], password=False))
    assert not production.enter_operator_mode()
    assert not production.operator and "supervisor password" in production.status.text()
    set_settings_password(settings, "from-settings")  # type: ignore[arg-type]
    assert production.enter_operator_mode()
    dialog = production.request_leave()
    assert dialog is not None
    qtbot.keyClicks(dialog.password, "from-settings")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not production.operator, timeout=5000)


BARCODE = """
[barcode]
require = "before"
check = "setting:device/serial"
"""


def test_scanned_barcode_lands_in_the_row_and_a_mismatch_fails_the_board(
    qtbot: QtBot,
    production: ProductionWindow,
    start_board: Start,
    bridge: CoreBridge,
    write_job: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """Two boards wait for their scans one at a time: the right serial passes and is logged,
    a wrong one fails the board with the mismatch and nothing is uploaded to it."""
    boards = {"SN-0001": start_board(), "SN-0002": start_board()}
    for serial, board in boards.items():

        def put(board: UdpSimServer = board, serial: str = serial) -> None:
            board.device.settings["device/serial"] = serial.encode()
            board.device.stored_settings["device/serial"] = serial.encode()

        on_loop(bridge, put)
    by_spec = {f"udp:{b.address}": serial for serial, b in boards.items()}
    load(
        qtbot,
        production,
        write_job(list(by_spec), barcode=BARCODE, identity='["os_info", "setting:device/serial"]'),
    )
    assert production.barcode.isVisible() and not production.barcode.field.isEnabled()
    production.start_batch()
    typed: dict[str, str] = {}
    for _ in range(2):
        qtbot.waitUntil(lambda: production.barcode.device not in ("", *typed), timeout=20000)
        device = production.barcode.device
        assert device in production.barcode.prompt.text()
        assert production.cards[device].status_text == "SCAN BARCODE"
        assert sum(c.status_text == "SCAN BARCODE" for c in production.cards.values()) == 1
        # the first board scanned gets its own serial, the second a wrong one
        text = by_spec[device] if not typed else "SN-9999"
        typed[device] = text
        qtbot.keyClicks(production.barcode.field, text)
        qtbot.keyClick(production.barcode.field, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: production.results.rowCount() == 2 and _finished(production), timeout=60000
    )
    right, wrong = list(typed)
    rows = {r["device"]: r for r in read_csv(tmp_path / "results.csv")}
    assert rows[right]["result"] == "pass" and rows[right]["barcode"] == by_spec[right]
    assert rows[wrong]["result"] == "fail" and rows[wrong]["barcode"] == "SN-9999"
    assert "does not match" in rows[wrong]["failure_reason"]
    assert production.cards[right].status_text == "PASS"
    assert production.cards[wrong].status_text == "FAIL"
    assert "does not match" in production.cards[wrong].detail_text
    wrong_board = boards[by_spec[wrong]]
    assert wrong_board.device.slots(0)[1].hash is None  # refused before any upload
    assert not production.barcode.field.isEnabled()


def test_stop_while_a_board_waits_for_its_scan_fails_it_and_ends_the_run(
    qtbot: QtBot, production: ProductionWindow, start_board: Start, write_job: Callable[..., Path]
) -> None:
    """Stop during a pending scan fails the waiting board with the reason, the queued board
    is never started (READY again) and nothing is counted as in progress."""
    boards = [start_board(), start_board()]
    specs = [f"udp:{b.address}" for b in boards]
    load(
        qtbot,
        production,
        write_job(specs, barcode=BARCODE.replace("before", "after"), concurrency=1),
    )
    production.start_batch()
    qtbot.waitUntil(lambda: production.barcode.device in specs, timeout=30000)
    waiting = production.barcode.device
    (queued,) = [s for s in specs if s != waiting]
    assert production.cards[queued].status_text == "QUEUED"
    qtbot.mouseClick(production.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _finished(production), timeout=20000)
    assert production.cards[waiting].status_text == "FAIL"
    assert "stopped before the barcode" in production.cards[waiting].detail_text
    assert production.cards[queued].status_text == "READY"
    assert production.results.rowCount() == 1
    assert "stopped by the operator" in production.status.text()
    assert production.summary.counter_text("in_progress") == "0"
    assert not production.barcode.field.isEnabled()


def test_rerun_failed_reflashes_only_the_failed_board(
    qtbot: QtBot,
    production: ProductionWindow,
    start_board: Start,
    bridge: CoreBridge,
    write_job: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """A board that did not answer fails; once it answers, "Re-run failed" flashes it alone."""
    boards = [start_board(), start_board(), start_board()]
    silent = boards[2]
    on_loop(bridge, silent.device.stop_answering)
    specs = [f"udp:{b.address}" for b in boards]
    load(qtbot, production, write_job(specs))
    production.start_batch()
    qtbot.waitUntil(
        lambda: production.results.rowCount() == 3 and _finished(production), timeout=60000
    )
    assert production.cards[specs[2]].status_text == "FAIL"
    assert "no answer" in production.cards[specs[2]].detail_text
    on_loop(bridge, silent.device.resume_answering)

    qtbot.mouseClick(production.rerun_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: production.results.rowCount() == 4 and _finished(production), timeout=60000
    )
    assert production.results.text(3, "device") == specs[2]
    assert production.results.text(3, "result") == "PASS"
    assert production.cards[specs[2]].status_text == "PASS"
    assert [r["device"] for r in read_csv(tmp_path / "results.csv")].count(specs[0]) == 1
    assert all(b.runtime.stats.reboots == 1 for b in boards)  # each flashed and reset once
    assert production.summary.counter_text("failed") == "0"
    assert production.summary.counter_text("passed") == "3"
    assert not production.rerun_button.isEnabled()


def test_the_main_window_menu_opens_the_production_window(
    qtbot: QtBot, bridge: CoreBridge, settings: object, write_job: Callable[..., Path]
) -> None:
    """File > Production… opens one production window owned by the main window, which asks
    for a job file; a second trigger raises the same window."""
    from PySide6.QtWidgets import QFileDialog

    from app.gui.main_window import MainWindow

    main = MainWindow(bridge, settings)  # type: ignore[arg-type]
    qtbot.addWidget(main)
    main.show()
    main.production_action.trigger()
    window = main.findChild(ProductionWindow)
    assert window is not None and window.isVisible()
    picker = window.findChild(QFileDialog)
    assert picker is not None and picker.isVisible()
    picker.close()
    main.production_action.trigger()
    assert main.findChildren(ProductionWindow) == [window]
    window.load_job_file(write_job([]))
    qtbot.waitUntil(lambda: window.job is not None, timeout=10000)
    assert window.summary.title.text() == "Job: sensor 1.1.0"
    window.close()
    main.close()


def test_a_job_that_does_not_verify_is_not_loaded(
    qtbot: QtBot, production: ProductionWindow, tmp_path: Path
) -> None:
    """A broken job file leaves the view without a job and says why in the status line."""
    broken = tmp_path / "broken.toml"
    broken.write_text('[job]\nimage = "missing.bin"\n')
    production.load_job_file(broken)
    qtbot.waitUntil(lambda: "not loaded" in production.status.text(), timeout=10000)
    assert "missing.bin" in production.status.text()
    assert production.job is None and not production.start_button.isEnabled()
    assert not production.operator_button.isEnabled()


def test_production_flag_with_a_missing_job_exits_with_a_sentence(tmp_path: Path) -> None:
    """`slotwise --production JOB.toml` names a missing job file and exits 1, no traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "app", "--production", str(tmp_path / "none.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 1
    assert "job file" in done.stderr and "not found" in done.stderr
    assert "Traceback" not in done.stderr


def test_station_mode_flashes_a_board_once_and_stops_on_request(
    qtbot: QtBot, production: ProductionWindow, start_board: Start, write_job: Callable[..., Path]
) -> None:
    """Start station flashes the board it finds (once: it is then "seen"), and Stop ends the
    run with the operator named as the reason."""
    board = start_board()
    spec = f"udp:{board.address}"
    load(qtbot, production, write_job([spec]))
    qtbot.mouseClick(production.station_button, Qt.MouseButton.LeftButton)
    assert production.stop_button.isEnabled() and not production.start_button.isEnabled()
    qtbot.waitUntil(lambda: production.cards[spec].status_text == "PASS", timeout=30000)
    polls = board.runtime.stats.reboots
    qtbot.waitUntil(
        lambda: production.controller is not None and production.controller.counters().passed == 1,
        timeout=5000,
    )
    qtbot.mouseClick(production.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _finished(production), timeout=20000)
    assert "stopped by the operator" in production.status.text()
    assert production.results.rowCount() == 1
    assert board.runtime.stats.reboots == polls  # nothing flashed it again before the stop
    assert production.station_button.isEnabled()


def test_job_text_with_markup_is_shown_as_written(
    qtbot: QtBot,
    production: ProductionWindow,
    start_board: Start,
    write_job: Callable[..., Path],
    signed_image: Path,
    tmp_path: Path,
) -> None:
    """A job's name, station and image file name are the job author's text: a `<b>` or an
    `<img>` in them is shown literally on the summary and its tooltip, never rendered."""
    from PySide6.QtCore import Qt

    marked = tmp_path / "<b>app.bin"
    marked.write_bytes(signed_image.read_bytes())
    job = write_job([f"udp:{start_board().address}"])
    text = job.read_text().replace(str(signed_image), str(marked))
    text = text.replace('"sensor 1.1.0"', '"<img src=x>sensor"').replace('"line 3"', '"<i>3</i>"')
    job.write_text(text)
    load(qtbot, production, job)
    summary = production.summary
    assert summary.title.text() == "Job: <img src=x>sensor"
    shown = [summary.title, summary.fields["image"], summary.fields["station"]]
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in shown)
    assert summary.fields["station"].text() == "<i>3</i>"
    tip = summary.fields["image"].toolTip()
    assert "&lt;b&gt;app.bin" in tip and "<b>app" not in tip
