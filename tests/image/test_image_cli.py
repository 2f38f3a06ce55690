"""`slotwise verify`: exit codes, the five-second text report, and the --json fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import Case, Keys, run_cli, verify_json

from app.image import KeyStore


def test_json_has_every_contract_field(images: dict[str, Case], keys: Keys) -> None:
    """--json prints a list with one object per image holding every documented field."""
    rc, report = verify_json(images["p256_protected"].path, "--key", keys.pub("ecdsa-p256"))
    assert rc == 0 and len(report) == 1
    item = report[0]
    assert item["valid"] is True and item["encrypted"] is False
    assert item["verdict"] == "valid" and item["clear_payload"] is False
    assert item["hash"]["algorithm"] == "sha256" and item["hash"]["ok"] is True
    assert len(bytes.fromhex(item["hash"]["value"])) == 32
    assert item["signature"] == {"algorithm": "ecdsa-p256", "ok": True, "key": "ecdsa-p256.pub"}
    assert item["version"] == "1.2.3+45"
    assert (item["header_size"], item["image_size"], item["load_address"]) == (512, 5001, 0)
    assert item["problems"] == []
    tlvs = {t["name"]: t for t in item["tlvs"]}
    assert tlvs["SEC_CNT"] == {"type": 0x50, "name": "SEC_CNT", "length": 4, "protected": True}
    assert tlvs["SHA256"]["protected"] is False and tlvs["KEYHASH"]["length"] == 32
    assert item["security_counter"] == 0x01020003
    assert item["dependencies"] == [{"image_id": 1, "min_version": "2.0.0+0"}]
    assert item["boot_record"]["1"] == "app"
    assert {"type": 0xA0, "value": "deadbeef"} in item["custom_tlvs"]


def test_json_without_key_reports_signature_unchecked(images: dict[str, Case]) -> None:
    """Without --key the signature's ok is null and key is the image's key hash."""
    rc, (item,) = verify_json(images["ed25519"].path)
    assert rc == 0 and item["valid"] is True
    assert item["signature"]["ok"] is None and item["signature"]["algorithm"] == "ed25519"
    assert len(item["signature"]["key"]) == 64


def test_json_for_junk_keeps_the_shape(tmp_path: Path) -> None:
    """A random file still gives one object with valid false, null hash fields and a problem."""
    junk = tmp_path / "random.bin"
    junk.write_bytes(bytes(range(256)) * 3)
    rc, (item,) = verify_json(junk)
    assert rc == 1 and item["valid"] is False
    assert item["hash"] == {"algorithm": None, "value": None, "ok": None}
    assert item["tlvs"] == [] and "magic" in item["problems"][0]


def test_text_report_is_short_and_leads_with_the_verdict(
    images: dict[str, Case], keys: Keys
) -> None:
    """The human report starts with VALID/INVALID and the reason, in a handful of lines."""
    rc, out, err = run_cli("verify", images["rsa2048"].path, "--key", keys.pub("rsa-2048"))
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].endswith(": VALID") and len(lines) <= 8
    assert "signature  rsa-2048-pss OK, key rsa-2048.pub" in out
    rc, out, _ = run_cli("verify", images["rsa2048"].path, "--key", keys.pub("ecdsa-p256"))
    assert rc == 1
    first, second = out.splitlines()[:2]
    assert first.endswith(": INVALID") and "not among the trusted keys" in second


def test_encrypted_report_and_decrypt_key(images: dict[str, Case], keys: Keys) -> None:
    """Without --decrypt-key an encrypted image is encrypted-unproven (exit 1, valid false);
    with it the hash is checked and the image is valid."""
    path = images["enc_x25519"].path
    rc, out, _ = run_cli("verify", path, "--key", keys.pub("ed25519"))
    assert rc == 1 and "not checked (encrypted)" in out and "encrypted  yes" in out
    assert out.splitlines()[0].endswith(": ENCRYPTED, CONTENTS UNPROVEN \u2014 signature OK")
    rc, (item,) = verify_json(path, "--key", keys.pub("ed25519"))
    assert rc == 1 and item["valid"] is False and item["verdict"] == "encrypted-unproven"
    assert item["signature"]["ok"] is True and item["hash"]["ok"] is None
    rc, (item,) = verify_json(
        path, "--key", keys.pub("ed25519"), "--decrypt-key", keys.priv("x25519")
    )
    assert rc == 0 and item["hash"]["ok"] is True and item["decrypted"] is True
    assert item["verdict"] == "valid"


def test_without_key_the_verdict_says_signature_not_checked(images: dict[str, Case]) -> None:
    """Without --key a matching hash reads "HASH OK \u2014 signature not checked": exit 0, JSON
    valid true, verdict unsigned-check."""
    rc, out, _ = run_cli("verify", images["p256"].path)
    assert rc == 0
    assert out.splitlines()[0].endswith(": HASH OK \u2014 signature not checked")
    assert "VALID" not in out.splitlines()[0]
    rc, (item,) = verify_json(images["p256"].path)
    assert rc == 0 and item["valid"] is True and item["verdict"] == "unsigned-check"


def test_keystore_directory_is_used(images: dict[str, Case], keys: Keys, tmp_path: Path) -> None:
    """--keystore DIR trusts the keys the GUI saved there."""
    KeyStore(tmp_path / "trusted").add("factory", keys.priv("ecdsa-p384"))
    rc, (item,) = verify_json(images["p384"].path, "--keystore", tmp_path / "trusted")
    assert rc == 0 and item["signature"]["key"] == "factory"


@pytest.mark.parametrize(
    "args",
    [
        ["verify"],
        ["verify", "--bogus", "x.bin"],
        ["verify", "x.bin", "--key"],
    ],
)
def test_usage_errors_exit_two(args: list[str]) -> None:
    """Missing FILE or bad options exit with status 2, one line pointing at --help."""
    rc, _out, err = run_cli(*args)
    assert rc == 2 and err.startswith("slotwise: ") and err.endswith(" --help`)\n")
    assert err.count("\n") == 1


def test_unreadable_key_files_exit_two(images: dict[str, Case], tmp_path: Path) -> None:
    """A --key, --decrypt-key or --keystore that cannot be used is a usage error with a sentence."""
    path = images["p256"].path
    for extra in (
        ["--key", str(tmp_path / "missing.pem")],
        ["--decrypt-key", str(tmp_path / "missing.pem")],
        ["--keystore", str(tmp_path / "nodir")],
    ):
        rc, out, err = run_cli("verify", path, *extra)
        assert rc == 2 and out == "" and err.startswith("slotwise: argument --")
        assert "Traceback" not in err and err.count("\n") == 1


def test_missing_image_is_a_usage_error(tmp_path: Path) -> None:
    """A missing file or a directory given as the image exits 2 (README's rule), one line."""
    for target, words in ((tmp_path / "nope.bin", "does not exist"), (tmp_path, "directory")):
        rc, out, err = run_cli("verify", target)
        assert rc == 2 and out == "" and words in err and err.count("\n") == 1
