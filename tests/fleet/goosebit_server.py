"""A real gooseBit (PyPI `goosebit`, a DDI server on FastAPI) for the fleet tests.

Its SQLite database is created by `aerich upgrade` against gooseBit's own migrations in a temp
dir; uvicorn serves it on 127.0.0.1 on a free port. `stop()`/`start()` keep the database, so a
test can take the server away mid-install and bring it back. The management calls below use
gooseBit's own REST API (`/api/v1/...`) with a bearer token from its `/setup` form.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

STARTUP_S = 60.0


def goosebit_package() -> Path | None:
    """Where gooseBit is installed. Never imported here: it runs in its own process (and
    in-process its `packaging` import would meet tests/packaging)."""
    spec = importlib.util.find_spec("goosebit")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GooseBit:
    def __init__(
        self, directory: Path, poll_time: str = "00:00:01", env: dict[str, str] | None = None
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.log_path = directory / "goosebit.log"
        package = goosebit_package()
        assert package is not None
        (directory / "pyproject.toml").write_text(
            "[tool.aerich]\n"
            'tortoise_orm = "goosebit.db.config.TORTOISE_CONF"\n'
            f'location = "{package / "db" / "migrations"}"\n'
            'src_folder = "."\n'
        )
        self.env = {
            **os.environ,
            "GOOSEBIT_DB_URI": f"sqlite:///{directory / 'db.sqlite3'}",
            "GOOSEBIT_ARTIFACTS_DIR": str(directory / "artifacts"),
            "GOOSEBIT_POLL_TIME": poll_time,
            "GOOSEBIT_SECRET_KEY": uuid.uuid4().hex,
            **(env or {}),
        }
        aerich = [sys.executable, "-c", "from aerich.cli import main; main()", "upgrade"]
        subprocess.run(aerich, cwd=directory, env=self.env, check=True, capture_output=True)

    # --- process ---

    def start(self) -> None:
        assert self.proc is None
        command = [sys.executable, "-m", "uvicorn", "goosebit:app", "--host", "127.0.0.1"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=self.directory,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gooseBit exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise AssertionError("gooseBit did not start listening")
        self.token = self._login()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def _login(self) -> str:
        form = urllib.parse.urlencode({"username": "admin@example.com", "password": "pw"})
        for path in ("/setup", "/login"):
            try:
                body = self._call("POST", path, form.encode(), "application/x-www-form-urlencoded")
                return str(body["access_token"])
            except urllib.error.HTTPError:
                continue
        raise AssertionError("cannot log in to gooseBit")

    # --- management API ---

    def _call(
        self, method: str, path: str, data: bytes | None = None, content_type: str | None = None
    ) -> Any:
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def api(self, method: str, path: str, body: object | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        return self._call(method, "/api/v1" + path, data, "application/json")

    def upload_software(self, swu: Path) -> int:
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{swu.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        data = head + swu.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        body = self._call(
            "PUT", "/api/v1/software", data, f"multipart/form-data; boundary={boundary}"
        )
        return int(body["id"])

    def assign(self, device_id: str, software_id: int) -> None:
        self.api("PATCH", "/devices", {"devices": [device_id], "software": str(software_id)})

    def pin(self, device_id: str) -> None:
        """Take the assignment away (gooseBit's closest thing to a cancel: no cancelAction)."""
        self.api("PATCH", "/devices", {"devices": [device_id], "pinned": True})

    def set_token(self, device_id: str, token: str) -> None:
        self.api("PATCH", "/devices", {"devices": [device_id], "auth_token": token})

    def device(self, device_id: str) -> dict[str, Any]:
        # The list, not /devices/{id}: gooseBit 0.2.12 answers 500 there once software is
        # assigned (the single-device view does not load the software's compatibility).
        for device in self.api("GET", "/devices")["devices"]:
            if device["id"] == device_id:
                return dict(device)
        raise KeyError(device_id)

    def device_log(self, device_id: str) -> str:
        return str(self.api("GET", f"/devices/{device_id}/log")["log"] or "")
