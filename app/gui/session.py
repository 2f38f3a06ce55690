"""The selected device as the GUI sees it: plain asyncio, no Qt, run on the core loop.

`DeviceSession` opens one client, reads what the device view shows into frozen values
(`DeviceSnapshot`) and performs the slot actions. Widgets reach it only through CoreBridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app.client import SmpClient, TrafficHook
from app.errors import SlotwiseError, TransportClosed
from app.gui.targets import DeviceIdentity, DeviceSnapshot, DeviceTarget, SlotView
from app.smp.errors import DeviceError
from app.smp.groups.img import ImageSlot
from app.smp.groups.os import BootloaderMode
from app.text import BLOCK_CHARS, device_text
from app.transport import Transport, open_transport
from app.workflows.diagnostics import mode_text as describe_mode

if TYPE_CHECKING:
    from app.fleet.gateway import FleetEvent, FleetOptions, FleetOutcome, FleetPlan
    from app.fleet.server import ServerProfile
    from app.image.keys import KeyStore
    from app.workflows.progress import ProgressCallback
    from app.workflows.recovery import RecoverResult
    from app.workflows.update import UpdateOptions, UpdateResult


log = logging.getLogger(__name__)

Opener = Callable[[], Transport]
T = TypeVar("T")
RESET_GRACE_S = 1.0
"""Longer than Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS (250 ms): the reset reply comes first."""


@dataclass(frozen=True, slots=True)
class RecoverDone:
    result: RecoverResult
    snapshot: DeviceSnapshot


@dataclass(frozen=True, slots=True)
class UpdateDone:
    result: UpdateResult
    snapshot: DeviceSnapshot


class DeviceSession:
    """One connected device. Every method runs on the core loop."""

    def __init__(
        self,
        target: DeviceTarget,
        *,
        timeout_s: float = 5.0,
        opener: Opener | None = None,
        on_traffic: TrafficHook | None = None,
        on_console: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self._timeout_s = timeout_s
        self._opener = opener or (lambda: open_transport(target.spec))
        self._on_traffic = on_traffic
        self._on_console = on_console
        self.client: SmpClient | None = None
        self._closed = False
        """Set by close(): the user left this device, so nothing may open a link to it again
        (a reset wait or the upload engine would otherwise reconnect a session nobody owns)."""
        self._cancels: set[asyncio.Event] = set()
        """Waits and updates in progress; close() sets them so they stop at once."""

    async def connect(self) -> DeviceSnapshot:
        await self._open()
        return await self.read()

    async def _open(self) -> None:
        self._refuse_if_closed()
        if self.client is not None:
            old, self.client = self.client, None
            await old.close()
        self._refuse_if_closed()
        transport = self._opener()
        add_listener = getattr(transport, "add_console_listener", None)
        if self._on_console is not None and add_listener is not None:
            add_listener(self._on_console)  # serial: device output between SMP frames
        client = SmpClient(transport, timeout_s=self._timeout_s, on_traffic=self._on_traffic)
        try:
            await client.open()
        finally:
            if self._closed:  # close() ran while the link was opening: nobody owns it now
                await client.close()
        self._refuse_if_closed()
        self.client = client

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise TransportClosed(f"left {self.target.name}: not reconnecting")

    def _require(self) -> SmpClient:
        if self.client is None:
            raise TransportClosed(f"not connected to {self.target.name}")
        return self.client

    async def close(self) -> None:
        """Close the link for good: a wait or reconnect still running stops and opens none."""
        self._closed = True
        for cancel in self._cancels:
            cancel.set()
        if self.client is not None:
            client, self.client = self.client, None
            await client.close()

    async def read(self) -> DeviceSnapshot:
        """Identity and slots, as the device view shows them (the list first: a board in
        MCUboot serial recovery has none of the application's other commands)."""
        from app.workflows.recovery import read_image_list

        client = self._require()
        states, recovery = await read_image_list(client)
        if recovery is not None:
            identity = self._recovery_identity(client)
            views = _slot_views(states, None)
            return DeviceSnapshot(self.target, identity, views, recovery=tuple(recovery.describe()))
        identity = await self._identity(client)
        sizes = await _optional(client.slot_info())
        return DeviceSnapshot(self.target, identity, _slot_views(states, sizes))

    def _recovery_identity(self, client: SmpClient) -> DeviceIdentity:
        link = client.link
        gone = "not reported (the bootloader answers)"
        return DeviceIdentity(
            name=self.target.name,
            os_info=gone,
            app_info=gone,
            bootloader="MCUboot",
            bootloader_mode="serial recovery",
            no_downgrade=False,
            buf_size=None,
            buf_count=None,
            link_kind=link.kind,
            address=link.address,
            mtu=link.mtu,
            max_frame_bytes=link.max_frame_bytes,
        )

    async def _identity(self, client: SmpClient) -> DeviceIdentity:
        os_info = await _optional(client.os_info("a"))
        app_info = await _optional(client.os_info("v"))
        params = await _optional(client.params())
        loader = await _optional(client.bootloader_info())
        mode = await _optional(client.bootloader_info("mode"))
        mode_text = describe_mode(mode.mode if mode is not None else None)
        no_downgrade = bool(mode is not None and mode.mode is not None and mode.no_downgrade)
        link = client.link
        return DeviceIdentity(
            name=self.target.name,
            # Device text enters the window here, once: shown safely by every label after.
            os_info=device_text(os_info or "not reported", limit=BLOCK_CHARS),
            app_info=device_text(app_info or "not reported"),
            bootloader=device_text(
                loader.bootloader if loader and loader.bootloader else "not reported"
            ),
            bootloader_mode=mode_text,
            mode=BootloaderMode.parse(mode.mode) if mode is not None else None,
            no_downgrade=no_downgrade,
            buf_size=params.buf_size if params else None,
            buf_count=params.buf_count if params else None,
            link_kind=link.kind,
            address=link.address,
            mtu=link.mtu,
            max_frame_bytes=link.max_frame_bytes,
        )

    async def reconnect(self) -> SmpClient:
        """A fresh client to the same device (the upload engine calls it after a drop)."""
        await self._open()
        return self._require()

    async def update(
        self,
        path: Path,
        keys: KeyStore | None,
        options: UpdateOptions,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: asyncio.Event | None = None,
    ) -> UpdateDone:
        """Upload and, by mode, test or confirm, reset and watch (app/workflows/update)."""
        from app.workflows.images import load_update_images
        from app.workflows.update import run_update

        images = await asyncio.to_thread(
            functools.partial(
                load_update_images,
                path,
                keys,
                allow_encrypted_unproven=options.allow_encrypted_unproven,
            )
        )
        cancel = cancel or asyncio.Event()
        with self._cancelled_by_close(cancel):
            result = await run_update(
                self._require(),
                images,
                options,
                on_progress=on_progress,
                cancel=cancel,
                reconnect=self.reconnect,
            )
        if result.client is not None and result.client is not self.client:
            self.client = result.client
        return UpdateDone(result, await self.read())

    @contextlib.contextmanager
    def _cancelled_by_close(self, cancel: asyncio.Event) -> Iterator[asyncio.Event]:
        if self._closed:
            cancel.set()
        self._cancels.add(cancel)
        try:
            yield cancel
        finally:
            self._cancels.discard(cancel)

    async def recover(
        self, path: Path, keys: KeyStore | None, on_progress: ProgressCallback | None = None
    ) -> RecoverDone:
        """Restore firmware through MCUboot's serial recovery (app/workflows/recovery)."""
        from app.workflows.images import load_update_images
        from app.workflows.recovery import recover

        images = await asyncio.to_thread(load_update_images, path, keys)
        if len(images) != 1:
            raise SlotwiseError("restoring writes one image: choose a .bin or .hex, not a package")
        result = await recover(
            self._require(), images[0], on_progress=on_progress, reconnect=self.reconnect
        )
        return RecoverDone(result, await self.read())

    # --- slot actions -----------------------------------------------------------------------

    async def test(self, image_hash: bytes) -> DeviceSnapshot:
        await self._require().image_test(image_hash)
        return await self.read()

    async def confirm(self, image_hash: bytes | None = None) -> DeviceSnapshot:
        await self._require().image_confirm(image_hash)
        return await self.read()

    async def erase(self, slot: int) -> DeviceSnapshot:
        await self._require().image_erase(slot)
        return await self.read()

    async def reset(self, wait_s: float = 20.0) -> DeviceSnapshot:
        """Reset, watch the device come back (app/workflows wait_for_device), read it afresh.

        When MCUboot has something to do (a pending image, an unconfirmed one to revert), the
        reboot is recognised by the slot list changing; otherwise by a grace period, since
        the device answers normally until the delayed reset actually happens.
        """
        from app.workflows.watch import wait_for_device

        client = self._require()
        before = _slot_key(await client.image_state())
        changes = any(
            pending or (active and not confirmed) for _h, active, pending, confirmed in before
        )
        await client.reset()
        if not changes:
            await asyncio.sleep(RESET_GRACE_S)
        with self._cancelled_by_close(asyncio.Event()) as cancel:
            self.client, _ = await wait_for_device(
                client,
                self.reconnect,
                timeout_s=wait_s,
                cancel=cancel,
                ready=lambda slots: not changes or _slot_key(slots) != before,
            )
        return await self.read()

    async def roll_back(
        self, snapshot: DeviceSnapshot, image: int = 0, wait_s: float = 20.0
    ) -> DeviceSnapshot:
        """Boot the other slot's image: revert an untested image, or test the older one."""
        running = snapshot.running(image)
        if running is None:
            raise SlotwiseError("the device lists no running image to roll back from")
        other = snapshot.other(running)
        if running.confirmed or running.permanent:
            if other is None or other.hash is None or not other.bootable:
                raise SlotwiseError("there is no bootable image in the other slot to go back to")
            await self._require().image_test(other.hash)
        return await self.reset(wait_s)

    # --- fleet (app/fleet): the DDI conversation on this session's own link -----------------

    async def fleet_controller_id(self, options: FleetOptions) -> str:
        """The DDI controller id this device gets (the template over what it tells)."""
        from app.fleet.attributes import read_facts
        from app.fleet.identity import clean_controller_id, controller_id, setting_names

        if options.controller_id:
            return clean_controller_id(options.controller_id)
        facts = await read_facts(self._require(), self.target.spec, setting_names(options.template))
        return controller_id(options.template, facts)

    async def fleet_plan(self, profile: ServerProfile, options: FleetOptions) -> FleetPlan:
        """What the server assigns to this device and what installing it would do."""
        from app.fleet.gateway import DeviceGateway
        from app.fleet.server import DdiHttp

        async with DdiHttp(profile) as http:
            gateway = DeviceGateway(self.target.spec, self._require(), http, profile, options)
            return await gateway.plan()

    async def fleet_apply(
        self,
        profile: ServerProfile,
        options: FleetOptions,
        on_event: Callable[[FleetEvent], None] | None = None,
    ) -> tuple[FleetOutcome, DeviceSnapshot]:
        """Install what the server assigns and tell it; then read the device again."""
        from app.fleet.gateway import DeviceGateway
        from app.fleet.server import DdiHttp

        async with DdiHttp(profile) as http:
            gateway = DeviceGateway(self.target.spec, self._require(), http, profile, options)
            outcome = await gateway.run(on_event, self.reconnect)
        if gateway.client is not self.client:
            self.client = gateway.client
        return outcome, await self.read()


async def probe(
    target: DeviceTarget, opener: Opener | None = None, timeout_s: float = 1.0
) -> DeviceTarget:
    """The target with `answers_smp` set by one echo."""
    from app.client.discovery import probe_smp

    try:
        transport = opener() if opener else open_transport(target.spec)
    except (SlotwiseError, OSError, ValueError) as exc:
        log.info("%s cannot be opened: %s", target.spec, exc)
        return replace(target, answers_smp=False)
    return replace(target, answers_smp=await probe_smp(transport, timeout_s))


async def _optional(read: Awaitable[T]) -> T | None:
    """The value, or None when the firmware lacks the command (the view says "not reported")."""
    try:
        return await read
    except DeviceError as exc:
        log.info("optional read failed: %s", exc)
        return None


def _slot_key(slots: list[ImageSlot]) -> tuple[tuple[bytes | None, bool, bool, bool], ...]:
    return tuple((s.hash, s.active, s.pending, s.confirmed) for s in slots)


def _slot_views(states: list[ImageSlot], sizes: list[Any] | None) -> tuple[SlotView, ...]:
    slot_size: dict[tuple[int, int], int] = {}
    for image in sizes or []:
        for s in image.slots:
            slot_size[(image.image, s.slot)] = s.size
    views = [
        SlotView(
            image=s.image_number,
            slot=s.slot,
            version=device_text(s.version),
            hash=s.hash,
            size=slot_size.get((s.image_number, s.slot)),
            active=s.active,
            pending=s.pending,
            confirmed=s.confirmed,
            permanent=s.permanent,
            bootable=s.bootable,
        )
        for s in states
    ]
    listed = {(v.image, v.slot) for v in views}
    for (image, slot), size in slot_size.items():  # show empty slots too: uploads land there
        if (image, slot) not in listed:
            views.append(
                SlotView(image, slot, "", None, size, False, False, False, False, False, empty=True)
            )
    return tuple(sorted(views, key=lambda v: (v.image, v.slot)))
