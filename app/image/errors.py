"""Typed errors of app/image, for API callers that prefer exceptions over verdicts.

The `verify_*` functions never raise these for a bad image: they return a `Verdict` whose
`problems` carry the same sentences. Parsing and key loading raise them.
"""

from __future__ import annotations

from app.errors import SlotwiseError


class ImageError(SlotwiseError):
    """Something is wrong with an image file, a package or a key file."""


class ImageInvalid(ImageError):
    """The file is not a well-formed MCUboot image (bad magic, lengths outside the file, ...)."""


class SignatureInvalid(ImageError):
    """A signature was checked with a trusted key and did not verify."""

    def __init__(self, key_id: str, message: str | None = None) -> None:
        self.key_id = key_id
        super().__init__(message or f"the signature does not verify with key {key_id}")


class ContentsUnproven(ImageError):
    """An encrypted image's signature verifies, but its contents were not checked (no
    decryption key): uploading it needs an explicit choice."""


class ClearPayloadRefused(ImageError):
    """An `imgtool sign --clear` image (flagged encrypted, stored in clear) meant for a normal
    upload: the secondary slot rejects it on a bootloader with encryption, so it needs an
    explicit choice."""


class UntrustedKey(ImageError):
    """The image names a signing key that is not in the trusted key store."""


class KeyFileInvalid(ImageError):
    """A key file could not be read as a PEM or DER key of a supported type."""


class DecryptionFailed(ImageError):
    """The image's AES key could not be recovered with the given decryption key."""
