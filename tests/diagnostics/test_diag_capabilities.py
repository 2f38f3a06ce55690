"""Capability detection and the snapshot, against the simulator's firmware profiles."""

from __future__ import annotations

import pytest

from app.client import SmpClient
from app.sim.device import SimDevice
from app.smp.header import Group
from app.workflows.diagnostics import (
    Feature,
    NotSupported,
    Support,
    detect_capabilities,
    guarded,
    read_snapshot,
)


async def test_modern_device_lists_its_groups(client: SmpClient) -> None:
    """A device with the Enum group is described from its own group list."""
    caps = await detect_capabilities(client)
    assert caps.source == "enum"
    assert caps.groups is not None and Group.ENUM in caps.groups
    for feature in (
        Feature.OS_INFO,
        Feature.BOOTLOADER_INFO,
        Feature.PARAMS,
        Feature.DATETIME,
        Feature.TASK_STATS,
        Feature.STATS,
        Feature.SETTINGS,
        Feature.FS,
        Feature.SHELL,
        Feature.STORAGE_ERASE,
        Feature.SLOT_INFO,
    ):
        assert caps.support(feature) == Support.SUPPORTED, feature
    assert caps.support(Feature.LOG) == Support.UNSUPPORTED  # Zephyr has no log handler


@pytest.mark.parametrize("profile", ["old-firmware"])
async def test_device_without_enum_is_probed(client: SmpClient) -> None:
    """Without Enum, harmless reads decide; storage erase cannot be probed, so it is unknown."""
    caps = await detect_capabilities(client)
    assert caps.source == "probe" and caps.groups is None
    assert caps.support(Feature.ENUM) == Support.UNSUPPORTED
    for feature in (Feature.BOOTLOADER_INFO, Feature.DATETIME, Feature.SLOT_INFO):
        assert caps.support(feature) == Support.UNSUPPORTED, feature
    for feature in (
        Feature.OS_INFO,
        Feature.PARAMS,
        Feature.TASK_STATS,
        Feature.SETTINGS,
        Feature.FS,
        Feature.SHELL,
        Feature.STATS,
    ):
        assert caps.support(feature) == Support.SUPPORTED, feature
    assert caps.support(Feature.STORAGE_ERASE) == Support.UNKNOWN
    assert caps.usable(Feature.STORAGE_ERASE)


@pytest.mark.parametrize("profile", ["zephyr-3.4"])
async def test_zephyr_34_reports_missing_groups(client: SmpClient) -> None:
    """The Zephyr 3.4 build answers legacy rc errors; missing groups are still recognised."""
    caps = await detect_capabilities(client)
    assert caps.source == "probe"
    for feature in (
        Feature.SETTINGS,
        Feature.FS,
        Feature.SHELL,
        Feature.DATETIME,
        Feature.MEMPOOL_STATS,
        Feature.BOOTLOADER_INFO,
    ):
        assert caps.support(feature) == Support.UNSUPPORTED, feature
    assert caps.supports(Feature.STATS) and caps.supports(Feature.TASK_STATS)


@pytest.mark.parametrize("profile", ["zephyr-3.4"])
async def test_unsupported_reads_say_so_plainly(client: SmpClient) -> None:
    """An unsupported section carries a plain sentence naming the feature, not a raw rc."""
    snap = await read_snapshot(client)
    assert snap.datetime.unsupported and not snap.datetime.ok
    assert snap.datetime.error == (
        "This device's firmware does not support date and time "
        "(built in with CONFIG_MCUMGR_GRP_OS_DATETIME)."
    )
    assert snap.os_info.ok and snap.os_info.value is not None
    assert snap.os_info.value.fields["v"] == "3.4.99"
    with pytest.raises(NotSupported, match="does not support settings"):
        await guarded(Feature.SETTINGS, client.setting_read("a/b"))


async def test_snapshot_reads_every_section(client: SmpClient, device: SimDevice) -> None:
    """The snapshot holds each OS info field asked alone, stack in bytes, stats and slots."""
    snap = await read_snapshot(client)
    assert snap.os_info.value is not None
    fields = snap.os_info.value.fields
    assert fields["n"] == "diag-board"
    assert fields["b"] is not None and "  " in fields["b"]  # a value with spaces stays whole
    assert snap.bootloader.value is not None and snap.bootloader.value.name == "MCUboot"
    assert snap.params.value == (device.config.buf_size, device.config.buf_count)
    assert snap.tasks.value and all(
        t.stack_size_bytes and t.stack_size_bytes % 4 == 0 for t in snap.tasks.value
    )
    assert snap.stats.value and set(snap.stats.value.groups) == set(device.profile.stat_groups)
    assert snap.images.value and snap.images.value[0].active
    assert not snap.datetime.ok and "never been set" in (snap.datetime.error or "")
    assert snap.datetime.code == "RTC_NOT_SET"
    assert snap.errors == ()  # a clock never set is the device's state (a note), not a failure
