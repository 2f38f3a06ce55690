"""dfu_application.zip packages: one verdict per image listed in manifest.json."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from image_helpers import Case, Keys, flipped, verify_json

from app.image import KeyStore, verify_path


def _package(
    path: Path,
    files: dict[str, bytes],
    entries: list[dict[str, Any]] | None,
    manifest: bytes | None = None,
) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        if manifest is not None:
            archive.writestr("manifest.json", manifest)
        elif entries is not None:
            archive.writestr("manifest.json", json.dumps({"format-version": 0, "files": entries}))
    return path


def _entry(index: int, file: str, version: str = "1.2.3+45", slot: int = 1) -> dict[str, Any]:
    # Zephyr/nRF Connect SDK spelling: strings for indexes, version_MCUBOOT.
    return {
        "type": "application",
        "image_index": str(index),
        "file": file,
        "version_MCUBOOT": version,
        "slot_index_secondary": str(slot),
    }


def test_each_image_in_a_package_gets_its_own_verdict(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A two-image package yields two verdicts with index, slot and the right validity each."""
    app = images["p256"].path.read_bytes()
    net = flipped(images["p256_protected"].path, tmp_path / "net.bin", 0x300).read_bytes()
    pkg = _package(
        tmp_path / "dfu_application.zip",
        {"app_update.bin": app, "net_core_app_update.bin": net},
        [_entry(0, "app_update.bin"), _entry(1, "net_core_app_update.bin", slot=3)],
    )
    store = KeyStore()
    store.add("root", keys.pub("ecdsa-p256"))
    app_v, net_v = verify_path(pkg, store)
    assert (app_v.image_index, app_v.slot, app_v.valid) == (0, 1, True)
    assert (net_v.image_index, net_v.slot, net_v.valid) == (1, 3, False)
    assert app_v.label.endswith(":app_update.bin")
    rc, report = verify_json(pkg, "--key", keys.pub("ecdsa-p256"))
    assert rc == 1 and [r["valid"] for r in report] == [True, False]
    assert [r["image_index"] for r in report] == [0, 1]


def test_package_of_valid_images_exits_zero(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """When every image in a package is valid the command succeeds; HEX members are read too."""
    pkg = _package(
        tmp_path / "ok.zip",
        {
            "a.bin": images["p256"].path.read_bytes(),
            "b.hex": images["p256_hex"].path.read_bytes(),
        },
        [_entry(0, "a.bin"), {"image_index": 1, "file": "b.hex", "version": "1.2.3+45"}],
    )
    rc, report = verify_json(pkg, "--key", keys.pub("ecdsa-p256"))
    assert rc == 0 and len(report) == 2 and all(r["valid"] for r in report)


def test_manifest_version_mismatch_is_a_problem(images: dict[str, Case], tmp_path: Path) -> None:
    """A manifest that claims another version than the header makes the image invalid."""
    pkg = _package(
        tmp_path / "v.zip",
        {"a.bin": images["p256"].path.read_bytes()},
        [_entry(0, "a.bin", version="2.0.0")],
    )
    (verdict,) = verify_path(pkg)
    assert not verdict.valid
    assert verdict.problems == (
        "The manifest says version 2.0.0+0 but the image header says 1.2.3+45.",
    )


def test_broken_packages_give_verdicts(images: dict[str, Case], tmp_path: Path) -> None:
    """No manifest, bad JSON, no entries, a missing member, a corrupt zip: a problem each."""
    data = images["p256"].path.read_bytes()
    cases = {
        "no manifest": _package(tmp_path / "a.zip", {"a.bin": data}, None),
        "not valid JSON": _package(tmp_path / "b.zip", {}, None, manifest=b"{nope"),
        "lists no images": _package(tmp_path / "c.zip", {}, [], manifest=b'{"files": []}'),
        "does not hold it": _package(tmp_path / "d.zip", {}, [_entry(0, "gone.bin")]),
        'needs a "file"': _package(tmp_path / "e.zip", {}, None, manifest=b'{"files": [{}]}'),
    }
    corrupt = tmp_path / "f.zip"
    corrupt.write_bytes(cases["no manifest"].read_bytes()[:60])
    cases["not a readable zip"] = corrupt
    for phrase, path in cases.items():
        verdicts = verify_path(path)
        assert verdicts and not any(v.valid for v in verdicts)
        assert phrase in " ".join(verdicts[0].problems), (phrase, verdicts[0].problems)
