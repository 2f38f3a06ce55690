"""Group 1, image management (spec digest §6.1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Protocol, TypeVar

from app.smp.groups.os import EmptyResponse
from app.smp.header import Group, Op
from app.smp.message import Request, Response, Struct, key


class ImgCommand(IntEnum):
    STATE = 0
    UPLOAD = 1
    FILE = 2
    CORELIST = 3
    CORELOAD = 4
    ERASE = 5
    SLOT_INFO = 6


@dataclass(frozen=True)
class ImageSlot(Struct):
    """One listed slot; a missing flag means false (frugal lists omit them, §6.1.1)."""

    slot: int
    version: str
    hash: bytes | None = None
    image: int | None = None
    bootable: bool = False
    pending: bool = False
    confirmed: bool = False
    active: bool = False
    permanent: bool = False

    @property
    def image_number(self) -> int:
        return self.image or 0


class ListedSlot(Protocol):
    """What `running_slot` reads: an ImageSlot, or a view of one (app/gui SlotView)."""

    @property
    def image_number(self) -> int: ...
    @property
    def slot(self) -> int: ...
    @property
    def active(self) -> bool: ...


S = TypeVar("S", bound=ListedSlot)


def running_slot(slots: Iterable[S], image: int = 0) -> S | None:
    """The slot `image` runs from: the one listed active, else slot 0.

    Older img_mgmt lists no `active` flag, and then the primary runs; on direct-XIP either
    slot can run, so only the listed flag says which (never assume slot 0 when one is set).
    """
    listed = [s for s in slots if s.image_number == image]
    return next((s for s in listed if s.active), next((s for s in listed if s.slot == 0), None))


@dataclass(frozen=True)
class ImageStateResponse(Response):
    images: list[ImageSlot]
    split_status: int | None = key("splitStatus", default=None)


@dataclass(frozen=True)
class ImageListEntries(Response):
    """The image list with each entry's keys as sent. Who answers shows in which keys are
    there: MCUboot's serial recovery lists no `active` flag and no `splitStatus`."""

    images: list[dict[str, Any]]
    split_status: int | None = key("splitStatus", default=None)


@dataclass(frozen=True)
class ImageState(Request[ImageStateResponse]):
    """Read the slot list."""

    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.STATE
    OP: ClassVar[Op] = Op.READ


@dataclass(frozen=True)
class ImageStateEntries(Request[ImageListEntries]):
    """The image list read for its shape: the reply keeps each entry's keys as sent."""

    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.STATE
    OP: ClassVar[Op] = Op.READ
    REGISTER: ClassVar[bool] = False  # servers decode ImageState


@dataclass(frozen=True)
class ImageStateWrite(Request[ImageStateResponse]):
    """Test (`confirm` false + hash) or confirm (`confirm` true, hash optional) (§6.1.2)."""

    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.STATE
    OP: ClassVar[Op] = Op.WRITE
    hash: bytes | None = None
    confirm: bool | None = None


@dataclass(frozen=True)
class ImageUploadResponse(Response):
    """`off` is the device's next expected offset; `match` only on the last chunk."""

    off: int
    match: bool | None = None


@dataclass(frozen=True)
class ImageUpload(Request[ImageUploadResponse]):
    """One chunk; `length`, `image`, `sha` and `upgrade` only on the first (off == 0)."""

    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.UPLOAD
    OP: ClassVar[Op] = Op.WRITE
    off: int
    data: bytes
    length: int | None = key("len", default=None)
    image: int | None = None
    sha: bytes | None = None
    upgrade: bool | None = None


@dataclass(frozen=True)
class ImageErase(Request[EmptyResponse]):
    """`slot` is the absolute slot index (image * 2 + slot); default the non-running slot."""

    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.ERASE
    OP: ClassVar[Op] = Op.WRITE
    slot: int | None = None


@dataclass(frozen=True)
class SlotInfoSlot(Struct):
    slot: int
    size: int
    upload_image_id: int | None = None


@dataclass(frozen=True)
class SlotInfoImage(Struct):
    image: int
    slots: list[SlotInfoSlot]
    max_image_size: int | None = None


@dataclass(frozen=True)
class SlotInfoResponse(Response):
    images: list[SlotInfoImage]


@dataclass(frozen=True)
class SlotInfo(Request[SlotInfoResponse]):
    GROUP: ClassVar[int] = Group.IMAGE
    COMMAND: ClassVar[int] = ImgCommand.SLOT_INFO
    OP: ClassVar[Op] = Op.READ
