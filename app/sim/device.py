"""The simulated board: slots with MCUboot rules and a handler per SMP command.

Pure and synchronous: `process(frame)` takes one whole SMP request packet and returns a `Reply`;
it never raises, whatever the bytes. Timing (latency, bandwidth, buffers, reboots) belongs to
the servers in serve.py, which read `work_s` and `reboot` from each reply.

Every byte in and out goes through app/smp (decode_packet, request_class, Request.from_body,
encode_packet), so the simulator cannot agree with the client by accident.

Fault injection (`device.faults`, a `Faults`; all one-shot unless noted):
- `reset_at_upload_offset(n)`: once an image upload has written >= n bytes the device reboots
  instead of answering (Reply(frame=None, reboot=True)); the RAM upload session is lost at
  `reboot()`, the flash keeps every byte written so far.
- `corrupt_next_response()`: flips bytes in the next encoded reply.
- `stop_answering()` / `resume_answering()`: no reply to anything until resumed (not one-shot).
- `corrupt_after_upload()`: when the next image upload completes, one payload byte of the slot
  is flipped before `match` is computed, so the slot no longer equals what the client sent.
- `answer_upload_offset(n)`: the next image upload chunk after the first is answered with
  `off: n` (e.g. negative, or past the image) instead of the real offset, and not written.
- `refuse_state_write_for_image(n)`: every test/confirm (image state write) that names a slot
  of image `n` fails with FLASH_WRITE_FAILED (not one-shot): a half-marked multi-image update.
Inspection: `slots(image)` / `slot(n)` (Slot: `.data`, `.flash`, `.hash`, `.version`, trailer
flags), `flags(n)`, `running_version(image)`, `upload`, `settings`, `files`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import DecodeError
from app.sim import handlers as _handlers  # noqa: F401  (registers every handler)
from app.sim import recovery
from app.sim.handlers.base import (
    HANDLERS,
    NO_DECODE,
    PREPARERS,
    GroupFailure,
    SilentReboot,
    SmpFailure,
    StaleHeader,
)
from app.sim.handlers.img import UploadSession
from app.sim.img_state import Flags, state_flags
from app.sim.mcuboot import build_image
from app.sim.profiles import Profile, RecoveryProfile, get_profile, get_recovery_profile
from app.sim.reboot import boot_all
from app.sim.slots import ERASE_PAGE, Slot
from app.sim.state import StateStore
from app.sim.translate import v1_code
from app.smp.codec import plain_maps
from app.smp.errors import MgmtErr
from app.smp.groups.os import BootloaderMode
from app.smp.header import HEADER_SIZE, Header, Op
from app.smp.message import Request, decode_packet, encode_packet, request_class

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    frame: bytes | None
    """The response packet, or None when the device sends nothing (dropped or faulted)."""
    work_s: float = 0.0
    """Time the device is busy before it answers (flash erase and writes)."""
    reboot: bool = False
    """The device resets right after this reply (reset command, or an injected fault)."""


@dataclass(slots=True)
class SimConfig:
    """Everything that makes one simulated device what it is."""

    name: str = "slotwise-sim"
    images: int = 1
    slot_size: int = 512 * 1024
    buf_size: int = 2048
    buf_count: int = 4
    flash_write_bps: float | None = None
    profile: str = "zephyr-modern"
    state_dir: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)
    mode: int = BootloaderMode.SWAP_USING_MOVE
    """MCUboot mode (BootloaderMode): swap (1, 3, 9), overwrite-only (2) or direct-XIP (4)."""
    no_downgrade: bool = False
    """MCUboot downgrade prevention (reported by bootloader info; enforced in overwrite-only)."""
    flash_erase_bps: float = 2 * 1024 * 1024
    """Modelled erase rate; the first upload chunk and erase commands take size / rate."""
    factory_version: str = "1.0.0"
    """Version of the built-in image in each primary slot of a fresh board."""
    recovery: str | None = None
    """A serial recovery build (profiles.RECOVERY_PROFILES) in MCUboot: the board powers on
    in it, as with its button held, and leaves it on reset when the primary slot is valid."""


INTERNAL_ERRORS: list[str] = []
"""Every exception a simulated device's handlers raised, in this process. The device answers
nothing then (as a crashed handler would), which a test could mistake for a designed silence;
the test suite fails any test during which one was added."""


@dataclass(slots=True)
class Faults:
    """Injected faults (see the module docstring)."""

    reset_at_upload_offset: int | None = None
    corrupt_next_response: bool = False
    silent: bool = False
    corrupt_after_upload: bool = False
    refuse_state_write: set[int] = field(default_factory=set)
    """Image numbers whose test/confirm writes fail."""
    upload_offset_answer: int | None = None


class SimDevice:
    """A Zephyr smp_svr on MCUboot, answering SMP packets."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        _check_config(self.config)
        self.profile: Profile = get_profile(self.config.profile)
        self.recovery_profile: RecoveryProfile | None = (
            get_recovery_profile(self.config.recovery) if self.config.recovery else None
        )
        self.in_recovery = False
        """MCUboot's serial recovery answers instead of the application (app/sim/recovery.py)."""
        self.recovery_upload = recovery.RecoveryUpload()
        self._recovery_button = self.recovery_profile is not None
        self.mode = BootloaderMode(self.config.mode)
        self.no_downgrade = self.config.no_downgrade
        self.faults = Faults()
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "bytes_written",
                "write_calls",
                "bytes_erased",
                "erase_calls",
                "reboots",
                "internal_errors",
            ),
            0,
        )
        self._slots = [
            Slot(n // 2, n % 2, self.config.slot_size) for n in range(self.config.images * 2)
        ]
        self._active = [0] * self.config.images
        self._store = StateStore(self.config.state_dir) if self.config.state_dir else None
        self.settings: dict[str, bytes] = {}
        """Runtime settings values (what read/write see)."""
        self.stored_settings: dict[str, bytes] = {}
        """Settings in the storage partition (save/load/delete)."""
        self.files: dict[str, bytes] = {}
        self.fs_session: tuple[str, int] | None = None
        self.upload: UploadSession | None = None
        self.rtc_base: Any = None
        self.work_s = 0.0
        self.reply_reboots = False
        self._boot_at = self.clock()
        self._dirty = False
        """Flash written since the last save (an upload in progress); saved at reboot."""
        self._last_reply = b""
        self._load()

    # --- public API --------------------------------------------------------------------------

    def process(self, frame: bytes) -> Reply:
        """Answer one request packet; never raises (a bug is counted in INTERNAL_ERRORS)."""
        try:
            return self._process(bytes(frame))
        except Exception as exc:  # the device boundary: a bug must not take the server down
            log.exception("sim: internal error on request %s", bytes(frame[:16]).hex())
            self.counters["internal_errors"] += 1
            INTERNAL_ERRORS.append(f"{type(exc).__name__}: {exc} (request {frame[:16].hex()})")
            return Reply(frame=None)

    def reboot(self) -> None:
        """Reset: RAM state is lost, MCUboot runs (swap/revert), the application starts."""
        self.counters["reboots"] += 1
        self.upload = None
        self.recovery_upload = recovery.RecoveryUpload()
        self.fs_session = None
        self.settings = dict(self.stored_settings)
        self._run_bootloader()
        self._boot_at = self.clock()

    def slots(self, image: int = 0) -> tuple[Slot, Slot]:
        """The primary and secondary slot of `image` (inspection for tests)."""
        return self.image_slots(image)

    def slot(self, number: int) -> Slot:
        """Absolute slot `number` (image * 2 + slot)."""
        return self._slots[number]

    def image_slots(self, image: int) -> tuple[Slot, Slot]:
        return self._slots[image * 2], self._slots[image * 2 + 1]

    def active_slot(self, image: int) -> int:
        """Absolute number of the slot `image` runs from."""
        return image * 2 + self._active[image]

    def flags(self, slot_number: int) -> Flags:
        """Zephyr's state flags for absolute slot `slot_number` (as the image list shows)."""
        return state_flags(self, slot_number)

    def running_version(self, image: int = 0) -> str | None:
        return self.slot(self.active_slot(image)).version

    def reset_at_upload_offset(self, offset: int) -> None:
        self.faults.reset_at_upload_offset = offset

    def corrupt_next_response(self) -> None:
        self.faults.corrupt_next_response = True

    def stop_answering(self) -> None:
        self.faults.silent = True

    def resume_answering(self) -> None:
        self.faults.silent = False

    def corrupt_after_upload(self) -> None:
        self.faults.corrupt_after_upload = True

    def answer_upload_offset(self, off: int) -> None:
        self.faults.upload_offset_answer = off

    def refuse_state_write_for_image(self, image: int) -> None:
        self.faults.refuse_state_write.add(image)

    def hold_recovery_button(self) -> None:
        """The next reset enters serial recovery (a board with one built in)."""
        if self.recovery_profile is None:
            raise ValueError("this simulated MCUboot has no serial recovery built in")
        self._recovery_button = True

    def request_limit_bytes(self) -> int:
        """The largest request packet the device takes into its buffer."""
        if self.in_recovery and self.recovery_profile is not None:
            return self.recovery_profile.max_packet_bytes
        return self.config.buf_size

    def install(self, slot_number: int, image: bytes) -> None:
        """Put `image` into a slot as a flash programmer would (test set-up)."""
        slot = self.slot(slot_number)
        slot.erase()
        slot.write(0, image)
        self.persist_slot(slot)

    # --- helpers for handlers ----------------------------------------------------------------

    def clock(self) -> float:
        return time.monotonic()

    def uptime_s(self) -> float:
        return self.clock() - self._boot_at

    def note_flash_write(self, nbytes: int) -> None:
        self.counters["bytes_written"] += nbytes
        self.counters["write_calls"] += 1
        self._dirty = True
        if self.config.flash_write_bps:
            self.work_s += nbytes / self.config.flash_write_bps

    def note_flash_erase(self, nbytes: int) -> None:
        if nbytes:
            self.counters["bytes_erased"] += nbytes
            self.counters["erase_calls"] += 1
            self._dirty = True
            self.work_s += nbytes / self.config.flash_erase_bps

    def corrupt_slot(self, number: int) -> None:
        """Flip one payload byte (after the header area) of slot `number`."""
        slot = self.slot(number)
        info = slot.info
        at = info.hdr_size if info else 0
        slot.load(
            bytes(slot.flash[:at]) + bytes([slot.flash[at] ^ 0x01]) + bytes(slot.flash[at + 1 :])
        )

    def persist_slot(self, slot: Slot) -> None:
        if self._store is not None:
            self._store.save_slot(slot.absolute, bytes(slot.flash))

    def persist_settings(self) -> None:
        self._save_json()

    def persist_file(self, name: str, offset: int, data: bytes) -> None:
        if self._store is not None:
            self._store.append_file(name, offset, data)

    def forget_file(self, name: str | None) -> None:
        if self._store is not None:
            if name is None:
                self._store.clear_files()
            else:
                self._store.delete_file(name)

    # --- the SMP server ----------------------------------------------------------------------

    def _process(self, frame: bytes) -> Reply:
        if self.faults.silent or len(frame) < HEADER_SIZE:
            return Reply(frame=None)
        if self.in_recovery and self.recovery_profile is not None:
            self.counters["requests"] += 1
            self.work_s = 0.0
            answer, reboots = recovery.process(self, self.recovery_profile, frame)
            return Reply(frame=answer, work_s=self.work_s, reboot=reboots)
        self.counters["requests"] += 1
        self.work_s = 0.0
        self.reply_reboots = False
        header, op_known = _read_header(frame)
        try:
            body = self._dispatch(header, op_known, frame)
        except SilentReboot:
            return Reply(frame=None, work_s=self.work_s, reboot=True)
        except StaleHeader:
            return Reply(frame=self._last_reply[:HEADER_SIZE] or None, work_s=self.work_s)
        reply = self._encode(header, body)
        if len(reply) > self.config.buf_size:  # the answer does not fit one MCUmgr buffer
            reply = self._encode(header, {"rc": int(MgmtErr.EMSGSIZE)})
        if self.faults.corrupt_next_response:
            self.faults.corrupt_next_response = False
            reply = _corrupt(reply)
        self._last_reply = reply
        return Reply(frame=reply, work_s=self.work_s, reboot=self.reply_reboots)

    def _encode(self, request: Header, body: dict[str, Any]) -> bytes:
        if self.profile.zcbor_replies:
            return encode_packet(_reply_header(request), body, zcbor=True)
        return encode_packet(_reply_header(request), plain_maps(body))

    def _dispatch(self, header: Header, op_known: bool, frame: bytes) -> dict[str, Any]:
        try:
            return self._handle(header, op_known, frame)
        except SmpFailure as exc:
            return self._smp_error(exc.rc, exc.rsn)
        except GroupFailure as exc:
            if header.version >= 1 and not self.profile.legacy_errors:
                return {"err": {"group": exc.group, "rc": exc.rc}, **exc.extra}
            rc = v1_code(exc.group, exc.rc, self.profile.untranslated_groups)
            return {**self._smp_error(rc, exc.rsn), **exc.extra}

    def _smp_error(self, rc: int, rsn: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"rc": int(rc)}
        if rsn and self.profile.verbose_errors:
            body["rsn"] = rsn
        return body

    def _handle(self, header: Header, op_known: bool, frame: bytes) -> dict[str, Any]:
        if header.length > len(frame) - HEADER_SIZE:
            raise SmpFailure(MgmtErr.ECORRUPT)
        if header.version >= 2:
            raise SmpFailure(MgmtErr.UNSUPPORTED_TOO_NEW)
        if not op_known or header.op.is_response:
            raise SmpFailure(MgmtErr.ENOTSUP)
        cls = request_class(header.group, header.command, header.op)
        if (
            cls is None
            or cls not in HANDLERS
            or not self.profile.supports(header.group, header.command)
        ):
            raise SmpFailure(MgmtErr.ENOTSUP)
        # One request per packet; bytes after the declared length are not a second request
        # this simulator answers (the digest advises clients to send one per packet).
        request = self._decode(cls, frame[: HEADER_SIZE + header.length])
        response = HANDLERS[cls](self, request)
        body = response.to_body()
        if (header.group, header.command) in self.profile.rc_zero:
            body = {"rc": 0, **body}
        return body

    def _decode(self, cls: type[Request], packet: bytes) -> Request:
        try:
            _, body = decode_packet(packet)
        except DecodeError:
            if cls not in NO_DECODE:
                raise SmpFailure(MgmtErr.EINVAL) from None
            body = {}
        if any(_negative(body.get(k)) for k in _UINT_KEYS):
            # zcbor decodes these as uint: a negative value fails the whole decode.
            if cls not in NO_DECODE:
                raise SmpFailure(MgmtErr.EINVAL)
            return cls()
        preparer = PREPARERS.get(cls)
        if preparer is not None:
            body = preparer(self, dict(body))
        try:
            return cls.from_body(body)
        except DecodeError:
            if cls not in NO_DECODE:
                raise SmpFailure(MgmtErr.EINVAL) from None
            return cls()

    # --- state -------------------------------------------------------------------------------

    def _load(self) -> None:
        loaded = False
        if self._store is not None:
            for slot in self._slots:
                content = self._store.load_slot(slot.absolute)
                if content is not None:
                    slot.load(content)
                    loaded = True
            self.stored_settings = self._store.load_stored_settings()
            self.files = self._store.load_files()
        if not loaded:
            factory = build_image(self.config.factory_version)
            for image in range(self.config.images):
                self.install(image * 2, factory)
            self.stored_settings = dict(self.profile.settings)
            for name, content in self.profile.files.items():
                self.files[name] = content
                self.persist_file(name, 0, content)
        # Power-on: MCUboot runs exactly as on a reset, and settings load from storage.
        self.settings = dict(self.stored_settings)
        self._run_bootloader()

    def _run_bootloader(self) -> None:
        """MCUboot at power-on/reset; slots it changed (and flash written since) are saved.

        The recovery button is checked before any swap (MCUboot's main.c); with no valid
        primary image a board with serial recovery stays in it (BOOT_SERIAL_NO_APPLICATION).
        """
        before = [bytes(slot.flash) for slot in self._slots]
        held, self._recovery_button = self._recovery_button, False
        self.in_recovery = held
        if not held:
            self._active = boot_all(self)
            self.in_recovery = self.recovery_profile is not None and not self._slots[0].valid()
        if self.in_recovery:
            log.info("sim mcuboot: serial recovery (%s)", "button" if held else "no application")
        for slot, old in zip(self._slots, before, strict=True):
            if slot.flash != old or self._dirty:
                self.persist_slot(slot)
        self._dirty = False
        self._save_json()

    def _save_json(self) -> None:
        if self._store is not None:
            self._store.save_json(
                {
                    "settings": {k: v.hex() for k, v in self.stored_settings.items()},
                    "active": list(self._active),
                }
            )


def profile_config(profile: str, **overrides: Any) -> SimConfig:
    """A SimConfig for `profile` with its build's MCUmgr buffers and MCUboot mode, unless
    `overrides` (SimConfig fields; None means "not given") say otherwise.

    Raises ValueError for an unknown profile."""
    shape = get_profile(profile)
    values: dict[str, Any] = {"profile": profile}
    if shape.buffers is not None:
        values["buf_size"], values["buf_count"] = shape.buffers
    if shape.boot_mode is not None:
        values["mode"] = shape.boot_mode
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SimConfig(**values)


def _check_config(config: SimConfig) -> None:
    """Refuse configurations no board has, with a sentence saying why."""
    if config.images not in (1, 2, 3):
        raise ValueError(f"a simulated device has 1 to 3 images, not {config.images}")
    if config.slot_size < 4 * ERASE_PAGE or config.slot_size % ERASE_PAGE:
        raise ValueError(
            f"slot size {config.slot_size} must be a multiple of {ERASE_PAGE} "
            f"bytes and at least {4 * ERASE_PAGE}"
        )
    if config.buf_size < 64 or config.buf_count < 1:
        raise ValueError("MCUmgr buffers need buf_size >= 64 and buf_count >= 1")


_UINT_KEYS = ("off", "len", "image", "slot", "index", "max_size", "boot_mode", "groups")


def _negative(value: object) -> bool:
    if isinstance(value, list):
        return any(_negative(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and value < 0


def _read_header(frame: bytes) -> tuple[Header, bool]:
    """The header, also for an op the protocol does not define (read with its op cleared)."""
    try:
        return Header.decode(frame), True
    except DecodeError:
        patched = bytes([frame[0] & ~0b111 | Op.WRITE]) + frame[1:HEADER_SIZE]
        return Header.decode(patched), False


def _reply_header(request: Header) -> Header:
    # Response op per smp.c; version clamped to 1 (a v3 request is answered as v2, §1).
    return Header(
        op=request.op.response(),
        group=request.group,
        command=request.command,
        sequence=request.sequence,
        version=min(request.version, 1),
    )


def _corrupt(reply: bytes) -> bytes:
    """Flip bits in the body (or header, for an empty body) so a decoder must notice."""
    data = bytearray(reply)
    for at in range(HEADER_SIZE, len(data), max((len(data) - HEADER_SIZE) // 3, 1)):
        data[at] ^= 0xA5
    if len(data) == HEADER_SIZE:
        data[2] ^= 0xFF
    return bytes(data)
