"""Encrypted images: the signature is checked over the stored digest; with the key, the hash too."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import CLEAR_CASES, ENCRYPTED_CASES, Case, Keys, flipped

from app.image import DecryptionFailed, KeyFileInvalid, KeyStore, load_decryption_key, verify_path
from app.image.decrypt import unwrap_aes_key
from app.image.verify import Verdict, VerdictKind


def _one(path: Path, store: KeyStore | None, decrypt: Path | None = None) -> Verdict:
    key = load_decryption_key(decrypt) if decrypt else None
    (verdict,) = verify_path(path, store, key)
    return verdict


def _store(keys: Keys, key_type: str) -> KeyStore:
    store = KeyStore()
    store.add("signer", keys.pub(key_type))
    return store


@pytest.mark.parametrize("name", list(ENCRYPTED_CASES))
def test_decryption_round_trip_checks_the_hash(
    name: str, images: dict[str, Case], keys: Keys
) -> None:
    """With the decryption key the plaintext hash is recomputed and matches imgtool's digest."""
    signer, enc_type, _extra = ENCRYPTED_CASES[name]
    verdict = _one(images[name].path, _store(keys, signer), keys.priv(enc_type))
    assert verdict.valid, verdict.problems
    assert verdict.encrypted
    assert verdict.hash is not None and verdict.hash.ok is True
    assert verdict.signature.ok is True and verdict.signature.key == "signer"
    assert verdict.decrypted is (name not in CLEAR_CASES)


def test_clear_payload_of_an_encrypted_image_is_hashed_as_is(
    images: dict[str, Case], keys: Keys
) -> None:
    """An image signed with --clear (ENC flag, plaintext payload) has its hash checked as stored,
    and is reported as meant for the primary slot."""
    verdict = _one(images["enc_p256_clear"].path, None)
    assert verdict.kind is VerdictKind.UNSIGNED_CHECK
    assert verdict.valid and verdict.encrypted and not verdict.decrypted
    assert verdict.clear_payload
    assert verdict.hash is not None and verdict.hash.ok is True
    assert any("stored in clear" in w and "primary slot" in w for w in verdict.warnings)
    verdict = _one(images["enc_p256_clear"].path, _store(keys, "ecdsa-p256"))
    assert verdict.kind is VerdictKind.VALID and verdict.clear_payload


# A pure signature covers the plaintext, so it needs the decryption key: tested on its own.
SECRET = [n for n in ENCRYPTED_CASES if n not in CLEAR_CASES and not n.endswith("_pure")]


@pytest.mark.parametrize("name", SECRET)
def test_without_decryption_key_the_contents_stay_unproven(
    name: str, images: dict[str, Case], keys: Keys
) -> None:
    """Without the decryption key the hash is unchecked (None): the signature verifies, but the
    verdict is encrypted-unproven and never valid."""
    signer = ENCRYPTED_CASES[name][0]
    verdict = _one(images[name].path, _store(keys, signer))
    assert verdict.kind is VerdictKind.ENCRYPTED_UNPROVEN
    assert not verdict.valid and verdict.encrypted and not verdict.decrypted
    assert verdict.hash is not None and verdict.hash.ok is None
    assert verdict.signature.ok is True and not verdict.problems


def test_pure_signature_of_an_encrypted_image_needs_the_decryption_key(
    images: dict[str, Case], keys: Keys
) -> None:
    """A pure Ed25519 signature over the plaintext is checked only once the image is decrypted."""
    path = images["enc_x25519_pure"].path
    verdict = _one(path, _store(keys, "ed25519"))
    assert not verdict.valid and verdict.signature.ok is False
    assert "cannot be checked without the decryption key" in verdict.problems[0]
    verdict = _one(path, _store(keys, "ed25519"), keys.priv("x25519"))
    assert verdict.valid and verdict.decrypted and verdict.signature.algorithm == "ed25519-pure"


def test_encrypted_image_without_any_key_is_not_valid(images: dict[str, Case]) -> None:
    """With neither key nothing can be verified, so the verdict is invalid and says why."""
    verdict = _one(images["enc_p256"].path, None)
    assert not verdict.valid and "Nothing could be verified" in verdict.problems[0]


def test_aes_key_length_follows_the_image(images: dict[str, Case], keys: Keys) -> None:
    """AES-128 and AES-256 images yield keys of 16 and 32 bytes, flagged in the header."""
    for name, size, flag in (
        ("enc_x25519", 16, "ENCRYPTED_AES128"),
        ("enc_rsa2048_aes256", 32, "ENCRYPTED_AES256"),
    ):
        (verdict,) = verify_path(images[name].path)
        assert verdict.image is not None and flag in verdict.image.header.flag_names
        enc = ENCRYPTED_CASES[name][1]
        assert len(unwrap_aes_key(verdict.image, load_decryption_key(keys.priv(enc)))) == size


def test_tampered_ciphertext_fails_the_hash_after_decryption(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A flipped ciphertext bit decrypts to a different plaintext, so the hash fails."""
    bad = flipped(images["enc_p256_aes256"].path, tmp_path / "bad.bin", 0x200 + 1000)
    verdict = _one(bad, _store(keys, "ecdsa-p256"), keys.priv("ecdsa-p256"))
    assert not verdict.valid and verdict.hash is not None and verdict.hash.ok is False
    assert "decrypted image hash does not match" in verdict.problems[0]


def test_wrong_decryption_key_is_a_problem(images: dict[str, Case], keys: Keys) -> None:
    """A decryption key of the right type but not the image's fails the HMAC, invalid verdict."""
    verdict = _one(images["enc_p256"].path, _store(keys, "ecdsa-p256"), keys.other("ecdsa-p256"))
    assert not verdict.valid and not verdict.decrypted
    assert "wrong key" in verdict.problems[0]
    verdict = _one(images["enc_rsa2048"].path, _store(keys, "rsa-2048"), keys.other("rsa-2048"))
    assert not verdict.valid and "wrong key" in verdict.problems[0]
    verdict = _one(images["enc_x25519"].path, _store(keys, "ed25519"), keys.priv("rsa-2048"))
    assert not verdict.valid and "does not fit" in verdict.problems[0]
    assert verdict.image is not None
    with pytest.raises(DecryptionFailed):
        unwrap_aes_key(verdict.image, load_decryption_key(keys.priv("rsa-2048")))


def test_decryption_key_files_are_checked(keys: Keys, tmp_path: Path) -> None:
    """Public keys, P-384 keys and junk are refused as decryption keys with a sentence."""
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    for path in (keys.pub("ecdsa-p256"), keys.priv("ecdsa-p384"), junk, tmp_path / "none.pem"):
        with pytest.raises(KeyFileInvalid):
            load_decryption_key(path)
