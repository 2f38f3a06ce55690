"""A hawkBit-shaped DDI server for contract tests, built from hawkBit's documented examples.

hawkBit itself (Java) cannot run here. This server answers with the JSON of hawkBit's DDI
model examples (tests/fleet/data, from `DdiControllerBase`, `DdiDeploymentBase` and
`DdiCancel`), with links rewritten to itself and one installable artifact added to the
example's `bApp` chunk, so the parts gooseBit never sends (several chunks, `download-http`,
`md5sum` links, sha256/md5, maintenance windows, cancelAction) meet the gateway. It records
every request; it judges nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
TENANT = "TENANT_ID"


def example(name: str) -> Any:
    return json.loads((DATA / f"hawkbit-{name}.json").read_text())


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class HawkbitLike:
    """State the tests steer: what is assigned, the window, a cancel; and what was heard."""

    artifact: bytes = b""
    artifact_name: str = "app.bin"
    window: str | None = "available"
    update: str = "forced"
    """`deployment.update` (forced, attempt, or skip for a download-only action)."""
    cancel: bool = False
    break_md5: bool = False
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def feedback(self, kind: str = "deploymentBase") -> list[dict[str, Any]]:
        with self.lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and f"/{kind}/" in r.path and r.path.endswith("/feedback")
            ]

    def config_data(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body for r in self.requests if r.path.endswith("/configData")]


class DdiServer:
    def __init__(
        self, state: HawkbitLike, port: int = 0, tls: ssl.SSLContext | None = None
    ) -> None:
        self.state = state
        handler = type("Handler", (_Handler,), {"state": state, "server_url": ""})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        handler.server_url = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="ddi-server")

    def __enter__(self) -> DdiServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    state: HawkbitLike
    server_url: str

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _record(self, body: Any = None) -> None:
        with self.state.lock:
            self.state.requests.append(
                Recorded(self.command, self.path, dict(self.headers.items()), body)
            )

    def _json(self, body: Any, status: int = 200) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _rewrite(self, body: Any, controller: str) -> Any:
        text = json.dumps(body)
        for host in ("https://management-api.host.com", "https://link-to-cdn.com/api/v1"):
            text = text.replace(host, self.server_url)
        text = text.replace("http://link-to-cdn.com/api/v1", self.server_url)
        return json.loads(text.replace("CONTROLLER_ID", controller))

    def do_GET(self) -> None:
        self._record()
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if parts[:3] == [TENANT, "controller", "v1"] and len(parts) == 4:
            return self._base(parts[3])
        if parts[:3] == [TENANT, "controller", "v1"] and parts[4:5] == ["deploymentBase"]:
            return self._deployment(parts[3])
        if parts[:3] == [TENANT, "controller", "v1"] and parts[4:5] == ["cancelAction"]:
            return self._json(example("cancelAction"))
        if parts[:2] == [TENANT, "download"] and parts[-1] == self.state.artifact_name:
            return self._download()
        self._json({"message": "not found"}, 404)

    def _base(self, controller: str) -> None:
        body = example("controllerBase")
        body["config"]["polling"]["sleep"] = "00:00:01"
        links = body["_links"]
        links["deploymentBase"]["href"] = links["deploymentBase"]["href"].replace("/5?", "/11?")
        if self.state.cancel:
            del links["deploymentBase"]
            links["cancelAction"] = {
                "href": f"https://management-api.host.com/{TENANT}/controller/v1/"
                f"CONTROLLER_ID/cancelAction/11"
            }
        self._json(self._rewrite(body, controller))

    def _deployment(self, controller: str) -> None:
        body = copy.deepcopy(example("deploymentBase"))
        body["id"] = "11"
        deployment = body["deployment"]
        deployment["update"] = self.state.update
        if self.state.window is None:
            deployment.pop("maintenanceWindow")
        else:
            deployment["maintenanceWindow"] = self.state.window
        data = self.state.artifact
        md5 = hashlib.md5(data).hexdigest()
        if self.state.break_md5:
            md5 = "0" * 32
        href = f"http://link-to-cdn.com/api/v1/{TENANT}/download/controller/CONTROLLER_ID/"
        href += f"softwaremodules/22/filename/{self.state.artifact_name}"
        deployment["chunks"][2]["artifacts"].append(
            {
                "filename": self.state.artifact_name,
                "hashes": {
                    "sha1": hashlib.sha1(data).hexdigest(),
                    "md5": md5,
                    "sha256": hashlib.sha256(data).hexdigest(),
                },
                "size": len(data),
                # Only the plain-http links: this server speaks no TLS.
                "_links": {
                    "download-http": {"href": href},
                    "md5sum-http": {"href": href + ".MD5SUM"},
                },
            }
        )
        self._json(self._rewrite(body, controller))

    def _download(self) -> None:
        data = self.state.artifact
        start = 0
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[6:-1])
        if start >= len(data) and ranged:
            self.send_response(416)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if ranged else 200)
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def do_PUT(self) -> None:
        self._record(self._read_body())
        self._json({})

    def do_POST(self) -> None:
        self._record(self._read_body())
        self._json({})
