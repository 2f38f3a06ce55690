"""Recover the AES key of an encrypted image and decrypt its payload in memory, chunk by chunk.

Key exchange as imgtool does it (spec §3.2, MCUboot docs/encrypted_images.md):
ENC_RSA2048 = RSA-OAEP(SHA-256) of the AES key; ENC_EC256 / ENC_X25519(_SHA512) = ECIES:
ephemeral public key ‖ HMAC tag ‖ AES-CTR-encrypted key, with HKDF(info "MCUBoot_ECIES_v1").
The payload is AES-CTR with a zero nonce, counting from the first payload byte.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.image.errors import DecryptionFailed, KeyFileInvalid
from app.image.keys import MAX_KEY_FILE_BYTES
from app.image.model import ImageFlag, McubootImage, Tlv, TlvType

log = logging.getLogger(__name__)

DecryptionKey = x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_ECIES_INFO = b"MCUBoot_ECIES_v1"
_ZERO_NONCE = bytes(16)


def load_decryption_key(path: Path) -> DecryptionKey:
    """Read an unencrypted private key (X25519, EC P-256 or RSA) from PEM or DER.

    Raises:
        KeyFileInvalid: unreadable, passphrase-protected, or of a type MCUboot cannot decrypt with.
    """
    try:
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise KeyFileInvalid(f"{path} is too large to be a key file.")
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileInvalid(f"Cannot read decryption key {path}: {exc.strerror or exc}.") from exc
    key: object = None
    for loader in (serialization.load_pem_private_key, serialization.load_der_private_key):
        try:
            key = loader(data, None)
            break
        except TypeError as exc:
            raise KeyFileInvalid(f"{path} is passphrase-protected; decrypt it first.") from exc
        except (ValueError, UnsupportedAlgorithm):
            continue
    if key is None:
        raise KeyFileInvalid(f"{path} is not a PEM or DER private key.")
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name != "secp256r1":
        raise KeyFileInvalid(f"{path} is an EC key on {key.curve.name}; ECIES uses P-256.")
    if not isinstance(
        key, x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyFileInvalid(f"{path} is not an X25519, EC P-256 or RSA private key.")
    return key


def unwrap_aes_key(image: McubootImage, key: DecryptionKey) -> bytes:
    """The image's AES key, recovered from its ENC_* TLV with `key`.

    Raises:
        DecryptionFailed: no matching ENC_* TLV, or the key is not the one the image was made for.
    """
    aes_bytes = 32 if image.header.flags & ImageFlag.ENCRYPTED_AES256 else 16
    for tlv in image.tlvs:
        if tlv.type == TlvType.ENC_RSA2048 and isinstance(key, rsa.RSAPrivateKey):
            return _unwrap_rsa(tlv, key)
        if tlv.type == TlvType.ENC_EC256 and isinstance(key, ec.EllipticCurvePrivateKey):
            return _unwrap_ecies(tlv, key, 65, hashes.SHA256(), aes_bytes)
        if tlv.type == TlvType.ENC_X25519 and isinstance(key, x25519.X25519PrivateKey):
            return _unwrap_ecies(tlv, key, 32, hashes.SHA256(), aes_bytes)
        if tlv.type == TlvType.ENC_X25519_SHA512 and isinstance(key, x25519.X25519PrivateKey):
            return _unwrap_ecies(tlv, key, 32, hashes.SHA512(), aes_bytes)
    kinds = ", ".join(t.name for t in image.tlvs if t.name.startswith("ENC_")) or "none"
    raise DecryptionFailed(
        f"The decryption key ({_describe(key)}) does not fit the image's key exchange ({kinds})."
    )


def _unwrap_rsa(tlv: Tlv, key: rsa.RSAPrivateKey) -> bytes:
    try:
        return key.decrypt(
            tlv.value,
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
    except ValueError as exc:
        raise DecryptionFailed(
            "The RSA decryption key does not open this image's AES key (wrong key?)."
        ) from exc


def _unwrap_ecies(
    tlv: Tlv,
    key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey,
    point_bytes: int,
    digest: hashes.HashAlgorithm,
    aes_bytes: int,
) -> bytes:
    value = tlv.value
    if len(value) != point_bytes + digest.digest_size + aes_bytes:
        raise DecryptionFailed(
            f"The {tlv.name} TLV is {len(value)} bytes; expected "
            f"{point_bytes + digest.digest_size + aes_bytes} for this key and AES size."
        )
    ephemeral = value[:point_bytes]
    tag = value[point_bytes : point_bytes + digest.digest_size]
    cipherkey = value[point_bytes + digest.digest_size :]
    try:
        if isinstance(key, ec.EllipticCurvePrivateKey):
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral)
            shared = key.exchange(ec.ECDH(), peer)
        else:
            shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError as exc:
        raise DecryptionFailed(f"The {tlv.name} TLV holds an invalid ephemeral key.") from exc
    derived = HKDF(
        algorithm=digest, length=aes_bytes + digest.digest_size, salt=None, info=_ECIES_INFO
    ).derive(shared)
    mac = hmac.HMAC(derived[aes_bytes:], digest)
    mac.update(cipherkey)
    try:
        # The tag proves the key fits before we decrypt megabytes into garbage.
        mac.verify(tag)
    except InvalidSignature as exc:
        raise DecryptionFailed(
            "The decryption key does not open this image's AES key (HMAC mismatch: wrong key?)."
        ) from exc
    ctx = Cipher(algorithms.AES(derived[:aes_bytes]), modes.CTR(_ZERO_NONCE)).decryptor()
    return ctx.update(cipherkey) + ctx.finalize()


def payload_decryptor(aes_key: bytes) -> CipherContext:
    """An AES-CTR context for the payload; feed it the ciphertext chunks in order."""
    return Cipher(algorithms.AES(aes_key), modes.CTR(_ZERO_NONCE)).decryptor()


def _describe(key: DecryptionKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "EC P-256"
    return "X25519"
