"""The real Linux build: built once per session by packaging/build-linux.sh, then run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT, LinuxBuild, clean_env, load

# Slow: the first test pays for the session's PyInstaller build (CI runs these in their own
# step with `pytest -m slow`).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
RESOURCES = ROOT / "app" / "resources"

version_mod = load("version")
layout = load("layout")
qt_plugins = load("qt_plugins")


def run(
    program: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), *args],
        capture_output=True,
        text=True,
        env=env if env is not None else clean_env(),
        timeout=timeout,
        cwd=program.parent.parent,
    )


def test_built_program_prints_the_pyproject_version(linux_build: LinuxBuild) -> None:
    """`slotwise --version` of the frozen program prints pyproject.toml's version."""
    done = run(linux_build.program, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"slotwise {version_mod.read_version()}"


def test_built_program_passes_its_self_test_headless(linux_build: LinuxBuild) -> None:
    """`slotwise --self-test` of the frozen program passes every check with no display,
    choosing the offscreen platform by itself."""
    done = run(linux_build.program, "--self-test")
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    out = done.stdout
    assert "(frozen build," in out
    assert "platform 'offscreen' (no display: offscreen)" in out
    for check in ("version", "qt", "icons", "window", "simulator", "demo image", "shutdown"):
        assert re.search(rf"^  ok    {re.escape(check)}\b", out, re.M), out
    assert "QtCharts" in out  # the window's throughput chart loaded from the bundle
    assert out.rstrip().endswith("PASS: 7 checks")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (package xvfb)")
def test_built_program_runs_on_a_real_x_server(linux_build: LinuxBuild) -> None:
    """The bundled xcb platform plugin and its libraries start the window on an X server."""
    env = clean_env(QT_QPA_PLATFORM="xcb")
    done = subprocess.run(
        ["xvfb-run", "-a", str(linux_build.program), "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "on platform 'xcb'" in done.stdout


def test_built_program_opens_the_demo_window(linux_build: LinuxBuild, tmp_path: Path) -> None:
    """The frozen GUI entry point works: `slotwise --demo --screenshot` starts the simulated
    devices, reads one and saves the window as a PNG."""
    shot = tmp_path / "demo.png"
    done = run(
        linux_build.program,
        "--demo",
        "--screenshot",
        str(shot),
        env=clean_env(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path)),
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_self_test_of_a_broken_bundle_fails_with_the_reason(
    linux_build: LinuxBuild, tmp_path: Path
) -> None:
    """A bundle missing its demo image fails the self-test with exit 1 and names the file."""
    broken = tmp_path / "slotwise"
    shutil.copytree(linux_build.bundle, broken, copy_function=os.link, symlinks=True)
    image = broken / layout.INTERNAL / "app" / "resources" / "demo" / "demo-app-1.1.0.signed.bin"
    image.unlink()
    done = run(broken / "slotwise", "--self-test")
    assert done.returncode == 1
    assert "FAIL: demo image: bundled resource missing:" in done.stdout
    assert str(image) in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_bundle_carries_resources_licence_and_version_metadata(linux_build: LinuxBuild) -> None:
    """app/resources/ (icons, demo image and key), LICENSE and a dist-info with the pyproject
    version are inside the bundle, where app/gui/icons.py and importlib.metadata look."""
    internal = linux_build.bundle / layout.INTERNAL
    source = sorted(p.relative_to(RESOURCES) for p in RESOURCES.rglob("*") if p.is_file())
    bundled = sorted(
        p.relative_to(internal / "app" / "resources")
        for p in (internal / "app" / "resources").rglob("*")
        if p.is_file()
    )
    assert bundled == source
    assert (internal / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    version = version_mod.read_version()
    metadata = internal / f"slotwise-{version}.dist-info" / "METADATA"
    assert f"Version: {version}\n" in metadata.read_text()


def test_bundle_keeps_needed_qt_and_leaves_out_the_rest(linux_build: LinuxBuild) -> None:
    """The Qt the app uses is bundled (platforms, SVG, Charts); unused modules, plugins and
    translations are not."""
    qt = linux_build.bundle / layout.INTERNAL / "PySide6" / "Qt"
    libs = {p.name.split(".so")[0] for p in (qt / "lib").iterdir()}
    for needed in (
        "libQt6Core",
        "libQt6Gui",
        "libQt6Widgets",
        "libQt6Svg",
        "libQt6Charts",
        "libQt6XcbQpa",
        "libQt6DBus",
    ):
        assert needed in libs
    for unused in (
        "Quick",
        "Qml",
        "Pdf",
        "VirtualKeyboard",
        "WebEngine",
        "Multimedia",
        "3D",
        "EglFS",
        "Sql",
        "Designer",
    ):
        assert not [lib for lib in libs if f"Qt6{unused}" in lib], unused
    plugins = {str(p.relative_to(qt / "plugins")) for p in (qt / "plugins").rglob("*.so")}
    for needed in (
        "platforms/libqoffscreen.so",
        "platforms/libqxcb.so",
        "platforms/libqwayland.so",
        "imageformats/libqsvg.so",
        "iconengines/libqsvgicon.so",
        "xcbglintegrations/libqxcb-glx-integration.so",
    ):
        assert needed in plugins
    assert all(qt_plugins.plugin_kept(f"PySide6/Qt/plugins/{p}") for p in plugins), plugins
    assert not (qt / "translations").exists()
    internal = linux_build.bundle / layout.INTERNAL
    for dev_only in ("pytest", "hypothesis", "imgtool", "smpmgr", "bumble", "grpc", "tkinter"):
        assert not (internal / dev_only).exists(), dev_only


def test_bundle_size_stays_within_budget(linux_build: LinuxBuild) -> None:
    """The Linux bundle stays under 200 MiB (measured 174 MiB; a regression that drags in
    WebEngine or QML would add 100+ MiB)."""
    assert linux_build.size_bytes < 200 * 2**20


def test_tarball_installs_per_user_and_runs(linux_build: LinuxBuild, tmp_path: Path) -> None:
    """install.sh from the unpacked tarball installs under PREFIX: a working `bin/slotwise`
    symlink, the desktop entry pointing at it, the icon and the metainfo; --uninstall
    removes them."""
    prefix = tmp_path / "prefix"
    env = clean_env(PREFIX=str(prefix), HOME=str(tmp_path))
    done = subprocess.run(
        ["sh", str(linux_build.unpacked / "install.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    version = version_mod.read_version()
    assert done.stdout.strip().endswith(f"Slotwise {version} installed in {prefix}")
    program = prefix / "bin" / "slotwise"
    assert program.is_symlink()
    assert run(program, "--version").stdout.strip() == f"slotwise {version}"
    desktop = (prefix / "share/applications/io.slotwise.Slotwise.desktop").read_text()
    assert f"Exec={program}\n" in desktop
    assert (prefix / "share/icons/hicolor/scalable/apps/io.slotwise.Slotwise.svg").is_file()
    assert (prefix / "share/icons/hicolor/256x256/apps/io.slotwise.Slotwise.png").is_file()
    metainfo = (prefix / "share/metainfo/io.slotwise.Slotwise.metainfo.xml").read_text()
    assert f'<release version="{version}"' in metainfo
    done = subprocess.run(
        ["sh", str(linux_build.unpacked / "install.sh"), "--uninstall"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not program.exists() and not (prefix / "lib" / "slotwise").exists()
    assert not list(prefix.rglob("io.slotwise.Slotwise*"))


def iss_sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
        elif current:
            sections[current].append(line)
    return sections


def iss_params(line: str) -> dict[str, str]:
    """`Name: "x"; Flags: a b` -> {"Name": "x", "Flags": "a b"} (no ; inside values here)."""
    params = {}
    for part in line.split(";"):
        key, _, value = part.partition(":")
        params[key.strip()] = value.strip().strip('"')
    return params


def iss_defines(text: str) -> dict[str, str]:
    return dict(re.findall(r'^\s*#define (\w+) "([^"]*)"', text, re.M))


def test_installer_files_all_exist_in_the_build(linux_build: LinuxBuild) -> None:
    """Every [Files] Source of installer.iss exists in the build output: the _internal tree
    and LICENSE literally, the .exe launchers as the launchers the spec builds (their Linux
    counterpart where one is built, the Windows table of packaging/layout.py otherwise)."""
    text = (ROOT / "installer.iss").read_text()
    defines = iss_defines(text)
    files = iss_sections(text)["Files"]
    assert files, "installer.iss has no [Files] entries"
    windows = {launcher.name for launcher in layout.launchers("win32")}
    linux = {launcher.name for launcher in layout.launchers("linux")}
    for line in files:
        source = iss_params(line)["Source"]
        for name, value in defines.items():
            source = source.replace(f"{{#{name}}}", value)
        rel = Path(*source.split("\\"))
        if rel.parts[:2] == ("dist", "slotwise"):
            path = linux_build.bundle.joinpath(*rel.parts[2:])
        else:
            path = ROOT / rel
        if path.name == "*":
            assert path.parent.is_dir() and any(path.parent.rglob("*")), source
        elif path.suffix == ".exe":
            assert path.stem in windows, f"{source}: the spec builds no such Windows launcher"
            if path.stem in linux:
                assert path.with_suffix("").is_file(), source
        else:
            assert path.is_file(), source
