"""The technician's update workflow end to end: drop, verdict, upload, test, confirm, roll back,
refusals and resume, against a simulated device over real UDP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from app.gui.bridge import CoreBridge
from app.gui.main_window import MainWindow
from app.gui.settings import AppSettings
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer

from .conftest import connect, on_loop, start_sim, udp_target


def drop_file(window: MainWindow, path: Path) -> None:
    """Drag `path` onto the window and drop it, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(  # a QPoint: PySide6 before 6.12 takes no QPointF here
        window.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(window.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)


def badges(window: MainWindow, slot: int) -> list[str]:
    card = window.device_view.card(0, slot)
    return [label.text() for label in card.badges] if card else []


def version(window: MainWindow, slot: int) -> str:
    card = window.device_view.card(0, slot)
    return card.version_label.text() if card else ""


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def answer_yes(qtbot: QtBot, window: MainWindow) -> str:
    """Find the open confirmation, press its action button, and return what it said."""
    qtbot.waitUntil(
        lambda: window.findChild(QMessageBox, "confirm-dialog") is not None, timeout=5000
    )
    box = window.findChild(QMessageBox, "confirm-dialog")
    text = box.informativeText()
    click(qtbot, box.findChild(QPushButton, "confirm-yes"))
    return text


def upload_in_test_mode(qtbot: QtBot, window: MainWindow, image: Path) -> str:
    """Drop, wait for the verdict, upload in test mode; returns the verdict as shown."""
    drop_file(window, image)
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    verdict = panel.verdict.plain_text()
    assert panel.mode_combo.currentData() == "test"
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000):
        click(qtbot, panel.upload_button)
    return verdict


def test_drop_upload_test_reset_confirm(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """A dropped signed image shows its verdict, uploads in test mode, runs unconfirmed after
    the reset, and is confirmed with the result's Confirm button."""
    connect(qtbot, window, sim)
    image = make_image("1.1.0")
    logged: list[str] = []
    window.controller.logged.connect(lambda _level, text: logged.append(text))
    verdict = upload_in_test_mode(qtbot, window, image)
    assert f"Uploading {image.name} (test: boot it once, then confirm)" in logged
    assert "Signature valid (ecdsa-p256), key \u201ctest-key\u201d" in verdict
    assert "Version 1.1.0: upgrade (the device runs 1.0.0)" in verdict
    assert "fits the 512.0 KiB slot" in verdict
    assert version(window, 0) == "1.1.0"
    assert badges(window, 0) == ["active", "unconfirmed", "bootable"]
    assert version(window, 1) == "1.0.0"
    panel = window.upload_panel
    assert "1.1.0" in panel.result_label.text()
    assert panel.confirm_button.isVisible()
    assert str(image) in window.prefs.recent_files
    click(qtbot, panel.confirm_button)
    qtbot.waitUntil(lambda: badges(window, 0) == ["active", "confirmed", "bootable"], timeout=10000)


def test_roll_back_after_test_reverts_to_old_image(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Roll back on an image under test explains the revert, resets, and 1.0.0 runs again."""
    connect(qtbot, window, sim)
    upload_in_test_mode(qtbot, window, make_image("1.2.0"))
    assert version(window, 0) == "1.2.0"
    click(qtbot, window.device_view.card(0, 0).buttons["rollback"])
    said = answer_yes(qtbot, window)
    assert "reverts to version 1.0.0" in said
    qtbot.waitUntil(lambda: version(window, 0) == "1.0.0", timeout=20000)
    assert badges(window, 0) == ["active", "confirmed", "bootable"]


def test_roll_back_from_confirmed_boots_other_slot(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Roll back from a confirmed image tests the other slot's image and boots it."""
    connect(qtbot, window, sim)
    upload_in_test_mode(qtbot, window, make_image("1.3.0"))
    click(qtbot, window.upload_panel.confirm_button)
    qtbot.waitUntil(lambda: "confirmed" in badges(window, 0), timeout=10000)
    click(qtbot, window.device_view.card(0, 0).buttons["rollback"])
    said = answer_yes(qtbot, window)
    assert "boots version 1.0.0 from the other slot" in said
    qtbot.waitUntil(lambda: version(window, 0) == "1.0.0", timeout=20000)
    assert badges(window, 0) == ["active", "unconfirmed", "bootable"]


def test_tampered_image_is_refused_with_reason(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """An image with one payload byte changed is refused: the hash reason shows, Upload stays
    disabled and no override is offered."""
    connect(qtbot, window, sim)
    data = bytearray(make_image("1.4.0").read_bytes())
    data[0x200 + 100] ^= 0x01
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(data)
    drop_file(window, tampered)
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    assert panel.verdict.headline.text() == "This image cannot be uploaded"
    assert "DOES NOT match" in panel.verdict.plain_text()
    assert not panel.upload_button.isEnabled()
    assert not panel.override_box.isVisible()


def test_untrusted_key_is_refused(
    qtbot: QtBot, window: MainWindow, sim: UdpSimServer, make_image: Callable[..., Path]
) -> None:
    """With no trusted keys, a signed image is refused and the verdict says to add its key."""
    connect(qtbot, window, sim)
    window.open_image(make_image("1.5.0"))
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    assert "not among your trusted keys" in panel.verdict.plain_text()
    assert not panel.upload_button.isEnabled()


def test_device_vanishing_mid_upload_then_resume(
    qtbot: QtBot, bridge: CoreBridge, trusted_settings: AppSettings, make_image: Callable[..., Path]
) -> None:
    """A device that stops answering mid-upload shows an error; the next upload resumes."""
    from app.gui.settings import Preferences

    trusted_settings.save(Preferences(timeout_s=0.5, upload_mode="none"))
    window = MainWindow(bridge, trusted_settings)
    qtbot.addWidget(window)
    window.show()
    server = start_sim(bridge, LinkModel(rate_bps=60_000))
    connect(qtbot, window, server)
    image = make_image("1.6.0", size=160 * 1024)
    window.open_image(image)
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=10000)
    click(qtbot, panel.upload_button)
    qtbot.waitUntil(lambda: panel.bar.value() > 300, timeout=20000)
    on_loop(bridge, lambda: setattr(server.device.faults, "silent", True))
    with qtbot.waitSignal(window.controller.update_failed, timeout=30000) as failed:
        pass
    assert "resume" in panel.result_label.text()
    assert failed.args[0] in panel.result_label.text()
    on_loop(bridge, lambda: setattr(server.device.faults, "silent", False))
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        click(qtbot, panel.upload_button)
    stats = finished.args[0].result.images[0].upload
    assert stats is not None and stats.resumed_from > 0
    assert finished.args[0].result.ok
    window.close()


def test_cancel_mid_upload_then_resume(
    qtbot: QtBot, bridge: CoreBridge, trusted_settings: AppSettings, make_image: Callable[..., Path]
) -> None:
    """Cancel stops the upload with a sentence; the next upload resumes from the device."""
    from app.gui.settings import Preferences

    trusted_settings.save(Preferences(upload_mode="none"))
    window = MainWindow(bridge, trusted_settings)
    qtbot.addWidget(window)
    window.show()
    server = start_sim(bridge, LinkModel(rate_bps=60_000))
    connect(qtbot, window, server)
    window.open_image(make_image("1.7.0", size=120 * 1024))
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=10000)
    click(qtbot, panel.upload_button)
    qtbot.waitUntil(lambda: panel.bar.value() > 250, timeout=20000)
    with qtbot.waitSignal(window.controller.update_failed, timeout=10000):
        click(qtbot, panel.cancel_button)
    assert "Upload again to resume" in panel.result_label.text()
    assert "cancelled" in window.log_drawer.operations.toPlainText().lower()
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        click(qtbot, panel.upload_button)
    stats = finished.args[0].result.images[0].upload
    assert stats is not None and stats.resumed_from > 0
    window.close()


def test_unsigned_image_needs_the_logged_override(
    qtbot: QtBot, bridge: CoreBridge, trusted_settings: AppSettings, make_image: Callable[..., Path]
) -> None:
    """An unsigned image is blocked until the override (enabled in settings) is ticked, and
    its use is logged."""
    from app.gui.settings import Preferences

    trusted_settings.save(Preferences(upload_mode="none", allow_unsigned=True))
    window = MainWindow(bridge, trusted_settings)
    qtbot.addWidget(window)
    window.show()
    server = start_sim(bridge)
    connect(qtbot, window, server)
    window.open_image(make_image("1.8.0", signed=False))
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    assert panel.verdict.headline.text() == "Unsigned image: only for development devices"
    assert panel.override_box.isVisible() and not panel.override_box.isChecked()
    assert not panel.upload_button.isEnabled()
    panel.override_box.setChecked(True)
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000) as finished:
        click(qtbot, panel.upload_button)
    assert finished.args[0].result.ok
    assert "OVERRIDE: uploading unsigned image" in window.log_drawer.operations.toPlainText()
    window.close()


def test_unsigned_override_is_off_by_default(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Without the setting, an unsigned image is refused and no override is offered."""
    connect(qtbot, window, sim)
    window.open_image(make_image("1.9.0", signed=False))
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.check is not None, timeout=10000)
    assert not panel.override_box.isVisible()
    assert not panel.upload_button.isEnabled()


def upload_only(qtbot: QtBot, window: MainWindow, image: Path) -> None:
    """Upload in "upload only" mode: the image lands in slot 1, nothing is marked."""
    window.open_image(image)
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=10000)
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("none"))
    with qtbot.waitSignal(window.controller.update_finished, timeout=30000):
        click(qtbot, panel.upload_button)


def test_slot_test_button_then_reset_boots_it(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Test marks the uploaded slot pending; Reset (asked once) boots it, unconfirmed."""
    connect(qtbot, window, sim)
    upload_only(qtbot, window, make_image("2.1.0"))
    assert version(window, 1) == "2.1.0" and "pending" not in badges(window, 1)
    click(qtbot, window.device_view.card(0, 1).buttons["test"])
    qtbot.waitUntil(lambda: "pending" in badges(window, 1), timeout=10000)
    click(qtbot, window.device_view.header.reset_button)
    said = answer_yes(qtbot, window)
    assert "boots the pending image, version 2.1.0" in said
    qtbot.waitUntil(lambda: version(window, 0) == "2.1.0", timeout=20000)
    assert badges(window, 0) == ["active", "unconfirmed", "bootable"]


def test_erase_asks_once_and_cancel_keeps_the_image(
    qtbot: QtBot,
    trusted_settings: AppSettings,
    window: MainWindow,
    sim: UdpSimServer,
    make_image: Callable[..., Path],
) -> None:
    """Erase names what is lost; Cancel keeps the slot, Erase empties it."""
    connect(qtbot, window, sim)
    upload_only(qtbot, window, make_image("2.2.0"))
    click(qtbot, window.device_view.card(0, 1).buttons["erase"])
    qtbot.waitUntil(
        lambda: window.findChild(QMessageBox, "confirm-dialog") is not None, timeout=5000
    )
    box = window.findChild(QMessageBox, "confirm-dialog")
    assert "Version 2.2.0 in image 0 slot 1 is deleted" in box.informativeText()
    click(qtbot, box.findChild(QPushButton, "confirm-cancel"))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "confirm-dialog") is None, timeout=5000)
    window.controller.refresh()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=5000)
    assert version(window, 1) == "2.2.0"
    click(qtbot, window.device_view.card(0, 1).buttons["erase"])
    answer_yes(qtbot, window)
    qtbot.waitUntil(lambda: badges(window, 1) == ["empty"], timeout=10000)


def test_selecting_another_device_stops_the_upload(
    qtbot: QtBot,
    bridge: CoreBridge,
    trusted_settings: AppSettings,
    window: MainWindow,
    make_image: Callable[..., Path],
) -> None:
    """Picking another device mid-upload stops that upload and frees the panel for the new
    device; the old device's progress no longer reaches the panel."""
    slow = start_sim(bridge, LinkModel(rate_bps=40_000))
    other = start_sim(bridge)
    connect(qtbot, window, slow, "Slow board")
    window.open_image(make_image("3.0.0", size=160 * 1024))
    panel = window.upload_panel
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=10000)
    click(qtbot, panel.upload_button)
    qtbot.waitUntil(lambda: panel.bar.value() > 100, timeout=20000)
    window.add_targets([udp_target(other, "Other board")])
    window.device_pane.select_spec(f"udp:{other.address}")
    at_switch = panel.bar.value()  # the slow board's progress is gone from the panel
    assert at_switch == 0 and not panel.progress_box.isVisible()
    qtbot.waitUntil(
        lambda: (
            window.controller.snapshot is not None
            and window.controller.snapshot.target.name == "Other board"
        ),
        timeout=10000,
    )
    assert not window.controller.uploading
    assert "another device was selected" in window.log_drawer.operations.toPlainText()
    qtbot.waitUntil(lambda: panel.upload_button.isEnabled(), timeout=5000)
    # the stopped job's end is reported (and dropped) after its last progress event
    qtbot.waitUntil(lambda: bridge.dropped >= 1, timeout=10000)
    assert panel.bar.value() == at_switch
