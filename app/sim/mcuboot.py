"""The few MCUboot image facts the simulated board needs: read a header and its hash TLV the way
Zephyr's `img_mgmt_read_info` does, check an image's hash the way MCUboot does at boot, and build
a small valid image in code (the factory image).

Pure: no I/O. Deliberately independent of app/image (the full verifier): the simulator must not
agree with the client's parser by accident. Layout: mcuboot-image.md §2-4.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

IMAGE_MAGIC = 0x96F3B83D
ERASED_MAGIC = 0xFFFFFFFF
HEADER_SIZE = 32
_HEADER = struct.Struct("<IIHHIIBBHII")
_TLV_INFO = struct.Struct("<HH")
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_SHA256 = 0x10
IMAGE_F_NON_BOOTABLE = 0x10
IMAGE_F_ROM_FIXED = 0x100


class ImageReadError(Exception):
    """Why a slot holds no listable image; `img_err` is the IMG group code Zephyr would use."""

    def __init__(self, img_err: int, text: str) -> None:
        super().__init__(text)
        self.img_err = img_err


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    revision: int
    build: int = 0

    def __str__(self) -> str:
        """As Zephyr prints it: `1.2.3`, or `1.2.3.4` when the build number is not 0."""
        text = f"{self.major}.{self.minor}.{self.revision}"
        return f"{text}.{self.build}" if self.build else text

    def key(self, with_build: bool = False) -> tuple[int, ...]:
        """Comparison key; the build number only counts when configured (§2.2)."""
        base = (self.major, self.minor, self.revision)
        return (*base, self.build) if with_build else base

    @classmethod
    def parse(cls, text: str) -> Version:
        """`1.2.3`, `1.2.3+4` or `1.2.3.4`; missing parts are 0."""
        main, _, build = text.partition("+")
        parts = [int(p) for p in main.split(".")]
        if len(parts) == 4 and not build:
            build = str(parts.pop())
        parts += [0] * (3 - len(parts))
        return cls(parts[0], parts[1], parts[2], int(build or 0))


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What Zephyr reads out of a slot to list it."""

    version: Version
    flags: int
    hdr_size: int
    img_size: int
    protect_tlv_size: int
    load_addr: int
    hash: bytes
    """Value of the SHA-256 TLV (not computed)."""
    end: int
    """Offset just past the unprotected TLV area: the image's length without padding."""

    @property
    def bootable(self) -> bool:
        return not self.flags & IMAGE_F_NON_BOOTABLE

    @property
    def hashed_size(self) -> int:
        return self.hdr_size + self.img_size + self.protect_tlv_size


def read_info(flash: bytes | bytearray | memoryview) -> ImageInfo:
    """Parse the image at the start of `flash` (a slot); raises ImageReadError like Zephyr.

    Mirrors `img_mgmt_read_info`: erased header → NO_IMAGE (3), other magic → 23, no TLV info →
    NO_TLVS (4), erased TLV → INVALID_TLV (5), TLV past the area → TLV_INVALID_SIZE (7), two
    SHA-256 TLVs → 6, none → HASH_NOT_FOUND (8). Every read is bounds-checked.
    """
    if len(flash) < HEADER_SIZE:
        raise ImageReadError(3, "slot smaller than an image header")
    (
        magic,
        load_addr,
        hdr_size,
        prot_size,
        img_size,
        flags,
        major,
        minor,
        revision,
        build,
        _pad,
    ) = _HEADER.unpack_from(flash, 0)
    if magic == ERASED_MAGIC:
        raise ImageReadError(3, "slot is empty")
    if magic != IMAGE_MAGIC:
        raise ImageReadError(23, f"bad image magic 0x{magic:08x}")
    offset = hdr_size + img_size
    if prot_size:
        offset = _skip_area(flash, offset, TLV_PROT_INFO_MAGIC, prot_size)
    area_end = _area_end(flash, offset, TLV_INFO_MAGIC)
    found: bytes | None = None
    pos = offset + _TLV_INFO.size
    while pos < area_end:
        if pos + _TLV_INFO.size > area_end:
            raise ImageReadError(7, "TLV header runs past the TLV area")
        tlv_type, tlv_len = _TLV_INFO.unpack_from(flash, pos)
        if tlv_type == 0xFFFF and tlv_len == 0xFFFF:
            raise ImageReadError(5, "erased TLV inside the TLV area")
        value_at = pos + _TLV_INFO.size
        if value_at + tlv_len > area_end:
            raise ImageReadError(7, "TLV value runs past the TLV area")
        if tlv_type == TLV_SHA256 and tlv_len == 32:
            if found is not None:
                raise ImageReadError(6, "more than one SHA-256 TLV")
            found = bytes(flash[value_at : value_at + 32])
        pos = value_at + tlv_len
    if found is None:
        raise ImageReadError(8, "no SHA-256 TLV")
    return ImageInfo(
        version=Version(major, minor, revision, build),
        flags=flags,
        hdr_size=hdr_size,
        img_size=img_size,
        protect_tlv_size=prot_size,
        load_addr=load_addr,
        hash=found,
        end=area_end,
    )


def _area_end(flash: bytes | bytearray | memoryview, offset: int, magic: int) -> int:
    if offset < HEADER_SIZE or offset + _TLV_INFO.size > len(flash):
        raise ImageReadError(4, "TLV area outside the slot")
    found_magic, total = _TLV_INFO.unpack_from(flash, offset)
    if found_magic != magic:
        raise ImageReadError(4, f"no TLV info (0x{found_magic:04x})")
    if total < _TLV_INFO.size or offset + total > len(flash):
        raise ImageReadError(7, "TLV area size invalid")
    return offset + total


def _skip_area(
    flash: bytes | bytearray | memoryview, offset: int, magic: int, declared: int
) -> int:
    end = _area_end(flash, offset, magic)
    if end - offset != declared:
        raise ImageReadError(7, "protected TLV size differs from the header")
    return end


def hash_is_valid(flash: bytes | bytearray | memoryview, info: ImageInfo) -> bool:
    """MCUboot's boot-time check: SHA-256 over header, payload and protected TLVs."""
    if info.hashed_size > len(flash):
        return False
    return hashlib.sha256(bytes(flash[: info.hashed_size])).digest() == info.hash


def build_image(
    version: str | Version = "1.0.0",
    payload: bytes | None = None,
    *,
    hdr_size: int = 0x200,
    flags: int = 0,
) -> bytes:
    """A valid unsigned MCUboot image: header, payload, TLV area with a SHA-256 TLV.

    No signature: the simulated MCUboot only checks the hash (as with an unsigned build).
    """
    ver = version if isinstance(version, Version) else Version.parse(version)
    if payload is None:
        payload = _factory_payload(ver)
    header = _HEADER.pack(
        IMAGE_MAGIC,
        0,
        hdr_size,
        0,
        len(payload),
        flags,
        ver.major,
        ver.minor,
        ver.revision,
        ver.build,
        0,
    )
    body = header + bytes(hdr_size - HEADER_SIZE) + payload
    digest = hashlib.sha256(body).digest()
    tlv = _TLV_INFO.pack(TLV_SHA256, 32) + digest
    return body + _TLV_INFO.pack(TLV_INFO_MAGIC, _TLV_INFO.size + len(tlv)) + tlv


def _factory_payload(ver: Version) -> bytes:
    """Deterministic filler, different per version so each factory image has its own hash."""
    seed = f"slotwise factory firmware {ver}".encode()
    blocks = [hashlib.sha256(seed + i.to_bytes(4, "little")).digest() for i in range(128)]
    return b"".join(blocks)
