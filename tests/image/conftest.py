"""Images made by imgtool at test time: keys once per type, every image variant once per session.

imgtool runs in two batch processes (see imgtool_batch.py) driven from a small thread pool that
is closed before the first test body runs, so the suite stays fast and leaves no threads behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from image_helpers import (
    ENCRYPTED_CASES,
    KEY_TYPES,
    SIGNED_CASES,
    SLOT,
    VERSION,
    Case,
    Keys,
    imgtool_batch,
)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """One key pair per imgtool key type, plus a second ECDSA-P256 and Ed25519 key."""
    k = Keys(tmp_path_factory.mktemp("keys"))
    keygen: list[list[str | Path]] = [["keygen", "-k", k.priv(t), "-t", t] for t in KEY_TYPES]
    keygen += [["keygen", "-k", k.other(t), "-t", t] for t in ("ecdsa-p256", "ed25519", "rsa-2048")]
    getpub: list[list[str | Path]] = [
        ["getpub", "-k", k.priv(t), "-e", "pem", "-o", k.pub(t)] for t in KEY_TYPES if t != "x25519"
    ]
    for job, result in zip(
        [*keygen, *getpub], [*imgtool_batch(keygen), *imgtool_batch(getpub)], strict=True
    ):
        if result["rc"] != 0:
            raise RuntimeError(f"imgtool {job} failed")
    return k


@pytest.fixture(scope="session")
def payload_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5001-byte firmware payload (odd length, so encryption must pad it)."""
    path = tmp_path_factory.mktemp("payload") / "app.bin"
    path.write_bytes(bytes((i * 131 + 7) % 251 for i in range(5001)))
    return path


@pytest.fixture(scope="session")
def images(
    keys: Keys, payload_file: Path, tmp_path_factory: pytest.TempPathFactory
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
        jobs.append(
            [
                "sign",
                "-k",
                keys.priv(key_type),
                "-E",
                keys.priv(enc_type),
                *base,
                *extra,
                payload_file,
                path,
            ]
        )
        cases[name] = Case(name, path, key_type, encrypted=True)
    for job, result in zip(jobs, imgtool_batch(jobs), strict=True):
        if result["rc"] != 0:
            raise RuntimeError(f"imgtool {job} failed")
    return cases
