"""SMP error codes and the one exception a device error becomes (spec digest §4, §5).

Pure: no I/O. `error_from_body` is the single place that reads `rc` / `err` out of a reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, TypeVar

from app.errors import DecodeError, SlotwiseError
from app.smp.header import Group, group_name

E = TypeVar("E", bound=IntEnum)


class MgmtErr(IntEnum):
    """SMP-level (v1) return codes, `enum mcumgr_err_t` (§5.1)."""

    EOK = 0
    EUNKNOWN = 1
    ENOMEM = 2
    EINVAL = 3
    ETIMEOUT = 4
    ENOENT = 5
    EBADSTATE = 6
    EMSGSIZE = 7
    ENOTSUP = 8
    ECORRUPT = 9
    EBUSY = 10
    EACCESSDENIED = 11
    UNSUPPORTED_TOO_OLD = 12
    UNSUPPORTED_TOO_NEW = 13


class OsErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    INVALID_FORMAT = 2
    QUERY_YIELDS_NO_ANSWER = 3
    RTC_NOT_SET = 4
    RTC_COMMAND_FAILED = 5
    QUERY_RESPONSE_VALUE_NOT_VALID = 6
    HEAP_STATS_FETCH_FAILED = 7


class ImgErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    FLASH_CONFIG_QUERY_FAIL = 2
    NO_IMAGE = 3
    NO_TLVS = 4
    INVALID_TLV = 5
    TLV_MULTIPLE_HASHES_FOUND = 6
    TLV_INVALID_SIZE = 7
    HASH_NOT_FOUND = 8
    NO_FREE_SLOT = 9
    FLASH_OPEN_FAILED = 10
    FLASH_READ_FAILED = 11
    FLASH_WRITE_FAILED = 12
    FLASH_ERASE_FAILED = 13
    INVALID_SLOT = 14
    NO_FREE_MEMORY = 15
    FLASH_CONTEXT_ALREADY_SET = 16
    FLASH_CONTEXT_NOT_SET = 17
    FLASH_AREA_DEVICE_NULL = 18
    INVALID_PAGE_OFFSET = 19
    INVALID_OFFSET = 20
    INVALID_LENGTH = 21
    INVALID_IMAGE_HEADER = 22
    INVALID_IMAGE_HEADER_MAGIC = 23
    INVALID_HASH = 24
    INVALID_FLASH_ADDRESS = 25
    VERSION_GET_FAILED = 26
    CURRENT_VERSION_IS_NEWER = 27
    IMAGE_ALREADY_PENDING = 28
    INVALID_IMAGE_VECTOR_TABLE = 29
    INVALID_IMAGE_TOO_LARGE = 30
    INVALID_IMAGE_DATA_OVERRUN = 31
    IMAGE_CONFIRMATION_DENIED = 32
    IMAGE_SETTING_TEST_TO_ACTIVE_DENIED = 33
    ACTIVE_SLOT_NOT_KNOWN = 34
    """Value inferred (digest §12): sequential after 33."""


class StatErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    INVALID_GROUP = 2
    INVALID_STAT_NAME = 3
    INVALID_STAT_SIZE = 4
    WALK_ABORTED = 5


class SettingsErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    KEY_TOO_LONG = 2
    KEY_NOT_FOUND = 3
    READ_NOT_SUPPORTED = 4
    ROOT_KEY_NOT_FOUND = 5
    WRITE_NOT_SUPPORTED = 6
    DELETE_NOT_SUPPORTED = 7
    SAVE_NOT_SUPPORTED = 8
    """Seen only in a third-party port (digest §12); unverified."""


class FsErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    FILE_INVALID_NAME = 2
    FILE_NOT_FOUND = 3
    FILE_IS_DIRECTORY = 4
    FILE_OPEN_FAILED = 5
    FILE_SEEK_FAILED = 6
    FILE_READ_FAILED = 7
    FILE_TRUNCATE_FAILED = 8
    FILE_DELETE_FAILED = 9
    FILE_WRITE_FAILED = 10
    FILE_OFFSET_NOT_VALID = 11
    FILE_OFFSET_LARGER_THAN_FILE = 12
    CHECKSUM_HASH_NOT_FOUND = 13
    MOUNT_POINT_NOT_FOUND = 14
    READ_ONLY_FILESYSTEM = 15
    FILE_EMPTY = 16


class ShellErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    COMMAND_TOO_LONG = 2
    EMPTY_COMMAND = 3


class EnumErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    TOO_MANY_GROUP_ENTRIES = 2
    INSUFFICIENT_HEAP_FOR_ENTRIES = 3
    INDEX_TOO_LARGE = 4


class ZephyrBasicErr(IntEnum):
    OK = 0
    UNKNOWN = 1
    FLASH_OPEN_FAILED = 2
    FLASH_CONFIG_QUERY_FAIL = 3
    FLASH_ERASE_FAILED = 4


GROUP_ERRORS: dict[Group, type[IntEnum]] = {
    Group.OS: OsErr,
    Group.IMAGE: ImgErr,
    Group.STAT: StatErr,
    Group.SETTINGS: SettingsErr,
    Group.FS: FsErr,
    Group.SHELL: ShellErr,
    Group.ENUM: EnumErr,
    Group.ZEPHYR_BASIC: ZephyrBasicErr,
}
"""Per-group (v2 `err.rc`) code tables. IntEnum keys, so a raw group id looks them up too."""

_SMP_SENTENCES: dict[int, str] = {
    MgmtErr.EUNKNOWN: "the device reported an unspecified error",
    MgmtErr.ENOMEM: "the device ran out of memory or buffers for this request",
    MgmtErr.EINVAL: "the device rejected the request as invalid (a missing or malformed field)",
    MgmtErr.ETIMEOUT: "the operation timed out on the device",
    MgmtErr.ENOENT: "the device has no such entry",
    MgmtErr.EBADSTATE: "the device's current state does not allow this "
    "(for images: a slot is pending or a test image is not yet confirmed)",
    MgmtErr.EMSGSIZE: "the device's answer does not fit its buffer",
    MgmtErr.ENOTSUP: "the device does not support this command (not built into its firmware)",
    MgmtErr.ECORRUPT: "the device received a corrupt request",
    MgmtErr.EBUSY: "the device is busy with another operation; try again",
    MgmtErr.EACCESSDENIED: "the device denied access to this command",
    MgmtErr.UNSUPPORTED_TOO_OLD: "the device does not accept SMP version 1 requests",
    MgmtErr.UNSUPPORTED_TOO_NEW: "the device does not understand this SMP version",
}

_GROUP_SENTENCES: dict[tuple[Group, int], str] = {
    (Group.OS, OsErr.INVALID_FORMAT): "the device does not know that OS info format character",
    (Group.OS, OsErr.QUERY_YIELDS_NO_ANSWER): "the bootloader does not answer that query",
    (Group.OS, OsErr.RTC_NOT_SET): "the device clock has never been set",
    (Group.OS, OsErr.RTC_COMMAND_FAILED): "the device clock could not be read or set",
    (Group.IMAGE, ImgErr.NO_IMAGE): "the slot holds no image",
    (Group.IMAGE, ImgErr.HASH_NOT_FOUND): "no slot on the device holds an image with that hash",
    (
        Group.IMAGE,
        ImgErr.NO_FREE_SLOT,
    ): "no free slot: the secondary slot is in use (an image is pending, "
    "or a test image runs unconfirmed: confirm it or reset first)",
    (Group.IMAGE, ImgErr.INVALID_SLOT): "there is no such slot on the device",
    (Group.IMAGE, ImgErr.INVALID_OFFSET): "the upload request has no offset",
    (Group.IMAGE, ImgErr.INVALID_LENGTH): "the first upload chunk has no total length",
    (
        Group.IMAGE,
        ImgErr.INVALID_IMAGE_HEADER,
    ): "the first upload chunk is shorter than an image header",
    (
        Group.IMAGE,
        ImgErr.INVALID_IMAGE_HEADER_MAGIC,
    ): "the file is not an MCUboot image (bad header magic)",
    (Group.IMAGE, ImgErr.INVALID_HASH): "the image hash is malformed (it must be 32 bytes)",
    (
        Group.IMAGE,
        ImgErr.CURRENT_VERSION_IS_NEWER,
    ): "the device already runs this version or a newer one",
    (
        Group.IMAGE,
        ImgErr.IMAGE_ALREADY_PENDING,
    ): "another image is already pending for the next boot",
    (Group.IMAGE, ImgErr.INVALID_IMAGE_TOO_LARGE): "the image is too large for the slot",
    (
        Group.IMAGE,
        ImgErr.INVALID_IMAGE_DATA_OVERRUN,
    ): "the upload ran past the declared image length",
    (
        Group.IMAGE,
        ImgErr.IMAGE_CONFIRMATION_DENIED,
    ): "the device does not allow confirming that image",
    (
        Group.IMAGE,
        ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED,
    ): "that image is the one already running, so it cannot be marked for test "
    "(the uploaded file is identical to the running image)",
    (Group.IMAGE, ImgErr.FLASH_WRITE_FAILED): "writing flash failed on the device",
    (Group.IMAGE, ImgErr.FLASH_ERASE_FAILED): "erasing flash failed on the device",
    (Group.STAT, StatErr.INVALID_GROUP): "the device has no statistics group of that name",
    (Group.SETTINGS, SettingsErr.KEY_NOT_FOUND): "the device has no setting of that name",
    (Group.SETTINGS, SettingsErr.KEY_TOO_LONG): "the setting name is too long for the device",
    (Group.FS, FsErr.FILE_NOT_FOUND): "the file does not exist on the device",
    (Group.FS, FsErr.FILE_IS_DIRECTORY): "that path is a directory",
    (Group.FS, FsErr.FILE_INVALID_NAME): "the device rejected the file path",
    (
        Group.FS,
        FsErr.FILE_OFFSET_NOT_VALID,
    ): "the file upload offset does not match the device's file",
    (Group.FS, FsErr.MOUNT_POINT_NOT_FOUND): "no file system is mounted at that path",
    (Group.FS, FsErr.READ_ONLY_FILESYSTEM): "the file system is read-only",
    (
        Group.FS,
        FsErr.CHECKSUM_HASH_NOT_FOUND,
    ): "the device does not support that hash or checksum type",
    (Group.SHELL, ShellErr.COMMAND_TOO_LONG): "the shell command is too long for the device",
    (Group.SHELL, ShellErr.EMPTY_COMMAND): "the shell command is empty",
    (Group.ENUM, EnumErr.INDEX_TOO_LARGE): "there is no group at that index",
}


def _member(table: type[E] | None, rc: int) -> E | None:
    """The code `rc` names in `table`, or None for a code (or table) this build does not know."""
    if table is None:
        return None
    try:
        return table(rc)
    except ValueError:
        return None


class DeviceError(SlotwiseError):
    """The device answered with an error.

    `group_error` is True for a v2 `err {group, rc}` reply (rc indexes that group's table) and
    False for an SMP-level `rc` (indexes MgmtErr). `group` and `command` name the request.
    """

    def __init__(
        self,
        *,
        group: int,
        command: int,
        rc: int,
        group_error: bool = False,
        error_group: int | None = None,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.group = group
        self.command = command
        self.rc = rc
        self.group_error = group_error
        self.error_group = group if error_group is None else error_group
        self.reason = reason
        self.extra = dict(extra or {})
        super().__init__(self.sentence())

    @property
    def code_name(self) -> str:
        if self.group_error:
            group = _member(Group, self.error_group)
            code = _member(GROUP_ERRORS.get(group), self.rc) if group is not None else None
            return code.name if code is not None else f"GROUP_{self.error_group}_ERROR_{self.rc}"
        code = _member(MgmtErr, self.rc)
        return code.name if code is not None else f"ERROR_{self.rc}"

    @property
    def not_supported(self) -> bool:
        """The firmware lacks this group or command."""
        return not self.group_error and self.rc == MgmtErr.ENOTSUP

    def sentence(self) -> str:
        if self.group_error:
            group = _member(Group, self.error_group)
            text = _GROUP_SENTENCES.get((group, self.rc)) if group is not None else None
        else:
            text = _SMP_SENTENCES.get(self.rc)
        if text is None:
            text = "the device reported " + self.code_name.lower().replace("_", " ")
        where = f"{group_name(self.group)} command {self.command}"
        reason = f"; device says: {self.reason}" if self.reason else ""
        return f"{text} ({where}: {self.code_name}, rc {self.rc}{reason})"


def error_from_body(body: Mapping[str, Any], *, group: int, command: int) -> DeviceError | None:
    """The error a reply body carries, or None for success (§4.2: `err` first, then `rc`)."""
    err = body.get("err")
    if isinstance(err, Mapping):
        rc = err.get("rc")
        err_group = err.get("group", group)
        if isinstance(rc, int) and not isinstance(rc, bool) and rc != 0:
            if not isinstance(err_group, int) or isinstance(err_group, bool):
                raise DecodeError(f"error group {err_group!r} is not an integer")
            extra = {k: v for k, v in body.items() if k != "err"}
            return DeviceError(
                group=group,
                command=command,
                rc=rc,
                group_error=True,
                error_group=err_group,
                extra=extra,
            )
    rc = body.get("rc")
    if rc is not None:
        if not isinstance(rc, int) or isinstance(rc, bool):
            raise DecodeError(f"rc {rc!r} is not an integer")
        if rc != 0:
            reason = body.get("rsn")
            return DeviceError(
                group=group,
                command=command,
                rc=rc,
                reason=reason if isinstance(reason, str) else None,
            )
    return None
