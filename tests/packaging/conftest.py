"""Packaging fixtures: the packaging/ helper modules, and one real Linux build per session.

The build runs packaging/build-linux.sh (PyInstaller one-folder bundle, its own self-test,
the tarball) into a temporary directory once; every bundle test shares it. It takes a minute
or two on 2 cores. SLOTWISE_TEST_BUNDLE_BUILD=DIR reuses a finished build's DIST directory
(the one holding slotwise/ and the tarball) instead, for quick iteration.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
BUILD_TIMEOUT_S = 840
"""Under the bundle tests' 900 s pytest-timeout, which includes this fixture's setup."""


def load(name: str) -> ModuleType:
    """Import packaging/<name>.py under a private name (packaging/ is not a package, and the
    name `packaging` belongs to the PyPI library)."""
    key = f"_slotwise_packaging_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell on a headless box: no display, no Qt overrides,
    no venv on PATH (the frozen program must not need one)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "QT_QPA_PLATFORM",
            "PYTHONPATH",
            "VIRTUAL_ENV",
            "PYTHONHOME",
            "QT_PLUGIN_PATH",
        }
    }
    env["PATH"] = "/usr/bin:/bin"
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class LinuxBuild:
    dist: Path
    bundle: Path
    program: Path
    tarball: Path
    unpacked: Path
    """The tarball, unpacked: slotwise/, share/, install.sh."""
    seconds: float | None
    size_bytes: int


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


MEASURED: dict[str, str] = {}


@pytest.fixture(scope="session")
def linux_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinuxBuild]:
    """packaging/build-linux.sh run once for the session (or a reused build)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle is built and run on Linux here; macOS/Windows have their scripts")
    reuse = os.environ.get("SLOTWISE_TEST_BUNDLE_BUILD")
    version = load("version").read_version()
    arch = os.uname().machine
    base = tmp_path_factory.mktemp("linux-build")
    if reuse:
        dist, seconds = Path(reuse), None
    else:
        dist, work = base / "dist", base / "work"
        env = clean_env(
            PYTHON=sys.executable,
            DIST=str(dist),
            WORK=str(work),
            PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
        )
        started = time.monotonic()
        done = subprocess.run(
            ["bash", str(PACKAGING / "build-linux.sh")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        seconds = time.monotonic() - started
        assert done.returncode == 0, (
            f"build-linux.sh failed ({done.returncode}):\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
        shutil.rmtree(work, ignore_errors=True)  # PyInstaller's intermediates: ~300 MB
    bundle = dist / "slotwise"
    tarball = dist / f"slotwise-{version}-linux-{arch}.tar.gz"
    with tarfile.open(tarball) as tar:
        tar.extractall(base / "unpacked", filter="tar")
    build = LinuxBuild(
        dist=dist,
        bundle=bundle,
        program=bundle / "slotwise",
        tarball=tarball,
        unpacked=base / "unpacked" / f"slotwise-{version}-linux-{arch}",
        seconds=seconds,
        size_bytes=tree_size(bundle),
    )
    MEASURED["bundle"] = f"{build.size_bytes / 2**20:.0f} MiB ({bundle})"
    if build.tarball.exists():
        MEASURED["tarball"] = f"{build.tarball.stat().st_size / 2**20:.0f} MiB"
    if seconds is not None:
        MEASURED["build-linux.sh"] = f"{seconds:.0f} s"
    yield build
    shutil.rmtree(base, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("slotwise Linux bundle")
        for key, value in MEASURED.items():
            terminalreporter.write_line(f"{key}: {value}")
