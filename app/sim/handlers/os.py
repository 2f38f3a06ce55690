"""Group 0, OS: echo, task and memory stats, date-time, reset, params, info, bootloader info
(spec digest §6.0)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.sim.handlers.base import GroupFailure, SmpFailure, handles
from app.smp.errors import MgmtErr, OsErr
from app.smp.groups import os as g
from app.smp.header import Group

if TYPE_CHECKING:
    from app.sim.device import SimDevice

INFO_ORDER = "snrvbmpio"
"""Zephyr emits items in this fixed order, whatever order the request names them (§6.0.7)."""
INFO_MAX_BYTES = 256
"""CONFIG_MCUMGR_GRP_OS_INFO_MAX_RESPONSE_SIZE."""
_DATETIME = re.compile(r"(\d+).(\d+).(\d+).(\d+).(\d+).(\d+)(?:\.(\d{1,3}))?")


@handles(g.Echo)
def echo(dev: SimDevice, req: g.Echo) -> g.EchoResponse:
    return g.EchoResponse(r=req.d)


@handles(g.TaskStats, decodes=False)
def task_stats(dev: SimDevice, req: g.TaskStats) -> g.TaskStatsResponse:
    tasks: list[tuple[str, g.TaskInfo]] = []
    tick = dev.counters["requests"]
    for tid, spec in enumerate(dev.profile.tasks):
        if dev.profile.minimal_task_stats:
            tasks.append((spec.name, g.TaskInfo(prio=spec.prio, tid=tid, state=spec.state)))
            continue
        if dev.profile.fixed_stack_use is not None:
            use = dev.profile.fixed_stack_use
        else:  # stack use wanders with the work the device does, so a UI sees it change
            use = spec.stksiz // 4 + (tick * (tid + 3)) % max(spec.stksiz // 2, 1)
        tasks.append(
            (
                spec.name,
                g.TaskInfo(
                    prio=spec.prio,
                    tid=tid,
                    state=spec.state,
                    stksiz=spec.stksiz,
                    stkuse=min(use, spec.stksiz),
                    runtime=spec.runtime
                    if spec.runtime is not None
                    else int(dev.uptime_s() * 1000) * (tid + 1),
                    **dev.profile.task_extra,
                ),
            )
        )
    return g.TaskStatsResponse(tasks=tasks)


@handles(g.MemoryPoolStats, decodes=False)
def mempool_stats(dev: SimDevice, req: g.MemoryPoolStats) -> g.MemoryPoolStatsResponse:
    used = 40 + dev.counters["requests"] % 60
    return g.MemoryPoolStatsResponse(
        pools={"heap": g.MemoryPool(blksiz=8, nblks=512, nfree=512 - used, min=512 - 100)}
    )


@handles(g.DateTimeGet, decodes=False)
def datetime_get(dev: SimDevice, req: g.DateTimeGet) -> g.DateTimeResponse:
    if dev.rtc_base is None:
        raise GroupFailure(Group.OS, OsErr.RTC_NOT_SET)
    base, set_at = dev.rtc_base
    now = base + timedelta(seconds=dev.clock() - set_at)
    return g.DateTimeResponse(datetime=now.strftime("%Y-%m-%dT%H:%M:%S"))


@handles(g.DateTimeSet)
def datetime_set(dev: SimDevice, req: g.DateTimeSet) -> g.EmptyResponse:
    dev.rtc_base = (parse_datetime(req.datetime), dev.clock())
    return g.EmptyResponse()


def parse_datetime(text: str) -> datetime:
    """Zephyr's rules (§6.0.4): 19..25 characters, six numbers each separated by one character,
    optional `.mmm`; anything after is ignored. Out of range → EINVAL."""
    match = _DATETIME.match(text)
    if not 19 <= len(text) <= 25 or match is None:
        raise SmpFailure(MgmtErr.EINVAL)
    year, month, day, hour, minute, second = (int(v) for v in match.groups()[:6])
    ms = int(match.group(7) or 0)
    # Zephyr allows years up to 11899; Python's datetime stops at 9999, so those are refused.
    if not 1900 <= year <= 9999:
        raise SmpFailure(MgmtErr.EINVAL)
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000)
    except ValueError:
        raise SmpFailure(MgmtErr.EINVAL) from None


@handles(g.Reset, decodes=False)
def reset(dev: SimDevice, req: g.Reset) -> g.EmptyResponse:
    dev.reply_reboots = True
    return g.EmptyResponse()


@handles(g.McumgrParams, decodes=False)
def mcumgr_params(dev: SimDevice, req: g.McumgrParams) -> g.McumgrParamsResponse:
    return g.McumgrParamsResponse(buf_size=dev.config.buf_size, buf_count=dev.config.buf_count)


@handles(g.OsInfo)
def os_info(dev: SimDevice, req: g.OsInfo) -> g.OsInfoResponse:
    fmt = "s" if req.format is None else req.format
    values = dict(dev.profile.os_info)
    values.setdefault("n", dev.config.name)
    wanted = set(INFO_ORDER) if "a" in fmt else set(fmt)
    unknown = wanted - set(INFO_ORDER)
    if unknown:
        raise GroupFailure(Group.OS, OsErr.INVALID_FORMAT)
    parts = [values[c] for c in INFO_ORDER if c in wanted and c in values]
    output = " ".join(parts)
    if len(output) > INFO_MAX_BYTES:
        raise SmpFailure(MgmtErr.EMSGSIZE)
    return g.OsInfoResponse(output=output)


@handles(g.BootloaderInfo)
def bootloader_info(dev: SimDevice, req: g.BootloaderInfo) -> g.BootloaderInfoResponse:
    if req.query is None:
        return g.BootloaderInfoResponse(bootloader="MCUboot")
    if req.query == "mode":
        return g.BootloaderInfoResponse(
            mode=int(dev.mode), no_downgrade=True if dev.no_downgrade else None
        )
    # Zephyr returns QUERY_YIELDS_NO_ANSWER as the SMP status, so it reads as rc 3 (§6.0.8).
    raise SmpFailure(OsErr.QUERY_YIELDS_NO_ANSWER)
