"""Suite-wide guards: Qt renders offscreen, and no test leaves a thread running."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["gui_fixtures"]  # `bridge` and `settings` for every GUI suite


@pytest.fixture(autouse=True)
def no_simulator_internal_errors() -> Iterator[None]:
    """Fails a test during which a simulated device's handler raised.

    The device turns such a bug into an empty reply, which would otherwise pass for a designed
    silence (and let a fuzz test that "never raises" pass whatever happens)."""
    from app.sim.device import INTERNAL_ERRORS

    before = len(INTERNAL_ERRORS)
    yield
    new = INTERNAL_ERRORS[before:]
    del INTERNAL_ERRORS[before:]  # reported once, here
    assert not new, f"the simulator's handlers raised {len(new)} time(s): {new[:3]}"


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fails a test that leaves a thread (a server, a pty reader, a loop) running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"


def _imgtool(*args: str) -> None:
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-m", "imgtool.main", *args], check=True, capture_output=True, timeout=60
    )


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ECDSA P-256 key made by MCUboot's imgtool."""
    key = tmp_path_factory.mktemp("keys") / "ecdsa-p256.pem"
    _imgtool("keygen", "-k", str(key), "-t", "ecdsa-p256")
    return key


def make_signed_image(
    directory: Path, key: Path, version: str, size: int = 40_000, *extra: str
) -> Path:
    """An imgtool-signed image of `size` payload bytes with a 0x200-byte header; `extra`
    goes to `imgtool sign` (e.g. `--encrypt PUB.pem`)."""
    import os

    raw = directory / f"app-{version}.bin"
    raw.write_bytes(os.urandom(size))
    signed = directory / f"app-{version}.signed.bin"
    _imgtool(
        "sign",
        "-k",
        str(key),
        "--header-size",
        "0x200",
        "--pad-header",
        "--align",
        "4",
        "--version",
        version,
        "--slot-size",
        "0x80000",
        *extra,
        str(raw),
        str(signed),
    )
    return signed


@pytest.fixture(scope="session")
def signed_image(tmp_path_factory: pytest.TempPathFactory, signing_key: Path) -> Path:
    """Version 1.1.0 of an application, signed by imgtool."""
    return make_signed_image(tmp_path_factory.mktemp("images"), signing_key, "1.1.0")


@pytest.fixture(scope="session")
def image_factory(
    tmp_path_factory: pytest.TempPathFactory, signing_key: Path
) -> Callable[..., Path]:
    """Makes imgtool-signed images: `image_factory("1.2.0", size=100_000)`."""
    directory = tmp_path_factory.mktemp("made-images")

    def make(version: str, size: int = 40_000) -> Path:
        return make_signed_image(directory, signing_key, version, size)

    return make
