"""Firmware profiles: the quirks of real builds the simulator reproduces.

`zephyr-modern` (default) has every group and v2 group errors. `zephyr-3.4` matches the captured
Zephyr 3.4.99 smp_svr (tests/data/captures): legacy `rc` errors even for v2 requests with
verbose reasons, `"rc": 0` inside a successful stats list, only OS, image and stats built in.
`old-firmware` is modern minus bootloader info, datetime, enumeration and slot info.
`zephyr-3.4-stock`, `-fast` and `-full` answer byte for byte like the three captured builds of
Zephyr 3.4.99's smp_svr (tests/data/captures/zephyr-3.4-*.json), buffers and MCUboot mode
included. A new profile is one more entry in PROFILES.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.smp.header import Group

WHOLE_GROUP = -1
"""Command wildcard in `Profile.missing`."""

ALL_GROUPS = (
    Group.OS,
    Group.IMAGE,
    Group.STAT,
    Group.SETTINGS,
    Group.FS,
    Group.SHELL,
    Group.ENUM,
    Group.ZEPHYR_BASIC,
)
"""Groups this simulator implements; log/crash/split/run have no Zephyr handler (§6.4)."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    prio: int
    state: int
    stksiz: int
    runtime: int | None = None
    """A fixed `runtime` (as captured); None: it grows with uptime."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    missing: frozenset[tuple[int, int]] = frozenset()
    """(group, command) pairs not built in; command WHOLE_GROUP removes the group."""
    zcbor_replies: bool = False
    """Replies written as Zephyr's zcbor does (indefinite maps, handler key order), byte for
    byte as captured; otherwise canonical CBOR."""
    legacy_errors: bool = False
    """Every error as an SMP `rc` (group errors translated), even for v2 requests."""
    verbose_errors: bool = True
    """`rsn` text in `rc`-style error maps (CONFIG_MCUMGR_SMP_VERBOSE_ERR_RESPONSE)."""
    rc_zero: frozenset[tuple[int, int]] = frozenset()
    """(group, command) whose successful replies carry `"rc": 0`."""
    echo_missing_is_empty: bool = False
    """Echo without `d` answers `{"r": ""}` instead of EINVAL."""
    minimal_task_stats: bool = False
    """Task names are stringified priorities; only prio/tid/state are reported."""
    allow_erase_pending: bool = True
    """CONFIG_MCUMGR_GRP_IMG_ALLOW_ERASE_PENDING: a pending secondary may be overwritten."""
    erase_empty_fails: bool = False
    """Erasing a slot that is already empty answers rc 1 (EUNKNOWN), as Zephyr 3.4 does."""
    image_check: bool = True
    """CONFIG_IMG_ENABLE_IMAGE_CHECK: `match` in the last upload reply (the 3.4 build lacks it)."""
    confirm_any_image: bool = False
    """..._ALLOW_CONFIRM_NON_ACTIVE_IMAGE_ANY (default n): only the secondary slot of a
    non-active image may be confirmed (made permanent), so image 1 is updated with confirm."""
    untranslated_groups: frozenset[int] = frozenset()
    """Groups without a v1 translation function (their group errors become EUNKNOWN)."""
    os_info: dict[str, str] = field(default_factory=dict)
    """Values per `os info` format character; `n` defaults to the device name."""
    tasks: tuple[TaskSpec, ...] = ()
    fixed_stack_use: int | None = None
    """Every thread reports this `stkuse` (as captured); None: it wanders with the work."""
    task_extra: dict[str, int] = field(default_factory=dict)
    """Further task fields with fixed values (cswcnt, last/next_checkin where captured)."""
    stat_groups: tuple[str, ...] = ("smp_svr_stats", "flash_sim_stats")
    stat_fields: dict[str, dict[str, int]] = field(default_factory=dict)
    """Counters per group as captured; names the simulator counts itself (ticks, boots,
    uptime_s, bytes_written, ...) are live, the rest are the captured values."""
    stat_sizes: dict[str, int] = field(default_factory=dict)
    """Groups with this many counters (s0, s1, ...): flash_sim_stats has 521 on Zephyr 3.4,
    more than one MCUmgr buffer holds, so it answers EMSGSIZE."""
    stale_header_for_unknown_stat: bool = False
    """Reading a stats group that does not exist answers a bare header repeating the previous
    reply's header (captured on the full 3.4 build: a firmware bug)."""
    buffers: tuple[int, int] | None = None
    """The build's MCUmgr buffers (size, count), used unless the simulator is told others."""
    boot_mode: int | None = None
    """The build's MCUboot mode (BootloaderMode), used unless the simulator is told another."""
    drops_when_buffers_full: bool = False
    """Zephyr 3.4 over UDP, as captured: a request arriving when every buffer is held is
    dropped unanswered, and one taken from the queue while no buffer is free for its reply is
    answered ENOMEM. Otherwise: ENOMEM once buf_count - 1 requests are held."""
    settings: dict[str, bytes] = field(default_factory=dict)
    """Settings stored on a fresh board."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Files on a fresh board's file system."""
    fs_mount: str = "/lfs"
    """Where the file system is mounted."""
    shell_console: bool = False
    """Shell output as Zephyr's shell writes it: CR/LF line ends, a leading CR/LF, errors in
    ANSI red (captured on 3.4)."""

    def supports(self, group: int, command: int) -> bool:
        if group not in ALL_GROUPS:
            return False
        return (group, WHOLE_GROUP) not in self.missing and (group, command) not in self.missing

    def groups(self) -> list[int]:
        return [int(g) for g in ALL_GROUPS if (g, WHOLE_GROUP) not in self.missing]


_MODERN_INFO = {
    "s": "Zephyr",
    "r": "v4.1.0",
    "v": "4.1.0",
    "b": "Jan  1 2026 00:00:00",
    "m": "arm",
    "p": "cortex-m4",
    "i": "nrf52840dk/nrf52840",
    "o": "Zephyr",
}

_MODERN_TASKS = (
    TaskSpec("idle", 15, 0, 80),
    TaskSpec("main", 0, 0, 256),
    TaskSpec("sysworkq", -1, 0, 256),
    TaskSpec("logging", 14, 0, 192),
    TaskSpec("mcumgr smp", 14, 0, 512),
)

_34_TASKS = tuple(  # without CONFIG_THREAD_NAME: keys are priorities, and they repeat
    TaskSpec(str(prio), prio, state, 0)
    for prio, state in (
        (3, 128),
        (0, 2),
        (0, 2),
        (-1, 2),
        (-1, 2),
        (-2, 16),
        (-1, 2),
        (-1, 2),
        (15, 0),
        (0, 16),
    )
)
"""The ten threads of Zephyr 3.4's smp_svr over UDP, as captured (`tid` is their index)."""

_34_SMP_SVR = Profile(
    name="zephyr-3.4.99-smp_svr",
    legacy_errors=True,
    rc_zero=frozenset({(Group.STAT, 1)}),
    echo_missing_is_empty=True,
    minimal_task_stats=True,
    allow_erase_pending=False,
    erase_empty_fails=True,
    image_check=False,
    untranslated_groups=frozenset({Group.STAT}),
    tasks=_34_TASKS,
    stat_groups=("flash_sim_stats", "flash_sim_thresholds", "smp_svr_stats"),
)
"""What Zephyr 3.4.99's smp_svr does in every captured build; each 3.4 profile below is this
with what its build adds or lacks."""

PROFILES: dict[str, Profile] = {
    "zephyr-modern": Profile(
        name="zephyr-modern",
        os_info=_MODERN_INFO,
        tasks=_MODERN_TASKS,
        stat_groups=("smp_svr_stats", "flash_sim_stats", "mcumgr"),
    ),
    "old-firmware": Profile(
        name="old-firmware",
        missing=frozenset(
            {(Group.OS, 8), (Group.OS, 4), (Group.ENUM, WHOLE_GROUP), (Group.IMAGE, 6)}
        ),
        os_info=_MODERN_INFO | {"r": "v3.2.0", "v": "3.2.0"},
        tasks=_MODERN_TASKS,
    ),
    "zephyr-3.4": replace(
        _34_SMP_SVR,
        name="zephyr-3.4",
        missing=frozenset(
            {
                (Group.OS, 3),
                (Group.OS, 4),
                (Group.OS, 8),
                (Group.IMAGE, 6),
                (Group.SETTINGS, WHOLE_GROUP),
                (Group.FS, WHOLE_GROUP),
                (Group.SHELL, WHOLE_GROUP),
                (Group.ENUM, WHOLE_GROUP),
                (Group.ZEPHYR_BASIC, WHOLE_GROUP),
            }
        ),
        os_info={
            "s": "Zephyr",
            "n": "unknown",
            "r": "",
            "v": "3.4.99",
            "m": "posix",
            "p": "unknown",
            "i": "native_sim_64",
            "o": "Zephyr",
        },
    ),
}


# --- the captured Zephyr 3.4.99 smp_svr builds (tests/data/captures/zephyr-3.4-*.json) ----------

_34_MISSING_ALWAYS = frozenset(
    {
        (Group.OS, 3),  # memory pools
        (Group.OS, 4),  # date-time: not in 3.4.99
        (Group.IMAGE, 6),  # slot info: not in 3.4.99
        (Group.ENUM, WHOLE_GROUP),  # not in 3.4.99
    }
)
_34_OPTIONAL_GROUPS = frozenset(
    {
        (Group.OS, 7),  # OS info
        (Group.OS, 8),  # bootloader info
        (Group.SETTINGS, WHOLE_GROUP),
        (Group.FS, WHOLE_GROUP),
        (Group.SHELL, WHOLE_GROUP),
        (Group.ZEPHYR_BASIC, WHOLE_GROUP),
    }
)
_34_STATS = {
    "flash_sim_thresholds": {"max_write_calls": 0, "max_erase_calls": 0, "max_len": 0, "s3": 0},
    "smp_svr_stats": {"ticks": 0, "s1": 0},
}
_34_BUILD = replace(
    _34_SMP_SVR,
    name="zephyr-3.4-stock",
    missing=_34_MISSING_ALWAYS | _34_OPTIONAL_GROUPS,
    zcbor_replies=True,
    verbose_errors=False,
    stat_fields=_34_STATS,
    stat_sizes={"flash_sim_stats": 521},
    buffers=(2048, 2),
    boot_mode=1,  # swap using scratch
    drops_when_buffers_full=True,
)
"""smp_svr as the sample builds it for UDP: OS (echo, reset, taskstat, params), image, stats."""

_34_FULL_TASKS = (
    TaskSpec("peer_full", 10, 16, 1024, runtime=0),
    TaskSpec("mcumgr smp", 3, 128, 2048, runtime=0),
    TaskSpec("smp_udp6", 0, 2, 128, runtime=0),
    TaskSpec("smp_udp4", 0, 2, 128, runtime=0),
    TaskSpec("", -1, 2, 128, runtime=0),
    TaskSpec("rx_q[0]", -1, 2, 376, runtime=0),
    TaskSpec("eth_native_posix_rx-zeth", -2, 16, 10, runtime=0),
    TaskSpec("net_mgmt", -1, 2, 192, runtime=0),
    TaskSpec("sysworkq", -1, 2, 1024, runtime=0),
    TaskSpec("shell_dummy", 14, 2, 768, runtime=0),
    TaskSpec("idle", 15, 0, 64, runtime=419999),
    TaskSpec("main", 0, 16, 1024, runtime=0),
)
_34_FULL_STATS = _34_STATS | {
    # the application's own counters; smp_cmds/smp_errs are replayed as captured
    "peer_stats": {"smp_cmds": 27, "smp_errs": 2, "boots": 0, "uptime_s": 0},
}

PROFILES["zephyr-3.4-stock"] = _34_BUILD
PROFILES["zephyr-3.4-fast"] = replace(_34_BUILD, name="zephyr-3.4-fast", buffers=(1536, 8))
"""The stock build with 8 MCUmgr buffers of 1536 bytes."""
PROFILES["zephyr-3.4-full"] = replace(
    _34_BUILD,
    name="zephyr-3.4-full",
    missing=_34_MISSING_ALWAYS,
    verbose_errors=True,
    minimal_task_stats=False,
    image_check=True,
    os_info={
        "s": "Zephyr",
        "n": "unknown",
        "r": "",
        "v": "3.4.99",
        "b": "Sat Dec  5 15:12:08 2026",
        "m": "posix",
        "p": "unknown",
        "i": "native_posix_64",
        "o": "Zephyr",
    },
    tasks=_34_FULL_TASKS,
    fixed_stack_use=10,
    task_extra={"cswcnt": 0, "last_checkin": 0, "next_checkin": 0},
    stat_groups=("flash_sim_stats", "flash_sim_thresholds", "smp_svr_stats", "peer_stats"),
    stat_fields=_34_FULL_STATS,
    stale_header_for_unknown_stat=True,
    untranslated_groups=frozenset({Group.STAT, Group.FS}),  # a missing file is rc 1
    buffers=(2048, 4),
    settings={"peer/name": b"zephyr-peer-full", "peer/boots": (1).to_bytes(4, "little")},
    files={"/lfs1/hello.txt": b"hello from the zephyr-peer full smp_svr (Zephyr 3.4.99)\n"},
    fs_mount="/lfs1",
    shell_console=True,
)
"""Every group 3.4 offers: OS and bootloader info, thread names and stack use, image check,
a stats group of the application's own, FS (LittleFS at /lfs1), shell, settings, Zephyr basic."""


def get_profile(name: str) -> Profile:
    """The named profile; ValueError with the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown simulator profile {name!r} (known: {known})") from None


@dataclass(frozen=True, slots=True)
class RecoveryProfile:
    """MCUboot serial recovery as built (Kconfig.serial_recovery); app/sim/recovery.py runs it.

    A board with one powers on in recovery (its button held); after the reset command it boots
    the application if the primary slot holds a valid image, else stays in recovery
    (CONFIG_BOOT_SERIAL_NO_APPLICATION).
    """

    name: str
    echo: bool = True
    """CONFIG_BOOT_MGMT_ECHO: OS echo answers; without it `{"rc": 8}`."""
    image_hash: bool = True
    """CONFIG_BOOT_SERIAL_IMG_GRP_HASH (default y): `hash` in the image list."""
    storage_erase: bool = False
    """CONFIG_BOOT_MGMT_CUSTOM_STORAGE_ERASE: Zephyr basic (63) command 0 erases storage."""
    params: bool = False
    """MCUBOOT_BOOT_MGMT_MCUMGR_PARAMS: OS params answers `buf_size` and `buf_count` 1."""
    max_receive_bytes: int = 1024
    """CONFIG_BOOT_SERIAL_MAX_RECEIVE_SIZE: the one decode buffer (length, packet, CRC)."""
    max_line_bytes: int = 128
    """CONFIG_BOOT_MAX_LINE_INPUT_LEN: a longer input line is cut, so its packet is lost."""
    write_align: int = 4
    """flash_area_align(): a non-final chunk is written only up to a multiple of this."""
    whole_op_byte: bool = False
    """MCUboot before PR #1751 (issue #1748) compares the whole first header byte with the op,
    so a request carrying SMP v2 version bits gets no answer at all."""

    @property
    def max_packet_bytes(self) -> int:
        """The largest SMP packet the decode buffer holds beside length prefix and CRC."""
        return self.max_receive_bytes - 4


RECOVERY_PROFILES: dict[str, RecoveryProfile] = {
    "mcuboot-recovery": RecoveryProfile(name="mcuboot-recovery", storage_erase=True),
    "mcuboot-recovery-minimal": RecoveryProfile(
        name="mcuboot-recovery-minimal", echo=False, image_hash=False, max_receive_bytes=512
    ),
    "mcuboot-recovery-legacy": RecoveryProfile(
        name="mcuboot-recovery-legacy", image_hash=False, max_receive_bytes=512, whole_op_byte=True
    ),
}
"""Serial recovery builds: the full one (echo, hashes, storage erase, 1024-byte buffer), the
Kconfig-minimal one (no echo, no hashes, boot_serial.c's 512-byte fallback buffer), and a
legacy one (MCUboot before PR #1751: silent to SMP v2 headers)."""


def get_recovery_profile(name: str) -> RecoveryProfile:
    """The named serial recovery build; ValueError with the known names otherwise."""
    try:
        return RECOVERY_PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(RECOVERY_PROFILES))
        raise ValueError(f"unknown serial recovery profile {name!r} (known: {known})") from None
