"""MCUboot serial recovery on the simulated board: the bootloader's own small SMP server.

Modelled on `boot/boot_serial/src/boot_serial.c` of mcu-tools/mcuboot at commit
01562f5d7458b6ea1de50e5a22b7474f1ac11074 (and boot/zephyr/Kconfig.serial_recovery,
boot/zephyr/boot_serial_extensions.c), read for its behaviour; written here from scratch.
What it answers, and how that differs from Zephyr's img_mgmt/os_mgmt:

- Header: op read/write only (anything else gets no answer), a declared length shorter than
  the body gets no answer; the reply keeps the request's sequence, id and version bits.
  Before PR #1751 the whole first byte was the op, so v2 requests got no answer
  (`RecoveryProfile.whole_op_byte`).
- Errors are always SMP v1 `{"rc": N}`, never a v2 `err` map; ENOTSUP (8) for every group or
  command not built in (OS info, params, bootloader info, test/confirm, erase, stats, ...).
- Image list `{"images": [...]}`: only slots holding a valid image, each `slot`, `version`
  (build number only when not 0), `hash` when CONFIG_BOOT_SERIAL_IMG_GRP_HASH, `image` only
  on multi-image builds; no `active`/`confirmed`/`bootable` flags and no `splitStatus`.
- Upload writes straight into the primary slot of `image` (read only from the off-0 chunk):
  the off-0 chunk erases the whole slot first; the reply is `{"rc": 0, "off": N}` (rc even on
  success, no `match`); a chunk at another offset than expected is "accepted" with the
  expected `off`; a non-final chunk is written only up to the flash alignment and `off` says
  so; `sha` and `upgrade` are ignored; image > images is ENOENT, image == images EINVAL.
- Echo (CONFIG_BOOT_MGMT_ECHO) `{"r": d}`, EINVAL without `d`; console echo control `rc 0`;
  reset `rc 0`, then the board reboots 250 ms later; storage erase (group 63, command 0,
  CONFIG_BOOT_MGMT_CUSTOM_STORAGE_ERASE) `rc 0`.
- One decode buffer: the endpoint drops packets longer than it and lines longer than
  CONFIG_BOOT_MAX_LINE_INPUT_LEN; the runtime drops a request that arrives while another
  is processed (no ENOMEM answer, just silence).

Pure and synchronous like device.py; RAM upload state is lost at reboot.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import DecodeError
from app.sim.handlers.misc import STORAGE_PARTITION_BYTES
from app.sim.profiles import RecoveryProfile
from app.smp.codec import decode_body, encode_body
from app.smp.errors import MgmtErr
from app.smp.header import HEADER_SIZE, Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">BBHHBB")
_OP_READ, _OP_WRITE = 0, 2
_OS_ECHO, _OS_CONSOLE_ECHO, _OS_RESET, _OS_PARAMS = 0, 1, 5, 6
_IMG_STATE, _IMG_UPLOAD = 0, 1
_STORAGE_ERASE = 0


@dataclass(slots=True)
class RecoveryUpload:
    """boot_serial.c's static upload state (`img_num`, `img_size`, `curr_off`)."""

    image: int = 0
    size: int = 0
    off: int = 0


def process(dev: SimDevice, profile: RecoveryProfile, frame: bytes) -> tuple[bytes | None, bool]:
    """The reply packet (None: no answer) to one request, and whether the board reboots.

    Flash time is added to `dev.work_s`, as the application's handlers do.
    """
    if len(frame) < HEADER_SIZE:
        return None, False
    op_byte, _flags, length, group, sequence, command = _HEADER.unpack_from(frame)
    op = op_byte if profile.whole_op_byte else op_byte & 0b111
    if op not in (_OP_READ, _OP_WRITE) or length < len(frame) - HEADER_SIZE:
        return None, False
    body = frame[HEADER_SIZE:]
    reboot = False
    if group == Group.IMAGE and command == _IMG_STATE and op == _OP_READ:
        answer = _image_list(dev, profile)
    elif group == Group.IMAGE and command == _IMG_UPLOAD:  # either op, as boot_serial.c
        answer = _upload(dev, profile, body)
    elif group == Group.OS and command == _OS_ECHO and profile.echo:
        answer = _echo(body)
    elif group == Group.OS and command == _OS_CONSOLE_ECHO:
        answer = {"rc": 0}
    elif group == Group.OS and command == _OS_RESET:
        answer, reboot = {"rc": 0}, True
    elif group == Group.OS and command == _OS_PARAMS and profile.params:
        answer = {"buf_size": profile.max_receive_bytes, "buf_count": 1}
    elif (
        group == Group.ZEPHYR_BASIC
        and command == _STORAGE_ERASE
        and op == _OP_WRITE
        and profile.storage_erase
    ):
        answer = _storage_erase(dev)
    else:
        answer = {"rc": int(MgmtErr.ENOTSUP)}
    payload = encode_body(answer)
    # nh_op++ keeps the version bits (mcuboot PR #1751); flags are cleared.
    header = _HEADER.pack(op_byte + 1, 0, len(payload), group, sequence, command)
    return header + payload, reboot


def _image_list(dev: SimDevice, profile: RecoveryProfile) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for image in range(dev.config.images):
        for slot in dev.image_slots(image):
            if not slot.valid():  # bootutil_img_validate failed: not listed at all
                continue
            entry: dict[str, Any] = {}
            if dev.config.images > 1:
                entry["image"] = image
            entry["slot"] = slot.slot
            if profile.image_hash and slot.hash is not None:
                entry["hash"] = slot.hash
            entry["version"] = slot.version
            entries.append(entry)
    return {"images": entries}


def _upload(dev: SimDevice, profile: RecoveryProfile, body: bytes) -> dict[str, Any]:
    fields = _decode_upload(body)
    if fields is None:
        return {"rc": int(MgmtErr.EINVAL)}
    data, off, size, image = fields
    state = dev.recovery_upload
    if off == 0:
        state.image = image if image is not None else 0
    if state.image > dev.config.images:
        return {"rc": int(MgmtErr.ENOENT)}
    if state.image == dev.config.images:  # flash_area_open fails one past the last image
        return {"rc": int(MgmtErr.EINVAL)}
    primary = dev.image_slots(state.image)[0]
    if off == 0:
        state.off = 0
        if size is None or size > primary.size:
            return {"rc": int(MgmtErr.EINVAL)}
        dev.note_flash_erase(primary.erase())  # non-progressive: the whole slot, now
        state.size = size
    elif off != state.off:
        return {"rc": 0, "off": state.off}  # "pretend success" and name the expected offset
    elif state.off + len(data) > state.size:
        return {"rc": int(MgmtErr.EINVAL)}
    align = profile.write_align
    remainder = len(data) % align
    final = state.off + len(data) >= state.size
    if remainder and not final:
        data = data[: len(data) - remainder]  # the rest is asked for again through `off`
    primary.write(state.off, data)
    dev.note_flash_write(len(data))
    state.off += len(data)
    dev.persist_slot(primary)
    return {"rc": 0, "off": state.off}


def _decode_upload(body: bytes) -> tuple[bytes, int, int | None, int | None] | None:
    """`data`, `off`, `len`, `image` as zcbor_map_decode_bulk reads them, or None (EINVAL)."""
    try:
        fields = decode_body(body)
    except DecodeError:
        return None
    data, off = fields.get("data"), _uint(fields.get("off"))
    size, image = _uint(fields.get("len")), _uint(fields.get("image"))
    if not isinstance(data, bytes) or off is None:
        return None
    if (size is None and "len" in fields) or (image is None and "image" in fields):
        return None
    return data, off, size, image


def _uint(value: object) -> int | None:
    """The value when it is an unsigned integer (zcbor_uint32/size_decode), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _echo(body: bytes) -> dict[str, Any]:
    try:
        fields = decode_body(body)
    except DecodeError:
        return {"rc": int(MgmtErr.EINVAL)}
    text = fields.get("d")
    if not isinstance(text, str):
        return {"rc": int(MgmtErr.EINVAL)}
    return {"r": text}


def _storage_erase(dev: SimDevice) -> dict[str, Any]:
    dev.settings.clear()
    dev.stored_settings.clear()
    dev.files.clear()
    dev.persist_settings()
    dev.forget_file(None)
    dev.note_flash_erase(STORAGE_PARTITION_BYTES)
    return {"rc": 0}
