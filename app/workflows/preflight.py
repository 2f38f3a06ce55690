"""The one pre-flight policy: may this image go to this device, and what must be said or asked.

Pure: no I/O. `preflight()` returns structured findings (a kind, a severity, the numbers, one
sentence); each face renders them and never decides by reading a sentence:
* the update workflow enforces them (a BLOCK, or an ASK nobody answered, stops the run before
  a byte is sent; notes and warnings go to the progress stream);
* the CLI prints what the workflow said and refused;
* the GUI's verdict panel shows them with a tone and asks the ASK questions.
tests/upload/test_preflight.py holds the three faces to the same findings for a table of cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from app.image.checks import VersionRelation, check_slot_fit, compare_version
from app.image.model import ImageVersion, McubootImage
from app.image.verify import Verdict, VerdictKind
from app.smp.groups.img import running_slot
from app.text import device_text
from app.units import format_bytes


class CheckKind(StrEnum):
    """What a pre-flight check found; the JSON-friendly word of each."""

    IMAGE_INVALID = "image_invalid"
    """The file is damaged, tampered with, or its signature does not verify."""
    UNTRUSTED_KEY = "untrusted_key"
    """Signed by a key that is not among the trusted ones."""
    UNSIGNED = "unsigned"
    """Intact but not signed: only an explicit development override lets it through."""
    ORIGIN_UNCHECKED = "origin_unchecked"
    """No trusted key was given, so its signature was not checked (contents intact)."""
    ENCRYPTED_UNPROVEN = "encrypted_unproven"
    """Encrypted, signature valid, contents not checked (no decryption key)."""
    SIGNATURE_VALID = "signature_valid"
    CLEAR_PAYLOAD = "clear_payload"
    """Flagged encrypted but stored in clear (`imgtool sign --clear`): meant for the primary
    slot; a bootloader built with encryption rejects it in the secondary slot."""
    NO_SUCH_IMAGE = "no_such_image"
    """The device lists no image of that number."""
    ALREADY_RUNS = "already_runs"
    """The device already runs this exact image: nothing to upload."""
    ALREADY_HELD = "already_held"
    """The spare slot already holds this exact image: it is not sent again."""
    UPGRADE = "upgrade"
    SAME_VERSION = "same_version"
    DOWNGRADE = "downgrade"
    DOWNGRADE_PREVENTED = "downgrade_prevented"
    """A downgrade on a bootloader built with downgrade prevention: it would not boot it."""
    VERSION_UNKNOWN = "version_unknown"
    """The running version is not a version number, so a downgrade cannot be ruled out."""
    FITS = "fits"
    TOO_LARGE = "too_large"


class CheckSeverity(StrEnum):
    """How a face acts on a finding."""

    BLOCK = "block"
    """Never uploaded."""
    ASK = "ask"
    """Uploaded only after an explicit yes (GUI question, CLI flag); a job without it refuses."""
    WARN = "warn"
    """Uploaded; said prominently."""
    OK = "ok"
    """Uploaded; said as reassurance."""


@dataclass(frozen=True, slots=True)
class Check:
    kind: CheckKind
    severity: CheckSeverity
    sentence: str
    """For people; no code ever parses it."""
    image: int = 0
    numbers: Mapping[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Choices:
    """The explicit yeses that turn an ASK into a WARN."""

    allow_downgrade: bool = False
    allow_encrypted_unproven: bool = False
    allow_unsigned: bool = False
    """The development override for intact, unsigned images (GUI setting + tick box)."""
    allow_clear_payload: bool = False
    """Upload an `imgtool sign --clear` image to the secondary slot all the same."""
    allow_unchecked_origin: bool = False
    """No trusted key was given on purpose (the CLI without --key): an intact image whose
    signature was not checked may go. The GUI always checks against its key store."""


class ListedImage(Protocol):
    """A slot as the device lists it: an ImageSlot, or the GUI's SlotView."""

    @property
    def image_number(self) -> int: ...
    @property
    def slot(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def version(self) -> str: ...
    @property
    def hash(self) -> bytes | None: ...
    @property
    def confirmed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class PreflightDevice:
    """What the pre-flight needs of the device: its slots and its bootloader's rules."""

    slots: Sequence[ListedImage]
    slot_sizes: Mapping[tuple[int, int], int] = field(default_factory=dict)
    """(image, slot) -> partition bytes, when the device tells (slot info)."""
    no_downgrade: bool = False
    overwrite_only: bool = False


@dataclass(frozen=True, slots=True)
class PreflightImage:
    """What the pre-flight needs of one image: its verdict and where it would go."""

    image: int
    label: str
    kind: VerdictKind
    version: ImageVersion | None
    hash: bytes | None
    mcuboot: McubootImage | None = None
    problems: tuple[str, ...] = ()
    """The verdict's reasons, when it is not valid."""
    unsigned: bool = False
    """Intact and not signed at all."""
    untrusted_key: str | None = None
    """The signing key's id, when no trusted key verified it."""
    signed_by: str | None = None
    algorithm: str | None = None
    clear_payload: bool = False
    """Flagged encrypted, stored in clear (`imgtool sign --clear`)."""

    @classmethod
    def from_verdict(cls, verdict: Verdict, image: int | None = None) -> PreflightImage:
        sig = verdict.signature
        intact = verdict.hash is not None and verdict.hash.ok is True
        return cls(
            image=image if image is not None else (verdict.image_index or 0),
            label=verdict.label,
            kind=verdict.kind,
            version=verdict.image.header.version if verdict.image else None,
            hash=verdict.hash.value if verdict.hash else None,
            mcuboot=verdict.image,
            problems=tuple(verdict.problems),
            unsigned=intact and sig.algorithm is None,
            untrusted_key=(sig.key or "unknown")
            if intact and not sig.ok and not sig.trusted
            else None,
            signed_by=sig.key if sig.ok else None,
            algorithm=sig.algorithm,
            clear_payload=verdict.clear_payload,
        )


YES_FLAGS: Mapping[CheckKind, str] = {
    CheckKind.DOWNGRADE: "--allow-downgrade",
    CheckKind.VERSION_UNKNOWN: "--allow-downgrade",
    CheckKind.ENCRYPTED_UNPROVEN: "--allow-unverified-encrypted",
    CheckKind.CLEAR_PAYLOAD: "--allow-clear-payload",
}
"""The command-line flag that answers each ASK with yes (the GUI asks instead)."""

JOB_KEYS: Mapping[CheckKind, str] = {
    CheckKind.ENCRYPTED_UNPROVEN: "allow_unverified_encrypted",
    CheckKind.CLEAR_PAYLOAD: "allow_clear_payload",
}
"""The job file's [job] key that answers an image's ASK with yes."""


def preflight(
    image: PreflightImage, device: PreflightDevice | None, choices: Choices
) -> list[Check]:
    """Every finding about installing `image` on `device` (None: the file alone), in order:
    the image's own verdict first, then what the device already has, version, size."""
    checks = list(_verdict_checks(image, choices))
    if image.clear_payload:
        checks.append(_clear_payload_check(image, choices))
    if device is not None and image.hash is not None:
        checks.extend(_device_checks(image, device, choices))
    return checks


def blocking(checks: Iterable[Check]) -> list[Check]:
    """What stops an upload when nobody is there to answer a question (a job, the CLI)."""
    return [c for c in checks if c.severity in (CheckSeverity.BLOCK, CheckSeverity.ASK)]


# --- the image's own verdict ------------------------------------------------------------------


def _verdict_checks(image: PreflightImage, choices: Choices) -> Iterable[Check]:
    n = image.image
    if image.kind is VerdictKind.VALID:
        yield Check(
            CheckKind.SIGNATURE_VALID,
            CheckSeverity.OK,
            f"signature valid ({image.algorithm}), key \u201c{image.signed_by}\u201d",
            n,
        )
    elif image.kind is VerdictKind.UNSIGNED_CHECK and choices.allow_unchecked_origin:
        yield Check(
            CheckKind.ORIGIN_UNCHECKED,
            CheckSeverity.WARN,
            "contents intact; no trusted key was given, so its origin was not checked",
            n,
        )
    elif image.kind is VerdictKind.ENCRYPTED_UNPROVEN:
        yield Check(
            CheckKind.ENCRYPTED_UNPROVEN,
            CheckSeverity.WARN if choices.allow_encrypted_unproven else CheckSeverity.ASK,
            "encrypted: its signature is valid but its contents cannot be checked without the "
            "decryption key (the bootloader checks them after decryption)",
            n,
        )
    elif image.unsigned:
        yield Check(
            CheckKind.UNSIGNED,
            CheckSeverity.WARN if choices.allow_unsigned else CheckSeverity.ASK,
            "not signed: only for development devices, with the explicit override",
            n,
        )
    elif image.untrusted_key is not None:
        yield Check(
            CheckKind.UNTRUSTED_KEY,
            CheckSeverity.BLOCK,
            f"signed with key {_short(image.untrusted_key)}, which is not among your trusted keys",
            n,
            {"key": image.untrusted_key},
        )
    else:
        reasons = " ".join(image.problems) or "the image could not be verified"
        yield Check(CheckKind.IMAGE_INVALID, CheckSeverity.BLOCK, reasons, n)


def _clear_payload_check(image: PreflightImage, choices: Choices) -> Check:
    # MCUboot built with encryption decrypts whatever it finds in the secondary slot
    # (MUST_DECRYPT), so a clear payload there fails its hash; serial recovery, which writes
    # the primary slot, is where such an image belongs.
    return Check(
        CheckKind.CLEAR_PAYLOAD,
        CheckSeverity.WARN if choices.allow_clear_payload else CheckSeverity.ASK,
        "flagged encrypted but stored in clear (imgtool sign --clear): it is meant for the "
        "primary slot, and a bootloader built with encryption will reject it in the secondary "
        "slot, where an upload puts it",
        image.image,
    )


# --- against the device -----------------------------------------------------------------------


def _device_checks(
    image: PreflightImage, device: PreflightDevice, choices: Choices
) -> Iterable[Check]:
    n = image.image
    listed = [s for s in device.slots if s.image_number == n]
    if not listed and n > 0:
        yield Check(
            CheckKind.NO_SUCH_IMAGE,
            CheckSeverity.BLOCK,
            f"the device lists no image {n}; is {image.label} meant for another device?",
            n,
        )
        return
    running = running_slot(listed, n)
    if running is not None and running.hash == image.hash:
        state = "" if running.confirmed else " but it is not confirmed yet"
        yield Check(
            CheckKind.ALREADY_RUNS,
            CheckSeverity.OK,
            f"image {n} already runs {running.version} (same hash){state}; nothing to upload",
            n,
            {"slot": running.slot, "confirmed": "yes" if running.confirmed else "no"},
        )
        return
    if running is not None and image.version is not None:
        yield from _version_checks(image, running, device, choices)
    target = next((s for s in listed if s is not running), None)
    target_slot = 1 - running.slot if running is not None and running.slot in (0, 1) else 1
    yield from _fit_checks(image, device, target_slot)
    if target is not None and target.hash == image.hash:
        yield Check(
            CheckKind.ALREADY_HELD,
            CheckSeverity.OK,
            f"slot {target.slot} of image {n} already holds this exact image (hash match); "
            "it is not uploaded again",
            n,
            {"slot": target.slot},
        )


def _fit_checks(image: PreflightImage, device: PreflightDevice, slot: int) -> Iterable[Check]:
    """Size against the slot the upload goes to, when the device tells its size."""
    size = device.slot_sizes.get((image.image, slot))
    if size is None or image.mcuboot is None:
        return
    fit = check_slot_fit(image.mcuboot, size, slot=slot, overwrite_only=device.overwrite_only)
    numbers = {"needed": fit.needed_bytes, "slot_bytes": size, "slot": slot}
    if not fit.fits:
        problem = fit.problem or "too large"
        yield Check(CheckKind.TOO_LARGE, CheckSeverity.BLOCK, problem, image.image, numbers)
        return
    sentence = (
        f"size: the {format_bytes(image.mcuboot.file_size)} file fits the {format_bytes(size)} "
        f"slot ({format_bytes(fit.needed_bytes)} there, with MCUboot's trailer)"
    )
    yield Check(CheckKind.FITS, CheckSeverity.OK, sentence, image.image, numbers)


def _version_checks(
    image: PreflightImage, running: ListedImage, device: PreflightDevice, choices: Choices
) -> Iterable[Check]:
    assert image.version is not None
    n, mine, theirs = image.image, image.version.smp_text, device_text(running.version)
    numbers = {"version": mine, "running": theirs}
    relation = compare_version(image.version, theirs)
    if relation is VersionRelation.UNKNOWN:
        yield Check(
            CheckKind.VERSION_UNKNOWN,
            CheckSeverity.WARN if choices.allow_downgrade else CheckSeverity.ASK,
            f"image {n} reports version {theirs!r}, which is not a version number, so whether "
            f"{mine} is older cannot be told",
            n,
            numbers,
        )
        return
    if relation is VersionRelation.UPGRADE:
        sentence = f"version {mine}: upgrade (the device runs {theirs})"
        yield Check(CheckKind.UPGRADE, CheckSeverity.OK, sentence, n, numbers)
    elif relation is VersionRelation.SAME:
        yield Check(
            CheckKind.SAME_VERSION,
            CheckSeverity.WARN,
            f"version {mine}: same version (the device runs {theirs}; a different build)",
            n,
            numbers,
        )
    elif device.no_downgrade:
        yield Check(
            CheckKind.DOWNGRADE_PREVENTED,
            CheckSeverity.BLOCK,
            f"{mine} is older than the {theirs} image {n} runs, and the bootloader refuses "
            "downgrades on this device: it would not boot it",
            n,
            numbers,
        )
    else:
        yield Check(
            CheckKind.DOWNGRADE,
            CheckSeverity.WARN if choices.allow_downgrade else CheckSeverity.ASK,
            f"{mine} is older than the {theirs} that image {n} runs: a downgrade",
            n,
            numbers,
        )


def _short(key_id: str) -> str:
    return f"{key_id[:16]}\u2026" if len(key_id) > 20 else key_id
