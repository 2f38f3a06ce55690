"""Where the fleet keeps its state, and the last server a user named (URL, tenant, auth kind;
the token itself goes to app/fleet/secrets.py). Shared by the CLI, the GUI and jobs."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from app.fleet.secrets import TokenStore, token_name
from app.fleet.server import AuthKind, ServerProfile


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/slotwise/fleet` (default `~/.local/state/slotwise/fleet`)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "slotwise" / "fleet"


@dataclass(frozen=True, slots=True)
class RememberedServer:
    base_url: str = ""
    tenant: str = "DEFAULT"
    auth: str = AuthKind.NONE.value

    def profile(self, store: TokenStore) -> ServerProfile:
        """The profile, with the token from the store (FleetError when it is incomplete)."""
        kind = AuthKind(self.auth)
        token = None
        if kind is not AuthKind.NONE:
            token = store.load(token_name(self.base_url, self.tenant, kind))
        return ServerProfile(self.base_url, self.tenant, kind, token)


def load_server(state_dir: Path) -> RememberedServer:
    path = state_dir / "server.json"
    try:
        data = json.loads(path.read_text())
        return RememberedServer(str(data["base_url"]), str(data["tenant"]), str(data["auth"]))
    except (OSError, ValueError, KeyError, TypeError):
        return RememberedServer()


def save_server(state_dir: Path, server: RememberedServer) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "server.json").write_text(json.dumps(asdict(server)))
