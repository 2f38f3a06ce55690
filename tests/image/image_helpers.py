"""Shared by the image tests: imgtool runners, the image catalogue, the CLI in-process, bit flips.

Lives outside conftest.py so test modules can import it by a name no other test directory uses.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.cli import main

KEY_TYPES = ("rsa-2048", "rsa-3072", "ecdsa-p256", "ecdsa-p384", "ed25519", "x25519")
SLOT = 0x40000
VERSION = "1.2.3+45"


def imgtool_command() -> list[str]:
    """imgtool as a subprocess: the venv's console script if present, else `-m imgtool.main`."""
    script = Path(sys.executable).with_name("imgtool")
    if script.exists():
        return [str(script)]
    found = shutil.which("imgtool")
    return [found] if found else [sys.executable, "-m", "imgtool.main"]


def imgtool(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one imgtool command; raise with its stderr when `check` and it fails."""
    result = subprocess.run(
        [*imgtool_command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"imgtool {' '.join(map(str, args))} failed: {result.stderr}")
    return result


def imgtool_batch(jobs: Sequence[Sequence[str | Path]]) -> list[dict[str, Any]]:
    """Run imgtool command lines in two batch processes (see imgtool_batch.py); one result each."""
    driver = Path(__file__).with_name("imgtool_batch.py")
    halves = [list(jobs[0::2]), list(jobs[1::2])]
    results: list[list[dict[str, Any]]] = [[], []]

    def run_half(i: int) -> None:
        argv = json.dumps([[str(a) for a in job] for job in halves[i]])
        proc = subprocess.run(
            [sys.executable, str(driver)],
            input=argv,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        results[i] = json.loads(proc.stdout)

    run_all([lambda: run_half(0), lambda: run_half(1)])
    merged: list[dict[str, Any]] = []
    for i in range(len(jobs)):
        merged.append(results[i % 2][i // 2])
    return merged


def run_all(jobs: Sequence[Callable[[], object]]) -> None:
    """Run independent imgtool jobs in parallel (2 cores; subprocesses release the GIL)."""
    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 2) * 2)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


@dataclass(frozen=True)
class Keys:
    """Private PEMs per type (`priv`), their public PEMs (`pub`), and a second key per type."""

    directory: Path

    def priv(self, key_type: str) -> Path:
        return self.directory / f"{key_type}.pem"

    def pub(self, key_type: str) -> Path:
        return self.directory / f"{key_type}.pub.pem"

    def other(self, key_type: str) -> Path:
        """A second key of the same type: the "wrong key" for tamper tests."""
        return self.directory / f"{key_type}.other.pem"


@dataclass(frozen=True)
class Case:
    """One image made by imgtool: the key type that signed it (None: unsigned)."""

    name: str
    path: Path
    key_type: str | None
    encrypted: bool = False


# name: (signing key type or None, extra imgtool sign arguments, output suffix)
SIGNED_CASES: dict[str, tuple[str | None, tuple[str, ...], str]] = {
    "rsa2048": ("rsa-2048", (), ".bin"),
    "rsa3072": ("rsa-3072", (), ".bin"),
    "p256": ("ecdsa-p256", (), ".bin"),
    "p384": ("ecdsa-p384", (), ".bin"),
    "ed25519": ("ed25519", (), ".bin"),
    "ed25519_pure": ("ed25519", ("--pure",), ".bin"),
    "ed25519_sha512": ("ed25519", ("--sha", "512"), ".bin"),
    "unsigned": (None, (), ".bin"),
    "unsigned_sha384": (None, ("--sha", "384"), ".bin"),
    "unsigned_sha512": (None, ("--sha", "512"), ".bin"),
    "p256_full": ("ecdsa-p256", ("--public-key-format", "full"), ".bin"),
    "rsa2048_full": ("rsa-2048", ("--public-key-format", "full"), ".bin"),
    "ed25519_full": ("ed25519", ("--public-key-format", "full"), ".bin"),
    "p384_full": ("ecdsa-p384", ("--public-key-format", "full"), ".bin"),
    "p256_padsig": ("ecdsa-p256", ("--pad-sig",), ".bin"),
    "p256_protected": (
        "ecdsa-p256",
        (
            "-s",
            "auto",
            "--boot-record",
            "app",
            "-d",
            "(1, 2.0.0+0)",
            "--custom-tlv",
            "0xa0",
            "0xdeadbeef",
            "--custom-tlv",
            "0x1a5",
            "hello",
        ),
        ".bin",
    ),
    "rsa2048_seccnt": ("rsa-2048", ("-s", "7"), ".bin"),
    "ed25519_pure_protected": ("ed25519", ("--pure", "-s", "3", "--boot-record", "b"), ".bin"),
    "p256_padded": ("ecdsa-p256", ("--pad",), ".bin"),
    "p256_confirmed": ("ecdsa-p256", ("--pad", "--confirm", "--align", "4"), ".bin"),
    "p384_test_align16": ("ecdsa-p384", ("--pad", "--test", "--max-align", "16"), ".bin"),
    "unsigned_confirmed": (None, ("--pad", "--confirm"), ".bin"),
    "p256_hex": ("ecdsa-p256", ("-x", "0x10000"), ".hex"),
    "ed25519_padded_hex": ("ed25519", ("--pad", "--confirm", "-x", "0x0"), ".hex"),
    "p256_ramload": ("ecdsa-p256", ("-L", "0x20000000"), ".bin"),
    "p256_romfixed": ("ecdsa-p256", ("-F", "0x10000", "--non-bootable"), ".bin"),
}

# name: (signing key type, encryption key type, extra arguments)
ENCRYPTED_CASES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "enc_x25519": ("ed25519", "x25519", ()),
    "enc_x25519_aes256": ("ed25519", "x25519", ("--encrypt-keylen", "256")),
    "enc_x25519_sha512": ("ed25519", "x25519", ("--hmac-sha", "512")),
    "enc_p256": ("ecdsa-p256", "ecdsa-p256", ()),
    "enc_p256_aes256": ("ecdsa-p256", "ecdsa-p256", ("--encrypt-keylen", "256")),
    "enc_rsa2048": ("rsa-2048", "rsa-2048", ()),
    "enc_rsa2048_aes256": ("rsa-2048", "rsa-2048", ("--encrypt-keylen", "256")),
    "enc_p256_clear": ("ecdsa-p256", "ecdsa-p256", ("--clear",)),
    "enc_x25519_pure": ("ed25519", "x25519", ("--pure",)),
}
CLEAR_CASES = ("enc_p256_clear",)
"""Marked encrypted but stored in clear: imgtool can judge these, so they join the comparison."""


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    """`slotwise ARGS` in-process: (exit status, stdout, stderr); usage errors give 2."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse reports usage errors this way
            rc = int(exc.code) if isinstance(exc.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


def verify_json(path: Path, *extra: str | Path) -> tuple[int, list[dict[str, Any]]]:
    """`slotwise verify --json PATH ...` parsed."""
    rc, out, _ = run_cli("verify", "--json", path, *extra)
    return rc, json.loads(out)


def flipped(src: Path, dst: Path, offset: int, bit: int = 0) -> Path:
    """A copy of `src` with one bit flipped at `offset` (negative counts from the end)."""
    data = bytearray(src.read_bytes())
    data[offset] ^= 1 << bit
    dst.write_bytes(bytes(data))
    return dst


def truncated(src: Path, dst: Path, length: int) -> Path:
    dst.write_bytes(src.read_bytes()[:length])
    return dst


def with_unprotected_tlv(src: Path, dst: Path, tlv_type: int, value: bytes) -> Path:
    """A copy of `src` with one TLV appended to its unprotected area (outside the signature).

    The area's total is updated, so the file stays well formed: only the TLV is foreign.
    """
    data = bytearray(src.read_bytes())
    header_size, protected_size, image_size = struct.unpack_from("<HHI", data, 8)
    info = header_size + image_size + protected_size
    magic, total = struct.unpack_from("<HH", data, info)
    assert magic == 0x6907, "not an imgtool image"
    entry = struct.pack("<HH", tlv_type, len(value)) + value
    struct.pack_into("<HH", data, info, magic, total + len(entry))
    data[info + total : info + total] = entry
    dst.write_bytes(bytes(data))
    return dst


def with_payload_byte(src: Path, dst: Path, index: int, value: int) -> Path:
    """A copy of `src` whose payload byte `index` (from the payload start) is set to `value`."""
    data = bytearray(src.read_bytes())
    header_size = struct.unpack_from("<H", data, 8)[0]
    data[header_size + index] = value
    dst.write_bytes(bytes(data))
    return dst
