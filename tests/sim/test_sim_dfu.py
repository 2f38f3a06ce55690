"""MCUboot semantics of the simulated board: upload, test, reset, confirm, revert."""

from __future__ import annotations

import hashlib

from sim_helpers import Bench, by_slot, flags

from app.sim.mcuboot import read_info


def _hash(image: bytes) -> bytes:
    return read_info(image).hash


def test_upload_lists_the_new_image_in_slot_1(bench: Bench, new_image: bytes) -> None:
    """A completed upload lands in the secondary slot and is listed there, not pending."""
    last = bench.upload(new_image)
    assert last == {"off": len(new_image), "match": True}
    slots = by_slot(bench.state())
    assert flags(slots[0]) == {"bootable", "confirmed", "active"}
    assert slots[1]["version"] == "1.2.3"
    assert slots[1]["hash"] == _hash(new_image)
    assert flags(slots[1]) == {"bootable"}
    assert bench.device.slots(0)[1].data == new_image


def test_test_reset_then_reset_reverts(bench: Bench, new_image: bytes) -> None:
    """A tested image runs unconfirmed after reset and MCUboot reverts it on the next reset."""
    bench.upload(new_image)
    images = bench.test(_hash(new_image))["images"]
    assert flags(by_slot(images)[1]) == {"bootable", "pending"}
    bench.device.reboot()
    slots = by_slot(bench.state())
    assert slots[0]["version"] == "1.2.3"
    assert flags(slots[0]) == {"bootable", "active"}
    assert flags(slots[1]) == {"bootable", "confirmed"}
    assert bench.device.running_version() == "1.2.3"
    bench.device.reboot()
    slots = by_slot(bench.state())
    assert bench.device.running_version() == "1.0.0"
    assert flags(slots[0]) == {"bootable", "active", "confirmed"}
    assert slots[1]["version"] == "1.2.3"
    assert flags(slots[1]) == {"bootable"}


def test_confirm_after_test_keeps_the_new_image(bench: Bench, new_image: bytes) -> None:
    """Confirming the running test image makes it permanent across later resets."""
    bench.upload(new_image)
    bench.test(_hash(new_image))
    bench.device.reboot()
    images = bench.confirm()["images"]
    assert flags(by_slot(images)[0]) == {"bootable", "active", "confirmed"}
    bench.device.reboot()
    bench.device.reboot()
    assert bench.device.running_version() == "1.2.3"
    slots = by_slot(bench.state())
    assert flags(slots[0]) == {"bootable", "active", "confirmed"}
    assert slots[1]["version"] == "1.0.0"


def test_permanent_confirm_swaps_without_revert(bench: Bench, new_image: bytes) -> None:
    """Confirming the secondary by hash marks it pending+permanent and it stays after reset."""
    bench.upload(new_image)
    images = bench.confirm(_hash(new_image))["images"]
    assert flags(by_slot(images)[1]) == {"bootable", "pending", "permanent"}
    bench.device.reboot()
    bench.device.reboot()
    assert bench.device.running_version() == "1.2.3"
    assert flags(by_slot(bench.state())[0]) == {"bootable", "active", "confirmed"}


def test_reset_command_asks_for_a_reboot(bench: Bench) -> None:
    """The reset command answers an empty map and flags the reply for a reboot."""
    from app.smp.groups.os import Reset
    from app.smp.message import encode_request

    reply = bench.raw(encode_request(Reset(), 7))
    assert reply.reboot is True
    assert reply.frame is not None and reply.frame[8:] == b"\xa0"


def test_resume_with_same_sha_continues_where_it_stopped(bench: Bench, new_image: bytes) -> None:
    """A first chunk carrying the sha of the interrupted upload answers its current offset."""
    from app.smp.groups.img import ImageUpload

    sha = hashlib.sha256(new_image).digest()
    first = ImageUpload(off=0, data=new_image[:1024], length=len(new_image), sha=sha)
    assert bench.body(first) == {"off": 1024}
    assert bench.body(ImageUpload(off=1024, data=new_image[1024:2048])) == {"off": 2048}
    assert bench.body(first) == {"off": 2048}
    other = ImageUpload(off=0, data=new_image[:1024], length=len(new_image), sha=b"\x01" * 32)
    assert bench.body(other) == {"off": 1024}


def test_wrong_offset_is_answered_with_the_expected_one(bench: Bench, new_image: bytes) -> None:
    """A chunk at the wrong offset is dropped and the reply names the device's offset."""
    from app.smp.groups.img import ImageUpload

    bench.body(ImageUpload(off=0, data=new_image[:1024], length=len(new_image)))
    assert bench.body(ImageUpload(off=3072, data=new_image[3072:4096])) == {"off": 1024}
    assert bench.device.slot(1).flash[3072:4096] == b"\xff" * 1024


def test_reset_ignores_a_mistyped_force(bench: Bench) -> None:
    """Zephyr ignores reset decode errors: an integer `force` still resets."""
    from app.smp.header import Header, Op
    from app.smp.message import encode_packet

    reply = bench.raw(
        encode_packet(Header(op=Op.WRITE, group=0, command=5, sequence=1), {"force": 1})
    )
    assert reply.reboot is True


def test_erase_default_slot_and_revert_image_in_use(bench: Bench, new_image: bytes) -> None:
    """Erase without a slot clears slot 1 (taking erase time); the revert image is in use."""
    from app.smp.groups.img import ImageErase
    from app.smp.message import encode_request

    bench.upload(new_image)
    reply = bench.raw(encode_request(ImageErase(), 5))
    assert reply.work_s > 0
    assert [e["slot"] for e in bench.state()] == [0]
    assert bench.device.slot(1).is_erased()
    bench.upload(new_image)
    bench.test(_hash(new_image))
    bench.device.reboot()
    assert bench.body(ImageErase()) == {"err": {"group": 1, "rc": 9}}
    assert bench.body(ImageErase(slot=1), 0) == {"rc": 6}
