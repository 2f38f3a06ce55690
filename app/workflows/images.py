"""The image side of an update: verify the file with app/image and describe each image."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from intelhex import IntelHex

from app.image.errors import ClearPayloadRefused, ContentsUnproven, ImageError
from app.image.keys import KeyStore
from app.image.package import verify_path
from app.image.source import BytesSource, FileSource, ImageSource
from app.image.verify import Verdict, VerdictKind, require_valid
from app.workflows.preflight import (
    Check,
    CheckKind,
    CheckSeverity,
    Choices,
    PreflightImage,
    preflight,
)
from app.workflows.update_types import UpdateImage

log = logging.getLogger(__name__)


def load_update_images(
    path: Path,
    keys: KeyStore | None = None,
    *,
    image: int | None = None,
    allow_encrypted_unproven: bool = False,
) -> list[UpdateImage]:
    """Verify the file with app/image and describe each image to install, in upload order.

    Packages list images with their image numbers; they are uploaded highest number first,
    because on nRF5340-style devices image 1 is the network core, which must be updated before
    the application that depends on it (a manifest order of its own is kept otherwise).

    `allow_encrypted_unproven` is the operator's explicit choice to upload an encrypted image
    whose signature verifies but whose contents could not be checked (no decryption key).

    Raises:
        ImageError: an image is invalid (bad hash, untrusted key or bad signature when `keys`
            is given); the sentence is the verdict's reason.
        ContentsUnproven: encrypted with its contents unproven and not allowed; the sentence
            is the pre-flight policy's.
    """
    verdicts = verify_path(path, keys, file_digest=True)
    result = []
    choices = Choices(allow_encrypted_unproven=allow_encrypted_unproven)
    for position, verdict in enumerate(verdicts):
        number = image if image is not None and len(verdicts) == 1 else (verdict.image_index or 0)
        facts = PreflightImage.from_verdict(verdict, image=number)
        for check in preflight(facts, None, choices):  # the policy's rule, refused here early
            if check.kind is CheckKind.ENCRYPTED_UNPROVEN and check.severity is CheckSeverity.ASK:
                raise ContentsUnproven(f"{verdict.label}: {check.sentence}.")
        require_valid(verdict, allow_encrypted_unproven=True)  # allowed, or refused above
        if verdict.image is None or verdict.hash is None or verdict.file_sha256 is None:
            # valid verdicts always have all three
            raise ImageError(f"{verdict.label}: the image could not be read.")
        result.append(
            UpdateImage(
                label=verdict.label,
                image=number,
                size=verdict.image.file_size,
                image_hash=verdict.hash.value,
                version=verdict.image.header.version,
                open_source=_opener(path, verdict, len(verdicts) > 1),
                order=position,
                mcuboot=verdict.image,
                facts=facts,
                contents_unproven=verdict.kind is VerdictKind.ENCRYPTED_UNPROVEN,
                clear_payload=verdict.clear_payload,
                file_sha256=verdict.file_sha256,
            )
        )
    numbers = [i.image for i in result]
    if len(set(numbers)) != len(numbers):
        raise ImageError(f"{path} holds two images for the same image number.")
    return sorted(result, key=lambda i: (-i.image, i.order))


def _opener(path: Path, verdict: Verdict, in_package: bool) -> Callable[[], ImageSource]:
    """How to read an image's bytes again for the upload.

    Minimal container access owned by this module (app/image verifies but does not hand back
    its source): a `.bin` is streamed from disk; HEX and zip members are decoded in memory,
    as app/image itself does.
    """
    if in_package:
        member = verdict.label.removeprefix(f"{path}:")

        def from_zip() -> ImageSource:
            with zipfile.ZipFile(path) as archive:
                data = archive.read(member)
            return BytesSource(_hex_bytes(data) if member.lower().endswith(".hex") else data)

        return from_zip
    with path.open("rb") as f:
        head = f.read(1)
    if path.suffix.lower() == ".hex" or head == b":":
        return lambda: BytesSource(_hex_bytes(path.read_bytes()))
    return lambda: FileSource(path)


def _hex_bytes(data: bytes) -> bytes:
    hexfile = IntelHex()
    hexfile.loadhex(io.StringIO(data.decode("ascii")))
    return bytes(hexfile.tobinstr())


def file_findings(images: Iterable[UpdateImage], choices: Choices) -> list[tuple[str, Check]]:
    """The pre-flight's findings about the files alone, each with its image's label: what a
    face refuses (a BLOCK, or an ASK the choices did not answer) before it connects to any
    device, and the warnings it says. The same policy runs again against the device."""
    return [
        (item.label, check)
        for item in images
        if item.facts is not None
        for check in preflight(item.facts, None, choices)
    ]


@dataclass(frozen=True, slots=True)
class Allowances:
    """The operator's explicit yeses for images a normal upload refuses otherwise (#12). Each
    face offers them its own way (a CLI flag, a job key, a fleet option); the pre-flight
    policy decides (its ENCRYPTED_UNPROVEN and CLEAR_PAYLOAD findings)."""

    encrypted_unproven: bool = False
    """An encrypted image whose signature verifies but whose contents cannot be checked."""
    clear_payload: bool = False
    """An `imgtool sign --clear` image, meant for the primary slot."""

    def choices(self, *, keys_given: bool) -> Choices:
        """The policy's choices these yeses make (no trusted key: origin unchecked on purpose)."""
        return Choices(
            allow_encrypted_unproven=self.encrypted_unproven,
            allow_clear_payload=self.clear_payload,
            allow_unchecked_origin=not keys_given,
        )


def load_images_to_upload(
    path: Path, keys: KeyStore | None, allowances: Allowances, *, image: int | None = None
) -> list[UpdateImage]:
    """`load_update_images` for a normal upload, refused before any device is asked by the
    pre-flight policy's findings on the files alone: an encrypted-unproven or a clear-payload
    image passes only when allowed, and is logged then.

    Raises:
        ContentsUnproven: encrypted-unproven and not allowed.
        ClearPayloadRefused: a clear-payload image and not allowed.
        ImageError: the image is invalid (as `load_update_images`).
    """
    images = load_update_images(
        path, keys, image=image, allow_encrypted_unproven=allowances.encrypted_unproven
    )
    for label, check in file_findings(images, allowances.choices(keys_given=keys is not None)):
        if check.kind is not CheckKind.CLEAR_PAYLOAD:  # the rest: load_update_images above
            continue
        if check.severity is CheckSeverity.ASK:
            raise ClearPayloadRefused(f"{label}: {check.sentence}")
        log.warning("%s: %s; uploading it by explicit choice", label, check.sentence)
    return images
