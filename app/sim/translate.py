"""v1 translation of group errors (spec digest §4.1), as Zephyr's per-group functions do.

IMG and OS follow the digest's table; the other groups follow Zephyr's translation functions
as far as they were reviewed (unmapped codes become EUNKNOWN, as in smp_translate_error_code).
"""

from __future__ import annotations

from collections.abc import Collection

from app.smp.errors import (
    EnumErr,
    FsErr,
    ImgErr,
    MgmtErr,
    OsErr,
    SettingsErr,
    ShellErr,
    StatErr,
)
from app.smp.header import Group

_IMG: dict[int, int] = {
    ImgErr.NO_IMAGE: MgmtErr.ENOENT,
    ImgErr.NO_TLVS: MgmtErr.ENOENT,
    ImgErr.NO_FREE_SLOT: MgmtErr.EBADSTATE,
    ImgErr.CURRENT_VERSION_IS_NEWER: MgmtErr.EBADSTATE,
    ImgErr.IMAGE_ALREADY_PENDING: MgmtErr.EBADSTATE,
    ImgErr.NO_FREE_MEMORY: MgmtErr.ENOMEM,
    ImgErr.INVALID_SLOT: MgmtErr.EINVAL,
    ImgErr.INVALID_PAGE_OFFSET: MgmtErr.EINVAL,
    ImgErr.INVALID_OFFSET: MgmtErr.EINVAL,
    ImgErr.INVALID_LENGTH: MgmtErr.EINVAL,
    ImgErr.INVALID_IMAGE_HEADER: MgmtErr.EINVAL,
    ImgErr.INVALID_HASH: MgmtErr.EINVAL,
    ImgErr.INVALID_FLASH_ADDRESS: MgmtErr.EINVAL,
}
_OS: dict[int, int] = {
    OsErr.INVALID_FORMAT: MgmtErr.EINVAL,
    OsErr.QUERY_YIELDS_NO_ANSWER: MgmtErr.ENOENT,
    OsErr.RTC_NOT_SET: MgmtErr.ENOENT,
}
_STAT: dict[int, int] = {
    StatErr.INVALID_GROUP: MgmtErr.ENOENT,
    StatErr.INVALID_STAT_NAME: MgmtErr.ENOENT,
    StatErr.INVALID_STAT_SIZE: MgmtErr.EINVAL,
}
_SETTINGS: dict[int, int] = {
    SettingsErr.KEY_TOO_LONG: MgmtErr.EINVAL,
    SettingsErr.KEY_NOT_FOUND: MgmtErr.ENOENT,
    SettingsErr.READ_NOT_SUPPORTED: MgmtErr.ENOTSUP,
    SettingsErr.ROOT_KEY_NOT_FOUND: MgmtErr.ENOENT,
    SettingsErr.WRITE_NOT_SUPPORTED: MgmtErr.ENOTSUP,
    SettingsErr.DELETE_NOT_SUPPORTED: MgmtErr.ENOTSUP,
}
_FS: dict[int, int] = {
    FsErr.FILE_INVALID_NAME: MgmtErr.EINVAL,
    FsErr.FILE_NOT_FOUND: MgmtErr.ENOENT,
    FsErr.MOUNT_POINT_NOT_FOUND: MgmtErr.ENOENT,
    FsErr.FILE_IS_DIRECTORY: MgmtErr.EINVAL,
    FsErr.FILE_OFFSET_NOT_VALID: MgmtErr.EINVAL,
    FsErr.FILE_OFFSET_LARGER_THAN_FILE: MgmtErr.EINVAL,
    FsErr.CHECKSUM_HASH_NOT_FOUND: MgmtErr.ENOTSUP,
    FsErr.READ_ONLY_FILESYSTEM: MgmtErr.EACCESSDENIED,
    FsErr.FILE_EMPTY: MgmtErr.EINVAL,
}
_SHELL: dict[int, int] = {
    ShellErr.COMMAND_TOO_LONG: MgmtErr.EINVAL,
    ShellErr.EMPTY_COMMAND: MgmtErr.EINVAL,
}
_ENUM: dict[int, int] = {
    EnumErr.TOO_MANY_GROUP_ENTRIES: MgmtErr.ENOMEM,
    EnumErr.INSUFFICIENT_HEAP_FOR_ENTRIES: MgmtErr.ENOMEM,
    EnumErr.INDEX_TOO_LARGE: MgmtErr.ENOENT,
}

_TABLES: dict[int, dict[int, int]] = {
    Group.IMAGE: _IMG,
    Group.OS: _OS,
    Group.STAT: _STAT,
    Group.SETTINGS: _SETTINGS,
    Group.FS: _FS,
    Group.SHELL: _SHELL,
    Group.ENUM: _ENUM,
}


def v1_code(group: int, rc: int, untranslated: Collection[int] = ()) -> int:
    """The SMP `rc` a v1 client sees for group error (group, rc)."""
    if group in untranslated:
        return int(MgmtErr.EUNKNOWN)
    return int(_TABLES.get(group, {}).get(rc, MgmtErr.EUNKNOWN))
