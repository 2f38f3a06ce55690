"""A DDI server profile and the HTTP calls to it (standard library `urllib`, in a thread).

The token is sent in the `Authorization` header (`GatewayToken T` for every device this
station serves, or `TargetToken T` per device) and never appears in a log line, an error
sentence or `repr()`. TLS uses the system CA store unless the profile names a CA file; a
proxy comes from the environment (`https_proxy`, `no_proxy`, ...), as urllib reads it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from app.fleet.ddi import FleetError

log = logging.getLogger(__name__)

DOWNLOAD_BLOCK_BYTES = 64 * 1024
T = TypeVar("T")


class AuthKind(StrEnum):
    GATEWAY = "GatewayToken"
    TARGET = "TargetToken"
    NONE = "none"


class ServerUnreachable(FleetError):
    """No answer (refused, reset, timed out, or a 5xx): worth trying again later."""


class ServerRefused(FleetError):
    """The server answered no (4xx): trying again will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class DownloadStopped(FleetError):
    """The caller asked the download to stop; what arrived stays for a resume."""


@dataclass(frozen=True, slots=True)
class ServerProfile:
    """Where the DDI server is and how this station proves who it is."""

    base_url: str
    tenant: str = "DEFAULT"
    auth: AuthKind = AuthKind.NONE
    token: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise FleetError(f"the server address {self.base_url!r} is not an http(s) URL")
        if not self.tenant or "/" in self.tenant:
            raise FleetError(f"the tenant {self.tenant!r} is not a name")
        if self.auth is not AuthKind.NONE and not self.token:
            raise FleetError(f"{self.auth} authentication needs a token")

    def controller_url(self, controller_id: str) -> str:
        """`{base}/{tenant}/controller/v1/{controllerId}` (hawkBit's DDI root)."""
        quoted = urllib.parse.quote(controller_id, safe="")
        return f"{self.base_url.rstrip('/')}/{self.tenant}/controller/v1/{quoted}"

    def same_origin(self, url: str) -> bool:
        """Whether `url` is on this server (scheme, host and port), so it may see the token."""
        mine, theirs = urllib.parse.urlsplit(self.base_url), urllib.parse.urlsplit(url)
        return (mine.scheme, mine.hostname, mine.port) == (
            theirs.scheme,
            theirs.hostname,
            theirs.port,
        )

    def authorization(self) -> str | None:
        return None if self.auth is AuthKind.NONE else f"{self.auth} {self.token}"


class DdiHttp:
    """JSON requests and resumable downloads against one profile.

    Blocking urllib calls run on this object's own worker threads (up to `workers` at once,
    so a gateway serving many devices is not held to the loop's small default pool); close it
    (or use `async with`) to stop them.
    """

    def __init__(self, profile: ServerProfile, timeout_s: float = 30.0, workers: int = 8) -> None:
        self.profile = profile
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddi-http")
        context = ssl.create_default_context(
            cafile=str(profile.ca_file) if profile.ca_file is not None else None
        )
        # ProxyHandler() with no argument reads the proxy settings from the environment.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=context)
        )

    async def __aenter__(self) -> DdiHttp:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Wait for the calls in flight (each bounded by `timeout_s`) and stop the threads."""
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown)

    async def _run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    async def get_json(self, url: str) -> Any:
        return await self._run(self._json, "GET", url, None)

    async def put_json(self, url: str, body: object) -> Any:
        return await self._run(self._json, "PUT", url, body)

    async def post_json(self, url: str, body: object) -> Any:
        return await self._run(self._json, "POST", url, body)

    async def download(
        self,
        url: str,
        dest: Path,
        *,
        on_bytes: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Append the rest of `url` to `dest`, asking for `Range: bytes=N-` when `dest` holds
        N bytes already. Returns the file's size. Raises DownloadStopped when `stop()` said so.
        """
        return await self._run(self._download, url, dest, on_bytes, stop)

    # --- in the worker thread ---

    def _request(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Any:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        auth = self.profile.authorization()
        if auth is not None and self.profile.same_origin(url):
            # Unredirected: a redirect (to S3, a CDN) or another host's link never gets it.
            request.add_unredirected_header("Authorization", auth)
        where = _where(url)
        try:
            return self._opener.open(request, timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            exc.close()
            if exc.code >= 500:
                raise ServerUnreachable(f"{where} answered {exc.code}{detail}") from None
            raise ServerRefused(f"{where} answered {exc.code}{detail}", exc.code) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach {where}: {reason}") from None

    def _json(self, method: str, url: str, body: object) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        log.debug("%s %s", method, _where(url))
        with self._request(method, url, data, headers) as response:
            raw = response.read()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise FleetError(f"{_where(url)} did not answer JSON") from None

    def _download(
        self,
        url: str,
        dest: Path,
        on_bytes: Callable[[int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> int:
        have = dest.stat().st_size if dest.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = self._request("GET", url, None, headers)
        except ServerRefused as exc:
            if exc.status == 416 and have:  # nothing past what we hold: it is all here
                return have
            raise
        with response:
            if have and response.status != 206:
                have = 0  # the server ignored the Range: start over
            with dest.open("ab" if have else "wb") as out:
                return self._copy(response, out, have, on_bytes, stop)

    @staticmethod
    def _copy(
        response: BinaryIO,
        out: BinaryIO,
        have: int,
        on_bytes: Callable[[int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> int:
        try:
            while block := response.read(DOWNLOAD_BLOCK_BYTES):
                out.write(block)
                have += len(block)
                if on_bytes is not None:
                    on_bytes(have)
                if stop is not None and stop():
                    raise DownloadStopped(f"the download stopped at {have} bytes")
        except (TimeoutError, OSError) as exc:
            raise ServerUnreachable(f"the download broke off at {have} bytes: {exc}") from None
        finally:
            out.flush()
            os.fsync(out.fileno())
        return have


def _where(url: str) -> str:
    """The URL without query or credentials, for sentences and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        return f" ({text[:120]})" if text else ""
    if isinstance(body, dict):
        message = body.get("detail") or body.get("message") or body.get("errorCode")
        if message:
            return f" ({str(message)[:120]})"
    return ""
