"""Groups 2 (statistics), 3 (settings), 9 (shell), 10 (enumeration), 63 (Zephyr basic)
(spec digest §6.2, §6.3, §6.6, §6.7, §6.9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.sim.handlers.base import (
    HANDLERS,
    GroupFailure,
    SmpFailure,
    StaleHeader,
    handles,
    prepares,
)
from app.smp.errors import EnumErr, MgmtErr, SettingsErr, ShellErr, StatErr
from app.smp.groups import enum as en
from app.smp.groups import settings as st
from app.smp.groups import shell as sh
from app.smp.groups import stat as sg
from app.smp.groups import zbasic as zb
from app.smp.groups.os import Echo, EmptyResponse
from app.smp.header import Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

SETTING_NAME_MAX = 64
"""CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN."""
SETTING_VALUE_MAX = 256
"""The settings value buffer."""
SHELL_LINE_MAX = 256
STORAGE_PARTITION_BYTES = 32 * 1024
GROUP_NAMES = {
    0: "os mgmt",
    1: "img mgmt",
    2: "stat mgmt",
    3: "settings mgmt",
    8: "fs mgmt",
    9: "shell mgmt",
    10: "enum mgmt",
    63: "zephyr basic mgmt",
}


@prepares(Echo)
def _echo_body(dev: SimDevice, body: dict[str, Any]) -> dict[str, Any]:
    # Zephyr 3.4 echoes an empty string when `d` is missing (captured).
    if "d" not in body and dev.profile.echo_missing_is_empty:
        return {**body, "d": ""}
    return body


# --- statistics ------------------------------------------------------------------------------


def _stat_fields(dev: SimDevice, name: str) -> dict[str, int] | None:
    if name in dev.profile.stat_sizes:  # e.g. 3.4's flash_sim_stats: too large for a buffer
        return {f"s{i}": 0 for i in range(dev.profile.stat_sizes[name])}
    captured = dev.profile.stat_fields.get(name)
    if captured is None:
        return _live_counters(dev, name)
    return {k: _LIVE[k](dev) if k in _LIVE else v for k, v in captured.items()}


_LIVE: dict[str, Callable[[SimDevice], int]] = {
    "ticks": lambda d: int(d.uptime_s()),  # smp_svr counts one tick a second
    "uptime_s": lambda d: int(d.uptime_s()),
    "boots": lambda d: d.counters["reboots"] + 1,
}
"""Counters whose meaning is known wherever they appear in a captured group."""


def _live_counters(dev: SimDevice, name: str) -> dict[str, int] | None:
    c = dev.counters
    if name == "smp_svr_stats":
        return {"ticks": int(dev.uptime_s()), "s1": 0}
    if name == "flash_sim_stats":
        return {
            "bytes_read": 0,
            "bytes_written": c["bytes_written"],
            "double_writes": 0,
            "flash_read_calls": 0,
            "flash_write_calls": c["write_calls"],
            "flash_erase_calls": c["erase_calls"],
            "flash_read_time_us": 0,
            "flash_write_time_us": 0,
            "flash_erase_time_us": 0,
        }
    if name == "mcumgr":  # counters that move with every request, for the live views
        return {
            "requests": c["requests"],
            "reboots": c["reboots"],
            "flash_bytes_written": c["bytes_written"],
            "uptime_s": int(dev.uptime_s()),
        }
    if name == "flash_sim_thresholds":
        return {"max_write_calls": 0, "max_erase_calls": 0, "max_len": 0}
    return None


@handles(sg.StatList, decodes=False)
def stat_list(dev: SimDevice, req: sg.StatList) -> sg.StatListResponse:
    return sg.StatListResponse(stat_list=list(dev.profile.stat_groups))


@handles(sg.StatRead)
def stat_read(dev: SimDevice, req: sg.StatRead) -> sg.StatReadResponse:
    fields = _stat_fields(dev, req.name) if req.name in dev.profile.stat_groups else None
    if fields is None:
        if dev.profile.stale_header_for_unknown_stat:
            raise StaleHeader
        raise GroupFailure(Group.STAT, StatErr.INVALID_GROUP)
    return sg.StatReadResponse(name=req.name, fields=fields)


# --- settings --------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if len(name.encode()) > SETTING_NAME_MAX:
        raise GroupFailure(Group.SETTINGS, SettingsErr.KEY_TOO_LONG)


@handles(st.SettingRead)
def setting_read(dev: SimDevice, req: st.SettingRead) -> st.SettingReadResponse:
    _check_name(req.name)
    value = dev.settings.get(req.name)
    if value is None:
        raise GroupFailure(Group.SETTINGS, SettingsErr.KEY_NOT_FOUND)
    limit = SETTING_VALUE_MAX if req.max_size is None else min(req.max_size, SETTING_VALUE_MAX)
    reported = SETTING_VALUE_MAX if req.max_size and req.max_size > SETTING_VALUE_MAX else None
    return st.SettingReadResponse(val=value[:limit], max_size=reported)


@handles(st.SettingWrite)
def setting_write(dev: SimDevice, req: st.SettingWrite) -> EmptyResponse:
    _check_name(req.name)
    if len(req.val) > SETTING_VALUE_MAX:
        raise SmpFailure(MgmtErr.ENOMEM)
    dev.settings[req.name] = req.val
    return EmptyResponse()


@handles(st.SettingDelete)
def setting_delete(dev: SimDevice, req: st.SettingDelete) -> EmptyResponse:
    _check_name(req.name)
    dev.settings.pop(req.name, None)
    dev.stored_settings.pop(req.name, None)
    dev.persist_settings()
    return EmptyResponse()


@handles(st.SettingsCommit, decodes=False)
def settings_commit(dev: SimDevice, req: st.SettingsCommit) -> EmptyResponse:
    return EmptyResponse()


@handles(st.SettingsLoad, decodes=False)
def settings_load(dev: SimDevice, req: st.SettingsLoad) -> EmptyResponse:
    dev.settings.update(dev.stored_settings)
    return EmptyResponse()


@handles(st.SettingsSave, decodes=False)
def settings_save(dev: SimDevice, req: st.SettingsSave) -> EmptyResponse:
    dev.stored_settings = dict(dev.settings)
    dev.persist_settings()
    return EmptyResponse()


# --- shell -----------------------------------------------------------------------------------


def _shell_run(dev: SimDevice, argv: list[str]) -> tuple[str, int]:
    version = dev.profile.os_info.get("v", "unknown")
    words = " ".join(argv)
    if argv[0] == "help":
        return ("Available commands:\n  device  echo  help  kernel  version\n", 0)
    if argv[0] == "version" or words == "kernel version":
        return (f"Zephyr version {version}\n", 0)
    if words == "kernel uptime":
        return (f"Uptime: {int(dev.uptime_s() * 1000)} ms\n", 0)
    if argv[0] == "echo":
        return (" ".join(argv[1:]) + "\n", 0)
    if words == "device list":
        return ("devices:\n- flash-controller@4001e000 (READY)\n- uart@40002000 (READY)\n", 0)
    if argv[0] in ("kernel", "device"):
        return (f"{argv[0]}: missing subcommand\n", -22)
    return (f"{argv[0]}: command not found\n", -8)


@handles(sh.ShellExec)
def shell_exec(dev: SimDevice, req: sh.ShellExec) -> sh.ShellExecResponse:
    if not req.argv or not "".join(req.argv).strip():
        raise GroupFailure(Group.SHELL, ShellErr.EMPTY_COMMAND)
    if len(" ".join(req.argv)) > SHELL_LINE_MAX:
        raise GroupFailure(Group.SHELL, ShellErr.COMMAND_TOO_LONG)
    output, ret = _shell_run(dev, req.argv)
    if dev.profile.shell_console:  # as Zephyr's shell prints it (captured on 3.4)
        output = output.replace("\n", "\r\n")
        output = "\r\n" + (output if ret == 0 else f"\x1b[1;31m{output}\x1b[m")
    return sh.ShellExecResponse(o=output, ret=ret)


# --- enumeration -----------------------------------------------------------------------------


@handles(en.EnumCount, decodes=False)
def enum_count(dev: SimDevice, req: en.EnumCount) -> en.EnumCountResponse:
    return en.EnumCountResponse(count=len(dev.profile.groups()))


@handles(en.EnumList, decodes=False)
def enum_list(dev: SimDevice, req: en.EnumList) -> en.EnumListResponse:
    return en.EnumListResponse(groups=dev.profile.groups())


@handles(en.EnumSingle)
def enum_single(dev: SimDevice, req: en.EnumSingle) -> en.EnumSingleResponse:
    groups = dev.profile.groups()
    index = req.index or 0
    if index >= len(groups):
        raise GroupFailure(Group.ENUM, EnumErr.INDEX_TOO_LARGE)
    return en.EnumSingleResponse(
        group=groups[index], end=True if index == len(groups) - 1 else None
    )


@handles(en.EnumDetails)
def enum_details(dev: SimDevice, req: en.EnumDetails) -> en.EnumDetailsResponse:
    groups = dev.profile.groups()
    wanted = groups if req.groups is None else [g for g in groups if g in req.groups]
    details = [
        en.EnumGroupDetail(group=g, name=GROUP_NAMES.get(g), handlers=_handlers_in(dev, g))
        for g in wanted
    ]
    return en.EnumDetailsResponse(groups=details)


def _handlers_in(dev: SimDevice, group: int) -> int:
    commands = {cls.COMMAND for cls in HANDLERS if group == cls.GROUP}
    return sum(1 for c in commands if dev.profile.supports(group, c))


# --- Zephyr basic ----------------------------------------------------------------------------


@handles(zb.StorageErase, decodes=False)
def storage_erase(dev: SimDevice, req: zb.StorageErase) -> EmptyResponse:
    # The storage partition holds settings and the file system: both are gone.
    dev.settings.clear()
    dev.stored_settings.clear()
    dev.files.clear()
    dev.fs_session = None
    dev.persist_settings()
    dev.forget_file(None)
    dev.note_flash_erase(STORAGE_PARTITION_BYTES)
    return EmptyResponse()
