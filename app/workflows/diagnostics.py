"""What a device can tell: which features it supports, and everything it says in one snapshot.

`detect_capabilities()` asks the Enum group which groups are built in and, inside those groups
(or everywhere when Enum itself is missing), tries one harmless read per optional command.
Only ENOTSUP means "not built in": any other answer, even an error such as "RTC not set" or
"no such setting", proves the command exists. `read_snapshot()` then reads every supported
diagnostic into frozen values stamped with the time they were read; one failed read becomes an
error entry of its section, never an exception. Plain asyncio, no Qt, no files.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from app.client import SmpClient
from app.errors import SlotwiseError, TransportError
from app.smp.errors import DeviceError
from app.smp.groups.fs import HashTypeInfo
from app.smp.groups.img import ImageSlot, SlotInfoImage
from app.smp.groups.os import BootloaderMode, MemoryPool, TaskInfo, thread_state_words
from app.smp.header import Group

log = logging.getLogger(__name__)

T = TypeVar("T")
PROBE_SETTING = "slotwise/probe"
"""A setting name no firmware defines: reading it proves the settings group exists."""
PROBE_FILE = "/slotwise-probe"
"""A path no firmware has: its status proves the file system group exists."""


class Feature(StrEnum):
    """One thing the diagnostics views can show or do."""

    ENUM = "enum"
    OS_INFO = "os_info"
    BOOTLOADER_INFO = "bootloader_info"
    PARAMS = "params"
    DATETIME = "datetime"
    TASK_STATS = "task_stats"
    MEMPOOL_STATS = "mempool_stats"
    IMAGE_STATE = "image_state"
    SLOT_INFO = "slot_info"
    STATS = "stats"
    SETTINGS = "settings"
    FS = "fs"
    FS_HASH_TYPES = "fs_hash_types"
    SHELL = "shell"
    LOG = "log"
    STORAGE_ERASE = "storage_erase"


FEATURE_GROUP: dict[Feature, int] = {
    Feature.ENUM: Group.ENUM,
    Feature.OS_INFO: Group.OS,
    Feature.BOOTLOADER_INFO: Group.OS,
    Feature.PARAMS: Group.OS,
    Feature.DATETIME: Group.OS,
    Feature.TASK_STATS: Group.OS,
    Feature.MEMPOOL_STATS: Group.OS,
    Feature.IMAGE_STATE: Group.IMAGE,
    Feature.SLOT_INFO: Group.IMAGE,
    Feature.STATS: Group.STAT,
    Feature.SETTINGS: Group.SETTINGS,
    Feature.FS: Group.FS,
    Feature.FS_HASH_TYPES: Group.FS,
    Feature.SHELL: Group.SHELL,
    Feature.LOG: Group.LOG,
    Feature.STORAGE_ERASE: Group.ZEPHYR_BASIC,
}

FEATURE_TITLE: dict[Feature, str] = {
    Feature.ENUM: "group enumeration",
    Feature.OS_INFO: "OS/application info",
    Feature.BOOTLOADER_INFO: "bootloader info",
    Feature.PARAMS: "MCUmgr parameters",
    Feature.DATETIME: "date and time",
    Feature.TASK_STATS: "task statistics",
    Feature.MEMPOOL_STATS: "memory pool statistics",
    Feature.IMAGE_STATE: "image state",
    Feature.SLOT_INFO: "slot info",
    Feature.STATS: "statistics groups",
    Feature.SETTINGS: "settings",
    Feature.FS: "file system",
    Feature.FS_HASH_TYPES: "file hash types",
    Feature.SHELL: "shell",
    Feature.LOG: "log",
    Feature.STORAGE_ERASE: "storage erase",
}

KCONFIG_HINT: dict[Feature, str] = {
    Feature.ENUM: "CONFIG_MCUMGR_GRP_ENUM",
    Feature.OS_INFO: "CONFIG_MCUMGR_GRP_OS_INFO",
    Feature.BOOTLOADER_INFO: "CONFIG_MCUMGR_GRP_OS_BOOTLOADER_INFO",
    Feature.PARAMS: "CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS",
    Feature.DATETIME: "CONFIG_MCUMGR_GRP_OS_DATETIME",
    Feature.TASK_STATS: "CONFIG_MCUMGR_GRP_OS_TASKSTAT",
    Feature.SLOT_INFO: "CONFIG_MCUMGR_GRP_IMG_SLOT_INFO",
    Feature.STATS: "CONFIG_MCUMGR_GRP_STAT",
    Feature.SETTINGS: "CONFIG_MCUMGR_GRP_SETTINGS",
    Feature.FS: "CONFIG_MCUMGR_GRP_FS",
    Feature.FS_HASH_TYPES: "CONFIG_MCUMGR_GRP_FS_CHECKSUM_HASH_SUPPORTED_CMD",
    Feature.SHELL: "CONFIG_MCUMGR_GRP_SHELL",
    Feature.STORAGE_ERASE: "CONFIG_MCUMGR_GRP_ZBASIC",
}
"""The Kconfig option that builds each feature in, for the "not supported" sentence."""


class Support(StrEnum):
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"
    """Could not be told without side effects (storage erase without Enum) or the probe failed."""


class NotSupported(SlotwiseError):
    """The device's firmware lacks a feature; str() is one plain sentence."""

    def __init__(self, feature: Feature) -> None:
        self.feature = feature
        super().__init__(not_supported_text(feature))


def not_supported_text(feature: Feature) -> str:
    hint = KCONFIG_HINT.get(feature)
    built = f" (built in with {hint})" if hint else ""
    return f"This device's firmware does not support {FEATURE_TITLE[feature]}{built}."


@dataclass(frozen=True, slots=True)
class FeatureSupport:
    feature: Feature
    support: Support
    note: str = ""
    """How it was decided ("listed by Enum", "probe answered ...")."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    source: str
    """"enum" when the device listed its groups, "probe" when Enum is missing."""
    groups: tuple[int, ...] | None
    """Group ids the device listed (Enum), or None when it could not list them."""
    features: tuple[FeatureSupport, ...]
    detected_at: dt.datetime

    def support(self, feature: Feature) -> Support:
        for item in self.features:
            if item.feature == feature:
                return item.support
        return Support.UNKNOWN

    def supports(self, feature: Feature) -> bool:
        return self.support(feature) == Support.SUPPORTED

    def usable(self, feature: Feature) -> bool:
        """Worth offering: supported, or unknown (the user may try and be told)."""
        return self.support(feature) != Support.UNSUPPORTED

    def require(self, feature: Feature) -> None:
        """Raises NotSupported when the device said it lacks `feature`."""
        if self.support(feature) == Support.UNSUPPORTED:
            raise NotSupported(feature)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _probes(client: SmpClient) -> dict[Feature, Callable[[], Awaitable[object]]]:
    """One harmless read per feature. Shell gets an empty command (device error 3, no effect)."""
    return {
        Feature.OS_INFO: lambda: client.os_info("s"),
        Feature.BOOTLOADER_INFO: lambda: client.bootloader_info(),
        Feature.PARAMS: client.params,
        Feature.DATETIME: client.datetime_get,
        Feature.TASK_STATS: client.task_stats,
        Feature.MEMPOOL_STATS: client.mempool_stats,
        Feature.IMAGE_STATE: client.image_state,
        Feature.SLOT_INFO: client.slot_info,
        Feature.STATS: client.stat_list,
        Feature.SETTINGS: lambda: client.setting_read(PROBE_SETTING),
        Feature.FS: lambda: client.file_status(PROBE_FILE),
        Feature.FS_HASH_TYPES: client.file_hash_types,
        Feature.SHELL: lambda: client.shell_exec([]),
        Feature.LOG: client.log_list,
    }


async def _list_groups(client: SmpClient) -> tuple[int, ...] | None:
    """The Enum group's list, walking index by index when the list command is missing."""
    try:
        return tuple(await client.enum_list())
    except DeviceError as exc:
        if not exc.not_supported:
            log.info("enum list failed: %s", exc)
    groups: list[int] = []
    try:
        for index in range(256):
            item = await client.enum_single(index)
            groups.append(item.group)
            if item.end:
                return tuple(groups)
    except DeviceError as exc:
        log.info("enum single stopped at %d: %s", len(groups), exc)
    return tuple(groups) if groups else None


async def _probe(feature: Feature, read: Callable[[], Awaitable[object]]) -> FeatureSupport:
    try:
        await read()
    except DeviceError as exc:
        if exc.not_supported:
            return FeatureSupport(feature, Support.UNSUPPORTED, "device answered ENOTSUP")
        return FeatureSupport(feature, Support.SUPPORTED, f"probe answered {exc.code_name}")
    except TransportError as exc:
        # A silent device may be a lost packet as well as a missing handler: say "unknown".
        return FeatureSupport(feature, Support.UNKNOWN, f"probe failed: {exc}")
    except SlotwiseError as exc:  # a reply we could not decode still proves a handler
        return FeatureSupport(feature, Support.SUPPORTED, f"probe reply unreadable: {exc}")
    return FeatureSupport(feature, Support.SUPPORTED, "probe answered")


async def detect_capabilities(client: SmpClient) -> Capabilities:
    """What the device supports: Enum's group list, refined by one harmless read per command."""
    groups = await _list_groups(client)
    features: list[FeatureSupport] = []
    if groups is not None:
        features.append(FeatureSupport(Feature.ENUM, Support.SUPPORTED, "listed groups"))
    else:
        features.append(FeatureSupport(Feature.ENUM, Support.UNSUPPORTED, "no group list"))
    for feature, read in _probes(client).items():
        if groups is not None and FEATURE_GROUP[feature] not in groups:
            features.append(FeatureSupport(feature, Support.UNSUPPORTED, "group not listed"))
            continue
        features.append(await _probe(feature, read))
    if groups is not None:
        erase = Support.SUPPORTED if Group.ZEPHYR_BASIC in groups else Support.UNSUPPORTED
        features.append(FeatureSupport(Feature.STORAGE_ERASE, erase, "from the group list"))
    else:  # its only command erases: no harmless probe exists
        features.append(
            FeatureSupport(
                Feature.STORAGE_ERASE, Support.UNKNOWN, "cannot be probed without erasing"
            )
        )
    return Capabilities("enum" if groups is not None else "probe", groups, tuple(features), now())


# --- the snapshot -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """One diagnostic read: its value, or why there is none, and when it was read."""

    read_at: dt.datetime
    value: T | None = None
    error: str | None = None
    unsupported: bool = False
    code: str | None = None
    """The device's error code by name (RTC_NOT_SET, ENOENT) for rules; `error` is for people."""

    @property
    def ok(self) -> bool:
        return self.error is None


OS_INFO_FIELDS: tuple[tuple[str, str], ...] = (
    ("s", "kernel name"),
    ("n", "node name"),
    ("r", "kernel release"),
    ("v", "kernel version"),
    ("b", "build date and time"),
    ("m", "machine"),
    ("p", "processor"),
    ("i", "hardware platform"),
    ("o", "operating system"),
)
"""OS info format characters in Zephyr's output order, with their meaning (§6.0.7)."""


@dataclass(frozen=True, slots=True)
class OsInfo:
    all: str
    """The `a` answer, as the device prints it."""
    fields: dict[str, str | None] = field(default_factory=dict)
    """Format character -> its value, None where the device refused that character."""


@dataclass(frozen=True, slots=True)
class BootloaderInfo:
    name: str | None
    mode: int | None
    mode_text: str
    no_downgrade: bool


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One thread of task statistics; stack in bytes (the device reports 4-byte words)."""

    name: str
    prio: int
    tid: int
    state: int
    stack_used_bytes: int | None
    stack_size_bytes: int | None
    context_switches: int | None
    runtime: int | None

    @property
    def state_text(self) -> str:
        """`state` in words (Zephyr's thread_state bits)."""
        return thread_state_words(self.state)

    @property
    def stack_fraction(self) -> float | None:
        if not self.stack_size_bytes or self.stack_used_bytes is None:
            return None
        return min(self.stack_used_bytes / self.stack_size_bytes, 1.0)


@dataclass(frozen=True, slots=True)
class DiagnosticSnapshot:
    device_address: str
    link_kind: str
    link_max_frame_bytes: int
    link_mtu: int | None
    started_at: dt.datetime
    capabilities: Capabilities
    os_info: Reading[OsInfo]
    bootloader: Reading[BootloaderInfo]
    params: Reading[tuple[int, int]]
    datetime: Reading[str]
    tasks: Reading[tuple[TaskRow, ...]]
    mempools: Reading[dict[str, MemoryPool]]
    images: Reading[list[ImageSlot]]
    slot_info: Reading[list[SlotInfoImage]]
    stats: Reading[StatsReadout]
    hash_types: Reading[dict[str, HashTypeInfo]]
    logs: Reading[list[str]]
    errors: tuple[str, ...]
    """Every failure met while reading, as sentences (sections also carry their own)."""


def task_rows(tasks: list[tuple[str, TaskInfo]]) -> tuple[TaskRow, ...]:
    """Task statistics as rows, every entry kept (names repeat without thread names), sorted
    by priority then name then thread id; stack words become bytes."""
    rows = [
        TaskRow(
            name=name,
            prio=t.prio,
            tid=t.tid,
            state=t.state,
            stack_used_bytes=_words_to_bytes(t.stkuse),
            stack_size_bytes=_words_to_bytes(t.stksiz),
            context_switches=_count(t.cswcnt),
            runtime=_count(t.runtime),
        )
        for name, t in tasks
    ]
    return tuple(sorted(rows, key=lambda r: (r.prio, r.name, r.tid)))


def _count(value: int | None) -> int | None:
    """An unsigned counter as the device sent it; a negative one is not a count: unknown."""
    return value if value is not None and value >= 0 else None


def _words_to_bytes(words: int | None) -> int | None:
    count = _count(words)
    return count * 4 if count is not None else None


def mode_text(mode: int | None) -> str:
    if mode is None:
        return "not reported"
    known = BootloaderMode.parse(mode)
    return known.description if known is not None else f"mode {mode} (unknown to Slotwise)"


async def read_os_info(client: SmpClient) -> OsInfo:
    """The `a` line plus each format character asked alone, so no value is split wrongly."""
    everything = await client.os_info("a")
    fields: dict[str, str | None] = {}
    for char, _ in OS_INFO_FIELDS:
        try:
            fields[char] = await client.os_info(char)
        except DeviceError as exc:
            log.info("os info %r refused: %s", char, exc)
            fields[char] = None
    return OsInfo(all=everything, fields=fields)


async def read_bootloader(client: SmpClient) -> BootloaderInfo:
    name = (await client.bootloader_info()).bootloader
    try:
        mode = await client.bootloader_info("mode")
    except DeviceError as exc:  # MCUboot answers "mode"; other loaders may not
        log.info("bootloader mode query refused: %s", exc)
        return BootloaderInfo(name, None, "not reported", False)
    return BootloaderInfo(name, mode.mode, mode_text(mode.mode), bool(mode.no_downgrade))


@dataclass(frozen=True, slots=True)
class StatsReadout:
    """Every statistics group the device lists, each read on its own: one group that fails
    (Zephyr 3.4 answers EMSGSIZE for a group larger than its buffer) is named with its reason
    and the others are still shown."""

    groups: dict[str, dict[str, int]]
    """Counters of each group that was read, in the device's order."""
    failed: dict[str, str]
    """Group name -> why it could not be read (a sentence)."""


async def read_each(
    names: list[str], read: Callable[[str], Awaitable[T]]
) -> tuple[dict[str, T], dict[str, str]]:
    """`read` for every name, each on its own: (values read, name -> reason for the rest).

    The one rule for multi-reads: a part that fails is named with its reason and never hides
    the others. A lost link still ends the whole read (the rest would fail the same way)."""
    values: dict[str, T] = {}
    failed: dict[str, str] = {}
    for name in names:
        try:
            values[name] = await read(name)
        except TransportError:
            raise
        except SlotwiseError as exc:
            log.info("reading %s failed: %s", name, exc)
            failed[name] = str(exc)
    return values, failed


async def read_stats(client: SmpClient, names: list[str] | None = None) -> StatsReadout:
    """The named groups (default: every group the device lists), each read on its own."""
    wanted = await client.stat_list() if names is None else names
    groups, failed = await read_each(wanted, client.stat_read)
    return StatsReadout(groups, failed)


CLOCK_NOT_SET = "RTC_NOT_SET"
"""The os group's answer to a clock read on a board whose clock was never set."""
DEVICE_STATES: frozenset[tuple[Feature, str]] = frozenset({(Feature.DATETIME, CLOCK_NOT_SET)})
"""Device answers that describe its state, not a failed read: the reading keeps them (and
findings.py turns them into a note), but they are not counted among the snapshot's errors."""


class _Reader:
    """Runs reads for one snapshot, turning each failure into its section's error."""

    def __init__(self, caps: Capabilities) -> None:
        self.caps = caps
        self.errors: list[str] = []

    async def read(self, feature: Feature, read: Callable[[], Awaitable[T]]) -> Reading[T]:
        if self.caps.support(feature) == Support.UNSUPPORTED:
            return Reading(now(), error=not_supported_text(feature), unsupported=True)
        try:
            return Reading(now(), value=await read())
        except DeviceError as exc:
            text = not_supported_text(feature) if exc.not_supported else str(exc)
            if (feature, exc.code_name) not in DEVICE_STATES:
                self.errors.append(f"{FEATURE_TITLE[feature]}: {text}")
            return Reading(now(), error=text, unsupported=exc.not_supported, code=exc.code_name)
        except SlotwiseError as exc:
            self.errors.append(f"{FEATURE_TITLE[feature]}: {exc}")
            return Reading(now(), error=str(exc))

    async def partial(self, feature: Feature, read: Awaitable[StatsReadout]) -> StatsReadout:
        """A multi-read whose failed parts are also noted among the snapshot's errors."""
        readout = await read
        self.errors.extend(
            f"{FEATURE_TITLE[feature]}: {name}: {reason}" for name, reason in readout.failed.items()
        )
        return readout


async def read_snapshot(client: SmpClient, caps: Capabilities | None = None) -> DiagnosticSnapshot:
    """Everything the device can tell, each section stamped and never raising on its own."""
    started = now()
    caps = caps or await detect_capabilities(client)
    r = _Reader(caps)

    async def params() -> tuple[int, int]:
        p = await client.params()
        return (p.buf_size, p.buf_count)

    async def tasks() -> tuple[TaskRow, ...]:
        return task_rows(await client.task_stats())

    return DiagnosticSnapshot(
        device_address=client.link.address,
        link_kind=client.link.kind,
        link_max_frame_bytes=client.link.max_frame_bytes,
        link_mtu=client.link.mtu,
        started_at=started,
        capabilities=caps,
        os_info=await r.read(Feature.OS_INFO, lambda: read_os_info(client)),
        bootloader=await r.read(Feature.BOOTLOADER_INFO, lambda: read_bootloader(client)),
        params=await r.read(Feature.PARAMS, params),
        datetime=await r.read(Feature.DATETIME, client.datetime_get),
        tasks=await r.read(Feature.TASK_STATS, tasks),
        mempools=await r.read(Feature.MEMPOOL_STATS, client.mempool_stats),
        images=await r.read(Feature.IMAGE_STATE, client.image_state),
        slot_info=await r.read(Feature.SLOT_INFO, client.slot_info),
        stats=await r.read(Feature.STATS, lambda: r.partial(Feature.STATS, read_stats(client))),
        hash_types=await r.read(Feature.FS_HASH_TYPES, client.file_hash_types),
        logs=await r.read(Feature.LOG, client.log_list),
        errors=tuple(r.errors),
    )


async def set_datetime_now(client: SmpClient, *, utc: bool = False) -> str:
    """Set the device clock from the PC's local time, or UTC: Zephyr keeps no time zone
    (§6.0.4), so which one is right depends on the application."""
    when = (dt.datetime.now(dt.UTC) if utc else dt.datetime.now()).replace(microsecond=0)
    await client.datetime_set(when)
    return when.strftime("%Y-%m-%dT%H:%M:%S")


async def guarded(feature: Feature, read: Awaitable[T]) -> T:
    """`read`, with ENOTSUP turned into NotSupported's plain sentence."""
    try:
        return await read
    except DeviceError as exc:
        if exc.not_supported:
            raise NotSupported(feature) from exc
        raise


# --- settings values --------------------------------------------------------------------------
# SMP carries setting values as raw bytes whose meaning only the application knows (§6.3), so
# the user says how to read and write them: as UTF-8 text, a little-endian integer (Zephyr
# stores native integers, little-endian on every SoC it supports) or hex bytes.


class ValueType(StrEnum):
    TEXT = "text"
    INT = "int"
    HEX = "hex"


INT_WIDTHS = (1, 2, 4, 8)


class SettingValueError(SlotwiseError):
    """A setting value that cannot be encoded or decoded as the chosen type."""


def encode_setting(text: str, kind: ValueType, width: int = 4) -> bytes:
    """The bytes to write for `text` read as `kind` (`width` bytes for integers)."""
    if kind == ValueType.TEXT:
        return text.encode()
    if kind == ValueType.HEX:
        cleaned = "".join(text.replace(":", " ").split())
        try:
            return bytes.fromhex(cleaned)
        except ValueError:
            raise SettingValueError(f"{text!r} is not hex bytes (e.g. 01ff or 01 ff)") from None
    if width not in INT_WIDTHS:
        raise SettingValueError(f"an integer setting is 1, 2, 4 or 8 bytes, not {width}")
    try:
        number = int(text, 0)
    except ValueError:
        raise SettingValueError(f"{text!r} is not an integer") from None
    signed = number < 0
    try:
        return number.to_bytes(width, "little", signed=signed)
    except OverflowError:
        raise SettingValueError(f"{number} does not fit in {width} bytes") from None


def decode_setting(value: bytes, kind: ValueType) -> str:
    """`value` shown as `kind`; integers are read as signed little-endian."""
    if kind == ValueType.HEX:
        return value.hex(" ")
    if kind == ValueType.INT:
        if len(value) not in INT_WIDTHS:
            raise SettingValueError(f"{len(value)} bytes are not an integer (1, 2, 4 or 8)")
        return str(int.from_bytes(value, "little", signed=True))
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise SettingValueError("the value is not UTF-8 text; show it as hex") from None


def guess_setting(value: bytes) -> str:
    """A readable guess for a value of unknown type: printable ASCII as text, else hex.

    Two random bytes are often valid UTF-8 (de ad is one Thaana letter), so non-ASCII text
    is shown as hex here; `--type text` shows it as text."""
    if value and value.isascii() and value.decode().isprintable():
        return value.decode()
    return value.hex(" ")
