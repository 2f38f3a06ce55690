"""The verdict panel's content: the pre-flight's findings plus the verdict's details, as lines.

Pure (no Qt). `check_file` reads and hashes the file, so it runs on the core's worker thread,
never on the GUI thread; `judge` is the cheap part and is also re-run when the device changes.
What may be uploaded is decided once, by app/workflows/preflight.py; this module only renders
its findings (a tone per severity) and adds what the verdict shows without deciding anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.gui.targets import DeviceSnapshot
from app.image.keys import KeyStore
from app.image.package import verify_path
from app.image.verify import Verdict
from app.smp.groups.os import BootloaderMode
from app.workflows.preflight import (
    Check,
    CheckKind,
    CheckSeverity,
    Choices,
    PreflightDevice,
    PreflightImage,
    preflight,
)

TONE = {
    CheckSeverity.OK: "good",
    CheckSeverity.WARN: "warn",
    CheckSeverity.ASK: "warn",
    CheckSeverity.BLOCK: "bad",
}
ASKS_VERSION = (CheckKind.DOWNGRADE, CheckKind.VERSION_UNKNOWN)
"""ASK findings the upload button asks about with the downgrade question."""
ASKED = (*ASKS_VERSION, CheckKind.ENCRYPTED_UNPROVEN, CheckKind.CLEAR_PAYLOAD)
"""ASK findings the upload button turns into a question whose default is No (an unsigned
image has the development override's tick box instead)."""
ASKED_OF_A_VALID_IMAGE = (*ASKS_VERSION, CheckKind.CLEAR_PAYLOAD)
"""ASK findings that leave the image ready to upload (`ok`), once the user says yes."""


@dataclass(frozen=True, slots=True)
class Line:
    tone: str
    """"good", "warn" or "bad"."""
    text: str


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """Whether this file may be uploaded to this device, and why, in findings and sentences."""

    path: Path
    verdicts: tuple[Verdict, ...]
    ok: bool
    """May be uploaded (after the questions, if any)."""
    unsigned: bool
    """Intact but unsigned: only the explicit development override can let it through."""
    headline: str
    lines: tuple[Line, ...]
    version: str | None = None
    checks: tuple[Check, ...] = ()
    """The pre-flight's findings, every image."""
    image_hash: bytes | None = None
    unproven: bool = False
    """Encrypted, signature valid, contents not checked (no decryption key): uploaded only
    after the user's explicit yes to a question whose default is No."""

    @property
    def questions(self) -> tuple[Check, ...]:
        """The policy's ASK findings the Upload button asks about, each defaulting to No."""
        asks = (c for c in self.checks if c.severity is CheckSeverity.ASK)
        return tuple(c for c in asks if c.kind in ASKED)

    @property
    def nothing_to_send(self) -> bool:
        """Every image of the file already runs on the device: an upload would send nothing."""
        running = {c.image for c in self.checks if c.kind is CheckKind.ALREADY_RUNS}
        return bool(self.verdicts) and len(running) == len(self.verdicts)

    @property
    def clear_payload(self) -> bool:
        """An `imgtool sign --clear` image, meant for the primary slot: asked about first."""
        return any(c.kind is CheckKind.CLEAR_PAYLOAD for c in self.questions)


def check_file(path: Path, keys: KeyStore | None, snapshot: DeviceSnapshot | None) -> UploadCheck:
    """Verify `path` (slow: hashes and checks signatures) and judge it against the device."""
    return judge(path, tuple(verify_path(path, keys)), snapshot)


def device_facts(snapshot: DeviceSnapshot) -> PreflightDevice:
    """The pre-flight's view of the device, from what the GUI last read."""
    return PreflightDevice(
        slots=tuple(s for s in snapshot.slots if not s.empty),
        slot_sizes={(s.image, s.slot): s.size for s in snapshot.slots if s.size},
        no_downgrade=snapshot.identity.no_downgrade,
        overwrite_only=snapshot.identity.mode is BootloaderMode.OVERWRITE_ONLY,
    )


def judge(
    path: Path, verdicts: tuple[Verdict, ...], snapshot: DeviceSnapshot | None
) -> UploadCheck:
    device = device_facts(snapshot) if snapshot is not None else None
    checks: list[Check] = []
    findings: list[Line] = []
    details: list[Line] = []
    for verdict in verdicts:
        prefix = f"Image {verdict.image_index}: " if len(verdicts) > 1 else ""
        mine = preflight(PreflightImage.from_verdict(verdict), device, Choices())
        checks.extend(mine)
        findings.extend(Line(TONE[c.severity], prefix + capitalized(c.sentence)) for c in mine)
        details.extend(_detail_lines(verdict, prefix))
    blocked = any(c.severity is CheckSeverity.BLOCK for c in checks)
    needs_yes = [
        c
        for c in checks
        if c.severity is CheckSeverity.ASK and c.kind not in ASKED_OF_A_VALID_IMAGE
    ]
    ok = bool(verdicts) and not blocked and not needs_yes
    unsigned = _only(CheckKind.UNSIGNED, needs_yes) and not blocked
    unproven = _only(CheckKind.ENCRYPTED_UNPROVEN, needs_yes) and not blocked
    first = verdicts[0] if verdicts else None
    image = first.image if first else None
    lines = sorted(findings, key=lambda line: line.tone != "bad") + details
    return UploadCheck(
        path,
        verdicts,
        ok,
        unsigned,
        _headline(ok, unsigned, unproven, checks, len(verdicts)),
        tuple(lines),
        version=image.header.version.smp_text if image else None,
        checks=tuple(checks),
        image_hash=first.hash.value if first and first.hash else None,
        unproven=unproven,
    )


def _only(finding: CheckKind, checks: list[Check]) -> bool:
    return bool(checks) and all(c.kind is finding for c in checks)


def _headline(ok: bool, unsigned: bool, unproven: bool, checks: list[Check], count: int) -> str:
    if ok and any(c.kind is CheckKind.ALREADY_RUNS for c in checks):
        return "Signature valid: this image already runs on the device"
    if ok:
        if count > 1:
            return f"Ready to upload: {count} images, all signatures valid"
        return "Ready to upload: signature valid"
    if unproven:
        return "Encrypted image: signature valid, contents not checked"
    if unsigned:
        return "Unsigned image: only for development devices"
    return "This image cannot be uploaded"


def _detail_lines(verdict: Verdict, prefix: str) -> list[Line]:
    """What the verdict shows besides the decision: the hash, encryption, its warnings."""
    lines: list[Line] = []
    if verdict.hash is not None:
        state = {True: "matches", False: "DOES NOT match", None: "cannot be checked"}
        tone = {True: "good", False: "bad", None: "warn"}[verdict.hash.ok]
        text = f"Hash {verdict.hash.value.hex()[:16]}\u2026 {state[verdict.hash.ok]} the image"
        lines.append(Line(tone, prefix + text))
    if verdict.encrypted:
        lines.append(Line("warn", f"{prefix}Encrypted payload (the device decrypts it)"))
    lines.extend(Line("warn", prefix + w) for w in verdict.warnings)
    return lines


def capitalized(text: str) -> str:
    """A finding's sentence as the start of a line."""
    return text[:1].upper() + text[1:]
