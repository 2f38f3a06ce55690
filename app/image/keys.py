"""Trusted signing keys: loading, the MCUboot key hash, and a store the CLI, GUI and batch share.

A key is identified by its key hash exactly as MCUboot computes it (spec §6): the hash of
`imgtool getpub` bytes — DER SubjectPublicKeyInfo, except PKCS#1 RSAPublicKey for RSA — with
the image's hash algorithm. Private key files are reduced to their public half on load; the
store only ever holds and writes public PEMs. No Qt here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app.image.errors import ImageError, KeyFileInvalid

log = logging.getLogger(__name__)

SigningKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
HASH_ALGORITHMS = ("sha256", "sha384", "sha512")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_KEY_FILE_BYTES = 64 * 1024


def load_public_key(data: bytes, *, origin: str = "key") -> SigningKey:
    """The public signing key in PEM or DER bytes (public or private; private is reduced).

    Raises:
        KeyFileInvalid: not a readable, unencrypted key of a type MCUboot signs with.
    """
    key: object = None
    loaders: tuple[Callable[[bytes], object], ...] = (
        serialization.load_pem_public_key,
        # DER public also reads bare PKCS#1 RSA, which `imgtool getpub -e raw` writes.
        serialization.load_der_public_key,
        lambda d: serialization.load_pem_private_key(d, password=None).public_key(),
        lambda d: serialization.load_der_private_key(d, password=None).public_key(),
    )
    for loader in loaders:
        try:
            key = loader(data)
            break
        except TypeError as exc:  # a passphrase-protected private key
            raise KeyFileInvalid(
                f"{origin} is a passphrase-protected private key; give its public key instead."
            ) from exc
        except (ValueError, UnsupportedAlgorithm):
            continue
    if key is None:
        raise KeyFileInvalid(f"{origin} is not a PEM or DER public or private key.")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in (
        "secp256r1",
        "secp384r1",
    ):
        raise KeyFileInvalid(
            f"{origin} is an EC key on {key.curve.name}; MCUboot uses P-256 or P-384."
        )
    if isinstance(key, rsa.RSAPublicKey) and key.key_size not in (2048, 3072):
        raise KeyFileInvalid(f"{origin} is RSA-{key.key_size}; MCUboot uses RSA-2048 or 3072.")
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise KeyFileInvalid(
            f"{origin} is a {type(key).__name__.removeprefix('_')} key, which cannot sign "
            "MCUboot images."
        )
    return key


def public_key_bytes(key: SigningKey) -> bytes:
    """The bytes MCUboot embeds and hashes for this key (`imgtool getpub -e raw`, §6)."""
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_type(key: SigningKey) -> str:
    """imgtool's name for the key type: rsa-2048, ecdsa-p256, ed25519, ..."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}[key.curve.name]
    return "ed25519"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A named public signing key."""

    name: str
    key: SigningKey
    der: bytes
    """`public_key_bytes(key)`: what the key hash is computed over."""

    @classmethod
    def from_key(cls, name: str, key: SigningKey) -> TrustedKey:
        return cls(name, key, public_key_bytes(key))

    @property
    def type(self) -> str:
        return key_type(self.key)

    def key_hash(self, algorithm: str = "sha256") -> bytes:
        """MCUboot's KEYHASH of this key for images hashed with `algorithm`."""
        return hashlib.new(algorithm, self.der).digest()

    @property
    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def read_key_file(path: Path) -> SigningKey:
    """Load a key file, refusing huge or unreadable files with a sentence."""
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileInvalid(f"{path} is too large to be a key file.")
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileInvalid(f"Cannot read key file {path}: {exc.strerror or exc}.") from exc
    return load_public_key(data, origin=str(path))


class KeyStore:
    """Named trusted public keys, optionally persisted as `<name>.pem` files in a directory.

    With a directory, `add` and `remove` write through at once, so a GUI and a batch run that
    point at the same directory see the same keys.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._keys: dict[str, TrustedKey] = {}
        if directory is not None and directory.is_dir():
            for path in sorted(directory.glob("*.pem")):
                try:
                    self._keys[path.stem] = TrustedKey.from_key(path.stem, read_key_file(path))
                except KeyFileInvalid as exc:
                    log.warning("skipping trusted key file: %s", exc)

    @property
    def directory(self) -> Path | None:
        return self._directory

    def add(self, name: str, key: SigningKey | Path | bytes) -> TrustedKey:
        """Add (or replace) a key under `name`; a private key is stored as its public half."""
        if not _NAME_RE.match(name):
            raise ImageError(f"Key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'.")
        if isinstance(key, Path):
            key = read_key_file(key)
        elif isinstance(key, bytes):
            key = load_public_key(key, origin=f"key {name!r}")
        trusted = TrustedKey.from_key(name, key)
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
            (self._directory / f"{name}.pem").write_bytes(trusted.pem)
        self._keys[name] = trusted
        return trusted

    def remove(self, name: str) -> None:
        """Forget a key (and delete its file); unknown names raise `ImageError`."""
        if name not in self._keys:
            raise ImageError(f"There is no trusted key named {name!r}.")
        del self._keys[name]
        if self._directory is not None:
            (self._directory / f"{name}.pem").unlink(missing_ok=True)

    def list(self) -> list[TrustedKey]:
        return sorted(self._keys.values(), key=lambda k: k.name)

    def get(self, name: str) -> TrustedKey | None:
        return self._keys.get(name)

    def find_by_hash(self, key_hash: bytes) -> TrustedKey | None:
        """The key whose MCUboot key hash (any algorithm of that length) equals `key_hash`."""
        for trusted in self._keys.values():
            for algorithm in HASH_ALGORITHMS:
                if trusted.key_hash(algorithm) == key_hash:
                    return trusted
        return None

    def find_by_public_bytes(self, der: bytes) -> TrustedKey | None:
        """The key whose embedded form equals a PUBKEY TLV value."""
        return next((k for k in self._keys.values() if k.der == der), None)

    def __len__(self) -> int:
        return len(self._keys)
