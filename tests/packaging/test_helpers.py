"""Build helpers that need no build: the Qt plugin filter and the icon renderer."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING, load

qt_plugins = load("qt_plugins")
make_icons = load("make_icons")


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/qwindows.dll", True),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/qsvgd.dll", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/styles/qmodernwindowsstyle.dll", True),
        ("PySide6/Qt/plugins/styles/qwindowsvistastyle.dll", True),
        ("PySide6/Qt/plugins/styles/libqmacstyle.dylib", True),
        ("PySide6/Qt/plugins/permissions/libqdarwinbluetoothpermission.dylib", False),
        ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("app/gui/icons.pyc", True),
    ],
)
def test_plugin_filter(dest: str, kept: bool) -> None:
    """Only the plugins the app needs on some platform survive; other files are untouched."""
    assert qt_plugins.plugin_kept(dest) is kept


def test_filter_reads_hook_tuples_and_drops_translations() -> None:
    """Hook entries (source, destination folder) are judged by the file name; Qt's .qm
    translations are dropped in either form."""
    assert (
        qt_plugins.kept(
            ("/venv/PySide6/Qt/plugins/imageformats/libqpdf.so", "PySide6/Qt/plugins/imageformats")
        )
        is False
    )
    assert (
        qt_plugins.kept(
            ("/venv/PySide6/Qt/plugins/imageformats/libqsvg.so", "PySide6/Qt/plugins/imageformats")
        )
        is True
    )
    assert qt_plugins.kept(("PySide6/Qt/translations/qtbase_de.qm", "/venv/x.qm", "DATA")) is False


def png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", blob[16:24])


def test_icons_rendered_from_the_svg(tmp_path: Path) -> None:
    """make_icons writes an .ico whose directory lists each size with a PNG of that size,
    an .icns whose entries add up to its header length, and the Linux PNGs. Run as the spec
    runs it: a separate process (its QGuiApplication must not meet the tests' QApplication)."""
    subprocess.run(
        [sys.executable, str(PACKAGING / "make_icons.py"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    written = {
        "ico": tmp_path / "slotwise.ico",
        "icns": tmp_path / "slotwise.icns",
        "png256": tmp_path / "slotwise-256.png",
    }
    ico = written["ico"].read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    for i, size in enumerate(make_icons.ICO_SIZES):
        entry = ico[6 + 16 * i : 22 + 16 * i]
        w, h, _c, _r, _p, _b, length, offset = struct.unpack("<BBBBHHII", entry)
        assert (w or 256, h or 256) == (size, size)
        assert png_size(ico[offset : offset + length]) == (size, size)
    icns = written["icns"].read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    pos, kinds = 8, []
    while pos < len(icns):
        kind_bytes, length = icns[pos : pos + 4], struct.unpack(">I", icns[pos + 4 : pos + 8])[0]
        kinds.append(kind_bytes)
        pos += length
    assert pos == len(icns)
    assert set(kinds) == set(make_icons.ICNS_TYPES.values())
    assert png_size(written["png256"].read_bytes()) == (256, 256)
