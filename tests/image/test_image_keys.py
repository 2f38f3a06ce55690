"""Trusted keys: MCUboot's key hash, private keys reduced to public, and the on-disk store."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from image_helpers import KEY_TYPES, Keys, imgtool_batch

from app.image import ImageError, KeyFileInvalid, KeyStore, load_public_key
from app.image.keys import key_type, read_key_file

SIGNING = [t for t in KEY_TYPES if t != "x25519"]


def test_key_hash_equals_imgtool_getpubhash(keys: Keys, tmp_path: Path) -> None:
    """The SHA-256 key hash of every key type equals `imgtool getpubhash -e raw`."""
    outs = {t: tmp_path / f"{t}.hash" for t in SIGNING}
    results = imgtool_batch(
        [["getpubhash", "-k", keys.priv(t), "-e", "raw", "-o", outs[t]] for t in SIGNING]
    )
    assert all(r["rc"] == 0 for r in results)
    store = KeyStore()
    for t in SIGNING:
        trusted = store.add(t, keys.priv(t))
        assert trusted.key_hash("sha256") == outs[t].read_bytes(), t
        assert store.find_by_hash(outs[t].read_bytes()) is trusted
        assert trusted.type == t


def test_key_bytes_equal_imgtool_getpub_raw(keys: Keys, tmp_path: Path) -> None:
    """The hashed key bytes are `imgtool getpub -e raw` (PKCS#1 for RSA, SPKI otherwise)."""
    outs = {t: tmp_path / f"{t}.der" for t in SIGNING}
    imgtool_batch([["getpub", "-k", keys.priv(t), "-e", "raw", "-o", outs[t]] for t in SIGNING])
    for t in SIGNING:
        raw = outs[t].read_bytes()
        assert KeyStore().add("k", keys.pub(t)).der == raw, t
        assert key_type(load_public_key(raw)) == t  # raw DER (incl. bare PKCS#1) loads too


def test_store_persists_public_pems_only(keys: Keys, tmp_path: Path) -> None:
    """A directory store writes public PEMs only, reloads them, and forgets removed ones."""
    directory = tmp_path / "trusted"
    store = KeyStore(directory)
    store.add("root", keys.priv("ecdsa-p256"))
    store.add("legacy", keys.priv("rsa-2048"))
    text = (directory / "root.pem").read_text()
    assert "PUBLIC KEY" in text and "PRIVATE" not in text
    reloaded = KeyStore(directory)
    assert [k.name for k in reloaded.list()] == ["legacy", "root"]
    assert reloaded.get("root").der == store.get("root").der  # type: ignore[union-attr]
    reloaded.remove("legacy")
    assert not (directory / "legacy.pem").exists()
    assert [k.name for k in KeyStore(directory).list()] == ["root"]
    with pytest.raises(ImageError, match="no trusted key named"):
        reloaded.remove("legacy")


def test_store_skips_broken_files(keys: Keys, tmp_path: Path) -> None:
    """A broken PEM in the store directory is skipped with a warning, not a crash."""
    (tmp_path / "bad.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
    KeyStore(tmp_path).add("good", keys.pub("ed25519"))
    assert [k.name for k in KeyStore(tmp_path).list()] == ["good"]


@pytest.mark.parametrize("name", ["", "../evil", "a/b", "x" * 65, ".hidden"])
def test_store_refuses_unsafe_names(name: str, keys: Keys, tmp_path: Path) -> None:
    """Key names that would escape the directory or be unreadable are refused."""
    with pytest.raises(ImageError, match="Key name"):
        KeyStore(tmp_path).add(name, keys.pub("ed25519"))


def test_unusable_key_files_are_refused(keys: Keys, tmp_path: Path) -> None:
    """X25519, other curves, passphrase-protected keys and junk give KeyFileInvalid."""
    p521 = tmp_path / "p521.pem"
    p521.write_bytes(
        ec.generate_private_key(ec.SECP521R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"\x00" * 100)
    big = tmp_path / "big.pem"
    big.write_bytes(b"A" * 100_000)
    cases = {
        keys.priv("x25519"): "cannot sign",
        p521: "secp521r1",
        locked: "passphrase",
        junk: "not a PEM or DER",
        big: "too large",
        tmp_path / "missing.pem": "Cannot read",
    }
    for path, phrase in cases.items():
        with pytest.raises(KeyFileInvalid, match=phrase):
            read_key_file(path)
