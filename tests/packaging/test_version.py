"""One version, in pyproject.toml, reaching every artefact through packaging/version.py."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import app
from tests.packaging.conftest import PACKAGING, ROOT, load

version_mod = load("version")
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_helper_prints_the_pyproject_version() -> None:
    """`python packaging/version.py` prints [project] version, which build scripts export."""
    done = subprocess.run(
        [sys.executable, str(PACKAGING / "version.py")], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == PYPROJECT_VERSION


def test_numeric_version_pads_and_drops_suffixes() -> None:
    """Windows/macOS numeric versions: four integers, pre-release suffixes dropped."""
    assert version_mod.numeric_version("1.2.3") == (1, 2, 3, 0)
    assert version_mod.numeric_version("2.0rc1") == (2, 0, 0, 0)
    assert version_mod.numeric_version("1.2.3.4.dev5") == (1, 2, 3, 4)


def test_unusable_pyproject_is_a_clear_error(tmp_path: Path) -> None:
    """A pyproject without a numeric version, or none at all, fails with a sentence, exit 1."""
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\nversion = "banana"\n')
    with pytest.raises(version_mod.VersionError, match="is not a version number"):
        version_mod.read_version(bad)
    done = subprocess.run(
        [
            sys.executable,
            str(PACKAGING / "version.py"),
            "--pyproject",
            str(tmp_path / "missing.toml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("version.py: cannot read")
    assert "Traceback" not in done.stderr


def test_generated_dist_info_is_what_importlib_metadata_reads(tmp_path: Path) -> None:
    """The dist-info the spec bundles makes importlib.metadata report the pyproject version
    (how app.__version__ works in a frozen build), and replaces an older build's."""
    stale = tmp_path / "slotwise-0.0.1.dist-info"
    stale.mkdir()
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: slotwise\nVersion: 0.0.1\n")
    version_mod.write_dist_info(tmp_path)
    found = list(importlib.metadata.distributions(name="slotwise", path=[str(tmp_path)]))
    assert [d.version for d in found] == [PYPROJECT_VERSION]
    assert not stale.exists()


def test_app_version_is_the_pyproject_version() -> None:
    """app.__version__ (--version, About, reports) is pyproject's version once installed."""
    assert app.__version__ == PYPROJECT_VERSION


def test_cli_version_flag() -> None:
    """`slotwise --version` prints the single version."""
    done = subprocess.run(
        [sys.executable, "-m", "app", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.strip() == f"slotwise {PYPROJECT_VERSION}"


def test_windows_version_resource_carries_the_version() -> None:
    """The .exe version resource (Properties > Details) is generated from the version."""
    text = version_mod.windows_version_file("1.4.2")
    assert "filevers=(1, 4, 2, 0)" in text
    assert "StringStruct('ProductVersion', '1.4.2')" in text


def test_stamp_fills_every_placeholder() -> None:
    """Templates get the version, the x.y.z short form and the release date."""
    out = version_mod.stamp("@VERSION@ @SHORT_VERSION@ @DATE@", "1.2.3rc1", "2026-01-02")
    assert out == "1.2.3rc1 1.2.3 2026-01-02"


def test_release_date_follows_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """SOURCE_DATE_EPOCH pins the metainfo release date, so a rebuild is reproducible."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767312000")
    assert version_mod.release_date() == "2026-01-02"


@pytest.mark.parametrize(
    "path",
    [
        "installer.iss",
        "packaging/slotwise.spec",
        "packaging/macos/Info.plist",
        "packaging/linux/io.slotwise.Slotwise.metainfo.xml",
        "packaging/build-linux.sh",
        "packaging/build-macos.sh",
        "packaging/build-windows.ps1",
    ],
)
def test_no_packaging_file_writes_the_version_itself(path: str) -> None:
    """No packaging file hard-codes the version; it would drift from pyproject.toml."""
    assert PYPROJECT_VERSION not in (ROOT / path).read_text()
