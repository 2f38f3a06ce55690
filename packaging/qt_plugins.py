"""Which Qt plugins and files a Slotwise bundle keeps (used by the spec and packaging/hooks).

PyInstaller's PySide6 hooks collect every plugin of a Qt module (all platforms, image formats,
input methods, EGL device integrations ...), and each plugin drags its own libraries along:
the virtual keyboard plugin pulls QtQuick and QtQml, the PDF image format QtPdf, the GTK theme
GTK, Cairo and Pango. The hooks in packaging/hooks filter the plugin list *before* PyInstaller
resolves library dependencies, so what a dropped plugin needs is never collected.
"""

from __future__ import annotations

from pathlib import PurePath

KEEP_PLUGINS: dict[str, frozenset[str]] = {
    # offscreen: the self-test and CI; xcb and wayland: Linux desktops; windows, cocoa.
    "platforms": frozenset({"offscreen", "minimal", "xcb", "wayland", "windows", "cocoa"}),
    "platformthemes": frozenset({"xdgdesktopportal"}),  # portal file dialogs, dark mode hints
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),  # dead keys, IMEs
    "xcbglintegrations": frozenset({"xcb-glx-integration", "xcb-egl-integration"}),
    "wayland-shell-integration": frozenset({"xdg-shell"}),
    "wayland-decoration-client": frozenset({"bradient", "adwaita"}),
    "wayland-graphics-integration-client": frozenset({"qt-plugin-wayland-egl"}),
    "imageformats": frozenset({"svg", "ico", "icns"}),  # SVG icons; app icon formats
    "iconengines": frozenset({"svgicon"}),  # QIcon from .svg, sharp on HiDPI
    "styles": frozenset({"modernwindowsstyle", "windowsvistastyle", "macstyle"}),
    "accessiblebridge": frozenset({"at-spi"}),
}
"""Plugin directory -> file stems kept (after dropping 'lib' and Qt's 'q' prefix).

A directory not named here (generic evdev/tuio input, egldeviceintegrations, tls,
networkinformation, printsupport, sqldrivers, ...) is dropped entirely.
"""


def _names(filename: str) -> set[str]:
    stem = filename.split(".")[0]
    bare = stem.removeprefix("lib")
    names = {stem, bare, bare.removeprefix("q")}
    names |= {n[:-1] for n in names if n.endswith("d")}  # Windows debug builds: qsvgd.dll
    return names


def plugin_kept(dest: str) -> bool:
    """Whether a collected file (its destination path) survives the plugin filter."""
    parts = PurePath(dest.replace("\\", "/")).parts
    if "plugins" not in parts:
        return True
    i = parts.index("plugins")
    if i + 2 >= len(parts):  # a file directly under plugins/
        return True
    keep = KEEP_PLUGINS.get(parts[i + 1])
    return keep is not None and bool(_names(parts[-1]) & keep)


def is_translation(dest: str) -> bool:
    """Qt's .qm catalogues: the UI is English only, so they are ~10 MB of nothing."""
    return "translations" in PurePath(dest.replace("\\", "/")).parts


def kept(entry: tuple[str, ...]) -> bool:
    """Filter for (dest, src, kind) TOC entries and (src, dest_dir) hook tuples alike."""
    if len(entry) == 3:
        dest = entry[0]
    else:  # a hook names the source file and the directory it goes to
        dest = f"{entry[1]}/{PurePath(entry[0].replace(chr(92), '/')).name}"
    return plugin_kept(dest) and not is_translation(dest)
