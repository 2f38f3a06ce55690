"""Parsing pins every header field, TLV and trailer to what imgtool wrote (dumpinfo as golden)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from image_helpers import SIGNED_CASES, VERSION, Case, imgtool_batch

from app.image import (
    ImageInvalid,
    ImageVersion,
    TlvType,
    parse_bytes,
    parse_image,
    verify_bytes,
)
from app.image.model import flag_names, tlv_name
from app.image.package import _read_hex
from app.image.source import FileSource

DUMPED = [n for n, (_k, _e, suffix) in SIGNED_CASES.items() if suffix == ".bin"]


@pytest.fixture(scope="session")
def dumpinfo(images: dict[str, Case]) -> dict[str, dict[str, object]]:
    """`imgtool dumpinfo -f json` of every raw image."""
    results = imgtool_batch([["dumpinfo", "-f", "json", images[n].path] for n in DUMPED])
    return {n: json.loads(r["stdout"]) for n, r in zip(DUMPED, results, strict=True)}


def _parse(path: Path):  # type: ignore[no-untyped-def]
    with FileSource(path) as source:
        return parse_image(source)


@pytest.mark.parametrize("name", DUMPED)
def test_header_and_tlvs_match_imgtool_dumpinfo(
    name: str, images: dict[str, Case], dumpinfo: dict[str, dict]
) -> None:  # type: ignore[type-arg]
    """Header fields and both TLV areas (type, length, bytes, area) equal imgtool's dump."""
    image = _parse(images[name].path)
    golden = dumpinfo[name]
    h = golden["header"]
    assert (
        image.header.magic,
        image.header.load_address,
        image.header.header_size,
        image.header.protected_tlv_size,
        image.header.image_size,
        image.header.flags,
        str(image.header.version),
    ) == (
        h["magic"],
        h["load_addr"],
        h["hdr_size"],
        h["protected_tlv_size"],
        h["img_size"],
        h["flags"],
        h["version"],
    )
    area = golden["tlv_area"]
    expected = [(t["type"], t["len"], t["data"], True) for t in area.get("tlvs_prot", [])]
    expected += [(t["type"], t["len"], t["data"], False) for t in area["tlvs"]]
    assert [(t.type, t.length, t.value.hex(), t.protected) for t in image.tlvs] == expected
    for tlv in image.tlvs:  # every TLV gets a name; imgtool's names where it has one
        assert tlv.name and not tlv.name.startswith("UNKNOWN_")
    trailer = golden.get("trailer")
    if trailer:
        assert image.trailer is not None
        assert image.trailer.image_ok == trailer["image_ok"]
        assert image.trailer.copy_done == trailer["copy_done"]
    else:
        assert image.trailer is None


def test_protected_tlvs_are_decoded(images: dict[str, Case]) -> None:
    """Security counter, dependency, boot record (CBOR) and custom TLVs are decoded or shown raw."""
    image = _parse(images["p256_protected"].path)
    assert image.security_counter == (1 << 24) | (2 << 16) | 3  # "auto" from 1.2.3
    assert [(d.image_id, str(d.min_version)) for d in image.dependencies] == [(1, "2.0.0+0")]
    assert isinstance(image.boot_record, dict)
    assert image.boot_record[1] == "app" and image.boot_record[4] == "1.2.3"
    custom = {t.type: t.value for t in image.custom_tlvs}
    assert custom == {0xA0: bytes.fromhex("deadbeef"), 0x1A5: b"hello"}
    assert tlv_name(0x1A5) == "CUSTOM_0x01A5"
    assert all(t.protected for t in image.tlvs if t.type in (0x40, 0x50, 0x60, 0xA0, 0x1A5))


def test_padded_trailers_are_found(images: dict[str, Case]) -> None:
    """--pad/--confirm/--test trailers are read at the right offsets for alignment 8 and 16."""
    padded = _parse(images["p256_padded"].path)
    assert padded.trailer is not None and padded.trailer.image_ok == 0xFF
    assert padded.file_size == 0x40000 and not padded.warnings
    confirmed = _parse(images["p256_confirmed"].path)
    assert confirmed.trailer is not None and confirmed.trailer.confirmed
    test16 = _parse(images["p384_test_align16"].path)
    assert test16.trailer is not None
    assert test16.trailer.max_align == 16 and not test16.trailer.confirmed


def test_flags_and_load_address_are_named(images: dict[str, Case]) -> None:
    """RAM_LOAD, ROM_FIXED and NON_BOOTABLE are named, with the load address."""
    ram = _parse(images["p256_ramload"].path)
    assert ram.header.flag_names == ("RAM_LOAD",) and ram.header.load_address == 0x20000000
    rom = _parse(images["p256_romfixed"].path)
    assert set(rom.header.flag_names) == {"ROM_FIXED", "NON_BOOTABLE"}
    assert rom.header.load_address == 0x10000
    assert flag_names(0x8 | 0x1000) == ("ENCRYPTED_AES256", "0x1000")


def test_hex_files_decode_to_the_same_image(images: dict[str, Case]) -> None:
    """A signed HEX decodes to an image with the header imgtool wrote."""
    image = parse_bytes(_read_hex(images["p256_hex"].path.read_bytes()))
    assert str(image.header.version) == VERSION
    assert image.find(TlvType.ECDSA_SIG)


def _header(hdr: int = 32, prot: int = 0, img: int = 0, magic: int = 0x96F3B83D) -> bytes:
    return struct.pack("<IIHHIIBBHII", magic, 0, hdr, prot, img, 0, 1, 2, 3, 4, 0)


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"", "empty"),
        (b"\x3d\xb8\xf3\x96", "too short"),
        (_header(magic=0x12345678), "magic"),
        (_header(magic=0x96F3B83C), "legacy"),
        (b"\xff" * 64, "erased"),
        (_header(hdr=16), "header size"),
        (_header(img=1000) + bytes(100), "truncated"),
        (_header() + struct.pack("<HH", 0x6907, 2), "impossible size"),
        (
            _header() + struct.pack("<HH", 0x6907, 12) + struct.pack("<HH", 0x10, 32) + bytes(4),
            "claims 32",
        ),
        (_header() + struct.pack("<HH", 0x6907, 400), "truncated"),
        (_header() + struct.pack("<HH", 0x1234, 4), "TLV info magic"),
        (_header(prot=8) + struct.pack("<HH", 0x6907, 4), "protected"),
        (
            _header() + struct.pack("<HH", 0x6908, 4) + struct.pack("<HH", 0x6907, 4),
            "does not announce",
        ),
        (
            _header(prot=8)
            + struct.pack("<HHHH", 0x6908, 12, 0x50, 0)
            + struct.pack("<HH", 0x6907, 4),
            "says it is 12",
        ),
        (_header() + struct.pack("<HH", 0x6907, 6) + b"\x10\x00", "crosses"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_headers_raise_image_invalid_with_a_sentence(data: bytes, phrase: str) -> None:
    """Each kind of malformed file raises ImageInvalid whose message names the fault."""
    with pytest.raises(ImageInvalid, match=phrase):
        parse_bytes(data)


def test_oversized_file_is_invalid(images: dict[str, Case]) -> None:
    """Bytes appended after the TLV area that are not padding or a trailer make it invalid."""
    image = parse_bytes(images["p256"].path.read_bytes() + b"junk" * 10)
    assert image.trailer is None and image.unknown_tail_bytes == 40
    verdict = verify_bytes(images["p256"].path.read_bytes() + b"junk" * 10)
    assert not verdict.valid and verdict.hash is not None and verdict.hash.ok is True
    assert verdict.problems == (
        "The file is 40 bytes longer than the image it holds, and the extra bytes are neither "
        "erased padding nor an image trailer.",
    )
    padded = images["p256_padded"].path.read_bytes()
    assert parse_bytes(padded).unknown_tail_bytes == 0
    # Padding whose trailer was cut off is erased flash, not junk: a note, still valid.
    cut = verify_bytes(padded[: len(padded) // 2])
    assert cut.valid and cut.image is not None and cut.image.erased_tail
    assert any("erased padding" in w for w in cut.warnings)
    mixed = padded[: len(padded) // 2] + b"\x00"
    assert not verify_bytes(mixed).valid


def test_versions_parse_and_compare() -> None:
    """Versions read imgtool and SMP spellings; out-of-range parts and junk are refused."""
    assert ImageVersion.parse("1.2.3+4") == ImageVersion(1, 2, 3, 4)
    assert ImageVersion.parse("1.2.3.4") == ImageVersion(1, 2, 3, 4)
    assert ImageVersion.parse("2") == ImageVersion(2, 0, 0, 0)
    assert ImageVersion(1, 2, 3, 4).smp_text == "1.2.3.4"
    assert ImageVersion(1, 2, 3, 0).smp_text == "1.2.3"
    assert ImageVersion(1, 10, 0) > ImageVersion(1, 9, 65535)
    for bad in ("", "1.2.3-rc1", "256.0.0", "1.2.65536", "a.b"):
        with pytest.raises(ValueError):
            ImageVersion.parse(bad)
