"""Flash slots holding real image bytes and a real MCUboot trailer, and what MCUboot does with
them at boot (swap, revert, overwrite, direct-XIP).

Pure: no I/O (state.py persists `Slot.flash`). Trailer layout with BOOT_MAX_ALIGN = 8
(mcuboot-image.md §8.1): magic in the last 16 bytes, image_ok at -24, copy_done at -32,
swap_info at -40. Keeping the trailer as bytes means a `--pad`ded upload requests a swap just
as it does on a board.
"""

from __future__ import annotations

import logging
from enum import IntEnum

from app.sim.mcuboot import ImageInfo, ImageReadError, hash_is_valid, read_info
from app.smp.groups.os import BootloaderMode

log = logging.getLogger(__name__)

TRAILER_MAGIC = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")
ERASE_PAGE = 4096
"""Erase granularity; the trailer lives in the slot's last page."""
FLAG_SET = 0x01
ERASED = 0xFF
_MAGIC_AT, _IMAGE_OK_AT, _COPY_DONE_AT, _SWAP_INFO_AT = -16, -24, -32, -40

SWAP_MODES = frozenset(
    {
        BootloaderMode.SWAP_USING_SCRATCH,
        BootloaderMode.SWAP_USING_MOVE,
        BootloaderMode.SWAP_USING_OFFSET,
    }
)


class SwapType(IntEnum):
    """BOOT_SWAP_TYPE_* (mcuboot-image.md §8.3)."""

    NONE = 1
    TEST = 2
    PERM = 3
    REVERT = 4


class Slot:
    """One flash partition: `flash` is its whole content (0xFF = erased)."""

    def __init__(self, image: int, slot: int, size: int) -> None:
        self.image = image
        self.slot = slot
        self.flash = bytearray(b"\xff" * size)
        self._info: ImageInfo | ImageReadError | None = None

    @property
    def absolute(self) -> int:
        return self.image * 2 + self.slot

    @property
    def size(self) -> int:
        return len(self.flash)

    # --- the image ---------------------------------------------------------------------------

    def read(self) -> ImageInfo:
        """The listed image, or ImageReadError (cached until the flash changes)."""
        if self._info is None:
            try:
                self._info = read_info(self.flash)
            except ImageReadError as exc:
                self._info = exc
        if isinstance(self._info, ImageReadError):
            raise self._info
        return self._info

    @property
    def info(self) -> ImageInfo | None:
        try:
            return self.read()
        except ImageReadError:
            return None

    @property
    def data(self) -> bytes:
        """The image bytes (header to end of TLVs), or b"" when the slot holds no image."""
        info = self.info
        return bytes(self.flash[: info.end]) if info else b""

    @property
    def hash(self) -> bytes | None:
        info = self.info
        return info.hash if info else None

    @property
    def version(self) -> str | None:
        info = self.info
        return str(info.version) if info else None

    @property
    def bootable(self) -> bool:
        info = self.info
        return bool(info and info.bootable)

    def valid(self) -> bool:
        """MCUboot's validation before it boots or swaps in this image."""
        info = self.info
        return info is not None and hash_is_valid(self.flash, info)

    # --- flash operations --------------------------------------------------------------------

    def write(self, offset: int, data: bytes) -> None:
        # NOR flash can only clear bits; a write over unerased bytes ANDs, as on hardware.
        end = offset + len(data)
        if offset < 0 or end > self.size:
            raise ValueError(f"write of {len(data)} bytes at {offset} is outside the slot")
        current = self.flash[offset:end]
        if current == b"\xff" * len(current):
            self.flash[offset:end] = data
        else:
            self.flash[offset:end] = bytes(a & b for a, b in zip(current, data, strict=True))
        self._info = None

    def erase(self, start: int = 0, end: int | None = None) -> int:
        """Erase whole pages covering [start, end); returns the bytes erased."""
        end = self.size if end is None else min(end, self.size)
        start = start - start % ERASE_PAGE
        end = min(-(-end // ERASE_PAGE) * ERASE_PAGE, self.size)
        if end <= start:
            return 0
        self.flash[start:end] = b"\xff" * (end - start)
        self._info = None
        return end - start

    def is_erased(self, start: int = 0, end: int | None = None) -> bool:
        chunk = self.flash[start:end]
        return chunk.count(0xFF) == len(chunk)

    def load(self, content: bytes) -> None:
        """Replace the whole flash content (persistence, swaps)."""
        self.flash[:] = content[: self.size].ljust(self.size, b"\xff")
        self._info = None

    # --- the trailer -------------------------------------------------------------------------

    @property
    def magic_good(self) -> bool:
        return bytes(self.flash[_MAGIC_AT:]) == TRAILER_MAGIC

    @property
    def image_ok(self) -> bool:
        return self.flash[_IMAGE_OK_AT] == FLAG_SET

    @property
    def image_ok_unset(self) -> bool:
        return self.flash[_IMAGE_OK_AT] == ERASED

    @property
    def copy_done(self) -> bool:
        return self.flash[_COPY_DONE_AT] == FLAG_SET

    def erase_trailer(self) -> None:
        self.erase(self.size - ERASE_PAGE, self.size)

    def write_magic(self) -> None:
        if not self.magic_good:
            self.write(self.size + _MAGIC_AT, TRAILER_MAGIC)

    def write_flag(self, where: str) -> None:
        at = {"image_ok": _IMAGE_OK_AT, "copy_done": _COPY_DONE_AT}[where]
        if self.flash[at] == ERASED:
            self.write(self.size + at, bytes([FLAG_SET]))

    def write_swap_info(self, swap_type: SwapType) -> None:
        if self.flash[_SWAP_INFO_AT] == ERASED:
            self.write(self.size + _SWAP_INFO_AT, bytes([(self.image << 4) | int(swap_type)]))


def swap_type(primary: Slot, secondary: Slot) -> SwapType:
    """`boot_swap_type_multi`: the trailer state table, first match wins (§8.3)."""
    if secondary.magic_good and secondary.image_ok_unset:
        return SwapType.TEST
    if secondary.magic_good and secondary.image_ok:
        return SwapType.PERM
    if primary.magic_good and primary.image_ok_unset and primary.copy_done:
        return SwapType.REVERT
    return SwapType.NONE


def request_upgrade(secondary: Slot, permanent: bool) -> None:
    """`boot_request_upgrade`: magic (+ image_ok) + swap info in the secondary's trailer.

    A trailer whose magic is already good means a swap is already scheduled: nothing changes.
    Only the trailer bytes are written (no erase), as MCUboot does.
    """
    if secondary.magic_good:
        return
    secondary.write_magic()
    if permanent:
        secondary.write_flag("image_ok")
    secondary.write_swap_info(SwapType.PERM if permanent else SwapType.TEST)


def boot_swap(primary: Slot, secondary: Slot) -> str:
    """What MCUboot in a swap mode does for one image at reset; returns a log word."""
    kind = swap_type(primary, secondary)
    if kind in (SwapType.TEST, SwapType.PERM) and not secondary.valid():
        log.info("sim mcuboot: image %d secondary invalid, erased", primary.image)
        secondary.erase()
        return "rejected"
    if kind is SwapType.NONE:
        return "none"
    _exchange(primary, secondary)
    primary.write_magic()
    primary.write_flag("copy_done")
    if kind in (SwapType.PERM, SwapType.REVERT):
        # boot_finalize_revert_swap / permanent swap: the primary is confirmed.
        primary.write_flag("image_ok")
    return kind.name.lower()


def boot_overwrite(primary: Slot, secondary: Slot, no_downgrade: bool) -> str:
    """Overwrite-only: copy a valid requested secondary over the primary, erase the secondary."""
    kind = swap_type(primary, secondary)
    if kind not in (SwapType.TEST, SwapType.PERM):
        return "none"
    new, old = secondary.info, primary.info
    if not secondary.valid() or (
        no_downgrade and new and old and new.version.key() < old.version.key()
    ):
        secondary.erase()
        return "rejected"
    primary.erase()
    primary.write(0, bytes(secondary.flash[: secondary.size - ERASE_PAGE]))
    secondary.erase()
    return "overwrite"


def boot_direct_xip(slots: tuple[Slot, Slot]) -> int:
    """Direct-XIP: erase invalid images, run the highest version (the primary on a tie)."""
    for slot in slots:
        if slot.info is not None and not slot.valid():
            slot.erase()
    candidates = [s for s in slots if s.info is not None]
    if not candidates:
        return 0
    best = max(candidates, key=lambda s: (s.read().version.key(), -s.slot))
    return best.slot


def _exchange(primary: Slot, secondary: Slot) -> None:
    """Swap the image areas; after a swap the secondary's trailer is erased (§8.5)."""
    a, b = bytes(primary.flash), bytes(secondary.flash)
    primary.load(b)
    secondary.load(a)
    primary.erase_trailer()
    secondary.erase_trailer()
