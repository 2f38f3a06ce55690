"""Persistence of a simulated board in `SimConfig.state_dir`: what survives a restart.

Layout: `slot<N>.bin` (the whole flash of absolute slot N, written at sync points: upload end,
erase, trailer writes, reboot), `device.json` (small: stored settings, direct-XIP active slots),
`fs/<hex of path>` (one file per device file). Writes go through a temporary file and a rename
so a killed simulator never leaves half a slot.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from app.errors import SlotwiseError

log = logging.getLogger(__name__)


class StateFileError(SlotwiseError):
    """A state directory holds a file this simulator did not write (wrong types)."""


class StateStore:
    """Reads and writes one device's state directory (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "fs").mkdir(exist_ok=True)

    def load_slot(self, number: int) -> bytes | None:
        path = self.root / f"slot{number}.bin"
        return path.read_bytes() if path.exists() else None

    def save_slot(self, number: int, content: bytes) -> None:
        _write_atomic(self.root / f"slot{number}.bin", content)

    def load_json(self) -> dict[str, Any]:
        path = self.root / "device.json"
        if not path.exists():
            return {}
        try:
            value = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            # Refused rather than ignored: the next save would overwrite what it holds.
            raise StateFileError(f"{path} cannot be read as JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise StateFileError(f"{path} must hold a JSON object, not {type(value).__name__}")
        return value

    def load_stored_settings(self) -> dict[str, bytes]:
        """The settings saved in `device.json` (name -> value); StateFileError names a bad field."""
        settings = self.load_json().get("settings", {})
        where = self.root / "device.json"
        if not isinstance(settings, dict):
            raise StateFileError(
                f'{where}: "settings" must be an object of name: hex value, '
                f"not {type(settings).__name__}"
            )
        result = {}
        for name, value in settings.items():
            try:
                result[name] = bytes.fromhex(value)
            except (TypeError, ValueError):
                raise StateFileError(
                    f'{where}: "settings" entry {name!r} must be a hex string, not {value!r:.40}'
                ) from None
        return result

    def save_json(self, value: dict[str, Any]) -> None:
        _write_atomic(
            self.root / "device.json", json.dumps(value, indent=1, sort_keys=True).encode()
        )

    # --- files of the simulated file system -----------------------------------------------

    def _file_path(self, name: str) -> Path:
        return self.root / "fs" / name.encode("utf-8").hex()

    def load_files(self) -> dict[str, bytes]:
        files = {}
        for path in (self.root / "fs").iterdir():
            try:
                files[bytes.fromhex(path.name).decode("utf-8")] = path.read_bytes()
            except (ValueError, OSError) as exc:
                log.warning("sim: ignoring stray file %s: %s", path, exc)
        return files

    def append_file(self, name: str, offset: int, data: bytes) -> None:
        """Write `data` at `offset`; offset 0 truncates (one small write per upload chunk)."""
        path = self._file_path(name)
        with path.open("r+b" if offset and path.exists() else "wb") as fh:
            fh.seek(offset)
            fh.write(data)
            fh.truncate()

    def delete_file(self, name: str) -> None:
        self._file_path(name).unlink(missing_ok=True)

    def clear_files(self) -> None:
        for path in (self.root / "fs").iterdir():
            path.unlink(missing_ok=True)


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
