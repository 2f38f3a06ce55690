"""`slotwise verify --json` agrees with `imgtool verify` on every image imgtool makes and judges."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from image_helpers import (
    CLEAR_CASES,
    SIGNED_CASES,
    Case,
    Keys,
    flipped,
    imgtool,
    imgtool_batch,
    run_all,
    truncated,
    verify_json,
)

from app.image import parse_image
from app.image.source import FileSource

# Images imgtool cannot judge: encrypted ones (it always reports an invalid hash), except
# those whose payload is stored in clear.
JUDGED = [*SIGNED_CASES, *CLEAR_CASES]
TAMPER_BASES = (
    "rsa2048",
    "p256",
    "p384",
    "ed25519",
    "ed25519_pure",
    "p256_protected",
    "ed25519_full",
    "p256_confirmed",
    "unsigned",
)


@dataclass(frozen=True)
class Check:
    """One comparison: an image file and the key both tools are given (None: hash only)."""

    id: str
    path: Path
    key: Path | None


def _tampered(case: Case, out: Path) -> list[tuple[str, Path]]:
    """The tampered copies of one image: header, body, protected TLV, signature, truncation."""
    with FileSource(case.path) as source:
        image = parse_image(source)
    h = image.header
    variants = [
        ("header", flipped(case.path, out / f"{case.name}.hdr.bin", 21)),  # minor version
        ("loadaddr", flipped(case.path, out / f"{case.name}.load.bin", 5)),
        ("body", flipped(case.path, out / f"{case.name}.body.bin", h.header_size + 77, 3)),
        (
            "body_last",
            flipped(case.path, out / f"{case.name}.body2.bin", h.header_size + h.image_size - 1, 7),
        ),
        (
            "truncated_half",
            truncated(case.path, out / f"{case.name}.half.bin", image.file_size // 2),
        ),
        ("truncated_body", truncated(case.path, out / f"{case.name}.cut.bin", h.header_size + 100)),
        ("empty", truncated(case.path, out / f"{case.name}.empty.bin", 0)),
    ]
    prot = [t for t in image.tlvs if t.protected]
    if prot:
        variants.append(
            ("protected_tlv", flipped(case.path, out / f"{case.name}.prot.bin", prot[0].offset, 1))
        )
    sigs = [t for t in image.tlvs if t.type in (0x20, 0x22, 0x23, 0x24)]
    if sigs:
        # Flip inside the signature value (the middle byte: r/s or the RSA block).
        sig = sigs[0]
        variants.append(
            (
                "signature",
                flipped(case.path, out / f"{case.name}.sig.bin", sig.offset + sig.length // 2, 2),
            )
        )
    return variants


@pytest.fixture(scope="session")
def checks(
    images: dict[str, Case], keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> list[Check]:
    """Every judged image, with its own key and without, plus tampered and wrong-key runs."""
    out = tmp_path_factory.mktemp("tampered")
    result: list[Check] = []
    for name in JUDGED:
        case = images[name]
        result.append(Check(f"{name}-nokey", case.path, None))
        if case.key_type:
            result.append(Check(f"{name}-key", case.path, keys.pub(case.key_type)))
            other = keys.other(case.key_type)
            if other.exists():
                result.append(Check(f"{name}-wrongkey", case.path, other))
            else:  # a key of another type is just as wrong
                wrong = "ed25519" if case.key_type != "ed25519" else "ecdsa-p256"
                result.append(Check(f"{name}-othertype", case.path, keys.pub(wrong)))
        elif name == "unsigned":
            result.append(Check(f"{name}-key", case.path, keys.pub("ecdsa-p256")))
    for name in TAMPER_BASES:
        case = images[name]
        key = keys.pub(case.key_type) if case.key_type else None
        for what, path in _tampered(case, out):
            result.append(Check(f"{name}-{what}-nokey", path, None))
            if key is not None:
                result.append(Check(f"{name}-{what}-key", path, key))
    hex_text = images["p256_hex"].path.read_text().splitlines()
    # Change one payload data digit of a record deep in the file (its checksum then fails too).
    line = hex_text[40]
    hex_text[40] = line[:20] + ("0" if line[20] != "0" else "1") + line[21:]
    bad_hex = out / "p256_hex.tampered.hex"
    bad_hex.write_text("\n".join(hex_text) + "\n")
    result.append(Check("p256_hex-tampered-key", bad_hex, keys.pub("ecdsa-p256")))
    result.append(Check("p256_hex-tampered-nokey", bad_hex, None))
    return result


def _verify_argv(check: Check) -> list[str]:
    return ["verify", *(["-k", str(check.key)] if check.key else []), str(check.path)]


@pytest.fixture(scope="session")
def imgtool_verdicts(checks: list[Check]) -> dict[str, bool]:
    """imgtool's verdict (exit status 0) for every check, from its own CLI in batch processes."""
    results = imgtool_batch([_verify_argv(c) for c in checks])
    return {c.id: r["rc"] == 0 for c, r in zip(checks, results, strict=True)}


def test_batch_driver_matches_the_imgtool_console_script(
    checks: list[Check], imgtool_verdicts: dict[str, bool]
) -> None:
    """A sample of checks run through the real `imgtool` script gives the batch verdicts."""
    sample = checks[::15]
    got: dict[str, bool] = {}

    def judge(check: Check) -> Callable[[], object]:
        return lambda: got.__setitem__(
            check.id, imgtool(*_verify_argv(check), check=False).returncode == 0
        )

    run_all([judge(c) for c in sample])
    assert got == {c.id: imgtool_verdicts[c.id] for c in sample}
    assert len(set(got.values())) == 2


def test_every_imgtool_verdict_matches(
    checks: list[Check], imgtool_verdicts: dict[str, bool]
) -> None:
    """For every image, key and tampered copy, slotwise's `valid` and exit status match imgtool."""
    disagreements = []
    for check in checks:
        extra = ["--key", str(check.key)] if check.key else []
        rc, report = verify_json(check.path, *extra)
        assert len(report) == 1
        ours = report[0]["valid"]
        assert rc == (0 if ours else 1), check.id
        if ours != imgtool_verdicts[check.id]:
            disagreements.append((check.id, ours, report[0]["problems"]))
    assert not disagreements


def test_agreement_set_covers_valid_and_invalid(
    checks: list[Check], imgtool_verdicts: dict[str, bool]
) -> None:
    """The comparison really exercises both outcomes (guards against a vacuous comparison)."""
    assert sum(imgtool_verdicts.values()) >= len(JUDGED) * 2 - 5
    assert len(checks) - sum(imgtool_verdicts.values()) >= 60


def test_hash_value_matches_imgtool_digest(images: dict[str, Case], keys: Keys) -> None:
    """The reported hash is the digest imgtool prints for the image."""
    for name in ("p256", "p384", "ed25519_sha512", "unsigned_sha384", "p256_hex"):
        case = images[name]
        printed = imgtool("verify", case.path).stdout
        _rc, report = verify_json(case.path)
        assert report[0]["hash"]["value"] in printed, name
        assert report[0]["version"] == "1.2.3+45"


def test_subprocess_run_matches_imgtool(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """`python -m app verify --json` as a real process gives imgtool's verdicts and exit codes."""
    good = images["rsa2048"].path
    bad = flipped(good, tmp_path / "bad.bin", 600)
    for path, expect in ((good, True), (bad, False)):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "verify",
                "--json",
                "--key",
                str(keys.pub("rsa-2048")),
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
        theirs = imgtool("verify", "-k", keys.priv("rsa-2048"), path, check=False).returncode
        assert proc.returncode == (0 if expect else 1), proc.stderr
        assert (theirs == 0) is expect
        assert json.loads(proc.stdout)[0]["valid"] is expect
        assert "Traceback" not in proc.stderr
