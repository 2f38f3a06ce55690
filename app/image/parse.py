"""Parse an MCUboot image's header, TLV areas and trailer with every length bounds-checked.

Reads only the header, TLV areas and trailer (never the payload), so parsing a 16 MiB image
costs a few small reads. Raises `ImageInvalid` with one sentence; `verify.py` turns it into a
verdict. Spec: mcuboot-image.md §1-3, §7 steps 1-3, §8.
"""

from __future__ import annotations

import logging
import struct

import cbor2

from app.image.errors import ImageInvalid
from app.image.model import (
    HEADER_STRUCT_BYTES,
    IMAGE_MAGIC,
    IMAGE_MAGIC_V1,
    TLV_ENTRY_BYTES,
    TLV_INFO_BYTES,
    TLV_INFO_MAGIC,
    TLV_PROT_INFO_MAGIC,
    TRAILER_MAGIC_ALIGN8,
    TRAILER_MAGIC_TAIL,
    ImageHeader,
    ImageVersion,
    McubootImage,
    Tlv,
    TlvType,
    Trailer,
)
from app.image.source import BytesSource, ImageSource

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<IIHHIIBBHII")
_TLV_INFO = struct.Struct("<HH")
MAX_TRAILER_ALIGN = 32
"""Largest BOOT_MAX_ALIGN imgtool writes (`--max-align 8|16|32`)."""


def parse_bytes(data: bytes) -> McubootImage:
    """Parse an image held in memory."""
    return parse_image(BytesSource(data))


def parse_image(source: ImageSource) -> McubootImage:
    """Parse header, TLVs and trailer of `source`.

    Raises:
        ImageInvalid: the bytes are not a well-formed MCUboot image; the message says why.
    """
    header = parse_header(source)
    warnings: list[str] = []
    if header.header_size > HEADER_STRUCT_BYTES:
        fill = source.read_at(HEADER_STRUCT_BYTES, header.header_size - HEADER_STRUCT_BYTES)
        # imgtool --pad-header fills with the erased value (0xFF by default, 0 with -R 0).
        if fill.strip(b"\x00") and fill.strip(b"\xff"):
            warnings.append(
                "The bytes between the 32-byte header and the payload are not "
                "blank; is the header area overlapping code?"
            )
    payload_end = header.header_size + header.image_size
    if payload_end + TLV_INFO_BYTES > source.size:
        raise ImageInvalid(
            f"The file is truncated: the header announces {header.image_size} payload bytes "
            f"after a {header.header_size}-byte header, but the file holds only {source.size} "
            "bytes."
        )
    tlvs: list[Tlv] = []
    offset = payload_end
    magic, _total = _TLV_INFO.unpack(source.read_at(offset, TLV_INFO_BYTES))
    if header.protected_tlv_size:
        if magic != TLV_PROT_INFO_MAGIC:
            raise ImageInvalid(
                f"The header announces {header.protected_tlv_size} bytes of protected TLVs, but "
                f"no protected TLV area starts at offset {offset}."
            )
        tlvs.extend(_parse_area(source, offset, header.protected_tlv_size, protected=True))
        offset += header.protected_tlv_size
    elif magic == TLV_PROT_INFO_MAGIC:
        raise ImageInvalid(
            "The file has a protected TLV area that the header does not announce; the hash "
            "would not cover it."
        )
    if offset + TLV_INFO_BYTES > source.size:
        raise ImageInvalid("The file is truncated: it ends before the TLV area.")
    magic, total = _TLV_INFO.unpack(source.read_at(offset, TLV_INFO_BYTES))
    if magic != TLV_INFO_MAGIC:
        raise ImageInvalid(
            f"Invalid TLV info magic at offset {offset} (0x{magic:04X}, expected "
            f"0x{TLV_INFO_MAGIC:04X}); the image is damaged or not an MCUboot image."
        )
    tlvs.extend(_parse_area(source, offset, total, protected=False))
    tlv_end = offset + total
    trailer = find_trailer(source, tlv_end)
    erased_tail = trailer is None and tlv_end < source.size and _is_erased(source, tlv_end)
    if erased_tail:
        warnings.append(
            f"{source.size - tlv_end} bytes of erased padding follow the image, without a trailer."
        )
    return McubootImage(
        header=header,
        tlvs=tuple(tlvs),
        file_size=source.size,
        tlv_end=tlv_end,
        trailer=trailer,
        erased_tail=erased_tail,
        warnings=tuple(warnings),
        boot_record=_boot_record(tlvs),
    )


def _is_erased(source: ImageSource, start: int) -> bool:
    """True when every byte from `start` to the end is one erased value (0xFF, or 0 for -R 0).

    Such a tail is `--pad` padding whose trailer was cut off: harmless, unlike other bytes.
    """
    erased: int | None = None
    for chunk in source.chunks(start, source.size):
        if erased is None:
            erased = chunk[0]
            if erased not in (0x00, 0xFF):
                return False
        if bytes(chunk).strip(bytes([erased])):
            return False
    return True


def parse_header(source: ImageSource) -> ImageHeader:
    """Read and sanity-check the 32-byte header (§2, §7 step 1)."""
    if source.size == 0:
        raise ImageInvalid("The file is empty.")
    if source.size < HEADER_STRUCT_BYTES:
        raise ImageInvalid(
            f"The file is {source.size} bytes, too short for an MCUboot header (32 bytes)."
        )
    (magic, load, hdr_size, prot_size, img_size, flags, major, minor, revision, build, _pad) = (
        _HEADER.unpack(source.read_at(0, _HEADER.size))
    )
    if magic != IMAGE_MAGIC:
        if magic == IMAGE_MAGIC_V1:
            raise ImageInvalid("The file has the legacy v1 image magic, which MCUboot rejects.")
        if magic == 0xFFFFFFFF:
            raise ImageInvalid("The file starts with erased flash (0xFF), not an image header.")
        raise ImageInvalid(
            f"Invalid image magic 0x{magic:08X}; this is not an MCUboot image "
            "(was it signed with imgtool?)."
        )
    if hdr_size < HEADER_STRUCT_BYTES:
        raise ImageInvalid(f"The header size field ({hdr_size}) is smaller than the header (32).")
    if prot_size and prot_size < TLV_INFO_BYTES:
        raise ImageInvalid(f"The protected TLV size field ({prot_size}) is too small to be valid.")
    return ImageHeader(
        magic=magic,
        load_address=load,
        header_size=hdr_size,
        protected_tlv_size=prot_size,
        image_size=img_size,
        flags=flags,
        version=ImageVersion(major, minor, revision, build),
    )


def _parse_area(source: ImageSource, start: int, total: int, *, protected: bool) -> list[Tlv]:
    """Walk one TLV area; every entry must lie inside it and the entries must fill it exactly."""
    kind = "protected TLV area" if protected else "TLV area"
    if total < TLV_INFO_BYTES:
        raise ImageInvalid(f"The {kind} at offset {start} declares an impossible size ({total}).")
    end = start + total
    if end > source.size:
        raise ImageInvalid(
            f"The file is truncated: the {kind} needs bytes up to offset {end}, but the file "
            f"ends at {source.size}."
        )
    if protected:
        _magic, declared = _TLV_INFO.unpack(source.read_at(start, TLV_INFO_BYTES))
        if declared != total:
            raise ImageInvalid(
                f"The protected TLV area says it is {declared} bytes, the header says {total}."
            )
    area = source.read_at(start, total)
    tlvs: list[Tlv] = []
    pos = TLV_INFO_BYTES
    while pos < total:
        if pos + TLV_ENTRY_BYTES > total:
            raise ImageInvalid(
                f"A TLV entry header at offset {start + pos} crosses the end of the {kind}."
            )
        tlv_type, length = _TLV_INFO.unpack_from(area, pos)
        value_start = pos + TLV_ENTRY_BYTES
        if value_start + length > total:
            raise ImageInvalid(
                f"The TLV 0x{tlv_type:02X} at offset {start + pos} claims {length} bytes, past "
                f"the end of the {kind}."
            )
        tlvs.append(
            Tlv(
                tlv_type,
                bytes(area[value_start : value_start + length]),
                protected,
                start + value_start,
            )
        )
        pos = value_start + length
    return tlvs


def find_trailer(source: ImageSource, tlv_end: int) -> Trailer | None:
    """The trailer of a padded image, if the file ends with trailer magic (§8.1, §8.2)."""
    if source.size - tlv_end < len(TRAILER_MAGIC_ALIGN8):
        return None
    magic = source.read_at(source.size - 16, 16)
    if magic == TRAILER_MAGIC_ALIGN8:
        align = 8
    elif magic[2:] == TRAILER_MAGIC_TAIL:
        align = int.from_bytes(magic[:2], "little")
        if align not in (8, 16, 32):
            return None
    else:
        return None
    magic_area = -(-16 // align) * align
    fields_start = source.size - magic_area - 3 * align
    if fields_start < tlv_end:
        return None
    fields = source.read_at(fields_start, 3 * align)
    # From the end: image_ok at -M-A, copy_done at -M-2A, swap_info at -M-3A (§8.1).
    return Trailer(
        max_align=align, image_ok=fields[2 * align], copy_done=fields[align], swap_info=fields[0]
    )


def _boot_record(tlvs: list[Tlv]) -> object:
    """Decoded BOOT_RECORD CBOR, or a note when it does not decode (it is shown, not judged)."""
    for tlv in tlvs:
        if tlv.type == TlvType.BOOT_RECORD:
            try:
                return cbor2.loads(tlv.value)
            except (
                cbor2.CBORDecodeError,
                ValueError,
                TypeError,
                RecursionError,
                OverflowError,
                KeyError,
            ) as exc:
                log.debug("boot record does not decode: %s", exc)
                return {"undecodable": tlv.value.hex()}
    return None
