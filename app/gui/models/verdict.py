"""The verdict panel's content: app/image's verdict plus the device checks, as lines of text.

Pure (no Qt). `check_file` reads and hashes the file, so it runs on the core's worker thread,
never on the GUI thread; `judge` is the cheap part and is also re-run when the device changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.gui.targets import DeviceSnapshot
from app.image import (
    KeyStore,
    Verdict,
    VerdictKind,
    VersionRelation,
    check_slot_fit,
    compare_version,
    verify_path,
)
from app.units import format_bytes


@dataclass(frozen=True, slots=True)
class Line:
    tone: str
    """"good", "warn" or "bad"."""
    text: str


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """Whether this file may be uploaded to this device, and why, in sentences."""

    path: Path
    verdicts: tuple[Verdict, ...]
    ok: bool
    """May be uploaded as is."""
    unsigned: bool
    """Intact but unsigned: only the explicit development override can let it through."""
    headline: str
    lines: tuple[Line, ...]
    version: str | None = None
    relation: VersionRelation | None = None
    image_hash: bytes | None = None
    unproven: bool = False
    """Encrypted, signature valid, contents not checked (no decryption key): uploaded only
    after the user's explicit yes to a question whose default is No."""
    clear_payload: bool = False
    """An `imgtool sign --clear` image, meant for the primary slot: ask before uploading."""


def check_file(path: Path, keys: KeyStore | None, snapshot: DeviceSnapshot | None) -> UploadCheck:
    """Verify `path` (slow: hashes and checks signatures) and judge it against the device."""
    return judge(path, tuple(verify_path(path, keys)), snapshot)


def judge(
    path: Path, verdicts: tuple[Verdict, ...], snapshot: DeviceSnapshot | None
) -> UploadCheck:
    lines: list[Line] = []
    problems: list[str] = []
    unsigned = True
    relation: VersionRelation | None = None
    for verdict in verdicts:
        prefix = f"Image {verdict.image_index}: " if len(verdicts) > 1 else ""
        hash_ok = verdict.hash is not None and verdict.hash.ok is not False
        sig = verdict.signature
        unsigned = unsigned and sig.algorithm is None and hash_ok and verdict.image is not None
        if sig.ok:
            lines.append(
                Line(
                    "good", f"{prefix}Signature valid ({sig.algorithm}), key \u201c{sig.key}\u201d"
                )
            )
        elif sig.algorithm is None:
            lines.append(Line("warn" if hash_ok else "bad", f"{prefix}Not signed"))
        elif sig.ok is None:
            problems.append(
                f"{prefix}Signed ({sig.algorithm}) with key {_short(sig.key)}, which "
                "is not among your trusted keys: add it in Settings."
            )
        if verdict.hash is not None:
            state = {True: "matches", False: "DOES NOT match", None: "cannot be checked"}
            lines.append(
                Line(
                    "good" if verdict.hash.ok else "bad" if verdict.hash.ok is False else "warn",
                    f"{prefix}Hash {verdict.hash.value.hex()[:16]}\u2026 "
                    f"{state[verdict.hash.ok]} the image",
                )
            )
        if verdict.encrypted:
            lines.append(Line("warn", f"{prefix}Encrypted payload (the device decrypts it)"))
        problems.extend(verdict.problems)
        lines.extend(Line("warn", w) for w in verdict.warnings)
        if verdict.image is not None and snapshot is not None:
            relation = _device_lines(verdict, snapshot, lines, problems, prefix) or relation
    first = verdicts[0] if verdicts else None
    image = first.image if first else None
    valid = bool(verdicts) and all(v.valid and v.signature.ok for v in verdicts)
    ok = valid and not problems
    signed = bool(verdicts) and all(v.signature.ok for v in verdicts)
    unproven = (
        signed
        and not problems
        and any(v.kind is VerdictKind.ENCRYPTED_UNPROVEN for v in verdicts)
        and all(v.valid or v.kind is VerdictKind.ENCRYPTED_UNPROVEN for v in verdicts)
    )
    unsigned = unsigned and not any("too large" in p for p in problems)
    running = snapshot.running() if snapshot else None
    if ok and running is not None and first and first.hash and running.hash == first.hash.value:
        headline = "Signature valid: this image already runs on the device"
    elif ok:
        headline = (
            "Ready to upload: signature valid"
            if len(verdicts) == 1
            else f"Ready to upload: {len(verdicts)} images, all signatures valid"
        )
    elif unproven:
        headline = "Encrypted image: signature valid, contents not checked"
        lines.append(
            Line(
                "warn",
                "Without the decryption key the contents cannot be checked here; the "
                "bootloader checks them after decryption",
            )
        )
    elif unsigned:
        headline = "Unsigned image: only for development devices"
    else:
        headline = "This image cannot be uploaded"
    lines = [Line("bad", p) for p in dict.fromkeys(problems)] + lines
    return UploadCheck(
        path,
        verdicts,
        ok,
        unsigned and not ok,
        headline,
        tuple(lines),
        unproven=unproven,
        clear_payload=any(v.clear_payload for v in verdicts),
        version=image.header.version.smp_text if image else None,
        relation=relation,
        image_hash=first.hash.value if first and first.hash else None,
    )


def _short(key_id: str | None) -> str:
    if not key_id:
        return "unknown"
    return f"{key_id[:16]}\u2026" if len(key_id) > 20 else key_id


def _device_lines(
    verdict: Verdict, snapshot: DeviceSnapshot, lines: list[Line], problems: list[str], prefix: str
) -> VersionRelation | None:
    """Version against what runs and size against the upload slot."""
    assert verdict.image is not None
    index = verdict.image_index or 0
    version = verdict.image.header.version
    running = snapshot.running(index)
    relation: VersionRelation | None = None
    if running is not None and running.version:
        relation = compare_version(version, running.version)
        word = {
            VersionRelation.UPGRADE: "upgrade",
            VersionRelation.SAME: "same version",
            VersionRelation.DOWNGRADE: "DOWNGRADE",
            VersionRelation.UNKNOWN: "cannot be compared (not a version number)",
        }
        if relation is not None:
            tone = "good" if relation is VersionRelation.UPGRADE else "warn"
            lines.append(
                Line(
                    tone,
                    f"{prefix}Version {version.smp_text}: {word[relation]} "
                    f"(the device runs {running.version})",
                )
            )
            if relation is VersionRelation.DOWNGRADE and snapshot.identity.no_downgrade:
                problems.append("The bootloader refuses downgrades on this device.")
    else:
        lines.append(Line("good", f"{prefix}Version {version.smp_text}"))
    target = next((s for s in snapshot.slots if s.image == index and not s.active), None)
    if target is not None and target.size:
        fit = check_slot_fit(verdict.image, target.size, slot=target.slot)
        if fit.fits:
            lines.append(
                Line(
                    "good",
                    f"{prefix}Size: the {format_bytes(verdict.image.file_size)} file fits the "
                    f"{format_bytes(target.size)} slot ({format_bytes(fit.needed_bytes)} "
                    "there, with MCUboot's trailer)",
                )
            )
        elif fit.problem:
            problems.append(fit.problem[0].upper() + fit.problem[1:] + ".")
    same = [s for s in snapshot.slots if s.hash and verdict.hash and s.hash == verdict.hash.value]
    if same:
        lines.append(
            Line("warn", f"{prefix}The device already holds this image (slot {same[0].slot})")
        )
    return relation
