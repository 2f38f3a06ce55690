"""Values describing a parsed MCUboot image (spec mcuboot-image.md §1-3, §8).

Pure: no I/O. `parse.py` builds these from bytes; `verify.py` judges them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from functools import total_ordering

IMAGE_MAGIC = 0x96F3B83D
"""`ih_magic` of a current image (§2)."""
IMAGE_MAGIC_V1 = 0x96F3B83C
"""Legacy v1 magic: recognised only to give a precise sentence."""
HEADER_STRUCT_BYTES = 32
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_INFO_BYTES = 4
TLV_ENTRY_BYTES = 4

TRAILER_MAGIC_ALIGN8 = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")
"""Trailer magic when BOOT_MAX_ALIGN is 8 (§8.2)."""
TRAILER_MAGIC_TAIL = bytes.fromhex("2de15d29410b8d77679c110f1f8a")
"""Last 14 bytes of the trailer magic for other alignments; the first two are the alignment."""


class TlvType(IntEnum):
    """TLV type numbers, MCUboot `image.h` (§3.2)."""

    KEYHASH = 0x01
    PUBKEY = 0x02
    SHA256 = 0x10
    SHA384 = 0x11
    SHA512 = 0x12
    RSA2048_PSS = 0x20
    ECDSA224 = 0x21
    ECDSA_SIG = 0x22
    RSA3072_PSS = 0x23
    ED25519 = 0x24
    SIG_PURE = 0x25
    ENC_RSA2048 = 0x30
    ENC_KW = 0x31
    ENC_EC256 = 0x32
    ENC_X25519 = 0x33
    ENC_X25519_SHA512 = 0x34
    DEPENDENCY = 0x40
    SEC_CNT = 0x50
    BOOT_RECORD = 0x60
    DECOMP_SIZE = 0x70
    DECOMP_SHA = 0x71
    DECOMP_SIGNATURE = 0x72
    COMP_DEC_SIZE = 0x73
    UUID_VID = 0x74
    UUID_CID = 0x75


HASH_TLVS = {TlvType.SHA256: "sha256", TlvType.SHA384: "sha384", TlvType.SHA512: "sha512"}
SIGNATURE_TLVS = frozenset(
    {TlvType.RSA2048_PSS, TlvType.ECDSA224, TlvType.ECDSA_SIG, TlvType.RSA3072_PSS, TlvType.ED25519}
)
ENCRYPTION_TLVS = frozenset(
    {
        TlvType.ENC_RSA2048,
        TlvType.ENC_KW,
        TlvType.ENC_EC256,
        TlvType.ENC_X25519,
        TlvType.ENC_X25519_SHA512,
    }
)
"""The AES key wrapped for the device: unprotected, so they prove nothing about the image."""
UNPROTECTED_TLVS = frozenset(
    {
        TlvType.KEYHASH,
        TlvType.PUBKEY,
        *HASH_TLVS,
        *SIGNATURE_TLVS,
        TlvType.SIG_PURE,
        *ENCRYPTION_TLVS,
    }
)
"""The only TLVs MCUboot allows outside the signed region (`allowed_unprot_tlvs` in
bootutil's image_validate.c, on by default in Zephyr); anything else there was added later."""


def tlv_name(tlv_type: int) -> str:
    """The MCUboot name of a TLV type; vendor ranges and unknown numbers get a descriptive name."""
    try:
        return TlvType(tlv_type).name
    except ValueError:
        pass
    # Low byte >= 0xA0 is vendor-reserved in every upper-byte page (§3.2).
    if (tlv_type & 0xFF) >= 0xA0 and tlv_type != 0xFFFF:
        return f"CUSTOM_0x{tlv_type:04X}"
    return f"UNKNOWN_0x{tlv_type:04X}"


class ImageFlag(IntFlag):
    """`ih_flags` bits (§2.1)."""

    PIC = 0x01
    ENCRYPTED_AES128 = 0x04
    ENCRYPTED_AES256 = 0x08
    NON_BOOTABLE = 0x10
    RAM_LOAD = 0x20
    ROM_FIXED = 0x100
    COMPRESSED_LZMA1 = 0x200
    COMPRESSED_LZMA2 = 0x400
    COMPRESSED_ARM_THUMB_FLT = 0x800


ENCRYPTION_FLAGS = ImageFlag.ENCRYPTED_AES128 | ImageFlag.ENCRYPTED_AES256
"""MCUboot's `IS_ENCRYPTED()`: either AES flag means the payload is stored encrypted."""


def flag_names(flags: int) -> tuple[str, ...]:
    """Names of the set bits; unknown bits are named by value so nothing is hidden."""
    names = [f.name for f in ImageFlag if f.name and flags & f.value]
    unknown = flags & ~sum(f.value for f in ImageFlag)
    names.extend(f"0x{1 << bit:X}" for bit in range(32) if unknown & (1 << bit))
    return tuple(names)


_VERSION_RE = re.compile(r"^(\d+)(?:\.(\d+)(?:\.(\d+)(?:[.+](\d+))?)?)?$")


@total_ordering
@dataclass(frozen=True, slots=True)
class ImageVersion:
    """major.minor.revision+build, as in the header (§2.2)."""

    major: int
    minor: int = 0
    revision: int = 0
    build: int = 0

    @classmethod
    def parse(cls, text: str) -> ImageVersion:
        """Read "1.2.3+4" (imgtool) or "1.2.3.4" (SMP image list); missing parts are 0.

        Raises:
            ValueError: the text is not such a version or a part is out of range.
        """
        match = _VERSION_RE.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a version like 1.2.3 or 1.2.3+4")
        major, minor, revision, build = (int(g) if g else 0 for g in match.groups())
        if major > 0xFF or minor > 0xFF or revision > 0xFFFF or build > 0xFFFFFFFF:
            raise ValueError(f"{text!r} has a part larger than MCUboot can store")
        return cls(major, minor, revision, build)

    def key(self, use_build: bool = False) -> tuple[int, ...]:
        """The comparison key MCUboot uses; build only when configured to (§2.2)."""
        base = (self.major, self.minor, self.revision)
        return (*base, self.build) if use_build else base

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ImageVersion):
            return NotImplemented
        return self.key(True) < other.key(True)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.revision}+{self.build}"

    @property
    def smp_text(self) -> str:
        """How Zephyr's SMP image list shows it: ".build" only when non-zero."""
        base = f"{self.major}.{self.minor}.{self.revision}"
        return f"{base}.{self.build}" if self.build else base


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """`struct image_header` (§2)."""

    magic: int
    load_address: int
    header_size: int
    protected_tlv_size: int
    image_size: int
    flags: int
    version: ImageVersion

    @property
    def flag_names(self) -> tuple[str, ...]:
        return flag_names(self.flags)

    @property
    def hashed_size(self) -> int:
        """Bytes covered by hash and signature: header area, payload, protected TLVs (§4)."""
        return self.header_size + self.image_size + self.protected_tlv_size


@dataclass(frozen=True, slots=True)
class Tlv:
    """One TLV entry; `offset` is where its value starts in the file."""

    type: int
    value: bytes
    protected: bool
    offset: int

    @property
    def name(self) -> str:
        return tlv_name(self.type)

    @property
    def length(self) -> int:
        return len(self.value)


@dataclass(frozen=True, slots=True)
class Dependency:
    """DEPENDENCY TLV: image `image_id` needs at least `min_version` (§3.2)."""

    image_id: int
    min_version: ImageVersion


@dataclass(frozen=True, slots=True)
class Trailer:
    """The image trailer found at the end of a padded file (§8)."""

    max_align: int
    image_ok: int
    copy_done: int
    swap_info: int

    @property
    def confirmed(self) -> bool:
        return self.image_ok == 0x01


@dataclass(frozen=True, slots=True)
class McubootImage:
    """Everything `parse_image` learned from the file, without judging hash or signature."""

    header: ImageHeader
    tlvs: tuple[Tlv, ...]
    file_size: int
    tlv_end: int
    """Offset just past the unprotected TLV area; bytes after it are padding/trailer or junk."""
    trailer: Trailer | None = None
    erased_tail: bool = False
    """No trailer, but everything after the TLV area is erased padding (0xFF or 0x00)."""
    warnings: tuple[str, ...] = field(default=())
    boot_record: object = field(default=None, hash=False, compare=False)
    """BOOT_RECORD decoded from CBOR (measured-boot claims), or None."""

    @property
    def unknown_tail_bytes(self) -> int:
        """Bytes after the TLV area that are neither a trailer region nor erased padding."""
        if self.trailer is not None or self.erased_tail:
            return 0
        return self.file_size - self.tlv_end

    def find(self, tlv_type: int) -> list[Tlv]:
        return [t for t in self.tlvs if t.type == tlv_type]

    @property
    def encrypted(self) -> bool:
        """What the header flags say, as MCUboot's `IS_ENCRYPTED()` (image.h).

        The flags are hashed and signed; an ENC_* TLV alone is not: the unprotected TLV area
        lies outside the signature, so anyone can append one to any image (issue #12).
        """
        return bool(self.header.flags & ENCRYPTION_FLAGS)

    @property
    def pure(self) -> bool:
        return any(t.type == TlvType.SIG_PURE for t in self.tlvs)

    @property
    def security_counter(self) -> int | None:
        found = [t for t in self.tlvs if t.type == TlvType.SEC_CNT and len(t.value) == 4]
        return int.from_bytes(found[0].value, "little") if found else None

    @property
    def dependencies(self) -> tuple[Dependency, ...]:
        deps = []
        for tlv in self.find(TlvType.DEPENDENCY):
            if len(tlv.value) == 12:
                v = tlv.value
                version = ImageVersion(
                    v[4], v[5], int.from_bytes(v[6:8], "little"), int.from_bytes(v[8:12], "little")
                )
                deps.append(Dependency(v[0], version))
        return tuple(deps)

    @property
    def custom_tlvs(self) -> tuple[Tlv, ...]:
        return tuple(t for t in self.tlvs if t.name.startswith(("CUSTOM_", "UNKNOWN_")))
