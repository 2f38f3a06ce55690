#!/bin/sh
# Install Slotwise from the unpacked tarball: for this user (default, ~/.local) or system-wide.
#
#   ./install.sh                         -> ~/.local/lib/slotwise, ~/.local/bin/slotwise
#   sudo PREFIX=/usr/local ./install.sh  -> /usr/local/...
#   ./install.sh --uninstall             (same PREFIX)
set -eu

PREFIX="${PREFIX:-$HOME/.local}"
HERE="$(cd "$(dirname "$0")" && pwd)"
APP_ID=io.slotwise.Slotwise

refresh() {  # menus and icon caches pick the change up; harmless where the tools are missing
    command -v update-desktop-database >/dev/null 2>&1 \
        && update-desktop-database -q "$PREFIX/share/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 \
        && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$PREFIX/lib/slotwise"
    rm -f "$PREFIX/bin/slotwise" "$PREFIX/share/applications/$APP_ID.desktop" \
          "$PREFIX/share/metainfo/$APP_ID.metainfo.xml"
    find "$PREFIX/share/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
    refresh
    echo "Slotwise removed from $PREFIX"
    exit 0
fi

mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share"
rm -rf "$PREFIX/lib/slotwise"
cp -R "$HERE/slotwise" "$PREFIX/lib/slotwise"
# The bootloader finds _internal/ through the resolved path, so a symlink on PATH works.
ln -sf "$PREFIX/lib/slotwise/slotwise" "$PREFIX/bin/slotwise"
cp -R "$HERE/share/." "$PREFIX/share/"
# Menus do not always search ~/.local/bin: point the entry at the installed program.
sed -i "s|^Exec=slotwise|Exec=$PREFIX/bin/slotwise|; s|^TryExec=slotwise|TryExec=$PREFIX/bin/slotwise|" \
    "$PREFIX/share/applications/$APP_ID.desktop"
refresh
echo "Slotwise $("$PREFIX/bin/slotwise" --version | cut -d' ' -f2) installed in $PREFIX"
