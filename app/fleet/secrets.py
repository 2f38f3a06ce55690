"""Where a server token is kept: the platform keyring when there is one, else a file only the
user can read. Every call says which, so the CLI and GUI can tell the user.

The `keyring` package is optional (`pip install keyring`); without it, or with only its
"fail"/"null" backends (a headless Linux box), the token goes to `tokens.json` with mode 0600.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.fleet.ddi import FleetError

SERVICE = "slotwise-fleet"


@dataclass(frozen=True, slots=True)
class TokenStore:
    """Tokens by name (`SERVER_URL|TENANT|KIND[|CONTROLLER]`), in the keyring or a file."""

    directory: Path

    @property
    def file(self) -> Path:
        return self.directory / "tokens.json"

    def where(self) -> str:
        """A sentence naming the place tokens are kept."""
        ring = _keyring()
        if ring is not None:
            return f"the system keyring ({type(ring.get_keyring()).__name__})"
        return f"{self.file} (readable by this user only; no system keyring was found)"

    def save(self, name: str, token: str) -> str:
        ring = _keyring()
        if ring is not None:
            ring.set_password(SERVICE, name, token)
            return self.where()
        tokens = self._read()
        tokens[name] = token
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.file.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(tokens, out)
        os.replace(temporary, self.file)
        os.chmod(self.file, 0o600)
        return self.where()

    def load(self, name: str) -> str | None:
        ring = _keyring()
        if ring is not None:
            value = ring.get_password(SERVICE, name)
            return str(value) if value is not None else None
        return self._read().get(name)

    def _read(self) -> dict[str, str]:
        if not self.file.exists():
            return {}
        if self.file.stat().st_mode & 0o077:
            raise FleetError(
                f"{self.file} can be read by other users; refusing to use the tokens in it "
                f"(chmod 600 {self.file})"
            )
        try:
            data = json.loads(self.file.read_text())
        except (OSError, ValueError) as exc:
            raise FleetError(f"cannot read {self.file}: {exc}") from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def token_name(base_url: str, tenant: str, kind: str, controller_id: str | None = None) -> str:
    parts = [base_url.rstrip("/"), tenant, kind]
    if controller_id is not None:
        parts.append(controller_id)
    return "|".join(parts)


def _keyring() -> Any:
    """The keyring module when it has a usable backend, else None."""
    if os.environ.get("SLOTWISE_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    name = type(backend).__module__
    if isinstance(backend, fail.Keyring) or name.endswith(("null", "fail")):
        return None
    return keyring
