#!/usr/bin/env bash
# Build Slotwise for Linux: the one-folder bundle (dist/slotwise/) and a tarball with the
# desktop entry, AppStream metainfo, icons and install.sh.
#
#   packaging/build-linux.sh              (uses $PYTHON, default: python3 on PATH)
#   DIST=/tmp/out WORK=/tmp/work packaging/build-linux.sh
#
# Needs: the project's venv (PySide6, pyinstaller) active. The version comes from
# pyproject.toml through packaging/version.py; nothing here names a version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DIST="${DIST:-$ROOT/dist}"
WORK="${WORK:-$ROOT/build}"
cd "$ROOT"

VERSION="$("$PYTHON" packaging/version.py)"
ARCH="$(uname -m)"
export SLOTWISE_VERSION="$VERSION"
echo "== Slotwise $VERSION for Linux $ARCH"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/slotwise.spec
echo "== PyInstaller took $(( $(date +%s) - start )) s"

BUNDLE="$DIST/slotwise"
"$BUNDLE/slotwise" --version
"$BUNDLE/slotwise" --self-test   # offscreen when there is no display

STAGE="$WORK/stage/slotwise-$VERSION-linux-$ARCH"
rm -rf "$STAGE"
mkdir -p "$STAGE/share/applications" "$STAGE/share/metainfo" \
         "$STAGE/share/icons/hicolor/scalable/apps"
cp -a "$BUNDLE" "$STAGE/slotwise"
cp packaging/linux/io.slotwise.Slotwise.desktop "$STAGE/share/applications/"
"$PYTHON" packaging/version.py --stamp packaging/linux/io.slotwise.Slotwise.metainfo.xml \
    "$STAGE/share/metainfo/io.slotwise.Slotwise.metainfo.xml" >/dev/null
cp app/resources/icons/slotwise.svg "$STAGE/share/icons/hicolor/scalable/apps/io.slotwise.Slotwise.svg"
for size in 48 128 256; do  # rendered from the SVG by the spec (packaging/make_icons.py)
    mkdir -p "$STAGE/share/icons/hicolor/${size}x${size}/apps"
    cp "$WORK/slotwise/icons/slotwise-$size.png" \
       "$STAGE/share/icons/hicolor/${size}x${size}/apps/io.slotwise.Slotwise.png"
done
cp packaging/linux/install.sh "$STAGE/install.sh"
chmod +x "$STAGE/install.sh"

TARBALL="$DIST/slotwise-$VERSION-linux-$ARCH.tar.gz"
tar -C "$(dirname "$STAGE")" -czf "$TARBALL" "$(basename "$STAGE")"
echo "== bundle:  $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
echo "== tarball: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
