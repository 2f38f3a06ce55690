"""SmpClient: sequence numbers, request/response matching, timeouts and retransmission.

One client works over any `Transport`. Several requests may be in flight at once; each is
matched to its reply by (sequence, group, command). Replies nobody waits for (late answers to
requests that already timed out, duplicates) and undecodable bytes are counted, logged and
dropped, never raised from the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import app.smp.groups  # noqa: F401 - registers every request type
from app.errors import DecodeError, TransportClosed, TransportRefused, TransportTimeout
from app.smp.codec import decode_body
from app.smp.errors import DeviceError, MgmtErr
from app.smp.groups import enum, fs, img, os, settings, shell, stat, zbasic
from app.smp.groups import log as logs
from app.smp.header import Header, Version
from app.smp.message import Request, Response, encode_request
from app.transport.base import LinkInfo, Transport

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Response)
TrafficHook = Callable[[str, bytes], None]
"""Called with ("tx" | "rx", whole SMP packet) for traffic logs; must not block."""

DEFAULT_TIMEOUT_S = 5.0
UNRELIABLE_RETRIES = 3
"""Retransmissions per request on links that lose packets (UDP)."""


@dataclass(slots=True)
class ClientStats:
    """Counters a log view or a report can show."""

    sent: int = 0
    received: int = 0
    retransmitted: int = 0
    timeouts: int = 0
    undecodable: int = 0
    unmatched: int = 0


@dataclass(slots=True)
class _Pending:
    request: Request[Any]
    future: asyncio.Future[tuple[Header, bytes]]


class SmpClient:
    """Talks SMP to one device over one transport.

    Use as `async with SmpClient(transport) as client:`; the transport is opened and closed
    with the client.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: int | None = None,
        version: Version = Version.V2,
        on_traffic: TrafficHook | None = None,
    ) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self._retries = retries
        self.version = version
        self.on_traffic = on_traffic
        self.stats = ClientStats()
        self._pending: dict[int, _Pending] = {}
        self._next_seq = 0
        self._reader: asyncio.Task[None] | None = None
        self._closed_reason: BaseException | None = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def link(self) -> LinkInfo:
        return self.transport.info

    @property
    def is_connected(self) -> bool:
        return self._reader is not None and not self._reader.done() and self.transport.is_open

    async def open(self) -> None:
        if not self.transport.is_open:
            await self.transport.open()
        self._closed_reason = None
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(), name="smp-reader")

    async def close(self) -> None:
        try:
            await self.transport.close()
        finally:  # even when the transport's close fails, nobody may be left waiting
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
                self._reader = None
            self._fail_pending(TransportClosed(f"connection to {self.link.address} closed"))

    # --- the request engine -----------------------------------------------------------------

    async def request(
        self, request: Request[R], *, timeout_s: float | None = None, retries: int | None = None
    ) -> R:
        """Send `request` and return its reply, typed by the request (`Request[R]` -> R).

        `timeout_s` is the total time to wait; on an unreliable link it is split across
        `retries` retransmissions of the same packet (same sequence number).

        Raises:
            DeviceError: the device answered with an error.
            TransportTimeout: no answer in time.
            TransportClosed: the link dropped.
            DecodeError: the matched reply could not be decoded.
        """
        try:
            return await self._request_once(request, timeout_s, retries)
        except DeviceError as exc:
            if (
                exc.rc == MgmtErr.UNSUPPORTED_TOO_OLD
                and not exc.group_error
                and self.version == Version.V2
            ):
                log.info("device does not accept SMP v2 headers; falling back to v1")
                self.version = Version.V1
                return await self._request_once(request, timeout_s, retries)
            raise

    async def _request_once(
        self, request: Request[R], timeout_s: float | None, retries: int | None
    ) -> R:
        if self._closed_reason is not None or not self.is_connected:
            raise TransportClosed(f"not connected to {self.link.address}")
        total_s = self.timeout_s if timeout_s is None else timeout_s
        if retries is None:
            retries = (
                self._retries
                if self._retries is not None
                else (0 if self.link.reliable else UNRELIABLE_RETRIES)
            )
        attempts = retries + 1
        seq = self._allocate_sequence()
        frame = encode_request(request, seq, self.version)
        loop = asyncio.get_running_loop()
        pending = _Pending(request, loop.create_future())
        self._pending[seq] = pending
        try:
            for attempt in range(attempts):
                if attempt:
                    self.stats.retransmitted += 1
                    log.debug("retransmitting seq %d (attempt %d)", seq, attempt + 1)
                await self._send(frame)
                try:
                    header, raw = await asyncio.wait_for(
                        asyncio.shield(pending.future), total_s / attempts
                    )
                    break
                except TimeoutError:
                    continue
            else:
                self.stats.timeouts += 1
                raise TransportTimeout(
                    f"no answer from {self.link.address} within {total_s:g} s "
                    f"({_describe(request)})"
                )
        finally:
            self._pending.pop(seq, None)
            if not pending.future.done():
                pending.future.cancel()
        body = decode_body(raw, keep_duplicates=request.KEEP_DUPLICATE_KEYS)
        return request.decode_response(header, body)

    async def _send(self, frame: bytes) -> None:
        self.stats.sent += 1
        if self.on_traffic is not None:
            self.on_traffic("tx", frame)
        await self.transport.send(frame)

    def _allocate_sequence(self) -> int:
        for _ in range(256):
            seq = self._next_seq
            self._next_seq = (self._next_seq + 1) & 0xFF
            if seq not in self._pending:
                return seq
        raise RuntimeError("256 requests in flight: no free SMP sequence number")

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await self.transport.receive()
                self._dispatch(frame)
        except TransportClosed as exc:
            self._closed_reason = exc
            self._fail_pending(exc)
        except Exception as exc:  # a transport bug must not leave callers waiting forever
            log.exception("SMP reader stopped")
            self._closed_reason = exc
            self._fail_pending(TransportClosed(f"link to {self.link.address} failed: {exc}"))

    def _dispatch(self, frame: bytes) -> None:
        self.stats.received += 1
        if self.on_traffic is not None:
            self.on_traffic("rx", frame)
        try:
            header = Header.decode(frame)
        except DecodeError as exc:
            self.stats.undecodable += 1
            log.warning("dropped undecodable frame from %s: %s", self.link.address, exc)
            return
        pending = self._pending.get(header.sequence)
        if (
            pending is None
            or pending.future.done()
            or not header.op.is_response
            or header.group != pending.request.GROUP
            or header.command != pending.request.COMMAND
        ):
            self.stats.unmatched += 1
            log.debug(
                "dropped unmatched reply seq %d group %d command %d",
                header.sequence,
                header.group,
                header.command,
            )
            return
        body = frame[8:]
        if len(body) != header.length:  # truncated or padded: a retransmission may still come
            self.stats.undecodable += 1
            log.warning(
                "dropped a reply declaring %d body bytes with %d present (seq %d)",
                header.length,
                len(body),
                header.sequence,
            )
            return
        pending.future.set_result((header, body))

    def _fail_pending(self, exc: BaseException) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(exc)

    # --- typed operations -------------------------------------------------------------------

    async def echo(self, text: str) -> str:
        return (await self.request(os.Echo(d=text))).r

    async def reset(self, *, force: bool = False, boot_mode: int | None = None) -> None:
        """Ask the device to reboot. A lost answer is not an error: the link often drops.

        Raises:
            TransportRefused: nothing listens there, so no device got the request.
        """
        request = os.Reset(force=True if force else None, boot_mode=boot_mode)
        try:
            await self.request(request, retries=0)
        except TransportRefused:
            raise
        except (TransportTimeout, TransportClosed):
            pass

    async def params(self) -> os.McumgrParamsResponse:
        return await self.request(os.McumgrParams())

    async def os_info(self, format: str | None = None) -> str:
        return (await self.request(os.OsInfo(format=format))).output

    async def bootloader_info(self, query: str | None = None) -> os.BootloaderInfoResponse:
        return await self.request(os.BootloaderInfo(query=query))

    async def task_stats(self) -> list[tuple[str, os.TaskInfo]]:
        return (await self.request(os.TaskStats())).tasks

    async def mempool_stats(self) -> dict[str, os.MemoryPool]:
        return (await self.request(os.MemoryPoolStats())).pools

    async def datetime_get(self) -> str:
        return (await self.request(os.DateTimeGet())).datetime

    async def datetime_set(self, when: dt.datetime) -> None:
        await self.request(os.DateTimeSet(datetime=when.strftime("%Y-%m-%dT%H:%M:%S")))

    async def image_state(self) -> list[img.ImageSlot]:
        return (await self.request(img.ImageState())).images

    async def image_test(self, image_hash: bytes) -> list[img.ImageSlot]:
        """Mark the image with this hash to be tried on the next boot (reverts unless confirmed)."""
        request = img.ImageStateWrite(hash=image_hash, confirm=False)
        return (await self.request(request)).images

    async def image_confirm(self, image_hash: bytes | None = None) -> list[img.ImageSlot]:
        """Confirm the running image (no hash), or make the image with this hash permanent."""
        request = img.ImageStateWrite(hash=image_hash, confirm=True)
        return (await self.request(request)).images

    async def image_erase(self, slot: int | None = None, *, timeout_s: float = 60.0) -> None:
        await self.request(img.ImageErase(slot=slot), timeout_s=timeout_s, retries=0)

    async def image_upload_chunk(
        self, chunk: img.ImageUpload, *, timeout_s: float | None = None
    ) -> img.ImageUploadResponse:
        return await self.request(chunk, timeout_s=timeout_s)

    async def slot_info(self) -> list[img.SlotInfoImage]:
        return (await self.request(img.SlotInfo())).images

    async def stat_list(self) -> list[str]:
        return (await self.request(stat.StatList())).stat_list

    async def stat_read(self, name: str) -> dict[str, int]:
        return (await self.request(stat.StatRead(name=name))).fields

    async def setting_read(self, name: str, max_size: int | None = None) -> bytes:
        request = settings.SettingRead(name=name, max_size=max_size)
        return (await self.request(request)).val

    async def setting_write(self, name: str, value: bytes) -> None:
        await self.request(settings.SettingWrite(name=name, val=value))

    async def setting_delete(self, name: str) -> None:
        await self.request(settings.SettingDelete(name=name))

    async def settings_commit(self) -> None:
        await self.request(settings.SettingsCommit())

    async def settings_load(self) -> None:
        await self.request(settings.SettingsLoad())

    async def settings_save(self) -> None:
        await self.request(settings.SettingsSave())

    async def file_download_chunk(self, name: str, off: int) -> fs.FileDownloadResponse:
        return await self.request(fs.FileDownload(off=off, name=name))

    async def file_upload_chunk(
        self, name: str, off: int, data: bytes, total: int | None = None
    ) -> int:
        request = fs.FileUpload(off=off, name=name, data=data, length=total)
        return (await self.request(request, retries=0)).off

    async def file_status(self, name: str) -> int:
        return (await self.request(fs.FileStatus(name=name))).length

    async def file_hash(
        self, name: str, kind: str | None = None, off: int | None = None, length: int | None = None
    ) -> fs.FileHashResponse:
        request = fs.FileHash(name=name, type=kind, off=off, length=length)
        return await self.request(request, timeout_s=max(self.timeout_s, 30))

    async def file_hash_types(self) -> dict[str, fs.HashTypeInfo]:
        return (await self.request(fs.HashTypes())).types

    async def file_close(self) -> None:
        await self.request(fs.FileClose())

    async def shell_exec(self, argv: list[str]) -> shell.ShellExecResponse:
        request = shell.ShellExec(argv=argv)
        return await self.request(request, retries=0)

    async def enum_count(self) -> int:
        return (await self.request(enum.EnumCount())).count

    async def enum_list(self) -> list[int]:
        return (await self.request(enum.EnumList())).groups

    async def enum_single(self, index: int) -> enum.EnumSingleResponse:
        return await self.request(enum.EnumSingle(index=index))

    async def enum_details(self, groups: list[int] | None = None) -> list[enum.EnumGroupDetail]:
        request = enum.EnumDetails(groups=groups)
        return (await self.request(request)).groups

    async def storage_erase(self) -> None:
        await self.request(zbasic.StorageErase(), timeout_s=max(self.timeout_s, 30), retries=0)

    async def log_show(
        self, log_name: str | None = None, index: int | None = None
    ) -> logs.LogShowResponse:
        return await self.request(logs.LogShow(log_name=log_name, index=index))

    async def log_list(self) -> list[str]:
        return (await self.request(logs.LogList())).log_list


def _describe(request: Request) -> str:
    from app.smp.header import group_name

    return f"{group_name(request.GROUP)} {type(request).__name__}"
