"""The simulated device's other groups: OS, statistics, settings, files, shell, enumeration,
Zephyr basic; and images signed by imgtool."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from sim_helpers import Bench, by_slot, flags

from app.smp.groups import enum, fs, settings, shell, stat, zbasic
from app.smp.groups import os as osg


def test_params_and_info(make_bench: Callable[..., Bench]) -> None:
    """Params echo the configured buffers; OS info prints items in Zephyr's fixed order."""
    bench = make_bench(buf_size=1536, buf_count=8, name="board-7")
    assert bench.body(osg.McumgrParams()) == {"buf_size": 1536, "buf_count": 8}
    assert bench.body(osg.OsInfo()) == {"output": "Zephyr"}
    assert bench.body(osg.OsInfo(format="vs")) == {"output": "Zephyr 4.1.0"}
    everything = bench.body(osg.OsInfo(format="a"))["output"]
    assert everything.startswith("Zephyr board-7 v4.1.0 4.1.0 Jan  1 2026 00:00:00 arm ")
    for char in "snrvbmpio":
        assert bench.body(osg.OsInfo(format=char))["output"]
    assert bench.body(osg.OsInfo(format="sx")) == {"err": {"group": 0, "rc": 2}}


def test_datetime(bench: Bench) -> None:
    """Date-time is unset (OS error 4) until set; malformed strings are EINVAL."""
    assert bench.body(osg.DateTimeGet()) == {"err": {"group": 0, "rc": 4}}
    assert bench.body(osg.DateTimeGet(), 0) == {"rc": 5}
    assert bench.body(osg.DateTimeSet(datetime="2026-02-03T04:05:06.789")) == {}
    assert bench.body(osg.DateTimeGet())["datetime"].startswith("2026-02-03T04:05:0")
    for bad in ("2026-02-03", "2026-13-03T04:05:06", "yesterday at noon, roughly"):
        assert bench.body(osg.DateTimeSet(datetime=bad)) == {"rc": 3}


def test_task_and_memory_stats_change(bench: Bench) -> None:
    """Task stack use and heap use move between reads, as on a running board."""
    first = bench.body(osg.TaskStats())["tasks"]
    assert {"idle", "main", "sysworkq"} <= set(first)
    for _ in range(3):
        bench.body(osg.Echo(d="work"))
    second = bench.body(osg.TaskStats())["tasks"]
    assert any(first[n]["stkuse"] != second[n]["stkuse"] for n in first)
    assert all(t["stkuse"] <= t["stksiz"] for t in second.values())
    pools = [bench.body(osg.MemoryPoolStats())["heap"]["nfree"] for _ in range(2)]
    assert pools[0] != pools[1]


def test_stats_counters_move_with_flash_writes(bench: Bench, new_image: bytes) -> None:
    """flash_sim_stats counts the bytes an upload writes; unknown groups are STAT error 2."""
    assert bench.body(stat.StatList()) == {
        "stat_list": ["smp_svr_stats", "flash_sim_stats", "mcumgr"]
    }
    before = bench.body(stat.StatRead(name="flash_sim_stats"))["fields"]["bytes_written"]
    bench.upload(new_image)
    after = bench.body(stat.StatRead(name="flash_sim_stats"))["fields"]["bytes_written"]
    assert after - before == len(new_image)
    assert bench.body(stat.StatRead(name="nope")) == {"err": {"group": 2, "rc": 2}}
    assert bench.body(stat.StatRead(name="nope"), 0) == {"rc": 5}


def test_mcumgr_stats_count_every_request(bench: Bench) -> None:
    """The modern profile's mcumgr group counts requests, so live views see counters move."""
    first = bench.body(stat.StatRead(name="mcumgr"))["fields"]["requests"]
    second = bench.body(stat.StatRead(name="mcumgr"))["fields"]["requests"]
    assert second == first + 1


def test_settings_lifecycle(bench: Bench) -> None:
    """Write/read at runtime; save persists; reboot drops unsaved; delete removes."""
    assert bench.body(settings.SettingWrite(name="bt/name", val=b"dev")) == {}
    assert bench.body(settings.SettingRead(name="bt/name")) == {"val": b"dev"}
    assert bench.body(settings.SettingRead(name="bt/name", max_size=4096)) == {
        "val": b"dev",
        "max_size": 256,
    }
    assert bench.body(settings.SettingsCommit()) == {}
    assert bench.body(settings.SettingsSave()) == {}
    bench.body(settings.SettingWrite(name="bt/name", val=b"changed"))
    bench.device.reboot()
    assert bench.body(settings.SettingRead(name="bt/name")) == {"val": b"dev"}
    bench.body(settings.SettingWrite(name="bt/name", val=b"x"))
    assert bench.body(settings.SettingsLoad()) == {}
    assert bench.body(settings.SettingRead(name="bt/name")) == {"val": b"dev"}
    assert bench.body(settings.SettingDelete(name="bt/name")) == {}
    assert bench.body(settings.SettingRead(name="bt/name")) == {"err": {"group": 3, "rc": 3}}
    assert bench.body(settings.SettingRead(name="k" * 65)) == {"err": {"group": 3, "rc": 2}}


def test_file_upload_download_and_hashes(make_bench: Callable[..., Bench]) -> None:
    """Files upload in order, download in buffer-sized chunks, and hash with crc32/sha256."""
    bench = make_bench(buf_size=256)
    content = bytes(range(256)) * 3
    off = 0
    while off < len(content):
        reply = bench.body(
            fs.FileUpload(
                off=off,
                name="/lfs/blob",
                data=content[off : off + 200],
                length=len(content) if off == 0 else None,
            )
        )
        off = reply["off"]
    assert bench.body(fs.FileStatus(name="/lfs/blob")) == {"len": len(content)}
    first = bench.body(fs.FileDownload(off=0, name="/lfs/blob"))
    assert first["len"] == len(content) and first["off"] == 0
    got, off = first["data"], len(first["data"])
    while off < len(content):
        part = bench.body(fs.FileDownload(off=off, name="/lfs/blob"))
        assert "len" not in part
        got += part["data"]
        off += len(part["data"])
    assert got == content
    assert bench.body(fs.FileHash(name="/lfs/blob")) == {
        "type": "crc32",
        "len": len(content),
        "output": zlib.crc32(content),
    }
    assert bench.body(fs.FileHash(name="/lfs/blob", type="sha256", off=10, length=20)) == {
        "type": "sha256",
        "off": 10,
        "len": 20,
        "output": hashlib.sha256(content[10:30]).digest(),
    }
    assert bench.body(fs.FileHash(name="/lfs/blob", type="md5")) == {"err": {"group": 8, "rc": 13}}
    types = bench.body(fs.HashTypes())["types"]
    assert types == {"crc32": {"format": 0, "size": 4}, "sha256": {"format": 1, "size": 32}}
    assert bench.body(fs.FileClose()) == {}


def test_file_errors(bench: Bench) -> None:
    """Wrong upload offsets give error 11 with the file's length; paths are checked."""
    bench.body(fs.FileUpload(off=0, name="/lfs/a", data=b"12345", length=10))
    assert bench.body(fs.FileUpload(off=3, name="/lfs/a", data=b"xx")) == {
        "err": {"group": 8, "rc": 11},
        "len": 5,
    }
    assert bench.body(fs.FileUpload(off=3, name="/lfs/a", data=b"xx"), 0) == {"rc": 3, "len": 5}
    assert bench.body(fs.FileUpload(off=0, name="/lfs/b", data=b"x")) == {"rc": 3}
    assert bench.body(fs.FileStatus(name="/lfs/none")) == {"err": {"group": 8, "rc": 3}}
    assert bench.body(fs.FileStatus(name="/lfs")) == {"err": {"group": 8, "rc": 4}}
    assert bench.body(fs.FileStatus(name="/sd/x")) == {"err": {"group": 8, "rc": 14}}
    assert bench.body(fs.FileStatus(name="relative")) == {"err": {"group": 8, "rc": 2}}
    assert bench.body(fs.FileDownload(off=99, name="/lfs/a")) == {"err": {"group": 8, "rc": 12}}


def test_shell(bench: Bench) -> None:
    """A few shell commands run; unknown ones return -8; an empty argv is shell error 3."""
    assert bench.body(shell.ShellExec(argv=["kernel", "uptime"]))["o"].startswith("Uptime: ")
    assert bench.body(shell.ShellExec(argv=["echo", "a", "b"])) == {"o": "a b\n", "ret": 0}
    assert "help" in bench.body(shell.ShellExec(argv=["help"]))["o"]
    assert bench.body(shell.ShellExec(argv=["frobnicate"]))["ret"] == -8
    assert bench.body(shell.ShellExec(argv=[])) == {"err": {"group": 9, "rc": 3}}
    assert bench.body(shell.ShellExec(argv=["x" * 300])) == {"err": {"group": 9, "rc": 2}}


def test_enumeration(bench: Bench) -> None:
    """Enum lists the built-in groups, walks them by index and details them."""
    groups = bench.body(enum.EnumList())["groups"]
    assert groups == [0, 1, 2, 3, 8, 9, 10, 63]
    assert bench.body(enum.EnumCount()) == {"count": len(groups)}
    assert bench.body(enum.EnumSingle()) == {"group": 0}
    assert bench.body(enum.EnumSingle(index=len(groups) - 1)) == {"group": 63, "end": True}
    assert bench.body(enum.EnumSingle(index=len(groups))) == {"err": {"group": 10, "rc": 4}}
    details = bench.body(enum.EnumDetails(groups=[1, 8]))["groups"]
    assert [d["group"] for d in details] == [1, 8]
    assert details[0]["handlers"] == 4  # state, upload, erase, slot info


def test_storage_erase_clears_settings_and_files(bench: Bench) -> None:
    """Zephyr basic storage erase removes saved settings and every file."""
    bench.body(settings.SettingWrite(name="a", val=b"1"))
    bench.body(settings.SettingsSave())
    bench.body(fs.FileUpload(off=0, name="/lfs/f", data=b"x", length=1))
    assert bench.body(zbasic.StorageErase()) == {}
    assert bench.body(settings.SettingRead(name="a")) == {"err": {"group": 3, "rc": 3}}
    assert bench.body(fs.FileStatus(name="/lfs/f")) == {"err": {"group": 8, "rc": 3}}
    bench.device.reboot()
    assert bench.body(settings.SettingRead(name="a")) == {"err": {"group": 3, "rc": 3}}


def _imgtool(tmp_path: Path, *args: str) -> bytes:
    payload = tmp_path / "app.bin"
    payload.write_bytes(hashlib.sha256(b"app").digest() * 200)
    key = tmp_path / "key.pem"
    tool = [sys.executable, "-m", "imgtool.main"]
    if not key.exists():
        subprocess.run(
            [*tool, "keygen", "-k", str(key), "-t", "ecdsa-p256"], check=True, capture_output=True
        )
    out = tmp_path / "signed.bin"
    subprocess.run(
        [
            *tool,
            "sign",
            "-k",
            str(key),
            "--header-size",
            "0x200",
            "--pad-header",
            "--align",
            "4",
            "--slot-size",
            str(128 * 1024),
            *args,
            str(payload),
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


@pytest.mark.parametrize("pad", [False, True])
def test_imgtool_image_lists_and_boots(bench: Bench, tmp_path: Path, pad: bool) -> None:
    """An imgtool-signed image lists as 1.2.3.4; a --pad image requests a test swap itself."""
    image = _imgtool(tmp_path, "--version", "1.2.3+4", *(["--pad"] if pad else []))
    assert bench.upload(image, chunk=1500)["match"] is True
    slot1 = by_slot(bench.state())[1]
    assert slot1["version"] == "1.2.3.4"
    assert flags(slot1) == ({"bootable", "pending"} if pad else {"bootable"})
    if not pad:
        bench.test(slot1["hash"])
    bench.device.reboot()
    assert bench.device.running_version() == "1.2.3.4"
