"""The audit's attack files (issue #12), made from real imgtool output: no tool of ours calls them
valid, and `upload` and `flash` refuse them before a byte reaches the device.

Each attack changes payload bytes of a signed image and then tries to make the verifier skip
the hash: an unprotected ENC_* TLV appended to a clear-flagged image (the unprotected area is
outside the signature), an `imgtool sign --clear` image, and a protected custom TLV whose
type is turned into ENC_RSA2048 (0x30).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from image_helpers import (
    Case,
    Keys,
    imgtool_batch,
    run_cli,
    verify_json,
    with_payload_byte,
    with_unprotected_tlv,
)

from app.image.model import TlvType
from tests.upload.conftest import ThreadedSim, sim_device

ENC_TLVS = (
    TlvType.ENC_RSA2048,
    TlvType.ENC_KW,
    TlvType.ENC_EC256,
    TlvType.ENC_X25519,
    TlvType.ENC_X25519_SHA512,
)


def _protected_type_flipped(src: Path, dst: Path, new_type: int) -> Path:
    """A copy of `src` whose first protected TLV has type `new_type` (its bytes are hashed)."""
    data = bytearray(src.read_bytes())
    header_size, protected_size, image_size = struct.unpack_from("<HHI", data, 8)
    assert protected_size, "needs a protected TLV area"
    struct.pack_into("<H", data, header_size + image_size + 4, new_type)
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def attacks(
    images: dict[str, Case], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, str]]:
    """Attack name -> (file, the key type whose public key "trusts" it)."""
    out = tmp_path_factory.mktemp("attacks")
    made: dict[str, tuple[Path, str]] = {}
    tampered = with_payload_byte(images["p256"].path, out / "p256.tampered.bin", 100, 0x42)
    for tlv in ENC_TLVS:
        path = with_unprotected_tlv(tampered, out / f"enc_tlv_{tlv.name}.bin", tlv, bytes(80))
        made[f"enc_tlv_{tlv.name}"] = (path, "ecdsa-p256")
    made["clear_tampered"] = (
        with_payload_byte(images["enc_p256_clear"].path, out / "clear.tampered.bin", 100, 0x42),
        "ecdsa-p256",
    )
    made["protected_type_0x30"] = (
        _protected_type_flipped(images["p256_protected"].path, out / "prot30.bin", 0x30),
        "ecdsa-p256",
    )
    return made


ATTACKS = [f"enc_tlv_{t.name}" for t in ENC_TLVS] + ["clear_tampered", "protected_type_0x30"]


def test_imgtool_rejects_every_attack_file(
    attacks: dict[str, tuple[Path, str]], keys: Keys
) -> None:
    """The reference: `imgtool verify` says each attack file has an invalid hash."""
    jobs = [["verify", "-k", keys.priv(kind), path] for path, kind in attacks.values()]
    for name, result in zip(attacks, imgtool_batch(jobs), strict=True):
        assert result["rc"] != 0, name
        assert "invalid hash" in result["stdout"] + result["stderr"], name


@pytest.mark.parametrize("name", ATTACKS)
def test_verify_never_calls_an_attack_valid(
    name: str, attacks: dict[str, tuple[Path, str]], keys: Keys
) -> None:
    """`verify --key` exits 1 with valid false; with or without a key, never "valid"."""
    path, kind = attacks[name]
    rc, (item,) = verify_json(path, "--key", keys.pub(kind))
    assert rc == 1 and item["valid"] is False
    assert item["verdict"] in ("invalid", "encrypted-unproven")
    rc, (item,) = verify_json(path)
    assert rc == 1 and item["valid"] is False


@pytest.mark.parametrize("name", ["enc_tlv_ENC_X25519", "protected_type_0x30"])
def test_enc_tlv_on_a_clear_image_does_not_make_it_encrypted(
    name: str, attacks: dict[str, tuple[Path, str]], keys: Keys
) -> None:
    """The header flags decide "encrypted": the payload hash is checked and found wrong."""
    path, kind = attacks[name]
    _rc, (item,) = verify_json(path, "--key", keys.pub(kind))
    assert item["verdict"] == "invalid" and item["encrypted"] is False
    assert item["hash"]["ok"] is False


@pytest.mark.parametrize("name", ATTACKS)
def test_upload_with_key_refuses_before_sending(
    name: str, attacks: dict[str, tuple[Path, str]], keys: Keys
) -> None:
    """`upload --key` exits 1 with one line, and the device never hears a request."""
    path, kind = attacks[name]
    with ThreadedSim(sim_device()) as sim:
        rc, out, err = run_cli("-d", sim.spec, "upload", path, "--key", keys.pub(kind))
        assert sim.device.counters["requests"] == 0
    assert rc == 1 and "uploaded" not in out
    assert "Traceback" not in err and err.startswith("slotwise: ")


@pytest.mark.parametrize("name", ATTACKS)
def test_flash_refuses_before_sending(
    name: str, attacks: dict[str, tuple[Path, str]], keys: Keys, tmp_path: Path
) -> None:
    """`flash --key --device` exits 1, writes no PASS row, and sends nothing."""
    path, kind = attacks[name]
    report = tmp_path / "rows.csv"
    with ThreadedSim(sim_device()) as sim:
        rc, out, err = run_cli(
            "flash", path, "--key", keys.pub(kind), "--device", sim.spec, "--report", report
        )
        assert sim.device.counters["requests"] == 0
    assert rc == 1 and "PASS" not in out
    assert not report.exists() or "PASS" not in report.read_text()
    assert "Traceback" not in err and err.startswith("slotwise: ")


def test_encrypted_upload_needs_the_explicit_flag(images: dict[str, Case], keys: Keys) -> None:
    """A real encrypted image (signature valid, contents unproven) is refused by `upload`
    unless --allow-unverified-encrypted is given; then it goes, with a warning."""
    path = images["enc_p256"].path
    with ThreadedSim(sim_device()) as sim:
        rc, _out, err = run_cli("-d", sim.spec, "upload", path, "--key", keys.pub("ecdsa-p256"))
        assert rc == 1 and sim.device.counters["requests"] == 0
        assert "encrypted" in err and "--allow-unverified-encrypted" in err
        rc, out, err = run_cli(
            "-d",
            sim.spec,
            "upload",
            path,
            "--key",
            keys.pub("ecdsa-p256"),
            "--mode",
            "none",
            "--allow-unverified-encrypted",
        )
        assert sim.device.counters["requests"] > 0
    assert rc == 0 and "uploaded (encrypted: its contents were not checked here" in out
    assert "verified" not in out
    assert "contents were NOT checked" in err


def test_flash_job_key_allows_an_encrypted_image(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A job file needs `allow_unverified_encrypted = true` to flash an encrypted image."""
    image = images["enc_p256"].path
    job = tmp_path / "job.toml"
    base = f'[job]\nimage = "{image}"\nkeys = ["{keys.pub("ecdsa-p256")}"]\nmode = "none"\n'
    job.write_text(base)
    with ThreadedSim(sim_device()) as sim:
        rc, out, err = run_cli("flash", "--job", job, "--device", sim.spec)
        assert rc == 1 and sim.device.counters["requests"] == 0
        assert "allow_unverified_encrypted = true" in err
        job.write_text(base + "allow_unverified_encrypted = true\n")
        rc, out, err = run_cli("flash", "--job", job, "--device", sim.spec)
        assert sim.device.counters["requests"] > 0
    assert rc == 0 and "PASS" in out and "contents were NOT checked" in err


@pytest.mark.parametrize(
    ("tlv_type", "why"),
    [(0x25, "allows only an Ed25519 signature"), (0x0225, "added after signing")],
)
def test_unsigned_tlvs_cannot_change_the_verdict(
    tlv_type: int, why: str, images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """A SIG_PURE appended to an ECDSA image, or a TLV MCUboot allows only in the signed area
    (its allow list), makes the image invalid, as imgtool and MCUboot judge it."""
    path = with_unprotected_tlv(images["p256"].path, tmp_path / "x.bin", tlv_type, b"")
    rc, (item,) = verify_json(path, "--key", keys.pub("ecdsa-p256"))
    assert rc == 1 and item["verdict"] == "invalid"
    assert any(why in p for p in item["problems"]), item["problems"]
    (result,) = imgtool_batch([["verify", "-k", keys.pub("ecdsa-p256"), path]])
    assert result["rc"] != 0


def test_clear_payload_image_needs_its_own_yes(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """An `imgtool sign --clear` image is valid but meant for the primary slot: `upload` and
    `flash` refuse it before sending unless told (--allow-clear-payload, or the job key)."""
    path = images["enc_p256_clear"].path
    key = keys.pub("ecdsa-p256")
    with ThreadedSim(sim_device()) as sim:
        rc, _out, err = run_cli("-d", sim.spec, "upload", path, "--key", key)
        assert rc == 1 and "primary slot" in err and "--allow-clear-payload" in err
        rc, _out, err = run_cli("flash", path, "--key", key, "--device", sim.spec)
        assert rc == 1 and "primary slot" in err
        assert sim.device.counters["requests"] == 0
        rc, out, err = run_cli(
            "-d", sim.spec, "upload", path, "--key", key, "--mode", "none", "--allow-clear-payload"
        )
        assert rc == 0 and "uploaded" in out and "warning" in err and "primary slot" in err
    job = tmp_path / "job.toml"
    job.write_text(
        f'[job]\nimage = "{path}"\nkeys = ["{key}"]\nmode = "none"\nallow_clear_payload = true\n'
    )
    with ThreadedSim(sim_device()) as sim:
        rc, out, _err = run_cli("flash", "--job", job, "--device", sim.spec)
    assert rc == 0 and "PASS" in out


def test_encrypted_flag_set_on_a_signed_image(
    images: dict[str, Case], keys: Keys, tmp_path: Path
) -> None:
    """Setting IMAGE_F_ENCRYPTED_AES128 on a signed clear image (the header is hashed, so the
    hash fails): without an ENC_* TLV it is invalid; with one appended it is at most
    encrypted-unproven, never valid, and `upload` refuses it without the explicit choice."""
    data = bytearray(images["p256"].path.read_bytes())
    data[16] |= 0x04
    flagged = tmp_path / "flagged.bin"
    flagged.write_bytes(bytes(data))
    key = keys.pub("ecdsa-p256")
    rc, (item,) = verify_json(flagged, "--key", key)
    assert rc == 1 and item["verdict"] == "invalid"
    assert any("no ENC_* key TLV" in p for p in item["problems"])
    with_enc = with_unprotected_tlv(flagged, tmp_path / "with_enc.bin", 0x32, bytes(113))
    rc, (item,) = verify_json(with_enc, "--key", key)
    assert rc == 1 and item["verdict"] == "encrypted-unproven" and item["valid"] is False
    with ThreadedSim(sim_device()) as sim:
        rc, _out, _err = run_cli("-d", sim.spec, "upload", with_enc, "--key", key)
        assert rc == 1 and sim.device.counters["requests"] == 0
