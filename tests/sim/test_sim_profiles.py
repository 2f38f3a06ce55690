"""Firmware profiles reproduce the quirks of real builds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sim_helpers import Bench

from app.sim.device import SimConfig, SimDevice
from app.sim.mcuboot import read_info
from app.smp.groups import enum, fs, img, settings, stat
from app.smp.groups import os as osg
from app.smp.header import Header, Op
from app.smp.message import decode_packet, encode_packet


def test_zephyr_34_answers_v2_requests_with_v1_errors(make_bench: Callable[..., Bench]) -> None:
    """The 3.4 profile sends `rc` errors with `rsn` even to v2 requests."""
    bench = make_bench(profile="zephyr-3.4")
    assert bench.body(img.ImageStateWrite(hash=b"\x00" * 32, confirm=False), 1) == {"rc": 1}
    assert bench.body(img.ImageUpload(off=0, data=bytes(40), length=100), 1) == {
        "rc": 1,
        "rsn": "magic mismatch",
    }


def test_zephyr_34_quirks(make_bench: Callable[..., Bench], new_image: bytes) -> None:
    """3.4: stats list carries rc 0, echo without d is empty, no match, missing groups rc 8."""
    bench = make_bench(profile="zephyr-3.4")
    assert bench.body(stat.StatList())["rc"] == 0
    frame = encode_packet(Header(op=Op.WRITE, group=0, command=0, sequence=1), {})
    reply = bench.raw(frame)
    assert reply.frame is not None and decode_packet(reply.frame)[1] == {"r": ""}
    assert bench.upload(new_image) == {"off": len(new_image)}
    for request in (
        settings.SettingRead(name="x"),
        fs.FileStatus(name="/lfs/x"),
        enum.EnumCount(),
        osg.BootloaderInfo(),
        osg.DateTimeGet(),
        img.SlotInfo(),
        osg.MemoryPoolStats(),
    ):
        assert bench.body(request) == {"rc": 8}, request
    tasks = bench.body(osg.TaskStats())["tasks"]
    assert set(tasks) == {"3", "0", "-1", "-2", "15"}  # a plain decode keeps one per key
    assert all(set(t) == {"prio", "tid", "state"} for t in tasks.values())


def test_zephyr_34_refuses_upload_while_slot_1_pending(
    make_bench: Callable[..., Bench], new_image: bytes
) -> None:
    """3.4 treats a pending secondary as in use: upload rc 6 "no slot", erase rc 6."""
    bench = make_bench(profile="zephyr-3.4")
    bench.upload(new_image)
    bench.test(read_info(new_image).hash)
    assert bench.upload(new_image) == {"rc": 6, "rsn": "no slot"}
    assert bench.body(img.ImageErase(slot=1)) == {"rc": 6}


def test_modern_overwrites_a_pending_secondary(bench: Bench, new_image: bytes) -> None:
    """Modern Zephyr (ALLOW_ERASE_PENDING) lets a new upload replace a pending image."""
    from app.sim.mcuboot import build_image

    bench.upload(new_image)
    bench.test(read_info(new_image).hash)
    other = build_image("1.4.0", b"newer" * 400)
    assert bench.upload(other)["match"] is True
    slot1 = next(e for e in bench.state() if e["slot"] == 1)
    assert slot1["version"] == "1.4.0" and not slot1.get("pending")


def test_modern_echo_without_d_is_einval(bench: Bench) -> None:
    """The modern profile rejects an echo without `d` with rc 3."""
    frame = encode_packet(Header(op=Op.WRITE, group=0, command=0, sequence=1), {})
    reply = bench.raw(frame)
    assert reply.frame is not None and reply.frame[8:] == b"\xa1brc\x03"


def test_old_firmware_lacks_newer_commands(make_bench: Callable[..., Bench]) -> None:
    """old-firmware answers rc 8 to bootloader info, datetime, enum and slot info only."""
    bench = make_bench(profile="old-firmware")
    for request in (osg.BootloaderInfo(), osg.DateTimeGet(), enum.EnumList(), img.SlotInfo()):
        assert bench.body(request) == {"rc": 8}
    assert "buf_size" in bench.body(osg.McumgrParams())
    bench.body(settings.SettingWrite(name="a/b", val=b"1"))
    assert bench.body(settings.SettingRead(name="a/b")) == {"val": b"1"}


def test_bootloader_info_reports_mode(make_bench: Callable[..., Bench]) -> None:
    """Bootloader info names MCUboot and answers the mode query with the configured mode."""
    bench = make_bench(mode=2, no_downgrade=True)
    assert bench.body(osg.BootloaderInfo()) == {"bootloader": "MCUboot"}
    assert bench.body(osg.BootloaderInfo(query="mode")) == {"mode": 2, "no-downgrade": True}
    assert bench.body(osg.BootloaderInfo(query="nope")) == {"rc": 3}
    assert make_bench().body(osg.BootloaderInfo(query="mode")) == {"mode": 3}


def test_unknown_profile_is_a_clear_error() -> None:
    """Naming a profile that does not exist fails with the list of known ones."""
    with pytest.raises(ValueError, match="zephyr-modern"):
        SimDevice(SimConfig(profile="zephyr-9"))


@pytest.mark.parametrize(
    "config", [{"images": 4}, {"slot_size": 5000}, {"slot_size": 8192}, {"buf_count": 0}]
)
def test_impossible_configs_are_refused(config: dict) -> None:
    """Configurations no board has fail at construction with a ValueError."""
    with pytest.raises(ValueError):
        SimDevice(SimConfig(**config))
