"""The simulator's own MCUboot header/TLV reader: Zephyr's listing rules and bounds checks."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import Bench, by_slot

from app.sim.mcuboot import (
    IMAGE_F_NON_BOOTABLE,
    ImageReadError,
    Version,
    build_image,
    hash_is_valid,
    read_info,
)


def _retlv(image: bytes, tlvs: bytes) -> bytes:
    """Replace the unprotected TLV area of a built image by `tlvs`."""
    hdr_size, _, img_size = struct.unpack_from("<HHI", image, 8)
    start = hdr_size + img_size
    return image[:start] + struct.pack("<HH", 0x6907, 4 + len(tlvs)) + tlvs


def test_version_strings_as_zephyr_prints_them() -> None:
    """Versions print as 1.2.3, or 1.2.3.4 when the build number is not zero."""
    assert str(read_info(build_image("1.2.3")).version) == "1.2.3"
    assert str(read_info(build_image("1.2.3+4")).version) == "1.2.3.4"
    assert Version.parse("255.255.65535+7") == Version(255, 255, 65535, 7)


def test_built_image_hash_is_consistent() -> None:
    """The factory builder's SHA-256 TLV matches the hashed region; a flipped byte breaks it."""
    image = build_image("1.0.0", b"payload" * 10)
    info = read_info(image)
    assert hash_is_valid(image, info) and info.end == len(image)
    broken = bytearray(image)
    broken[info.hdr_size] ^= 1
    assert not hash_is_valid(broken, info)


@pytest.mark.parametrize(
    ("tlvs", "code"),
    [
        (b"", 8),  # no hash TLV
        (struct.pack("<HH", 0x11, 48) + bytes(48), 8),  # SHA-384 only
        (2 * (struct.pack("<HH", 0x10, 32) + bytes(32)), 6),  # two SHA-256
        (struct.pack("<HH", 0xFFFF, 0xFFFF), 5),  # erased TLV
        (struct.pack("<HH", 0x10, 40) + bytes(8), 7),  # value past the area
    ],
)
def test_tlv_problems_use_zephyrs_codes(tlvs: bytes, code: int) -> None:
    """TLV walks fail with the image error Zephyr's img_mgmt_read_info returns."""
    with pytest.raises(ImageReadError) as info:
        read_info(_retlv(build_image("1.0.0", b"x" * 64), tlvs))
    assert info.value.img_err == code


def test_header_problems() -> None:
    """Erased header is NO_IMAGE, other magic 23, missing TLV info NO_TLVS."""
    for data, code in (
        (b"\xff" * 64, 3),
        (b"\x00" * 64, 23),
        (build_image("1.0.0", b"x" * 64)[: 0x200 + 64], 4),
    ):
        with pytest.raises(ImageReadError) as info:
            read_info(data)
        assert info.value.img_err == code


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700), st.integers(0, 600))
def test_reader_never_crashes(noise: bytes, cut: int) -> None:
    """Arbitrary or truncated slot contents only ever raise ImageReadError."""
    base = build_image("1.0.0", b"y" * 100)
    for data in (noise, base[:cut] + noise, b"\x3d\xb8\xf3\x96" + noise):
        with contextlib.suppress(ImageReadError):
            read_info(data)


def test_non_bootable_and_unlisted_images(bench: Bench) -> None:
    """A non-bootable image lists bootable false; a SHA-384-only image is not listed."""
    bench.device.install(1, build_image("2.0.0", b"z" * 64, flags=IMAGE_F_NON_BOOTABLE))
    assert by_slot(bench.state())[1]["bootable"] is False
    sha384 = _retlv(build_image("2.0.0", b"z" * 64), struct.pack("<HH", 0x11, 48) + bytes(48))
    bench.device.install(1, sha384)
    assert [e["slot"] for e in bench.state()] == [0]
