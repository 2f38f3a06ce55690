"""Operations every transport test runs against a simulated device, so each link proves the same."""

from __future__ import annotations

import datetime as dt
import hashlib

from app.client import SmpClient
from app.sim.device import SimDevice
from app.sim.mcuboot import build_image
from app.smp.groups import img


def image_hash(image: bytes) -> bytes:
    """The image hash MCUboot reports: SHA-256 over header + payload (the TLV's digest)."""
    return image[-32:]


async def upload(client: SmpClient, image: bytes, chunk_bytes: int) -> int:
    """Stop-and-wait upload of `image` to slot 1 in `chunk_bytes` pieces; returns requests sent."""
    off, requests = 0, 0
    sha = hashlib.sha256(image).digest()
    while off < len(image):
        data = image[off : off + chunk_bytes]
        chunk = (
            img.ImageUpload(off=0, data=data, length=len(image), sha=sha)
            if off == 0
            else img.ImageUpload(off=off, data=data)
        )
        reply = await client.image_upload_chunk(chunk, timeout_s=30)
        requests += 1
        assert reply.off is not None and reply.off > off, f"no progress at {off}: {reply}"
        off = reply.off
    return requests


async def run_every_operation(client: SmpClient, device: SimDevice) -> None:
    """Every typed operation the simulator supports, each checked against the device's state."""
    assert await client.echo("hello over the link") == "hello over the link"
    assert await client.echo("x" * 150) == "x" * 150  # several serial lines / ATT fragments
    params = await client.params()
    assert params.buf_size == device.config.buf_size
    assert await client.os_info("s")
    boot = await client.bootloader_info()
    assert boot.bootloader == "MCUboot"
    slots = await client.image_state()
    assert slots[0].active and slots[0].confirmed
    assert slots[0].hash is not None and len(slots[0].hash) == 32

    new_image = build_image("2.0.0", payload=bytes(range(256)) * 8)
    await upload(client, new_image, 96)
    listed = await client.image_state()
    assert [s.version for s in listed] == [slots[0].version, "2.0.0"]
    assert listed[1].hash == image_hash(new_image)
    await client.image_erase(1)
    assert len(await client.image_state()) == 1
    await upload(client, new_image, 200)
    assert (await client.image_confirm())[0].confirmed  # the running image
    tested = await client.image_test(image_hash(new_image))
    assert tested[1].pending and not tested[1].permanent

    info = await client.slot_info()
    assert info[0].slots[1].size == device.config.slot_size

    names = await client.stat_list()
    assert names
    assert isinstance(await client.stat_read(names[0]), dict)

    await client.setting_write("app/greeting", b"hi there")
    assert await client.setting_read("app/greeting") == b"hi there"
    assert device.settings["app/greeting"] == b"hi there"
    await client.setting_delete("app/greeting")

    content = bytes(range(256)) * 2
    assert await client.file_upload_chunk("/lfs/blob.bin", 0, content[:300], len(content)) == 300
    assert await client.file_upload_chunk("/lfs/blob.bin", 300, content[300:]) == len(content)
    assert device.files["/lfs/blob.bin"] == content
    assert await client.file_status("/lfs/blob.bin") == len(content)
    first = await client.file_download_chunk("/lfs/blob.bin", 0)
    assert content.startswith(first.data) and first.data
    assert (await client.file_hash("/lfs/blob.bin", "sha256")).output == (
        hashlib.sha256(content).digest()
    )
    await client.file_close()

    shell = await client.shell_exec(["echo", "shell", "works"])
    assert "shell works" in shell.o

    count = await client.enum_count()
    groups = await client.enum_list()
    assert count == len(groups) and 0 in groups
    assert (await client.enum_single(0)).group == groups[0]
    assert await client.task_stats()
    await client.datetime_set(dt.datetime(2030, 1, 2, 3, 4, 5))
    assert (await client.datetime_get()).startswith("2030-01-02T03:04")
