"""Group 1, image management: state read/write, upload, erase, slot info (spec digest §6.1).

The upload follows Zephyr's `img_mgmt_upload` / `img_mgmt_upload_inspect` check order; the
session lives in RAM (`device.upload`) and is lost on reboot, the flash keeps what was written.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.sim import img_state
from app.sim.handlers.base import GroupFailure, SilentReboot, SmpFailure, handles, prepares
from app.sim.mcuboot import IMAGE_MAGIC
from app.sim.slots import ERASE_PAGE
from app.smp.errors import ImgErr, MgmtErr
from app.smp.groups import img as g
from app.smp.groups.os import BootloaderMode, EmptyResponse
from app.smp.header import Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

SHA_MAX = 32
"""IMG_MGMT_DATA_SHA_LEN."""
_VERSION = struct.Struct("<BBHI")


@dataclass(slots=True)
class UploadSession:
    """`g_img_mgmt_state`: the upload in progress (RAM only)."""

    slot: int
    size: int
    off: int
    sha: bytes


def _fail(dev: SimDevice, rc: int, rsn: str | None = None) -> GroupFailure:
    dev.upload = None  # any error resets the upload state (§6.1.3)
    return GroupFailure(Group.IMAGE, rc, rsn)


@handles(g.ImageState, decodes=False)
def state_read(dev: SimDevice, req: g.ImageState) -> g.ImageStateResponse:
    return g.ImageStateResponse(images=img_state.list_images(dev), split_status=0)


@handles(g.ImageStateWrite)
def state_write(dev: SimDevice, req: g.ImageStateWrite) -> g.ImageStateResponse:
    if dev.mode is BootloaderMode.DIRECT_XIP:
        raise SmpFailure(MgmtErr.ENOTSUP)  # no revert support: the write handler is absent
    confirm = bool(req.confirm)
    if req.hash is not None:
        if len(req.hash) != SHA_MAX:
            raise GroupFailure(Group.IMAGE, ImgErr.INVALID_HASH)
        slot = img_state.find_by_hash(dev, req.hash)
        if slot is None:
            raise GroupFailure(Group.IMAGE, ImgErr.HASH_NOT_FOUND)
    elif confirm:
        slot = dev.active_slot(img_state.ACTIVE_IMAGE)
    else:
        raise GroupFailure(Group.IMAGE, ImgErr.INVALID_HASH)
    if slot // 2 in dev.faults.refuse_state_write:  # injected: the trailer write fails
        raise GroupFailure(Group.IMAGE, ImgErr.FLASH_WRITE_FAILED)
    img_state.set_next_boot(dev, slot, confirm)
    return g.ImageStateResponse(images=img_state.list_images(dev), split_status=0)


@prepares(g.ImageUpload)
def _upload_body(dev: SimDevice, body: dict[str, Any]) -> dict[str, Any]:
    # Zephyr decodes every key as optional: a missing `off` is its own error, missing `data`
    # is an empty chunk (which then fails the header-length check on the first chunk).
    if "off" not in body:
        raise _fail(dev, ImgErr.INVALID_OFFSET)
    return {"data": b"", **body}


@handles(g.ImageUpload)
def upload(dev: SimDevice, req: g.ImageUpload) -> g.ImageUploadResponse:
    if req.off == 0:
        resumed = _start_upload(dev, req)
        if resumed is not None:
            return g.ImageUploadResponse(off=resumed)
    session = dev.upload
    if dev.faults.upload_offset_answer is not None and session is not None and req.off:
        off, dev.faults.upload_offset_answer = dev.faults.upload_offset_answer, None
        return g.ImageUploadResponse(off=off)  # a device answering nonsense (injected)
    if session is None or req.off != session.off:
        # Out-of-order chunk: dropped, the answer names the offset the device expects.
        return g.ImageUploadResponse(off=session.off if session else 0)
    if req.off + len(req.data) > session.size:
        raise _fail(dev, ImgErr.INVALID_IMAGE_DATA_OVERRUN, "data overrun")
    slot = dev.slot(session.slot)
    slot.write(req.off, req.data)
    dev.note_flash_write(len(req.data))
    session.off += len(req.data)
    if (
        dev.faults.reset_at_upload_offset is not None
        and session.off >= dev.faults.reset_at_upload_offset
    ):
        dev.faults.reset_at_upload_offset = None
        raise SilentReboot("injected reset during upload")
    if session.off < session.size:
        return g.ImageUploadResponse(off=session.off)
    return _finish_upload(dev, session)


def _start_upload(dev: SimDevice, req: g.ImageUpload) -> int | None:
    """First-chunk checks in Zephyr's order; returns the offset when resuming, else None."""
    data = req.data
    if len(data) < 32:
        raise _fail(dev, ImgErr.INVALID_IMAGE_HEADER, "header malformed")
    if req.length is None:
        raise _fail(dev, ImgErr.INVALID_LENGTH)
    if int.from_bytes(data[:4], "little") != IMAGE_MAGIC:
        raise _fail(dev, ImgErr.INVALID_IMAGE_HEADER_MAGIC, "magic mismatch")
    sha = req.sha or b""
    if len(sha) > SHA_MAX:
        raise _fail(dev, ImgErr.INVALID_HASH)
    session = dev.upload
    if sha and session is not None and session.sha == sha:
        return session.off
    target = img_state.upload_target(dev, req.image or 0)
    if target is None:
        raise _fail(dev, ImgErr.NO_FREE_SLOT, "no slot")
    slot = dev.slot(target)
    if req.length > slot.size:
        raise _fail(dev, ImgErr.INVALID_IMAGE_TOO_LARGE, "img too large")
    if req.upgrade:
        running = dev.slot(dev.active_slot(target // 2)).info
        major, minor, revision, _build = _VERSION.unpack_from(data, 20)
        new = (major, minor, revision)
        if running is not None and running.version.key() >= new:
            raise _fail(dev, ImgErr.CURRENT_VERSION_IS_NEWER, "downgrade")
    if len(data) > req.length:
        raise _fail(dev, ImgErr.INVALID_IMAGE_DATA_OVERRUN, "data overrun")
    # Erase the area the image will cover plus the trailer page, unless already blank.
    erased = 0
    if not slot.is_erased(0, req.length):
        erased += slot.erase(0, req.length)
    if not slot.is_erased(slot.size - ERASE_PAGE):
        erased += slot.erase(slot.size - ERASE_PAGE)
    dev.note_flash_erase(erased)
    dev.upload = UploadSession(slot=target, size=req.length, off=0, sha=sha)
    return None


def _finish_upload(dev: SimDevice, session: UploadSession) -> g.ImageUploadResponse:
    dev.upload = None
    slot = dev.slot(session.slot)
    if dev.faults.corrupt_after_upload:
        dev.faults.corrupt_after_upload = False
        dev.corrupt_slot(session.slot)
    dev.persist_slot(slot)
    match = None
    if dev.profile.image_check and len(session.sha) == SHA_MAX:  # only a full sha compares
        match = hashlib.sha256(bytes(slot.flash[: session.size])).digest() == session.sha
    return g.ImageUploadResponse(off=session.off, match=match)


@handles(g.ImageErase)
def erase(dev: SimDevice, req: g.ImageErase) -> EmptyResponse:
    number = req.slot
    if number is None:
        number = img_state.opposite(dev.active_slot(img_state.ACTIVE_IMAGE))
    if not 0 <= number < dev.config.images * 2:
        raise GroupFailure(Group.IMAGE, ImgErr.INVALID_SLOT)
    slot = dev.slot(number)
    if slot.info is not None and img_state.slot_in_use(dev, number):
        raise GroupFailure(Group.IMAGE, ImgErr.NO_FREE_SLOT)
    if slot.is_erased() and dev.profile.erase_empty_fails:
        raise SmpFailure(MgmtErr.EUNKNOWN)
    dev.upload = None
    if not slot.is_erased():
        dev.note_flash_erase(slot.erase())
        dev.persist_slot(slot)
    return EmptyResponse()


@handles(g.SlotInfo, decodes=False)
def slot_info(dev: SimDevice, req: g.SlotInfo) -> g.SlotInfoResponse:
    images = []
    for image in range(dev.config.images):
        slots = [g.SlotInfoSlot(slot=s.slot, size=s.size) for s in dev.image_slots(image)]
        images.append(g.SlotInfoImage(image=image, slots=slots))
    return g.SlotInfoResponse(images=images)
