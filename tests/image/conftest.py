"""Images made by imgtool at test time: keys once per type, every image variant once per session.

All subprocesses run in a small thread pool that is closed before the first test body runs,
so the suite stays fast and leaves no threads behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
    result = subprocess.run([*imgtool_command(), *map(str, args)], capture_output=True,
                            text=True, timeout=60, check=False)
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
        proc = subprocess.run([sys.executable, str(driver)], input=argv, capture_output=True,
                              text=True, timeout=300, check=True)
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


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """One key pair per imgtool key type, plus a second ECDSA-P256 and Ed25519 key."""
    k = Keys(tmp_path_factory.mktemp("keys"))
    keygen: list[list[str | Path]] = [["keygen", "-k", k.priv(t), "-t", t] for t in KEY_TYPES]
    keygen += [["keygen", "-k", k.other(t), "-t", t] for t in ("ecdsa-p256", "ed25519",
                                                              "rsa-2048")]
    getpub: list[list[str | Path]] = [["getpub", "-k", k.priv(t), "-e", "pem", "-o", k.pub(t)]
                                      for t in KEY_TYPES if t != "x25519"]
    for job, result in zip([*keygen, *getpub], [*imgtool_batch(keygen), *imgtool_batch(getpub)],
                           strict=True):
        if result["rc"] != 0:
            raise RuntimeError(f"imgtool {job} failed")
    return k


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
    "p256_protected": ("ecdsa-p256", (
        "-s", "auto", "--boot-record", "app", "-d", "(1, 2.0.0+0)",
        "--custom-tlv", "0xa0", "0xdeadbeef", "--custom-tlv", "0x1a5", "hello",
    ), ".bin"),
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
}


@pytest.fixture(scope="session")
def payload_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5001-byte firmware payload (odd length, so encryption must pad it)."""
    path = tmp_path_factory.mktemp("payload") / "app.bin"
    path.write_bytes(bytes((i * 131 + 7) % 251 for i in range(5001)))
    return path


@pytest.fixture(scope="session")
def images(keys: Keys, payload_file: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, Case]:
    """Every image variant in SIGNED_CASES and ENCRYPTED_CASES, signed by imgtool."""
    out = tmp_path_factory.mktemp("images")
    cases: dict[str, Case] = {}
    jobs: list[list[str | Path]] = []
    base = ("-H", "0x200", "--pad-header", "-S", hex(SLOT), "-v", VERSION)
    for name, (key_type, extra, suffix) in SIGNED_CASES.items():
        path = out / f"{name}{suffix}"
        key_args = ("-k", str(keys.priv(key_type))) if key_type else ()
        jobs.append(["sign", *key_args, *base, *extra, payload_file, path])
        cases[name] = Case(name, path, key_type)
    for name, (key_type, enc_type, extra) in ENCRYPTED_CASES.items():
        path = out / f"{name}.bin"
        jobs.append(["sign", "-k", keys.priv(key_type), "-E", keys.priv(enc_type), *base,
                     *extra, payload_file, path])
        cases[name] = Case(name, path, key_type, encrypted=True)
    for job, result in zip(jobs, imgtool_batch(jobs), strict=True):
        if result["rc"] != 0:
            raise RuntimeError(f"imgtool {job} failed")
    return cases
