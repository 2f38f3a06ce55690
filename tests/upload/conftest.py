"""Fixtures for upload tests: imgtool-signed images, and a simulated device on a real link.

`rig` is parametrized over the transports the simulator can serve: UDP always, a serial pty,
and the BLE fake when app/sim/ble_endpoint.py exists (those tests skip until it lands).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.client import SmpClient
from app.sim.device import SimConfig, SimDevice
from app.sim.link import LinkModel
from app.sim.runtime import SimRuntime
from app.transport import open_transport
from app.transport.base import Transport

TRANSPORTS = ["udp", "serial", "ble"]


def imgtool(*args: str | Path) -> None:
    """Run imgtool from this venv; fail the test set-up with its stderr."""
    script = Path(sys.executable).with_name("imgtool")
    command = [str(script)] if script.exists() else [shutil.which("imgtool") or "imgtool"]
    result = subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode:
        raise RuntimeError(f"imgtool {' '.join(map(str, args))}: {result.stderr}")


@dataclass
class ImageFactory:
    """Signs payloads with one ecdsa-p256 key; each (version, size, seed) is made once."""

    directory: Path
    key: Path
    public_key: Path
    made: dict[tuple[str, int, int, str], Path] = field(default_factory=dict)

    def __call__(
        self,
        version: str = "1.1.0",
        size: int = 48 * 1024,
        seed: int = 1,
        *,
        encrypted: bool = False,
        clear: bool = False,
    ) -> Path:
        """A signed image of roughly `size` bytes, with a deterministic payload; `encrypted`
        encrypts it for the signing key (`clear`: imgtool's --clear, flagged but not)."""
        kind = ("-enc" if encrypted else "") + ("-clear" if clear else "")
        key = (version, size, seed, kind)
        if key not in self.made:
            raw = self.directory / f"app-{version}-{size}-{seed}.bin"
            raw.write_bytes(_payload(size, seed))
            signed = self.directory / f"signed-{version}-{size}-{seed}{kind}.bin"
            encrypt = ["-E", self.key, *(["--clear"] if clear else [])] if encrypted else []
            slot = 0x100000
            while slot < size + 0x10000:
                slot *= 2
            imgtool(
                "sign",
                "--key",
                self.key,
                "--header-size",
                "0x200",
                "--pad-header",
                "--align",
                "4",
                "--version",
                version,
                "--slot-size",
                hex(slot),
                *encrypt,
                raw,
                signed,
            )
            self.made[key] = signed
        return self.made[key]


def two_image_package(images: ImageFactory, folder: Path, seeds: tuple[int, int] = (2, 3)) -> Path:
    """A dfu_application.zip with an application core (image 0) and a network core (image 1),
    both 1.2.0, listed in its manifest.json."""
    app = images("1.2.0", 30 * 1024, seed=seeds[0])
    net = images("1.2.0", 20 * 1024, seed=seeds[1])
    package = folder / "dfu_application.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.write(app, "app.bin")
        archive.write(net, "net.bin")
        archive.writestr(
            "manifest.json",
            json.dumps(
                {
                    "format-version": 0,
                    "files": [
                        {"file": "app.bin", "image_index": "0", "version": "1.2.0"},
                        {"file": "net.bin", "image_index": "1", "version": "1.2.0"},
                    ],
                }
            ),
        )
    return package


def _payload(size: int, seed: int) -> bytes:
    """Pseudo-random bytes (fast, deterministic): a repeated block would hide offset bugs."""
    import random

    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> ImageFactory:
    """Makes imgtool-signed images with a session key (ecdsa-p256)."""
    directory = tmp_path_factory.mktemp("upload-images")
    key = directory / "key.pem"
    imgtool("keygen", "-k", key, "-t", "ecdsa-p256")
    public = directory / "pub.pem"
    imgtool("getpub", "-k", key, "-e", "pem", "-o", public)
    return ImageFactory(directory, key, public)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second key's public half, that did not sign the test images."""
    directory = tmp_path_factory.mktemp("other-key")
    key = directory / "other.pem"
    imgtool("keygen", "-k", key, "-t", "ecdsa-p256")
    public = directory / "other-pub.pem"
    imgtool("getpub", "-k", key, "-e", "pem", "-o", public)
    return public


@dataclass
class Rig:
    """A simulated device served on one real link, and a way to connect to it."""

    kind: str
    device: SimDevice
    runtime: SimRuntime
    spec: str
    make_transport: Callable[[], Transport]
    clients: list[SmpClient] = field(default_factory=list)
    drop_link: Callable[[], None] | None = None
    """Cut the link without resetting the device (BLE: out of range)."""

    async def connect(self, timeout_s: float = 3.0) -> SmpClient:
        """A new connected client (also the upload's `reconnect` factory)."""
        client = SmpClient(self.make_transport(), timeout_s=timeout_s)
        await client.open()
        self.clients.append(client)
        return client

    async def close_clients(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()


@contextlib.asynccontextmanager
async def serve(
    kind: str,
    device: SimDevice,
    link: LinkModel | None = None,
    *,
    baud: int | None = None,
    ble_reassembly: bool = True,
) -> AsyncIterator[Rig]:
    """Serve `device` over `kind` for the duration of the block."""
    if kind == "udp":
        from app.sim.serve import UdpSimServer

        server = UdpSimServer(device, link)
        await server.start()
        spec = f"udp:{server.address}"
        rig = Rig(kind, device, server.runtime, spec, lambda: open_transport(spec))
        stop = server.stop
    elif kind == "serial":
        if os.name != "posix":
            pytest.skip("pty serial simulation needs POSIX")
        from app.sim.serial_endpoint import PtySimServer

        pty = PtySimServer(device, link, baud=baud)
        await pty.start()
        spec = f"serial:{pty.path}@{baud or 1000000}"
        rig = Rig(kind, device, pty.runtime, spec, lambda: open_transport(spec))
        stop = pty.stop
    else:
        try:
            from app.sim.ble_endpoint import FakeRadio, SimBlePeripheral
            from app.transport.ble import BleOptions, BleTransport
        except ImportError:
            pytest.skip("the BLE fake (app/sim/ble_endpoint.py) is not available")
        runtime = SimRuntime(device, link)
        await runtime.start()
        radio = FakeRadio()
        peripheral = radio.add(
            SimBlePeripheral(runtime, mtu=247, conn_interval_s=0.0, reassembly=ble_reassembly)
        )

        def ble_transport() -> Transport:
            # by address, and by name when a reset gave the device a new address; the host
            # assumes reassembly, as it does for a device whose buffers exceed the MTU
            options = BleOptions(
                peripheral.address,
                name=peripheral.name,
                reassembly=True,
                max_packet_bytes=device.config.buf_size,
            )
            return BleTransport(
                options, client_factory=radio.client, scanner=radio.scanner(), scan_timeout_s=1.0
            )

        rig = Rig(kind, device, runtime, "ble:sim", ble_transport, drop_link=peripheral.disconnect)
        stop = runtime.stop
    try:
        yield rig
    finally:
        await rig.close_clients()
        await stop()


@pytest.fixture(params=TRANSPORTS)
def transport_kind(request: pytest.FixtureRequest) -> str:
    """Each transport in turn; the test body stays the same."""
    return str(request.param)


def sim_device(**config: object) -> SimDevice:
    """A fresh board running the factory image 1.0.0 (confirmed), with an empty slot 1."""
    defaults: dict[str, object] = {"slot_size": 1024 * 1024, "buf_size": 2048, "buf_count": 4}
    defaults.update(config)
    return SimDevice(SimConfig(**defaults))  # type: ignore[arg-type]


class ThreadedSim:
    """A UdpSimServer (or, with `serial`, a PtySimServer) on its own event loop in a
    background thread, for in-process CLI runs (`app.cli.main` runs its own `asyncio.run`)."""

    def __init__(
        self, device: SimDevice, link: LinkModel | None = None, *, serial: bool = False
    ) -> None:
        import threading

        self.device = device
        self.link = link
        self.serial = serial
        self.address = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="upload-test-sim", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> ThreadedSim:
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"simulator did not start: {self._error}")
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def spec(self) -> str:
        return f"serial:{self.address}" if self.serial else f"udp:{self.address}"

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from app.sim.serial_endpoint import PtySimServer
        from app.sim.serve import UdpSimServer

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server: UdpSimServer | PtySimServer = (
            PtySimServer(self.device, self.link)
            if self.serial
            else UdpSimServer(self.device, self.link)
        )
        try:
            await server.start()
            self.address = server.path if isinstance(server, PtySimServer) else server.address
        except BaseException as exc:  # reported to the test thread by __enter__
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()
