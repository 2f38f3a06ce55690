"""Judge an MCUboot image: recompute its hash, check its key and signature, return a verdict.

Never raises for a bad image: every failure becomes a sentence in `Verdict.problems`.
What is hashed and signed per algorithm: spec mcuboot-image.md §4-§6; procedure §7.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from app.image.decrypt import DecryptionKey, payload_decryptor, unwrap_aes_key
from app.image.errors import (
    ContentsUnproven,
    ImageError,
    ImageInvalid,
    SignatureInvalid,
    UntrustedKey,
)
from app.image.keys import KeyStore, TrustedKey
from app.image.model import (
    ENCRYPTION_TLVS,
    HASH_TLVS,
    SIGNATURE_TLVS,
    UNPROTECTED_TLVS,
    McubootImage,
    Tlv,
    TlvType,
)
from app.image.parse import parse_image
from app.image.source import BytesSource, ImageSource

log = logging.getLogger(__name__)

_SIG_ALGORITHM = {
    TlvType.RSA2048_PSS: "rsa-2048-pss",
    TlvType.RSA3072_PSS: "rsa-3072-pss",
    TlvType.ED25519: "ed25519",
    TlvType.ECDSA224: "ecdsa-p224",
}
_PREHASH = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class VerdictKind(StrEnum):
    """What a verification proved; the JSON `verdict` word (docs/image-verification.md)."""

    VALID = "valid"
    """The hash matches the bytes (as stored, or decrypted) and a trusted key's signature
    verifies over it: contents and origin proven."""
    UNSIGNED_CHECK = "unsigned-check"
    """The hash matches the bytes, but no trusted key was given, so the signature (if any)
    was not checked: the contents are intact, their origin unproven."""
    ENCRYPTED_UNPROVEN = "encrypted-unproven"
    """The header flags say encrypted and no decryption key was given: a trusted key's
    signature verifies over the stored digest, but that digest was not checked against the
    payload. The bootloader checks the contents after decryption; `valid` is false."""
    INVALID = "invalid"
    """Anything else: damaged, tampered, untrusted, or nothing could be checked."""

    @property
    def valid(self) -> bool:
        """Only a payload hashed and found matching is ever valid (issue #12)."""
        return self in (VerdictKind.VALID, VerdictKind.UNSIGNED_CHECK)


@dataclass(frozen=True, slots=True)
class HashCheck:
    """The image hash TLV and whether it matches the bytes MCUboot hashes."""

    algorithm: str
    value: bytes
    ok: bool | None
    """None when it cannot be checked (encrypted payload without the decryption key)."""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The signature verdict; `ok` is None when no trusted key was given."""

    algorithm: str | None = None
    ok: bool | None = None
    key: str | None = None
    """The trusted key's name when one matched, else the key hash (hex) the image names."""
    trusted: bool | None = None
    """Whether the image's key TLV matched a trusted key; None when no keys were given."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything a technician or the upload flow needs to decide about one image."""

    label: str
    kind: VerdictKind
    image: McubootImage | None
    hash: HashCheck | None
    signature: SignatureCheck
    encrypted: bool = False
    """The header flags say the payload is encrypted (MCUboot's `IS_ENCRYPTED`)."""
    decrypted: bool = False
    """The payload was decrypted with the given key to check its hash."""
    clear_payload: bool = False
    """Flagged encrypted, yet the payload as stored matches the hash (`imgtool sign --clear`):
    meant for the primary slot; a bootloader with encryption rejects it in the secondary."""
    file_sha256: bytes | None = None
    """SHA-256 of every byte verified (only when asked for, `file_digest=True`)."""
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    image_index: int | None = None
    slot: int | None = None
    declared_version: str | None = field(default=None)
    """The version a package manifest claims, if any (a mismatch is a problem)."""

    @property
    def valid(self) -> bool:
        return self.kind.valid


def verify_bytes(
    data: bytes,
    keys: KeyStore | None = None,
    decrypt_key: DecryptionKey | None = None,
    label: str = "image",
) -> Verdict:
    """`verify_source` over bytes in memory."""
    return verify_source(BytesSource(data), keys, decrypt_key, label)


def verify_source(
    source: ImageSource,
    keys: KeyStore | None = None,
    decrypt_key: DecryptionKey | None = None,
    label: str = "image",
    *,
    file_digest: bool = False,
) -> Verdict:
    """Parse and verify one image. A key store that is None or empty means "hash only".

    With `file_digest` the SHA-256 of every byte of the source is taken in the same read
    (`Verdict.file_sha256`): the upload's `sha`, and what the bytes it sends must hash to.
    """
    try:
        image = parse_image(source)
    except ImageError as exc:
        return Verdict(
            label, VerdictKind.INVALID, None, None, SignatureCheck(), problems=(str(exc),)
        )
    except OSError as exc:
        return Verdict(
            label,
            VerdictKind.INVALID,
            None,
            None,
            SignatureCheck(),
            problems=(f"Cannot read the image: {exc.strerror or exc}.",),
        )
    judge = _Judge(source, image, keys if keys else None, decrypt_key, label)
    if file_digest:
        judge.file_hasher = hashlib.sha256()
    return judge.run()


class _Judge:
    """One verification run; collects problems as it goes."""

    def __init__(
        self,
        source: ImageSource,
        image: McubootImage,
        keys: KeyStore | None,
        decrypt_key: DecryptionKey | None,
        label: str,
    ) -> None:
        self.source = source
        self.image = image
        self.keys = keys
        self.decrypt_key = decrypt_key
        self.label = label
        self.problems: list[str] = []
        self.warnings: list[str] = list(image.warnings)
        self.region: bytearray | None = None  # the signed bytes, kept only for pure Ed25519
        self.clear_payload = False
        self.foreign_tlvs = False
        self.file_hasher: Any = None  # set by verify_source(file_digest=True)
        self.file_sha256: bytes | None = None

    def run(self) -> Verdict:
        image = self.image
        if image.unknown_tail_bytes:
            # imgtool writes nothing after the TLVs but --pad padding and trailer: the file is
            # larger than the image it claims to be (spec §7 step 7), so something was appended.
            self.problems.append(
                f"The file is {image.unknown_tail_bytes} bytes longer than the image it holds, "
                "and the extra bytes are neither erased padding nor an image trailer."
            )
        rogue = [t for t in image.tlvs if not t.protected and t.type not in UNPROTECTED_TLVS]
        for tlv in rogue:
            self.problems.append(
                f"The unsigned TLV area holds {tlv.name} (type 0x{tlv.type:04X}), which MCUboot "
                "accepts only inside the signed area: it was added after signing."
            )
        self.foreign_tlvs = bool(rogue)
        hash_check, decrypted = self._check_hash()
        signature = self._check_signature(hash_check)
        kind = self._kind(hash_check, signature)
        if self.decrypt_key is not None and not image.encrypted:
            self.warnings.append("The image is not encrypted; the decryption key was not used.")
        if kind is VerdictKind.ENCRYPTED_UNPROVEN:
            self.warnings.append(
                "The payload is encrypted: the signature over its digest is valid, but the "
                "contents cannot be checked without the decryption key; the bootloader checks "
                "them after decryption."
            )
        elif self.keys is None and hash_check is not None and hash_check.ok is None:
            # Encrypted (else ok is never None), no decryption key and no trusted key.
            self.problems.append(
                "Nothing could be verified: the image is encrypted and no trusted key was "
                "given (pass a public key, or the decryption key)."
            )
        if kind is VerdictKind.INVALID and not self.problems:
            self.problems.append("The image could not be verified.")
        return Verdict(
            self.label,
            kind,
            image,
            hash_check,
            signature,
            encrypted=image.encrypted,
            decrypted=decrypted,
            clear_payload=self.clear_payload,
            file_sha256=self.file_sha256,
            problems=tuple(self.problems),
            warnings=tuple(self.warnings),
        )

    def _kind(self, hash_check: HashCheck | None, signature: SignatureCheck) -> VerdictKind:
        """The verdict: only a payload whose hash was checked against its bytes is valid."""
        if self.image.unknown_tail_bytes or self.foreign_tlvs or hash_check is None:
            return VerdictKind.INVALID
        signed_ok = self.keys is not None and signature.ok is True
        if hash_check.ok is True:
            if self.keys is None:
                return VerdictKind.UNSIGNED_CHECK
            return VerdictKind.VALID if signed_ok else VerdictKind.INVALID
        unchecked = hash_check.ok is None and self.image.encrypted and self.decrypt_key is None
        if unchecked and signed_ok and not self.problems:
            return VerdictKind.ENCRYPTED_UNPROVEN
        return VerdictKind.INVALID

    # -- hash -------------------------------------------------------------------------------

    def _check_hash(self) -> tuple[HashCheck | None, bool]:
        found = [t for t in self.image.tlvs if t.type in HASH_TLVS]
        if not found:
            self.problems.append("The image has no hash TLV (SHA256/384/512).")
            return None, False
        if len(found) > 1 or found[0].protected:
            self.problems.append("The image must carry exactly one unprotected hash TLV.")
            return None, False
        tlv = found[0]
        algorithm = HASH_TLVS[TlvType(tlv.type)]
        if len(tlv.value) != hashlib.new(algorithm).digest_size:
            self.problems.append(
                f"The {tlv.name} TLV is {len(tlv.value)} bytes; a {algorithm} digest is "
                f"{hashlib.new(algorithm).digest_size}."
            )
            return HashCheck(algorithm, tlv.value, False), False
        # First the payload as stored, whatever the flags say: a match proves the contents.
        if self._digest(algorithm, None) == tlv.value:
            if self.image.encrypted:
                self.clear_payload = True
                self.warnings.append(
                    "The image is flagged encrypted but its payload is stored in clear "
                    "(imgtool sign --clear): it is meant for the primary slot; a bootloader "
                    "built with encryption decrypts what it finds in the secondary slot and "
                    "will reject it there."
                )
            return HashCheck(algorithm, tlv.value, True), False
        self.region = None  # not the signed bytes: a pure signature must not be checked on them
        if not self.image.encrypted:
            self.problems.append(
                "The image hash does not match: the file is corrupted or was modified after "
                "signing."
            )
            return HashCheck(algorithm, tlv.value, False), False
        if not any(t.type in ENCRYPTION_TLVS and not t.protected for t in self.image.tlvs):
            # MCUboot finds the AES key only in an unprotected ENC_* TLV (boot_enc_load).
            self.problems.append(
                "The image is flagged encrypted but carries no ENC_* key TLV: no bootloader "
                "could decrypt it, and its payload does not match its hash as stored."
            )
            return HashCheck(algorithm, tlv.value, False), False
        if self.decrypt_key is None:
            return HashCheck(algorithm, tlv.value, None), False
        aes_key = self._aes_key()
        if aes_key is None:
            return HashCheck(algorithm, tlv.value, None), False
        ok = self._digest(algorithm, aes_key) == tlv.value
        if not ok:
            self.region = None
            self.problems.append(
                "The decrypted image hash does not match: the file is corrupted or was "
                "modified after signing."
            )
        return HashCheck(algorithm, tlv.value, ok), True

    def _aes_key(self) -> bytes | None:
        if self.decrypt_key is None:
            return None
        try:
            return unwrap_aes_key(self.image, self.decrypt_key)
        except ImageError as exc:
            self.problems.append(str(exc))
            return None

    def _digest(self, algorithm: str, aes_key: bytes | None) -> bytes:
        """Stream the hashed region (§4) through the hash, decrypting the payload if asked."""
        header = self.image.header
        hasher = hashlib.new(algorithm)
        # Pure Ed25519 signs the region itself, and its verify() needs it whole: keep one copy,
        # preallocated so it is never reallocated while it grows.
        keep = bytearray(header.hashed_size) if self.image.pure else None
        payload_start = header.header_size
        payload_end = header.header_size + header.image_size
        decryptor = payload_decryptor(aes_key) if aes_key is not None else None
        whole = self.file_hasher if decryptor is None and self.file_sha256 is None else None
        pos = 0
        for view in self.source.chunks(0, header.hashed_size):
            end = pos + len(view)
            if whole is not None:
                whole.update(view)
            chunk: bytes | memoryview = view
            if decryptor is not None and pos < payload_end and end > payload_start:
                chunk = _decrypt_part(view, pos, payload_start, payload_end, decryptor.update)
            hasher.update(chunk)
            if keep is not None:
                keep[pos:end] = chunk
            pos = end
        if keep is not None:
            self.region = keep
        if whole is not None:  # the same read goes on through the TLVs and any padding
            for view in self.source.chunks(pos, self.source.size):
                whole.update(view)
            self.file_sha256 = whole.digest()
        return hasher.digest()

    # -- signature --------------------------------------------------------------------------

    def _check_signature(self, hash_check: HashCheck | None) -> SignatureCheck:
        pairs = _signature_pairs(self.image)
        if not pairs:
            if self.keys is not None:
                self.problems.append("The image is not signed, but a trusted key was required.")
            return SignatureCheck(None, None, None)
        first_key, first_sig = pairs[0]
        algorithm = self._algorithm(first_sig, hash_check)
        if self.keys is None:
            return SignatureCheck(algorithm, None, _key_id(first_key, hash_check))
        if hash_check is None:
            return SignatureCheck(algorithm, False, _key_id(first_key, hash_check), None)
        failures: list[str] = []
        named: str | None = None  # the first trusted key the image names, for the report
        for key_tlv, sig_tlv in pairs:
            trusted = self._trusted(key_tlv, hash_check)
            if trusted is not None and named is None:
                named = trusted.name
            if trusted is None:
                failures.append(
                    f"The image is signed with key {_key_id(key_tlv, hash_check)}, which is not "
                    "among the trusted keys."
                )
                continue
            reason = self._verify_one(trusted, sig_tlv, hash_check)
            if reason is None:
                return SignatureCheck(
                    self._algorithm(sig_tlv, hash_check), True, trusted.name, True
                )
            failures.append(reason)
        self.problems.extend(dict.fromkeys(failures))
        return SignatureCheck(
            algorithm, False, named or _key_id(first_key, hash_check), named is not None
        )

    def _trusted(self, key_tlv: Tlv | None, hash_check: HashCheck) -> TrustedKey | None:
        if key_tlv is None or self.keys is None:
            return None
        if key_tlv.type == TlvType.PUBKEY:
            return self.keys.find_by_public_bytes(key_tlv.value)
        # KEYHASH uses the image's hash algorithm (§6), so compare with exactly that one.
        return next(
            (k for k in self.keys.list() if k.key_hash(hash_check.algorithm) == key_tlv.value), None
        )

    def _verify_one(self, trusted: TrustedKey, sig_tlv: Tlv, hash_check: HashCheck) -> str | None:
        """None when the signature verifies, else the sentence saying why not."""
        key, digest, sig = trusted.key, hash_check.value, sig_tlv.value
        bad = f"The signature does not verify with trusted key {trusted.name}."
        if self.image.pure and sig_tlv.type != TlvType.ED25519:
            # SIG_PURE is defined for Ed25519 only; imgtool then accepts no other signature.
            return (
                f"The image is marked pure (SIG_PURE), which allows only an Ed25519 "
                f"signature, not {sig_tlv.name}."
            )
        try:
            if sig_tlv.type == TlvType.ECDSA_SIG and isinstance(key, ec.EllipticCurvePublicKey):
                curve_hash = "sha384" if key.curve.name == "secp384r1" else "sha256"
                if curve_hash != hash_check.algorithm:
                    return (
                        f"Key {trusted.name} signs {curve_hash} digests but the image is "
                        f"hashed with {hash_check.algorithm}."
                    )
                if len(sig) >= 2 and sig[0] == 0x30:  # drop --pad-sig zero padding (§3.2)
                    sig = sig[: sig[1] + 2]
                key.verify(sig, digest, ec.ECDSA(Prehashed(_PREHASH[curve_hash])))
            elif sig_tlv.type in (TlvType.RSA2048_PSS, TlvType.RSA3072_PSS) and isinstance(
                key, rsa.RSAPublicKey
            ):
                wanted = 2048 if sig_tlv.type == TlvType.RSA2048_PSS else 3072
                if key.key_size != wanted or hash_check.algorithm != "sha256":
                    return f"Trusted key {trusted.name} does not fit the {sig_tlv.name} signature."
                key.verify(
                    sig,
                    digest,
                    padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                    Prehashed(hashes.SHA256()),
                )
            elif sig_tlv.type == TlvType.ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
                if self.image.pure:
                    if self.region is None:
                        return (
                            "The pure Ed25519 signature covers the plaintext image, which "
                            "cannot be checked without the decryption key."
                        )
                    key.verify(sig, self.region)
                else:
                    key.verify(sig, digest)
            else:
                return (
                    f"Trusted key {trusted.name} ({trusted.type}) cannot check a "
                    f"{sig_tlv.name} signature."
                )
        except InvalidSignature:
            return bad
        except ValueError as exc:  # malformed DER signature and similar
            log.debug("signature check raised %s", exc)
            return bad
        return None

    def _algorithm(self, sig_tlv: Tlv, hash_check: HashCheck | None) -> str:
        if sig_tlv.type == TlvType.ECDSA_SIG:
            return "ecdsa-p384" if hash_check and hash_check.algorithm == "sha384" else "ecdsa-p256"
        if sig_tlv.type == TlvType.ED25519 and self.image.pure:
            return "ed25519-pure"
        return _SIG_ALGORITHM.get(TlvType(sig_tlv.type), sig_tlv.name.lower())


def require_valid(verdict: Verdict, *, allow_encrypted_unproven: bool = False) -> Verdict:
    """Return a verdict that may be uploaded unchanged; raise the matching `ImageError` otherwise.

    An encrypted-unproven verdict passes only with `allow_encrypted_unproven` (the caller's
    explicit, logged choice: the bootloader then is the only one to check the contents).

    Raises:
        ContentsUnproven: encrypted, signature valid, contents not checked, and not allowed.
        ImageInvalid: the structure or the hash is wrong, or the image is unsigned.
        UntrustedKey: the image is signed by a key that is not trusted.
        SignatureInvalid: a trusted key's signature does not verify.
    """
    if verdict.valid:
        return verdict
    if verdict.kind is VerdictKind.ENCRYPTED_UNPROVEN:
        if allow_encrypted_unproven:
            log.warning(
                "%s: encrypted, contents not checked; uploading it by explicit choice",
                verdict.label,
            )
            return verdict
        raise ContentsUnproven(
            f"{verdict.label} is encrypted: its signature is valid, but its contents cannot be "
            "checked without the decryption key, so it is not called valid. Uploading it needs "
            "an explicit choice (the bootloader checks the contents after decryption)."
        )
    sentence = " ".join(verdict.problems)
    structure_ok = verdict.hash is not None and verdict.hash.ok is not False
    if structure_ok and verdict.signature.trusted is False:
        raise UntrustedKey(sentence)
    if structure_ok and verdict.signature.trusted and verdict.signature.ok is False:
        raise SignatureInvalid(verdict.signature.key or "?", sentence)
    raise ImageInvalid(sentence)


def _signature_pairs(image: McubootImage) -> list[tuple[Tlv | None, Tlv]]:
    """(key TLV, signature TLV) pairs: MCUboot pairs each signature with the key TLV before it."""
    pairs: list[tuple[Tlv | None, Tlv]] = []
    current: Tlv | None = None
    for tlv in image.tlvs:
        if tlv.protected:
            continue
        if tlv.type in (TlvType.KEYHASH, TlvType.PUBKEY):
            current = tlv
        elif tlv.type in SIGNATURE_TLVS:
            pairs.append((current, tlv))
    return pairs


def _key_id(key_tlv: Tlv | None, hash_check: HashCheck | None) -> str | None:
    """The key hash as hex: the KEYHASH value, or the hash of a full PUBKEY."""
    if key_tlv is None:
        return None
    if key_tlv.type == TlvType.PUBKEY:
        algorithm = hash_check.algorithm if hash_check else "sha256"
        return hashlib.new(algorithm, key_tlv.value).hexdigest()
    return key_tlv.value.hex()


def _decrypt_part(
    chunk: memoryview, pos: int, start: int, end: int, decrypt: Callable[[memoryview], bytes]
) -> bytes:
    """Decrypt the part of `chunk` (file offset `pos`) that lies in the payload [start, end)."""
    lo = max(start - pos, 0)
    hi = min(end - pos, len(chunk))
    return bytes(chunk[:lo]) + decrypt(chunk[lo:hi]) + bytes(chunk[hi:])
