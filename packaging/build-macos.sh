#!/usr/bin/env bash
# Build Slotwise for macOS: dist/Slotwise.app and a compressed disk image.
#
#   packaging/build-macos.sh
#   CODESIGN_IDENTITY="Developer ID Application: Example (TEAMID)" packaging/build-macos.sh
#   ... NOTARY_PROFILE=slotwise-notary  (a `xcrun notarytool store-credentials` profile)
#
# Build on the oldest macOS you support, once per architecture (arm64 / x86_64) or with a
# universal2 Python. Info.plist keys, including the Bluetooth usage text without which macOS
# kills the app at its first BLE scan, come from packaging/macos/Info.plist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DIST="${DIST:-$ROOT/dist}"
WORK="${WORK:-$ROOT/build}"
cd "$ROOT"

VERSION="$("$PYTHON" packaging/version.py)"
ARCH="$(uname -m)"
export SLOTWISE_VERSION="$VERSION"
echo "== Slotwise $VERSION for macOS $ARCH"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" packaging/slotwise.spec
echo "== PyInstaller took $(( $(date +%s) - start )) s"

APP="$DIST/Slotwise.app"
"$APP/Contents/MacOS/slotwise" --version
"$APP/Contents/MacOS/slotwise" --self-test
/usr/libexec/PlistBuddy -c "Print :NSBluetoothAlwaysUsageDescription" "$APP/Contents/Info.plist"

if [[ -n "${CODESIGN_IDENTITY:-}" ]]; then
    # Hardened runtime (required for notarisation) with the entitlements Python needs.
    codesign --force --deep --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist \
        --sign "$CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
fi

DMG="$DIST/slotwise-$VERSION-macos-$ARCH.dmg"
rm -f "$DMG"
hdiutil create -volname "Slotwise $VERSION" -srcfolder "$APP" -ov -format UDZO "$DMG"

if [[ -n "${CODESIGN_IDENTITY:-}" && -n "${NOTARY_PROFILE:-}" ]]; then
    codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$DMG"
    xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
fi
echo "== app: $APP ($(du -sh "$APP" | cut -f1))"
echo "== dmg: $DMG ($(du -h "$DMG" | cut -f1))"
