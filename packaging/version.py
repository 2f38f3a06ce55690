"""The one version, read from pyproject.toml, stamped into every packaging artefact.

pyproject.toml `[project] version` is the single source. This helper hands it to the places
that cannot read pyproject themselves:

  python packaging/version.py                      print it (build scripts export it as
                                                   SLOTWISE_VERSION for installer.iss)
  python packaging/version.py --windows-numeric    the four-part number Windows wants (0.1.0.0)
  python packaging/version.py --dist-info DIR      write DIR/slotwise-<v>.dist-info so a frozen
                                                   build's importlib.metadata reports it
  python packaging/version.py --win-version-file F write a PyInstaller version-resource file
  python packaging/version.py --stamp IN OUT       copy a template (AppStream metainfo),
                                                   filling @VERSION@, @SHORT_VERSION@, @DATE@

The spec imports the same functions, so the .exe resource, Info.plist, the dist-info the app
reads at run time and the installer all carry the string pyproject.toml holds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import plistlib
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
NAME = "slotwise"
_NUMERIC = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?")


class VersionError(Exception):
    """pyproject.toml is missing, unreadable or has no usable [project] version."""


def project_metadata(pyproject: Path = PYPROJECT) -> dict[str, object]:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VersionError(f"cannot read {pyproject}: {exc}") from exc
    project = data.get("project")
    if not isinstance(project, dict):
        raise VersionError(f"{pyproject} has no [project] table")
    return project


def read_version(pyproject: Path = PYPROJECT) -> str:
    """The `[project] version` string, checked to start with a number."""
    version = project_metadata(pyproject).get("version")
    if not isinstance(version, str) or not _NUMERIC.match(version):
        raise VersionError(f"{pyproject} [project] version {version!r} is not a version number")
    return version


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """Four integers for Windows version resources and CFBundleVersion (0.1.0rc1 -> 0,1,0,0)."""
    match = _NUMERIC.match(version)
    if match is None:
        raise VersionError(f"{version!r} is not a version number")
    parts = [int(p) if p is not None else 0 for p in match.groups()]
    return parts[0], parts[1], parts[2], parts[3]


def write_dist_info(directory: Path, pyproject: Path = PYPROJECT) -> Path:
    """A minimal `slotwise-<v>.dist-info` (METADATA + licence) for importlib.metadata.

    Generated from pyproject rather than copied from an installed distribution, so a stale
    editable install in the build venv can never stamp an old version into the bundle.
    """
    project = project_metadata(pyproject)
    version = read_version(pyproject)
    dist_info = directory / f"{NAME}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    for old in directory.glob(f"{NAME}-*.dist-info"):
        if old != dist_info:  # a previous build's version must not linger next to this one
            for child in old.iterdir():
                child.unlink()
            old.rmdir()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
        f"License: {project.get('license', '')}",
    ]
    (dist_info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (dist_info / "INSTALLER").write_text("pyinstaller\n", encoding="utf-8")
    return dist_info


def release_date() -> str:
    """Today (UTC), or SOURCE_DATE_EPOCH's day so that rebuilds of a tag are identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
        if epoch
        else datetime.datetime.now(datetime.UTC)
    )
    return moment.date().isoformat()


def stamp(text: str, version: str, date: str | None = None) -> str:
    """Fill the @VERSION@, @SHORT_VERSION@ (x.y.z) and @DATE@ placeholders of a template."""
    short = ".".join(str(n) for n in numeric_version(version)[:3])
    return (
        text.replace("@VERSION@", version)
        .replace("@SHORT_VERSION@", short)
        .replace("@DATE@", date or release_date())
    )


def load_info_plist(path: Path, version: str) -> dict[str, object]:
    """packaging/macos/Info.plist with the version filled in, as BUNDLE(info_plist=...)."""
    raw = stamp(path.read_text(encoding="utf-8"), version)
    plist = plistlib.loads(raw.encode("utf-8"))
    if not isinstance(plist, dict):
        raise VersionError(f"{path} is not a dictionary plist")
    return plist


def windows_version_file(version: str) -> str:
    """PyInstaller's VSVersionInfo source for the .exe's Properties > Details page."""
    nums = numeric_version(version)
    return f"""# generated by packaging/version.py from pyproject.toml; do not edit
VSVersionInfo(
  ffi=FixedFileInfo(filevers={nums}, prodvers={nums}, mask=0x3f, flags=0x0, OS=0x40004,
                    fileType=0x1, subtype=0x0, date=(0, 0)),
  kids=[
    StringFileInfo([StringTable('040904B0', [
      StringStruct('CompanyName', 'Slotwise developers'),
      StringStruct('FileDescription', 'Slotwise firmware updater'),
      StringStruct('FileVersion', '{version}'),
      StringStruct('InternalName', 'slotwise'),
      StringStruct('LegalCopyright', 'Apache-2.0'),
      StringStruct('OriginalFilename', 'slotwise.exe'),
      StringStruct('ProductName', 'Slotwise'),
      StringStruct('ProductVersion', '{version}')])]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=PYPROJECT)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--windows-numeric", action="store_true")
    group.add_argument("--dist-info", type=Path, metavar="DIR")
    group.add_argument("--win-version-file", type=Path, metavar="FILE")
    group.add_argument("--stamp", type=Path, nargs=2, metavar=("IN", "OUT"))
    args = parser.parse_args(argv)
    try:
        version = read_version(args.pyproject)
        if args.windows_numeric:
            print(".".join(str(n) for n in numeric_version(version)))
        elif args.dist_info is not None:
            print(write_dist_info(args.dist_info, args.pyproject))
        elif args.win_version_file is not None:
            args.win_version_file.write_text(windows_version_file(version), encoding="utf-8")
            print(args.win_version_file)
        elif args.stamp is not None:
            source, target = args.stamp
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(stamp(source.read_text(encoding="utf-8"), version), encoding="utf-8")
            print(target)
        else:
            print(version)
    except (VersionError, OSError) as exc:
        print(f"version.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
