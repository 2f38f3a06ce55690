"""One pre-flight policy, three faces: for each case the policy's findings, the GUI's verdict
panel and the update workflow (which the CLI and jobs run) agree, on a real simulated board,
with images made by imgtool (plain, encrypted, and encrypted with --clear)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from app.gui.models.verdict import TONE, judge
from app.gui.session import DeviceSession
from app.gui.targets import DeviceTarget
from app.image.errors import ContentsUnproven
from app.image.keys import KeyStore
from app.image.package import verify_path
from app.sim.device import SimConfig
from app.transport import open_transport
from app.workflows.images import file_findings, load_update_images
from app.workflows.preflight import (
    Check,
    CheckKind,
    CheckSeverity,
    Choices,
    PreflightImage,
    blocking,
    preflight,
)
from app.workflows.progress import ProgressEvent
from app.workflows.update import UpdateOptions, read_device_state, run_update
from app.workflows.update_types import Mode, UpdateError
from tests.upload.conftest import ImageFactory, serve, sim_device
from tests.upload.test_version_unknown import GarbledVersionDevice

F, S = CheckKind, CheckSeverity
VALID = (F.SIGNATURE_VALID, S.OK)


@dataclass(frozen=True)
class Case:
    image_version: str
    device: dict[str, object]
    expected: list[tuple[CheckKind, CheckSeverity]]
    """The findings with the choices below (the workflow's)."""
    allow_downgrade: bool = False
    held: bool = False
    """The spare slot already holds the image."""
    size: int = 24 * 1024
    gui_expected: list[tuple[CheckKind, CheckSeverity]] = field(default_factory=list)
    """The GUI judges without flags (it asks instead); empty: the same as `expected`."""
    encrypted: bool = False
    clear: bool = False
    """With `encrypted`: imgtool's --clear (flagged encrypted, stored in clear)."""
    allow_unproven: bool = False
    allow_clear: bool = False
    garbled_version: bool = False
    """The device lists its running version as text that is no version number."""


CASES = {
    "upgrade": Case("1.1.0", {}, [VALID, (F.UPGRADE, S.OK), (F.FITS, S.OK)]),
    "same version": Case("1.0.0", {}, [VALID, (F.SAME_VERSION, S.WARN), (F.FITS, S.OK)]),
    "downgrade, not allowed": Case(
        "1.0.0",
        {"factory_version": "2.0.0"},
        [VALID, (F.DOWNGRADE, S.ASK), (F.FITS, S.OK)],
    ),
    "downgrade, allowed": Case(
        "1.0.0",
        {"factory_version": "2.0.0"},
        [VALID, (F.DOWNGRADE, S.WARN), (F.FITS, S.OK)],
        allow_downgrade=True,
        gui_expected=[VALID, (F.DOWNGRADE, S.ASK), (F.FITS, S.OK)],
    ),
    "downgrade, bootloader prevents it": Case(
        "1.0.0",
        {"factory_version": "2.0.0", "no_downgrade": True},
        [VALID, (F.DOWNGRADE_PREVENTED, S.BLOCK), (F.FITS, S.OK)],
        allow_downgrade=True,
    ),
    "too large for the slot": Case(
        "1.1.0",
        {"slot_size": 16 * 1024},
        [VALID, (F.UPGRADE, S.OK), (F.TOO_LARGE, S.BLOCK)],
    ),
    "spare slot already holds it": Case(
        "1.1.0", {}, [VALID, (F.UPGRADE, S.OK), (F.FITS, S.OK), (F.ALREADY_HELD, S.OK)], held=True
    ),
    "running version is not a version number": Case(
        "1.1.0", {}, [VALID, (F.VERSION_UNKNOWN, S.ASK), (F.FITS, S.OK)], garbled_version=True
    ),
    "running version is not a version number, allowed": Case(
        "1.1.0",
        {},
        [VALID, (F.VERSION_UNKNOWN, S.WARN), (F.FITS, S.OK)],
        allow_downgrade=True,
        garbled_version=True,
        gui_expected=[VALID, (F.VERSION_UNKNOWN, S.ASK), (F.FITS, S.OK)],
    ),
    "encrypted, contents unproven": Case(
        "1.1.0",
        {},
        [(F.ENCRYPTED_UNPROVEN, S.ASK), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
        encrypted=True,
    ),
    "encrypted, contents unproven, allowed": Case(
        "1.1.0",
        {},
        [(F.ENCRYPTED_UNPROVEN, S.WARN), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
        encrypted=True,
        allow_unproven=True,
        gui_expected=[(F.ENCRYPTED_UNPROVEN, S.ASK), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
    ),
    "imgtool sign --clear": Case(
        "1.1.0",
        {},
        [VALID, (F.CLEAR_PAYLOAD, S.ASK), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
        encrypted=True,
        clear=True,
    ),
    "imgtool sign --clear, allowed": Case(
        "1.1.0",
        {},
        [VALID, (F.CLEAR_PAYLOAD, S.WARN), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
        encrypted=True,
        clear=True,
        allow_clear=True,
        gui_expected=[VALID, (F.CLEAR_PAYLOAD, S.ASK), (F.UPGRADE, S.OK), (F.FITS, S.OK)],
    ),
}


def kinds(checks: tuple[Check, ...] | list[Check]) -> list[tuple[CheckKind, CheckSeverity]]:
    return [(c.kind, c.severity) for c in checks]


@pytest.mark.parametrize("name", CASES)
async def test_policy_gui_and_workflow_agree(name: str, images: ImageFactory) -> None:
    """The policy's findings for the case; the GUI shows each with its tone and enables or asks
    accordingly; the workflow refuses exactly when a finding blocks or asks, with its sentence
    (an encrypted image's, when it is loaded), and otherwise uploads and says the warnings."""
    case = CASES[name]
    path = images(case.image_version, case.size, encrypted=case.encrypted, clear=case.clear)
    keys = KeyStore()
    keys.add("test-key", case_key(images))
    choices = Choices(
        allow_downgrade=case.allow_downgrade,
        allow_encrypted_unproven=case.allow_unproven,
        allow_clear_payload=case.allow_clear,
        allow_unchecked_origin=True,
    )
    config = {"slot_size": 512 * 1024, **case.device}
    device = GarbledVersionDevice(_config(config)) if case.garbled_version else sim_device(**config)
    if case.held:
        device.install(1, path.read_bytes())
    async with serve("udp", device) as rig:
        # the policy, on what the workflow's pre-flight reads
        client = await rig.connect()
        state = await read_device_state(client)
        (verdict,) = verify_path(path, keys)
        checks = preflight(PreflightImage.from_verdict(verdict), state.facts(), choices)
        assert kinds(checks) == case.expected

        # the GUI: the verdict panel on what the device view reads
        target = DeviceTarget(spec=rig.spec, kind="udp", name=name, address=rig.spec[4:])
        session = DeviceSession(target, opener=lambda: open_transport(rig.spec))
        try:
            snapshot = await session.connect()
        finally:
            await session.close()
        shown = judge(path, (verdict,), snapshot)
        assert kinds(shown.checks) == (case.gui_expected or case.expected)
        for check in shown.checks:
            sentence = check.sentence[:1].upper() + check.sentence[1:]
            assert (TONE[check.severity], sentence) in [(ln.tone, ln.text) for ln in shown.lines]
        blocked = any(c.severity is S.BLOCK for c in shown.checks)
        assert shown.unproven is ((F.ENCRYPTED_UNPROVEN, S.ASK) in kinds(shown.checks))
        assert shown.ok is not (blocked or shown.unproven)
        # every question the Upload button asks is one of the policy's ASK findings, and back
        assert shown.questions == tuple(c for c in shown.checks if c.severity is S.ASK)

        # the workflow (the CLI's and a job's): refuses on a BLOCK or an unanswered ASK
        events: list[ProgressEvent] = []
        options = UpdateOptions(
            mode=Mode.NONE,
            allow_downgrade=case.allow_downgrade,
            allow_encrypted_unproven=case.allow_unproven,
            allow_clear_payload=case.allow_clear,
        )
        stopped = blocking(checks)
        if stopped and stopped[0].kind is F.ENCRYPTED_UNPROVEN:  # refused as it is loaded
            with pytest.raises(ContentsUnproven) as refused_early:
                load_update_images(path, keys)
            assert stopped[0].sentence in str(refused_early.value)
            return
        items = load_update_images(path, keys, allow_encrypted_unproven=case.allow_unproven)
        # the image's own findings: what the CLI and a job refuse or say before connecting
        before_connecting = [c for _label, c in file_findings(items, choices)]
        assert blocking(before_connecting) == [c for c in stopped if c in before_connecting]
        if stopped:
            with pytest.raises(UpdateError) as refused:
                await run_update(client, items, options, on_progress=events.append)
            assert stopped[0].sentence in str(refused.value)
            assert rig.device.counters["bytes_written"] == 0
        else:
            result = await run_update(client, items, options, on_progress=events.append)
            assert result.ok, result.message
            said = [e.message for e in events]
            for check in checks:
                if check.severity is S.WARN and check not in before_connecting:
                    assert f"warning: {check.sentence}" in said  # about the device: said here
            written = rig.device.counters["bytes_written"]
            assert (written == 0) is case.held  # a held image is not sent again


def case_key(images: ImageFactory) -> bytes:
    return images.public_key.read_bytes()


def _config(config: dict[str, object]) -> SimConfig:
    return SimConfig(**{"buf_size": 2048, "buf_count": 4, **config})  # type: ignore[arg-type]


def test_a_version_that_is_not_a_version_is_asked_about() -> None:
    """A running version that cannot be parsed may hide a downgrade: asked (GUI), refused
    without --allow-downgrade (workflow), a warning with it."""
    from app.image.model import ImageVersion
    from app.image.verify import VerdictKind
    from app.smp.groups.img import ImageSlot
    from app.workflows.preflight import PreflightDevice

    image = PreflightImage(0, "app.bin", VerdictKind.VALID, ImageVersion(1, 2, 0, 0), b"\x01" * 32)
    device = PreflightDevice(slots=[ImageSlot(slot=0, version="nightly", active=True)])
    (asked,) = [c for c in preflight(image, device, Choices()) if c.kind is F.VERSION_UNKNOWN]
    assert asked.severity is S.ASK and "'nightly', which is not a version number" in asked.sentence
    (told,) = [
        c
        for c in preflight(image, device, Choices(allow_downgrade=True))
        if c.kind is F.VERSION_UNKNOWN
    ]
    assert told.severity is S.WARN
