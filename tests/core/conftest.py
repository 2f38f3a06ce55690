"""A simulated device on a real UDP socket on 127.0.0.1, and a client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.client import SmpClient
from app.sim.device import SimConfig, SimDevice
from app.sim.link import LinkModel
from app.sim.serve import UdpSimServer
from app.transport.udp import UdpTransport


@pytest.fixture
def device() -> SimDevice:
    """A modern-Zephyr board running its factory image 1.0.0 in slot 0, slot 1 empty."""
    return SimDevice(SimConfig(buf_count=4))


@pytest.fixture
def link() -> LinkModel:
    return LinkModel()


@pytest.fixture
async def server(device: SimDevice, link: LinkModel) -> AsyncIterator[UdpSimServer]:
    async with UdpSimServer(device, link, boot_s=0.01) as running:
        yield running


@pytest.fixture
async def client(server: UdpSimServer) -> AsyncIterator[SmpClient]:
    transport = UdpTransport(server.host, server.port)
    async with SmpClient(transport, timeout_s=2.0) as connected:
        yield connected


def _imgtool(*args: str) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "imgtool.main", *args], check=True,
                   capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ECDSA P-256 key made by MCUboot's imgtool."""
    key = tmp_path_factory.mktemp("keys") / "ecdsa-p256.pem"
    _imgtool("keygen", "-k", str(key), "-t", "ecdsa-p256")
    return key


def make_signed_image(directory: Path, key: Path, version: str, size: int = 40_000) -> Path:
    """An imgtool-signed image of `size` payload bytes with a 0x200-byte header."""
    import os

    raw = directory / f"app-{version}.bin"
    raw.write_bytes(os.urandom(size))
    signed = directory / f"app-{version}.signed.bin"
    _imgtool("sign", "-k", str(key), "--header-size", "0x200", "--pad-header", "--align", "4",
             "--version", version, "--slot-size", "0x80000", str(raw), str(signed))
    return signed


@pytest.fixture(scope="session")
def signed_image(tmp_path_factory: pytest.TempPathFactory, signing_key: Path) -> Path:
    """Version 1.1.0 of an application, signed by imgtool."""
    return make_signed_image(tmp_path_factory.mktemp("images"), signing_key, "1.1.0")
