"""Fleet fixtures: a real gooseBit per module, simulated boards, imgtool images wrapped in .swu."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sim_process import free_loopback_host, running_sim

from app.fleet.artifacts import make_swu
from tests.conftest import make_signed_image

BOARD = "nrf52840dk_nrf52840"
"""The simulator's board (OS info `i`), as the fleet attributes name it."""


def public_pem(private: Path) -> Path:
    out = private.with_suffix(".pub.pem")
    if not out.exists():
        pem = subprocess.run(
            [sys.executable, "-m", "imgtool.main", "getpub", "-k", str(private), "-e", "pem"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        out.write_bytes(pem)
    return out


@pytest.fixture(scope="session")
def trusted_key(signing_key: Path) -> Path:
    """The public half of the suite's imgtool key."""
    return public_pem(signing_key)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public half of a second imgtool key, which signed none of the suite's images."""
    key = tmp_path_factory.mktemp("other-key") / "other.pem"
    subprocess.run(
        [sys.executable, "-m", "imgtool.main", "keygen", "-k", str(key), "-t", "ecdsa-p256"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return public_pem(key)


@pytest.fixture(scope="session")
def needs_a_yes(
    tmp_path_factory: pytest.TempPathFactory, signing_key: Path, trusted_key: Path
) -> dict[str, Path]:
    """Version 1.2.0 signed by the suite's key, as the two kinds a normal upload installs only
    by explicit choice: `encrypted` (imgtool --encrypt: contents unprovable without the
    private key) and `clear` (imgtool --encrypt --clear: flagged encrypted, stored in clear)."""
    made = {}
    for name, extra in (("encrypted", ()), ("clear", ("--clear",))):
        directory = tmp_path_factory.mktemp(name)
        made[name] = make_signed_image(
            directory, signing_key, "1.2.0", 40_000, "--encrypt", str(trusted_key), *extra
        )
    return made


@pytest.fixture(scope="session")
def make_swu_image(
    tmp_path_factory: pytest.TempPathFactory, image_factory: Callable[..., Path]
) -> Callable[..., Path]:
    """`make_swu_image("1.1.0", size=...)`: an imgtool-signed image wrapped in an .swu."""
    directory = tmp_path_factory.mktemp("swu")

    def make(version: str, size: int = 40_000) -> Path:
        image = image_factory(version, size)
        return make_swu(image, directory / f"app-{version}.swu", version=version, board=BOARD)

    return make


@pytest.fixture
def sim_factory(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts `slotwise sim` processes (stopped at the end); returns `udp:HOST:PORT`."""
    stack: list[Iterator[tuple[str, str]]] = []

    def start(*args: str) -> str:
        host = free_loopback_host()
        state = tmp_path / f"sim-{len(stack)}"
        context = running_sim("--udp", f"{host}:1337", *args, state_dir=state)
        address, _ = context.__enter__()  # type: ignore[attr-defined]
        stack.append(context)
        return f"udp:{address}"

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]
