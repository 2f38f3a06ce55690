"""Device checks for the upload flow: slot fit with the trailer, and version relation."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import Case, Keys, imgtool_batch

from app.image import VersionRelation, check_slot_fit, compare_version, parse_bytes, trailer_size
from app.image.model import ImageVersion


def test_trailer_size_follows_the_spec_example() -> None:
    """128 sectors, write alignment 4, BOOT_MAX_ALIGN 8 make a 1584-byte trailer (spec §8.4)."""
    assert trailer_size(write_align=4) == 1584
    assert trailer_size(overwrite_only=True) == 32
    assert trailer_size(write_align=1, encrypted=True) == 128 * 3 + 32 + 32 + 16


def test_slot_fit_agrees_with_imgtool_size_check(
    payload_file: Path, keys: Keys, tmp_path: Path
) -> None:
    """The smallest slot our check accepts is the smallest imgtool signs for (--align 1)."""
    probe = tmp_path / "probe.bin"
    # Ed25519 signatures have a fixed size (ECDSA DER varies by a byte or two between runs).
    base = ["-k", keys.priv("ed25519"), "-H", "0x200", "--pad-header", "-v", "1.0.0"]
    imgtool_batch([["sign", *base, "-S", "0x40000", payload_file, probe]])
    image = parse_bytes(probe.read_bytes())
    smallest = image.tlv_end + trailer_size(write_align=1)
    assert check_slot_fit(image, smallest, write_align=1).fits
    tight = check_slot_fit(image, smallest - 1, write_align=1)
    assert not tight.fits and tight.problem is not None
    assert tight.problem.startswith("image too large for slot 1")
    results = imgtool_batch(
        [
            ["sign", *base, "-S", str(smallest), payload_file, tmp_path / "ok.bin"],
            ["sign", *base, "-S", str(smallest - 1), payload_file, tmp_path / "no.bin"],
        ]
    )
    assert [r["rc"] == 0 for r in results] == [True, False], results


def test_padded_image_fits_exactly_its_slot(images: dict[str, Case]) -> None:
    """A padded file carries its trailer: it fits a slot of its own size and no smaller."""
    image = parse_bytes(images["p256_padded"].path.read_bytes())
    assert check_slot_fit(image, 0x40000).fits
    miss = check_slot_fit(image, 0x3F000, slot=3)
    assert not miss.fits and miss.problem is not None
    assert "slot 3 (256 KiB > 252 KiB" in miss.problem


@pytest.mark.parametrize(
    ("device", "relation"),
    [
        ("1.2.3", VersionRelation.SAME),
        ("1.2.3.9", VersionRelation.SAME),
        ("1.2.2", VersionRelation.UPGRADE),
        ("0.9.65535", VersionRelation.UPGRADE),
        ("1.2.4", VersionRelation.DOWNGRADE),
        ("2.0.0", VersionRelation.DOWNGRADE),
    ],
)
def test_version_relation_ignores_build_by_default(device: str, relation: VersionRelation) -> None:
    """Like MCUboot, major.minor.revision decide; the build number is ignored by default."""
    assert compare_version(ImageVersion(1, 2, 3, 45), device) is relation


def test_version_relation_with_build_numbers() -> None:
    """With use_build the build number breaks ties."""
    image = ImageVersion(1, 2, 3, 45)
    assert compare_version(image, "1.2.3.44", use_build=True) is VersionRelation.UPGRADE
    assert compare_version(image, "1.2.3.45", use_build=True) is VersionRelation.SAME
    assert compare_version(image, "1.2.3.46", use_build=True) is VersionRelation.DOWNGRADE
    assert compare_version(image, "banana") is VersionRelation.UNKNOWN
