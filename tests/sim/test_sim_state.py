"""Persistence across simulator restarts, fault injection, multi-image and other modes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sim_helpers import Bench, by_slot, flags

from app.errors import DecodeError
from app.sim.device import SimConfig, SimDevice
from app.sim.mcuboot import build_image, read_info
from app.smp.groups import fs, img, settings
from app.smp.groups import os as osg
from app.smp.message import decode_packet, encode_request


def test_restart_on_same_state_dir_is_a_reboot(tmp_path: Path, new_image: bytes) -> None:
    """A new SimDevice on the same state_dir sees the flash, saved settings and files."""
    config = SimConfig(slot_size=128 * 1024, state_dir=tmp_path)
    bench = Bench(SimDevice(config))
    bench.upload(new_image)
    bench.test(read_info(new_image).hash)
    bench.body(settings.SettingWrite(name="app/mode", val=b"\x02"))
    bench.body(settings.SettingsSave())
    bench.body(settings.SettingWrite(name="app/unsaved", val=b"\x01"))
    bench.body(fs.FileUpload(off=0, name="/lfs/log.txt", data=b"hello ", length=11))
    bench.body(fs.FileUpload(off=6, name="/lfs/log.txt", data=b"world"))
    restarted = Bench(SimDevice(SimConfig(slot_size=128 * 1024, state_dir=tmp_path)))
    assert restarted.device.running_version() == "1.2.3"  # power-on ran the test swap
    assert restarted.body(settings.SettingRead(name="app/mode")) == {"val": b"\x02"}
    assert restarted.body(settings.SettingRead(name="app/unsaved")) == {
        "err": {"group": 3, "rc": 3}
    }
    assert restarted.body(fs.FileStatus(name="/lfs/log.txt")) == {"len": 11}
    again = Bench(SimDevice(SimConfig(slot_size=128 * 1024, state_dir=tmp_path)))
    assert again.device.running_version() == "1.0.0"  # unconfirmed: reverted


def test_reset_at_upload_offset_keeps_flash_and_loses_session(
    bench: Bench, new_image: bytes
) -> None:
    """The injected reset answers nothing, asks for a reboot, and the session is gone after."""
    bench.device.reset_at_upload_offset(2048)
    sha = hashlib.sha256(new_image).digest()
    first = img.ImageUpload(off=0, data=new_image[:1024], length=len(new_image), sha=sha)
    assert bench.body(first) == {"off": 1024}
    reply = bench.raw(encode_request(img.ImageUpload(off=1024, data=new_image[1024:2048]), 9))
    assert reply.frame is None and reply.reboot is True
    bench.device.reboot()
    assert bench.device.slot(1).flash[:2048] == new_image[:2048]
    assert bench.body(img.ImageUpload(off=2048, data=new_image[2048:3072])) == {"off": 0}
    assert bench.upload(new_image)["match"] is True


def test_corrupt_next_response_breaks_one_reply(bench: Bench) -> None:
    """Exactly the next reply is corrupted; the one after is clean."""
    bench.device.corrupt_next_response()
    good = encode_request(osg.Echo(d="ping"), 1)
    bad = bench.raw(good).frame
    assert bad is not None
    try:
        body = decode_packet(bad)[1]
    except DecodeError:
        body = None
    assert body != {"r": "ping"}
    assert decode_packet(bench.raw(good).frame or b"")[1] == {"r": "ping"}


def test_stop_answering_until_resumed(bench: Bench) -> None:
    """A silenced device answers nothing until answering is resumed."""
    bench.device.stop_answering()
    assert bench.raw(encode_request(osg.Echo(d="x"), 1)).frame is None
    bench.device.resume_answering()
    assert bench.raw(encode_request(osg.Echo(d="x"), 1)).frame is not None


def test_corrupt_after_upload_fails_match_and_boot(bench: Bench, new_image: bytes) -> None:
    """A slot corrupted after upload reports match false and MCUboot refuses to swap it."""
    bench.device.corrupt_after_upload()
    assert bench.upload(new_image)["match"] is False
    assert bench.device.slot(1).data != new_image
    bench.test(read_info(new_image).hash)
    bench.device.reboot()
    assert bench.device.running_version() == "1.0.0"
    assert [e["slot"] for e in bench.state()] == [0]


def test_work_time_models_erase_and_write(
    make_bench: Callable[..., Bench], new_image: bytes
) -> None:
    """The first chunk reports erase time; later chunks report write time at the set rate."""
    bench = make_bench(flash_write_bps=1024.0, flash_erase_bps=8192.0)
    bench.device.install(1, build_image("0.9.0"))
    sha = hashlib.sha256(new_image).digest()
    first = bench.raw(
        encode_request(
            img.ImageUpload(off=0, data=new_image[:512], length=len(new_image), sha=sha), 1
        )
    )
    # Two 4 KiB pages cover the old image; the blank trailer page is not erased again.
    assert first.work_s == 8192 / 8192 + 512 / 1024
    second = bench.raw(encode_request(img.ImageUpload(off=512, data=new_image[512:1024]), 2))
    assert second.work_s == 0.5


def test_two_images(make_bench: Callable[..., Bench]) -> None:
    """With two images the list carries `image`, uploads go to slot 3, slot info has both."""
    bench = make_bench(images=2)
    net = build_image("2.0.0", b"net core" * 300)
    assert bench.upload(net, image_no=1)["match"] is True
    entries = bench.state()
    assert [(e["image"], e["slot"]) for e in entries] == [(0, 0), (1, 0), (1, 1)]
    assert by_slot(entries, 1)[1]["version"] == "2.0.0"
    info = bench.body(img.SlotInfo())["images"]
    assert [i["image"] for i in info] == [0, 1]
    assert info[1]["slots"] == [{"slot": 0, "size": 128 * 1024}, {"slot": 1, "size": 128 * 1024}]
    images = bench.confirm(read_info(net).hash)["images"]
    assert flags(by_slot(images, 1)[1]) == {"bootable", "pending", "permanent"}
    assert bench.upload(net, image_no=2) == {"err": {"group": 1, "rc": 9}}
    bench.device.reboot()
    assert bench.device.running_version(1) == "2.0.0"
    assert bench.device.running_version(0) == "1.0.0"


def test_overwrite_only_has_no_revert(make_bench: Callable[..., Bench], new_image: bytes) -> None:
    """Overwrite-only copies the tested image over the primary and never reverts."""
    bench = make_bench(mode=2)
    bench.upload(new_image)
    bench.test(read_info(new_image).hash)
    bench.device.reboot()
    bench.device.reboot()
    assert bench.device.running_version() == "1.2.3"
    assert [e["slot"] for e in bench.state()] == [0]


def test_overwrite_only_no_downgrade_rejects_older(make_bench: Callable[..., Bench]) -> None:
    """With downgrade prevention an older image is erased at boot instead of installed."""
    bench = make_bench(mode=2, no_downgrade=True, factory_version="2.0.0")
    old = build_image("1.5.0", b"old" * 400)
    bench.upload(old)
    bench.test(read_info(old).hash)
    bench.device.reboot()
    assert bench.device.running_version() == "2.0.0"


def test_direct_xip_runs_the_highest_version(
    make_bench: Callable[..., Bench], new_image: bytes
) -> None:
    """Direct-XIP lists a newer secondary pending+permanent, boots it, then uploads to 0."""
    bench = make_bench(mode=4)
    bench.upload(new_image)
    assert flags(by_slot(bench.state())[1]) == {"bootable", "pending", "permanent"}
    assert bench.test(read_info(new_image).hash) == {"rc": 8}
    bench.device.reboot()
    slots = by_slot(bench.state())
    assert flags(slots[1]) == {"bootable", "active", "confirmed"}
    assert bench.device.running_version() == "1.2.3"
    newer = build_image("1.3.0", b"xip" * 500)
    bench.upload(newer)
    assert bench.device.slot(0).version == "1.3.0"
