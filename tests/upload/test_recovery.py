"""MCUboot serial recovery: the simulator's recovery profile over a real pty, recognising it,
and restoring firmware through it (workflow and CLI)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.cli import main
from app.client import SmpClient
from app.image.keys import KeyStore
from app.sim.device import SimConfig, SimDevice
from app.sim.serial_endpoint import PtySimServer
from app.smp.errors import DeviceError
from app.smp.groups import img
from app.smp.groups.os import Echo
from app.smp.header import Group, Header, Op, Version
from app.smp.message import Request, decode_packet, encode_packet, encode_request
from app.transport.serial import SerialTransport
from app.workflows.images import load_update_images
from app.workflows.recovery import detect_recovery, recover
from app.workflows.update_types import UpdateError
from tests.upload.conftest import ImageFactory, ThreadedSim
from tests.upload.test_cli_upload import one_error_line
from tests.waiting import until


def bricked_board(recovery: str = "mcuboot-recovery", **config: object) -> SimDevice:
    """A board whose application is broken (primary slot damaged), powered on in recovery."""
    device = SimDevice(SimConfig(slot_size=1024 * 1024, recovery=recovery, **config))  # type: ignore[arg-type]
    device.corrupt_slot(0)
    return device


@pytest.fixture
async def recovery_pty() -> AsyncIterator[PtySimServer]:
    """A board in serial recovery (valid factory image 1.0.0 in its primary slot) on a pty."""
    device = SimDevice(SimConfig(slot_size=1024 * 1024, recovery="mcuboot-recovery"))
    async with PtySimServer(device) as server:
        yield server


@pytest.fixture
async def link(recovery_pty: PtySimServer) -> AsyncIterator[SmpClient]:
    async with SmpClient(SerialTransport(recovery_pty.path), timeout_s=2) as client:
        yield client


@pytest.fixture
async def wire(recovery_pty: PtySimServer) -> AsyncIterator[SerialTransport]:
    """The pty opened without a client, to see the reply bodies exactly as sent."""
    transport = SerialTransport(recovery_pty.path)
    await transport.open()
    yield transport
    await transport.close()


async def exchange(transport: SerialTransport, request: Request, version: int = Version.V1) -> dict:
    """Send one request and return the reply body as decoded (its header checked)."""
    await transport.send(encode_request(request, 7, version))
    header, body = decode_packet(await asyncio.wait_for(transport.receive(), 2))
    assert header.sequence == 7 and header.version == version
    return body


# --- the simulator's recovery profile over a pty ----------------------------------------------


async def test_image_list_has_the_bootloaders_shape(link: SmpClient) -> None:
    """Only valid slots are listed, with slot, version and hash; no flags, no splitStatus."""
    body = await link.request(img.ImageStateEntries())
    assert body.split_status is None
    assert [sorted(e) for e in body.images] == [["hash", "slot", "version"]]
    assert body.images[0]["version"] == "1.0.0"


async def test_unsupported_commands_answer_rc_8(link: SmpClient) -> None:
    """OS info, params, test/confirm, erase and other groups answer a v1 `rc 8`."""
    for read in (
        link.os_info(),
        link.params(),
        link.image_test(b"\x00" * 32),
        link.image_erase(1),
        link.stat_list(),
    ):
        with pytest.raises(DeviceError) as caught:
            await read
        assert caught.value.not_supported and not caught.value.group_error


async def test_errors_stay_v1_for_a_v2_request(wire: SerialTransport) -> None:
    """A v2 request is answered with the v2 version bits but a plain `rc`, never `err`."""
    assert await exchange(wire, img.ImageErase(slot=1), Version.V2) == {"rc": 8}


async def test_upload_replies_carry_rc_and_follow_alignment(
    wire: SerialTransport, recovery_pty: PtySimServer
) -> None:
    """`rc 0` with `off` and no `match`; an unaligned chunk is cut; a wrong offset is told."""
    first = img.ImageUpload(off=0, data=b"\x3d" * 10, length=100, image=0, sha=b"x" * 32)
    assert await exchange(wire, first) == {"rc": 0, "off": 8}
    assert await exchange(wire, img.ImageUpload(off=40, data=b"y" * 8)) == {"rc": 0, "off": 8}
    assert await exchange(wire, img.ImageUpload(off=8, data=b"z" * 100)) == {"rc": 3}
    assert recovery_pty.device.slot(0).flash[:9] == b"\x3d" * 8 + b"\xff"


async def test_storage_erase_where_built_in(
    wire: SerialTransport, recovery_pty: PtySimServer
) -> None:
    """Group 63 command 0 (write) erases the storage partition: `rc 0`; a read of it is `rc 8`."""
    recovery_pty.device.stored_settings["app/x"] = b"1"
    erase = Header(Op.WRITE, Group.ZEPHYR_BASIC, 0, sequence=7)
    await wire.send(encode_packet(erase, {}))
    assert decode_packet(await asyncio.wait_for(wire.receive(), 2))[1] == {"rc": 0}
    assert recovery_pty.device.stored_settings == {}
    await wire.send(encode_packet(Header(Op.READ, Group.ZEPHYR_BASIC, 0, sequence=7), {}))
    assert decode_packet(await asyncio.wait_for(wire.receive(), 2))[1] == {"rc": 8}


async def test_echo_answers_in_the_full_build(wire: SerialTransport) -> None:
    """CONFIG_BOOT_MGMT_ECHO: `{"r": d}`; without `d` it is EINVAL."""
    assert await exchange(wire, Echo(d="hi")) == {"r": "hi"}
    empty_echo = encode_packet(Header(Op.WRITE, Group.OS, 0, sequence=7), {})
    await wire.send(empty_echo)
    assert decode_packet(await asyncio.wait_for(wire.receive(), 2))[1] == {"rc": 3}


async def test_the_minimal_build_lacks_echo_and_hashes() -> None:
    """The Kconfig-minimal build answers echo `rc 8` and lists versions without hashes."""
    device = SimDevice(SimConfig(recovery="mcuboot-recovery-minimal"))
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=2) as client,
    ):
        with pytest.raises(DeviceError) as caught:
            await client.echo("hi")
        assert caught.value.not_supported
        state = await detect_recovery(client)
        assert state is not None and not state.echo and not state.lists_hashes
        assert state.slots[0].version == "1.0.0"


async def test_a_request_larger_than_the_buffer_gets_no_answer(
    wire: SerialTransport, recovery_pty: PtySimServer
) -> None:
    """A packet over the 1024-byte receive buffer is lost; the next small one is answered."""
    await wire.send(encode_request(Echo(d="x" * 1100), 6, Version.V1))
    # answered in order: a reply to the big one would arrive before this one's
    assert await exchange(wire, Echo(d="after")) == {"r": "after"}
    assert recovery_pty.stats.oversized == 1


async def test_reset_leaves_recovery_for_the_application(
    link: SmpClient, recovery_pty: PtySimServer
) -> None:
    """After the reset a valid primary image boots: the application answers OS info."""
    await link.reset()
    await recovery_pty.runtime.wait_booted()
    assert await link.os_info("s") == "Zephyr"
    assert (await link.image_state())[0].active
    assert await detect_recovery(link) is None


async def test_a_board_without_a_valid_image_stays_in_recovery() -> None:
    """With a damaged primary slot the reset lands in recovery again (no application)."""
    device = bricked_board()
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=2) as client,
    ):
        state = await detect_recovery(client)
        assert state is not None and state.slots == ()
        await client.reset()
        await server.runtime.wait_booted()
        assert device.in_recovery
        assert await detect_recovery(client) is not None


# --- the restore workflow -------------------------------------------------------------------------


def verified(images: ImageFactory, version: str = "1.3.0", size: int = 60 * 1024):
    keys = KeyStore()
    keys.add("test", images.public_key)
    (item,) = load_update_images(images(version, size), keys)
    return item


async def test_recover_restores_a_bricked_board(images: ImageFactory) -> None:
    """The image is written through the recovery, checked, and the application runs it."""
    item = verified(images)
    device = bricked_board()
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=3) as client,
    ):
        result = await recover(client, item)
    assert result.running.version == "1.3.0" and result.running.hash == item.image_hash
    assert not device.in_recovery and device.running_version() == "1.3.0"
    assert result.upload.chunk_bytes <= 1024 and result.upload.start_window == 1


async def test_recover_checks_the_version_where_no_hash_is_listed(images: ImageFactory) -> None:
    """The minimal build lists no hashes: the restore checks the listed version instead."""
    item = verified(images)
    device = bricked_board("mcuboot-recovery-minimal")
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=3) as client,
    ):
        result = await recover(client, item)
    assert result.running.version == "1.3.0"
    assert result.upload.chunk_bytes <= 512 - 4


async def test_recover_says_when_the_board_stays_in_recovery(images: ImageFactory) -> None:
    """Button still held at the reset: the image is in place but recovery answers again."""
    item = verified(images)
    device = bricked_board()
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=3) as client,
    ):
        device.hold_recovery_button()
        with pytest.raises(UpdateError, match="still in serial recovery"):
            await recover(client, item, _short_watch())
    assert device.slot(0).version == "1.3.0"


async def test_recover_explains_an_image_larger_than_the_slot(images: ImageFactory) -> None:
    """The recovery's EINVAL on the first chunk is named; its slot is left as it was."""
    item = verified(images, size=100 * 1024)
    device = SimDevice(SimConfig(slot_size=64 * 1024, recovery="mcuboot-recovery"))
    before = bytes(device.slot(0).flash)
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=3) as client,
    ):
        with pytest.raises(UpdateError, match=r"exceed the primary slot.*not erased"):
            await recover(client, item)
    assert bytes(device.slot(0).flash) == before


async def test_recover_refuses_a_running_application(images: ImageFactory) -> None:
    """A board whose application answers is not overwritten through `recover`."""
    device = SimDevice(SimConfig(slot_size=1024 * 1024))
    async with (
        PtySimServer(device) as server,
        SmpClient(SerialTransport(server.path), timeout_s=3) as client,
    ):
        with pytest.raises(UpdateError, match="application answers"):
            await recover(client, verified(images))
    assert device.counters["bytes_written"] == 0


def _short_watch():
    from app.workflows.recovery import RecoverOptions

    return RecoverOptions(watch_timeout_s=1.5)


# --- the command line -----------------------------------------------------------------------


def test_cli_info_says_recovery(capsys: pytest.CaptureFixture[str]) -> None:
    """`info` on a board in recovery names the bootloader's recovery mode, once, in words."""
    with ThreadedSim(bricked_board(), serial=True) as sim:
        code = main(["-d", sim.spec, "info"])
    out = capsys.readouterr().out
    assert code == 0
    assert "MCUboot serial recovery" in out and "no valid image" in out


def test_cli_recover_end_to_end(images: ImageFactory, capsys: pytest.CaptureFixture[str]) -> None:
    """`recover FILE --key` restores the board and reports what runs, as JSON Lines too."""
    path = images("1.3.0", 60 * 1024)
    with ThreadedSim(bricked_board(), serial=True) as sim:
        code = main(
            ["-d", sim.spec, "recover", str(path), "--key", str(images.public_key), "--json"]
        )
        assert sim.device.running_version() == "1.3.0"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert lines[-1]["ok"] and lines[-1]["running"]["version"] == "1.3.0"
    assert lines[-1]["upload"]["bytes"] == path.stat().st_size


def test_cli_recover_refuses_bad_input(
    images: ImageFactory, other_key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image signed by another key, a tiny buffer, a missing file: one line, nothing sent."""
    path = images("1.3.0", 20 * 1024)
    device = bricked_board()
    with ThreadedSim(device, serial=True) as sim:
        assert main(["-d", sim.spec, "recover", str(path), "--key", str(other_key)]) == 1
        assert "key" in one_error_line(capsys.readouterr().err)
        assert main(["-d", sim.spec, "recover", str(path), "--buffer-bytes", "8"]) == 2
        assert "--buffer-bytes" in one_error_line(capsys.readouterr().err)
        assert main(["-d", sim.spec, "recover", str(tmp_path / "none.bin")]) == 2
        assert "does not exist" in one_error_line(capsys.readouterr().err)
    assert device.counters["bytes_written"] == 0


def test_cli_upload_refuses_a_board_in_recovery(
    images: ImageFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """`upload` would land in the primary slot with no test boot: it refuses, sending nothing."""
    path = images("1.3.0", 20 * 1024)
    device = SimDevice(SimConfig(slot_size=1024 * 1024, recovery="mcuboot-recovery"))
    with ThreadedSim(device, serial=True) as sim:
        code = main(["-d", sim.spec, "upload", str(path)])
    assert code == 1
    assert "recover" in one_error_line(capsys.readouterr().err)
    assert device.counters["bytes_written"] == 0 and device.slot(0).version == "1.0.0"


def test_cli_info_falls_back_to_v1_for_an_old_recovery(capsys: pytest.CaptureFixture[str]) -> None:
    """MCUboot before #1751 ignores v2 headers: after one silent wait `info` asks in v1."""
    with ThreadedSim(bricked_board("mcuboot-recovery-legacy"), serial=True) as sim:
        code = main(["--timeout", "0.5", "-d", sim.spec, "info"])
    assert code == 0
    assert "MCUboot serial recovery" in capsys.readouterr().out


async def test_a_legacy_recovery_is_silent_to_v2_headers() -> None:
    """The legacy build answers nothing at all to a v2 request, and the v1 one after it."""
    device = SimDevice(SimConfig(recovery="mcuboot-recovery-legacy"))
    async with PtySimServer(device) as server:
        transport = SerialTransport(server.path)
        await transport.open()
        try:
            await transport.send(encode_request(img.ImageState(), 8, Version.V2))
            await until(lambda: device.counters["requests"] == 1)  # taken and not answered
            # answered in order: had the v2 request been answered, its reply would come first
            assert "images" in await exchange(transport, img.ImageState(), Version.V1)
        finally:
            await transport.close()
