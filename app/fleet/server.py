"""A DDI server profile and the HTTP calls to it (standard library `urllib`, in a thread).

The token is sent in the `Authorization` header (`GatewayToken T` for every device this
station serves, or `TargetToken T` per device) and never appears in a log line, an error
sentence or `repr()`. TLS uses the system CA store unless the profile names a CA file; a
proxy comes from the environment (`https_proxy`, `no_proxy`, ...), as urllib reads it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import ssl
import time
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
from app.text import device_text

log = logging.getLogger(__name__)

DOWNLOAD_BLOCK_BYTES = 64 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
"""The largest DDI answer read (a deployment with many chunks is a few kB); more is refused."""
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


class DownloadTooLarge(FleetError):
    """The server sent more bytes than the artifact may have; what arrived is deleted."""


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
        try:
            parsed = urllib.parse.urlsplit(self.base_url)
            parsed.port  # noqa: B018 (raises ValueError for a port that is not one)
        except ValueError:
            parsed = urllib.parse.urlsplit("")
        if "@" in parsed.netloc or (not parsed.netloc and "@" in self.base_url):
            # Never echoed: what precedes the @ is a password more often than not.
            raise FleetError(
                "the server address carries a user name or password; give the server's "
                "address alone and the token with --gateway-token or --target-token"
            )
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
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
        """Whether `url` is on this server (scheme, host and port, a default port filled in),
        so it may see the token."""
        return _origin(url) is not None and _origin(url) == _origin(self.base_url)

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
        try:
            context = ssl.create_default_context(
                cafile=str(profile.ca_file) if profile.ca_file is not None else None
            )
        except (ssl.SSLError, OSError) as exc:  # not PEM, no certificate in it, unreadable
            reason = getattr(exc, "reason", None) or exc.strerror or exc
            raise FleetError(
                f"{profile.ca_file} holds no CA certificate Slotwise can use ({reason})"
            ) from None
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
        limit_bytes: int,
        on_bytes: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Append the rest of `url` to `dest`, asking for `Range: bytes=N-` when `dest` holds
        N bytes already. Returns the file's size. Raises DownloadStopped when `stop()` said so,
        DownloadTooLarge (and deletes `dest`) when the file would grow past `limit_bytes`.
        """
        return await self._run(self._download, url, dest, limit_bytes, on_bytes, stop)

    # --- in the worker thread ---

    def _request(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Any:
        where = _where(url)
        try:
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
        except ValueError:
            raise FleetError(f"the server's link {where} is not a URL") from None
        if request.type not in ("http", "https"):  # file:, ftp: ... from a server's link
            raise FleetError(f"the server's link {where} is not an http(s) URL")
        auth = self.profile.authorization()
        if auth is not None and self.profile.same_origin(url):
            # Unredirected: a redirect (to S3, a CDN) or another host's link never gets it.
            request.add_unredirected_header("Authorization", auth)
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
        except (ValueError, http.client.HTTPException) as exc:  # a bad port, a broken reply
            reason = str(exc) or type(exc).__name__
            raise ServerUnreachable(f"cannot talk to {where}: {reason}") from None

    def _json(self, method: str, url: str, body: object) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        log.debug("%s %s", method, _where(url))
        with self._request(method, url, data, headers) as response:
            raw = self._read_bounded(response, _where(url))
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep, too
            raise FleetError(f"{_where(url)} did not answer JSON") from None

    def _read_bounded(self, response: Any, where: str) -> bytes:
        """The whole answer, at most MAX_JSON_BYTES, within `timeout_s` overall: a server
        that trickles a byte now and then never holds a call longer than that."""
        deadline = time.monotonic() + self.timeout_s
        raw = bytearray()
        try:
            while block := response.read1(DOWNLOAD_BLOCK_BYTES):
                raw += block
                if len(raw) > MAX_JSON_BYTES:
                    raise FleetError(f"{where} answered more than {MAX_JSON_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise ServerUnreachable(f"{where} took over {self.timeout_s:g} s to answer")
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise ServerUnreachable(f"{where} broke off its answer: {exc}") from None
        return bytes(raw)

    def _download(
        self,
        url: str,
        dest: Path,
        limit_bytes: int,
        on_bytes: Callable[[int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> int:
        have = dest.stat().st_size if dest.exists() else 0
        if have > limit_bytes:
            have = 0  # an earlier, longer partial file of something else: start over
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = self._request("GET", url, None, headers)
        except ServerRefused as exc:
            if exc.status == 416 and have:  # nothing past what we hold: it is all here
                return have
            raise
        with response:
            if have and (response.status != 206 or _range_start(response) != have):
                have = 0  # the server ignored the Range, or sent another one: start over
                if response.status == 206:  # its bytes start elsewhere: ask for all of them
                    response.close()
                    dest.unlink(missing_ok=True)
                    return self._download(url, dest, limit_bytes, on_bytes, stop)
            with dest.open("ab" if have else "wb") as out:
                try:
                    return self._copy(response, out, have, limit_bytes, on_bytes, stop)
                except DownloadTooLarge:
                    dest.unlink(missing_ok=True)
                    raise

    @staticmethod
    def _copy(
        response: BinaryIO,
        out: BinaryIO,
        have: int,
        limit_bytes: int,
        on_bytes: Callable[[int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> int:
        try:
            while block := response.read(min(DOWNLOAD_BLOCK_BYTES, limit_bytes - have + 1)):
                if have + len(block) > limit_bytes:
                    raise DownloadTooLarge(
                        f"the server sent more than the {limit_bytes} bytes the artifact may "
                        "have; the download was deleted"
                    )
                out.write(block)
                have += len(block)
                if on_bytes is not None:
                    on_bytes(have)
                if stop is not None and stop():
                    raise DownloadStopped(f"the download stopped at {have} bytes")
            promised = getattr(response, "length", None)  # what Content-Length still owes
            if promised:
                # http.client ends a body cut short without an error; said so here, the bytes
                # stay for a resume instead of failing the size check and starting over.
                raise ServerUnreachable(
                    f"the download broke off at {have} bytes, {promised} short of what the "
                    "server announced; it resumes from there"
                )
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise ServerUnreachable(f"the download broke off at {have} bytes: {exc}") from None
        finally:
            out.flush()
            os.fsync(out.fileno())
        return have


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, None for anything else or a broken one."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # a port or an IPv6 address that is not one
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]


def _range_start(response: Any) -> int | None:
    """The first byte a 206 answer carries (`Content-Range: bytes START-END/TOTAL`)."""
    match = re.fullmatch(r"bytes\s+(\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _where(url: str) -> str:
    """The URL without query or credentials, for sentences and logs; safe to print."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "a link that is not a URL"
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    return device_text(f"{parts.scheme}://{host}{parts.path}")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        return f" ({device_text(text[:120])})" if text else ""
    if isinstance(body, dict):
        message = body.get("detail") or body.get("message") or body.get("errorCode")
        if message:
            return f" ({device_text(str(message)[:120])})"
    return ""
