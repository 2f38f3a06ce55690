"""The application's persisted preferences, on QSettings (an INI file tests point at tmp_path)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from app.gui.targets import DeviceTarget
from app.workflows.supervisor import migrate

log = logging.getLogger(__name__)

UPLOAD_MODES = ("test", "confirm", "none")
UPLOAD_MODE_LABELS = {
    "test": "Test: boot it once, then confirm",
    "confirm": "Confirm: make it permanent",
    "none": "Upload only: do not mark it",
}
"""What each upload mode does, as the upload panel, Settings and the log say it."""
THEMES = ("system", "light", "dark")
MAX_RECENT = 8
SUPERVISOR_PASSWORD_KEY = "production/supervisor_password"
"""Where a station keeps the supervisor password's hash (operator mode, app/gui/production)."""
LEGACY_PASSWORD_KEY = "production/supervisor_password_sha256"
"""Where older stations kept its unsalted SHA-256; moved to SUPERVISOR_PASSWORD_KEY on read."""


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the settings dialog edits; one frozen value, saved as a whole."""

    upload_mode: str = "test"
    """After upload: "test" (boot once, confirm later), "confirm" (permanent) or "none"."""
    timeout_s: float = 5.0
    reset_wait_s: float = 20.0
    window: int = 4
    """Upload requests kept in flight (the pipelining window)."""
    serial_baud: int = 115200
    ble_filter: str = ""
    """Only BLE devices whose name contains this text are listed (empty: all)."""
    theme: str = "system"
    allow_unsigned: bool = False
    """Offer the (logged) override for unsigned development images; off by default."""
    recent_files: tuple[str, ...] = field(default=())


ADDED_DEVICES_KEY = "devices/added"
"""JSON list of {spec, kind, name, address}: the devices added by hand."""


class AppSettings:
    """Reads and writes Preferences, window geometry and recent files."""

    def __init__(self, path: Path | None = None, keys_dir: Path | None = None) -> None:
        if path is None:
            self._qs = QSettings("Slotwise", "Slotwise")
        else:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
        self._keys_dir = keys_dir

    @property
    def keys_dir(self) -> Path:
        """Where trusted public keys live as `<name>.pem` (app/image KeyStore)."""
        if self._keys_dir is not None:
            return self._keys_dir
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        return Path(base or Path.home() / ".slotwise") / "trusted-keys"

    def load(self) -> Preferences:
        prefs = Preferences()
        values: dict[str, object] = {}
        for f in fields(Preferences):
            raw = self._qs.value(f"prefs/{f.name}")
            if raw is None:
                continue
            default = getattr(prefs, f.name)
            try:
                values[f.name] = _coerce(raw, default)
            except (TypeError, ValueError):
                log.warning("ignoring unreadable setting %s=%r", f.name, raw)
        loaded = replace(prefs, **values)  # type: ignore[arg-type]
        if loaded.upload_mode not in UPLOAD_MODES:
            loaded = replace(loaded, upload_mode="test")
        if loaded.theme not in THEMES:
            loaded = replace(loaded, theme="system")
        return loaded

    def save(self, prefs: Preferences) -> None:
        for f in fields(Preferences):
            value = getattr(prefs, f.name)
            self._qs.setValue(f"prefs/{f.name}", list(value) if isinstance(value, tuple) else value)
        self._qs.sync()

    def add_recent(self, path: Path) -> Preferences:
        prefs = self.load()
        text = str(path)
        recent = (text, *[p for p in prefs.recent_files if p != text])[:MAX_RECENT]
        prefs = replace(prefs, recent_files=recent)
        self.save(prefs)
        return prefs

    def supervisor_password_hash(self) -> str | None:
        """The stored hash of the supervisor password set on this station, if any.

        An older station's unsalted SHA-256 is migrated (salted, wrapped in scrypt) and the
        old key removed, the first time it is read."""
        legacy = self._qs.value(LEGACY_PASSWORD_KEY)
        if legacy and not self._qs.value(SUPERVISOR_PASSWORD_KEY):
            self.set_supervisor_password_hash(migrate(str(legacy)))
        if legacy:
            self._qs.remove(LEGACY_PASSWORD_KEY)
            self._qs.sync()
        value = self._qs.value(SUPERVISOR_PASSWORD_KEY)
        return str(value) if value else None

    def set_supervisor_password_hash(self, stored: str) -> None:
        """Keep the hash of the supervisor password (never the password itself)."""
        self._qs.setValue(SUPERVISOR_PASSWORD_KEY, stored)
        self._qs.sync()

    def added_devices(self) -> list[DeviceTarget]:
        """Devices the user added by hand, in the order added (the list shows them on start)."""
        raw = self._qs.value(ADDED_DEVICES_KEY)
        try:
            rows = json.loads(str(raw)) if raw else []
            return [
                DeviceTarget(spec=r["spec"], kind=r["kind"], name=r["name"], address=r["address"])
                for r in rows
            ]
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring unreadable list of added devices: %r", raw)
            return []

    def remember_device(self, target: DeviceTarget) -> None:
        kept = [t for t in self.added_devices() if t.spec != target.spec]
        self._save_added([*kept, target])

    def forget_device(self, spec: str) -> None:
        self._save_added([t for t in self.added_devices() if t.spec != spec])

    def _save_added(self, targets: list[DeviceTarget]) -> None:
        rows = [
            {"spec": t.spec, "kind": t.kind, "name": t.name, "address": t.address} for t in targets
        ]
        self._qs.setValue(ADDED_DEVICES_KEY, json.dumps(rows))
        self._qs.sync()

    def geometry(self) -> QByteArray | None:
        value = self._qs.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def save_geometry(self, geometry: QByteArray) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.sync()


def _coerce(raw: object, default: object) -> object:
    """QSettings INI values come back as strings (or lists); turn them into the field's type."""
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if isinstance(default, int):
        return int(str(raw))
    if isinstance(default, float):
        return float(str(raw))
    if isinstance(default, tuple):
        if isinstance(raw, str):
            return (raw,) if raw else ()
        return tuple(str(x) for x in raw) if isinstance(raw, list | tuple) else ()
    return str(raw)
