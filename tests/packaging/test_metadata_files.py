"""The installer script, desktop entry, AppStream metainfo and Info.plist agree and validate."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING, ROOT, load
from tests.packaging.test_bundle import iss_params, iss_sections

version_mod = load("version")
layout = load("layout")
APP_ID = "io.slotwise.Slotwise"
DESKTOP = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
ISS = (ROOT / "installer.iss").read_text()


def test_installer_takes_its_version_from_outside() -> None:
    """installer.iss reads SLOTWISE_VERSION, accepts /DAppVersion=, and refuses to build
    without either."""
    assert re.search(r'#ifndef AppVersion\s+#define AppVersion GetEnv\("SLOTWISE_VERSION"\)', ISS)
    assert re.search(r'#if AppVersion == ""\s+#error', ISS)
    setup = dict(line.split("=", 1) for line in iss_sections(ISS)["Setup"])
    assert setup["AppVersion"] == "{#AppVersion}"


def test_installer_setup_options() -> None:
    """Per-user install without admin is offered, the licence is shown, and the uninstaller
    and Start-menu entries point at the windowed launcher."""
    setup = dict(line.split("=", 1) for line in iss_sections(ISS)["Setup"])
    assert setup["PrivilegesRequiredOverridesAllowed"].split() == ["dialog", "commandline"]
    assert (ROOT / setup["LicenseFile"]).is_file()
    assert setup["DefaultDirName"].startswith("{autopf}")  # Program Files or the user's
    exe = re.search(r'#define AppExe "([^"]+)"', ISS)
    assert exe is not None
    windowed = [launcher.name for launcher in layout.launchers("win32") if not launcher.console]
    assert exe.group(1) == f"{windowed[0]}.exe"
    assert setup["UninstallDisplayIcon"] == "{app}\\{#AppExe}"


def test_installer_shortcuts() -> None:
    """A Start-menu shortcut, an uninstall entry and an optional, unticked desktop icon."""
    icons = [iss_params(line) for line in iss_sections(ISS)["Icons"]]
    names = [i["Name"] for i in icons]
    assert "{group}\\{#AppName}" in names
    assert any(i["Filename"] == "{uninstallexe}" for i in icons)
    desktop = [i for i in icons if i["Name"].startswith("{autodesktop}")]
    assert desktop and desktop[0]["Tasks"] == "desktopicon"
    tasks = [iss_params(line) for line in iss_sections(ISS)["Tasks"]]
    assert any(t["Name"] == "desktopicon" and t["Flags"] == "unchecked" for t in tasks)
    installed = {
        Path(iss_params(line)["Source"].split("\\")[-1]).name for line in iss_sections(ISS)["Files"]
    }
    for icon in icons:
        target = icon["Filename"].replace("{#AppExe}", "slotwise-gui.exe")
        if target.startswith("{app}\\"):
            assert target.removeprefix("{app}\\") in installed, target


def read_desktop() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  keys are case-sensitive
    parser.read(DESKTOP)
    return parser["Desktop Entry"]


def test_desktop_entry_names_the_program_and_icon() -> None:
    """The .desktop entry starts the bundle's program and uses the app-id icon that
    build-linux.sh installs; it is a GUI entry (no terminal)."""
    entry = read_desktop()
    assert entry["Exec"].split()[0] == layout.launchers("linux")[0].name
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["Type"] == "Application"
    build = (PACKAGING / "build-linux.sh").read_text()
    assert f"apps/{APP_ID}.svg" in build and f"apps/{APP_ID}.png" in build


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="needs desktop-file-validate (package desktop-file-utils)",
)
def test_desktop_entry_validates() -> None:
    """desktop-file-validate accepts the entry."""
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout


def test_metainfo_launches_the_desktop_entry(tmp_path: Path) -> None:
    """The metainfo's launchable is the desktop file, and stamping writes the release."""
    text = METAINFO.read_text()
    assert f"<id>{APP_ID}</id>" in text
    assert f'<launchable type="desktop-id">{DESKTOP.name}</launchable>' in text
    stamped = version_mod.stamp(text, "3.2.1", "2026-03-04")
    assert '<release version="3.2.1" date="2026-03-04"/>' in stamped
    assert "@" not in re.sub(r"<!--.*?-->", "", stamped, flags=re.S)


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="needs appstreamcli")
def test_stamped_metainfo_validates(tmp_path: Path) -> None:
    """appstreamcli accepts the stamped metainfo (no errors or warnings)."""
    out = tmp_path / METAINFO.name
    out.write_text(version_mod.stamp(METAINFO.read_text(), "1.0.0", "2026-01-01"))
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not re.search(r"^[EW]:", done.stdout, re.M), done.stdout


def test_info_plist_has_bluetooth_usage_and_the_version() -> None:
    """The macOS bundle's Info.plist explains Bluetooth use (macOS kills the app at its first
    BLE scan without it) and carries the pyproject version."""
    plist = version_mod.load_info_plist(PACKAGING / "macos" / "Info.plist", "2.5.0rc1")
    assert "Bluetooth" in plist["NSBluetoothAlwaysUsageDescription"]
    assert plist["CFBundleIdentifier"] == APP_ID
    assert plist["CFBundleShortVersionString"] == "2.5.0"
    assert plist["CFBundleVersion"] == "2.5.0rc1"
    spec = (PACKAGING / "slotwise.spec").read_text()
    assert 'info_plist=load_info_plist(PACKAGING / "macos" / "Info.plist", VERSION)' in spec
