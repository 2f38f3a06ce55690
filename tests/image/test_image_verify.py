"""The verdict contract: hash, key and signature checks for every key type and image variant."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import SIGNED_CASES, Case, Keys, flipped

from app.image import (
    ImageInvalid,
    KeyStore,
    SignatureInvalid,
    UntrustedKey,
    require_valid,
    verify_path,
)
from app.image.verify import Verdict

SIGNED = [n for n, (k, _e, _s) in SIGNED_CASES.items() if k is not None]
ALGORITHM = {
    "rsa-2048": "rsa-2048-pss",
    "rsa-3072": "rsa-3072-pss",
    "ecdsa-p256": "ecdsa-p256",
    "ecdsa-p384": "ecdsa-p384",
    "ed25519": "ed25519",
}


def _store(keys: Keys, *types: str, other: bool = False) -> KeyStore:
    store = KeyStore()
    for t in types:
        store.add(t.replace("-", ""), keys.other(t) if other else keys.pub(t))
    return store


def _one(path: Path, store: KeyStore | None = None) -> Verdict:
    verdicts = verify_path(path, store)
    assert len(verdicts) == 1
    return verdicts[0]


@pytest.mark.parametrize("name", SIGNED)
def test_signature_verifies_with_the_signing_key(
    name: str, images: dict[str, Case], keys: Keys
) -> None:
    """Every signed variant is valid with its key, names the key and the algorithm."""
    case = images[name]
    assert case.key_type is not None
    verdict = _one(case.path, _store(keys, case.key_type))
    assert verdict.valid, verdict.problems
    assert verdict.hash is not None and verdict.hash.ok is True
    assert verdict.signature.ok is True
    assert verdict.signature.key == case.key_type.replace("-", "")
    expected = ALGORITHM[case.key_type] + ("-pure" if "pure" in name else "")
    assert verdict.signature.algorithm == expected
    assert verdict.problems == ()


@pytest.mark.parametrize("name", SIGNED)
def test_signature_is_not_checked_without_a_key(name: str, images: dict[str, Case]) -> None:
    """Without keys a matching hash is valid and the signature is reported as not checked."""
    verdict = _one(images[name].path)
    assert verdict.valid
    assert verdict.signature.ok is None and verdict.signature.algorithm is not None
    assert verdict.signature.key is not None and len(verdict.signature.key) in (64, 96, 128)


def test_key_among_several_trusted_keys_is_found(images: dict[str, Case], keys: Keys) -> None:
    """With many trusted keys the one whose key hash the image names is used."""
    store = _store(keys, "rsa-2048", "rsa-3072", "ecdsa-p256", "ecdsa-p384", "ed25519")
    for name in ("p384", "rsa3072", "ed25519_sha512", "p256_full", "ed25519_pure"):
        verdict = _one(images[name].path, store)
        assert verdict.valid, (name, verdict.problems)


def test_wrong_key_is_untrusted(images: dict[str, Case], keys: Keys) -> None:
    """A key of the same type that did not sign the image makes the verdict invalid."""
    verdict = _one(images["p256"].path, _store(keys, "ecdsa-p256", other=True))
    assert not verdict.valid and verdict.signature.ok is False
    assert verdict.signature.trusted is False
    assert "not among the trusted keys" in verdict.problems[0]
    with pytest.raises(UntrustedKey):
        require_valid(verdict)


def test_full_public_key_images_match_by_key_bytes(images: dict[str, Case], keys: Keys) -> None:
    """A PUBKEY TLV image is trusted only when its embedded key is a trusted key."""
    assert _one(images["rsa2048_full"].path, _store(keys, "rsa-2048")).valid
    verdict = _one(images["rsa2048_full"].path, _store(keys, "rsa-2048", other=True))
    assert not verdict.valid and verdict.signature.trusted is False


def test_tampered_signature_with_trusted_key_raises_signature_invalid(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A trusted key whose signature fails is reported as a bad signature, not an unknown key."""
    case = images["ed25519"]
    verdict = _one(case.path)
    assert verdict.image is not None
    sig = verdict.image.find(0x24)[0]
    bad = flipped(case.path, tmp_path / "bad.bin", sig.offset + 5)
    verdict = _one(bad, _store(keys, "ed25519"))
    assert not verdict.valid and verdict.hash is not None and verdict.hash.ok is True
    assert verdict.signature.trusted is True and verdict.signature.ok is False
    assert "does not verify with trusted key ed25519" in verdict.problems[0]
    with pytest.raises(SignatureInvalid) as info:
        require_valid(verdict)
    assert info.value.key_id == "ed25519"


def test_hash_mismatch_is_invalid_with_or_without_keys(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A flipped payload bit fails the hash check whatever keys are given."""
    bad = flipped(images["p256"].path, tmp_path / "bad.bin", 0x200 + 10)
    for store in (None, _store(keys, "ecdsa-p256")):
        verdict = _one(bad, store)
        assert not verdict.valid and verdict.hash is not None and verdict.hash.ok is False
        assert "hash does not match" in verdict.problems[0]
        with pytest.raises(ImageInvalid):
            require_valid(verdict)


def test_unsigned_image_is_invalid_when_a_key_is_required(
    images: dict[str, Case], keys: Keys
) -> None:
    """An unsigned image passes the hash check alone but fails once a key is required."""
    assert _one(images["unsigned"].path).valid
    verdict = _one(images["unsigned"].path, _store(keys, "ecdsa-p256"))
    assert not verdict.valid and verdict.signature.algorithm is None
    assert "not signed" in verdict.problems[0]


def test_valid_verdict_passes_require_valid(images: dict[str, Case], keys: Keys) -> None:
    """require_valid hands a valid verdict back unchanged."""
    verdict = _one(images["p256"].path, _store(keys, "ecdsa-p256"))
    assert require_valid(verdict) is verdict


@pytest.mark.parametrize("content", [b"", b"\x00" * 10, bytes(range(256)) * 40])
def test_junk_files_give_a_verdict_not_an_exception(content: bytes, tmp_path: Path) -> None:
    """Empty, short and random files are invalid with a problem sentence."""
    path = tmp_path / "junk.bin"
    path.write_bytes(content)
    verdict = _one(path)
    assert not verdict.valid and verdict.image is None
    assert verdict.problems and verdict.problems[0].endswith(".")


def test_missing_file_is_a_verdict(tmp_path: Path) -> None:
    """A file that does not exist yields a verdict saying it cannot be read."""
    verdict = _one(tmp_path / "nope.bin")
    assert not verdict.valid and "Cannot read" in verdict.problems[0]


def test_padded_and_hex_images_verify(images: dict[str, Case], keys: Keys) -> None:
    """Padded (trailer) and Intel HEX images verify like raw ones."""
    store = _store(keys, "ecdsa-p256", "ed25519", "ecdsa-p384")
    for name in (
        "p256_padded",
        "p256_confirmed",
        "p384_test_align16",
        "p256_hex",
        "ed25519_padded_hex",
    ):
        verdict = _one(images[name].path, store)
        assert verdict.valid, (name, verdict.problems)
    hexed = _one(images["ed25519_padded_hex"].path, store)
    assert hexed.image is not None and hexed.image.trailer is not None
    assert hexed.image.trailer.confirmed
