"""The artifact side of a deployment: pick what Slotwise can install, download it into a cache
keyed by its hash (resuming a partial file with HTTP Range), check its size and every hash the
server gave, and unpack an SWUpdate `.swu` archive that carries an MCUboot image.

What comes out is a local file; its verdict comes from the same `load_images_to_upload` a local
file gets (app/workflows/images.py), so nothing here judges an image.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.fleet.ddi import Artifact, Deployment, FleetError, is_hex_digest
from app.fleet.server import DdiHttp
from app.image.package import MAX_IN_MEMORY_BYTES
from app.text import device_text

log = logging.getLogger(__name__)

INSTALLABLE_SUFFIXES = (".bin", ".hex", ".zip", ".swu")
"""MCUboot images, dfu_application.zip packages, SWUpdate archives carrying one of those."""
MAX_ARTIFACT_BYTES = MAX_IN_MEMORY_BYTES
"""The most a download may bring when the server states no size: the most Slotwise would
read of a package. A server that states a size gets no byte past it."""
HASH_ORDER = ("sha256", "sha1", "md5")
"""Cache key preference; every one of them the server gives is checked."""
SWU_DESCRIPTION = "sw-description"
MAX_DESCRIPTION_BYTES = 1024 * 1024
"""A real sw-description is a few kB of libconfig text."""
_CPIO_MAGICS = (b"070701", b"070702")
_CPIO_HEADER = 110
_CPIO_TRAILER = "TRAILER!!!"
_CPIO_FIELDS = re.compile(rb"[0-9A-Fa-f]{104}")
"""The thirteen eight-digit hex fields after the magic."""
_S_IFMT, _S_IFREG = 0o170000, 0o100000


class ArtifactRejected(FleetError):
    """The artifact is not what the server said (size, hash) or not something to install."""


@dataclass(frozen=True, slots=True)
class Choice:
    artifact: Artifact
    chunk_name: str
    chunk_version: str


def choose_artifact(deployment: Deployment) -> Choice:
    """The first artifact, in chunk order, whose name says Slotwise can install it."""
    seen = []
    for chunk in deployment.chunks:
        for artifact in chunk.artifacts:
            seen.append(artifact.filename)
            if artifact.filename.lower().endswith(INSTALLABLE_SUFFIXES):
                return Choice(artifact, chunk.name, chunk.version)
    names = ", ".join(seen) or "no artifacts at all"
    raise ArtifactRejected(
        f"the action offers nothing Slotwise can install ({names}); it takes .bin, .hex, "
        "a dfu_application.zip or an .swu archive carrying one"
    )


_FETCHING: dict[Path, asyncio.Lock] = {}
"""One download per artifact at a time: a gateway serving many devices assigned the same
file downloads it once and the others wait, then take it from the cache."""


class ArtifactCache:
    """`DIR/<algorithm>-<hex>/<filename>`: one folder per artifact hash."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def folder(self, artifact: Artifact) -> Path:
        for algorithm in HASH_ORDER:
            if algorithm in artifact.hashes:
                digest = artifact.hashes[algorithm]
                if not is_hex_digest(algorithm, digest):  # it names a folder: never `../..`
                    raise ArtifactRejected(
                        f"the server's {algorithm} for {device_text(artifact.filename)} is not "
                        "a hex digest"
                    )
                return self.directory / f"{algorithm}-{digest}"
        raise ArtifactRejected(
            f"the server gives no sha256, sha1 or md5 for {artifact.filename}; "
            "an artifact that cannot be checked is not installed"
        )

    async def fetch(
        self,
        http: DdiHttp,
        artifact: Artifact,
        *,
        on_bytes: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[Path, bool]:
        """The checked artifact on disk, and whether it was in the cache already."""
        folder = self.folder(artifact)
        async with _FETCHING.setdefault(folder, asyncio.Lock()):
            return await self._fetch(http, artifact, folder, on_bytes, stop)

    async def _fetch(
        self,
        http: DdiHttp,
        artifact: Artifact,
        folder: Path,
        on_bytes: Callable[[int], None] | None,
        stop: Callable[[], bool] | None,
    ) -> tuple[Path, bool]:
        name = cache_name(artifact.filename)
        if artifact.size is not None and artifact.size > MAX_ARTIFACT_BYTES:
            raise ArtifactRejected(
                f"{name}: the server says it has {artifact.size} bytes, larger than any image "
                f"or package Slotwise installs ({MAX_ARTIFACT_BYTES} bytes)"
            )
        final = folder / name
        if final.exists():
            try:
                check_artifact(final, artifact)
                return final, True
            except ArtifactRejected:
                final.unlink()
        url = artifact.download_url
        if url is None:
            raise ArtifactRejected(f"the server gives no download link for {artifact.filename}")
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / (name + ".part")
        limit = MAX_ARTIFACT_BYTES if artifact.size is None else artifact.size
        await http.download(url, partial, limit_bytes=limit, on_bytes=on_bytes, stop=stop)
        try:
            check_artifact(partial, artifact)
        except ArtifactRejected:
            partial.unlink(missing_ok=True)  # never resume onto bytes that are wrong
            raise
        partial.replace(final)
        return final, False


def cache_name(filename: str) -> str:
    """The server's file name as one safe name inside the cache folder: its last path part,
    with no NUL, no `.`/`..` and at most 200 characters (a file system keeps 255)."""
    name = Path(filename.replace("\\", "/")).name
    if not name or name in (".", "..") or "\x00" in name or len(name.encode()) > 200:
        raise ArtifactRejected(
            f"the server's artifact name {device_text(filename)!r} cannot be a file name here"
        )
    return name


def check_artifact(path: Path, artifact: Artifact) -> None:
    """Size and every hash the server gave must match the file."""
    size = path.stat().st_size
    if artifact.size is not None and size != artifact.size:
        raise ArtifactRejected(
            f"{artifact.filename}: downloaded {size} bytes, the server said {artifact.size}"
        )
    known = {a: v for a, v in artifact.hashes.items() if a in HASH_ORDER}
    digests = {a: hashlib.new(a) for a in known}
    with path.open("rb") as f:
        while block := f.read(1 << 16):
            for digest in digests.values():
                digest.update(block)
    for algorithm, expected in known.items():
        actual = digests[algorithm].hexdigest()
        if actual != expected:
            raise ArtifactRejected(
                f"{artifact.filename}: its {algorithm} is {actual[:16]}..., the server "
                f"said {expected[:16]}...; the download is not what was assigned"
            )


# --- SWUpdate archives -------------------------------------------------------------------------


def unpack_swu(path: Path, dest: Path) -> Path:
    """The one MCUboot image (or package) an `.swu` carries, written into `dest`.

    An .swu is a cpio "newc" archive whose first member is `sw-description` (libconfig); it
    names the images and usually their sha256, which is checked here.
    """
    members = _cpio_members(path)
    if not members or members[0][0] != SWU_DESCRIPTION:
        raise ArtifactRejected(f"{path.name} is not an SWUpdate archive (no sw-description first)")
    if members[0][2] > MAX_DESCRIPTION_BYTES:
        raise ArtifactRejected(
            f"{path.name}: its sw-description has {members[0][2]} bytes; more than "
            f"{MAX_DESCRIPTION_BYTES} is not a description"
        )
    description = _read(path, members[0][1], members[0][2]).decode("utf-8", "replace")
    wanted = _described_images(description)
    for name, offset, size in members[1:]:
        if not name.lower().endswith(INSTALLABLE_SUFFIXES[:3]):
            continue
        if "\x00" in name:  # a file name cannot hold one: never the image meant
            raise ArtifactRejected(f"{path.name}: a member's name holds a NUL byte")
        if wanted and name not in wanted:
            continue
        data = _read(path, offset, size)
        expected = wanted.get(name)
        if expected and hashlib.sha256(data).hexdigest() != expected.lower():
            raise ArtifactRejected(
                f"{path.name}: {name} does not match the sha256 its sw-description gives"
            )
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / Path(name).name
        out.write_bytes(data)
        return out
    raise ArtifactRejected(
        f"{path.name} carries no MCUboot image (.bin, .hex) or dfu_application.zip"
    )


def _cpio_members(path: Path) -> list[tuple[str, int, int]]:
    """(name, data offset, size) of every regular-file member, in archive order.

    Every header field is exactly eight hex digits and every member lies inside the file:
    `int()` alone took `-0000100`, a size that led back to an earlier header for ever.
    Directories, links and devices carry no image and are left out.
    """
    members: list[tuple[str, int, int]] = []
    end = path.stat().st_size
    with path.open("rb") as f:
        offset = 0
        while True:
            f.seek(offset)
            header = f.read(_CPIO_HEADER)
            if len(header) < _CPIO_HEADER or header[:6] not in _CPIO_MAGICS:
                raise ArtifactRejected(f"{path.name} is not a cpio (newc) archive")
            if not _CPIO_FIELDS.fullmatch(header[6:]):
                raise ArtifactRejected(f"{path.name} has a broken cpio header")
            mode = int(header[14:22], 16)
            size = int(header[54:62], 16)
            name_size = int(header[94:102], 16)
            data_at = _align4(offset + _CPIO_HEADER + name_size)
            if data_at + size > end:
                raise ArtifactRejected(f"{path.name} ends inside a member")
            name = f.read(name_size).rstrip(b"\x00").decode("utf-8", "replace")
            if name == _CPIO_TRAILER:
                return members
            if mode & _S_IFMT == _S_IFREG:
                members.append((name, data_at, size))
            offset = _align4(data_at + size)


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:
        raise ArtifactRejected(f"{path.name} ends inside a member")
    return data


_BLOCK = re.compile(r"\{([^{}]*)\}")
"""An innermost `{ ... }` group: each `{` scans only to the next brace, so this is linear."""
_FILENAME = re.compile(r"filename\s*=\s*\"([^\"]+)\"")
_SHA256 = re.compile(r"sha256\s*=\s*\"([0-9A-Fa-f]{64})\"")


def _described_images(description: str) -> dict[str, str | None]:
    """filename -> sha256 (or None) for every image block sw-description lists."""
    found: dict[str, str | None] = {}
    for block in _BLOCK.finditer(description):
        # One pattern over the whole text backtracked: 256 kB of `filename = "a";` after a
        # `{` took 20 s, and the time grew with the square of the size.
        name = _FILENAME.search(block.group(1))
        if name is None:
            continue
        digest = _SHA256.search(block.group(1))
        found[name.group(1)] = digest.group(1) if digest else None
    return found


def make_swu(image: Path, dest: Path, *, version: str, board: str | None = None) -> Path:
    """Wrap an image in a minimal .swu (sw-description first, with the image's sha256), as a
    build pipeline would for a server that only takes SWU uploads (gooseBit)."""
    data = image.read_bytes()
    compatible = f'\n  {board} = {{ hardware-compatibility = ["default"]; }};' if board else ""
    description = (
        "software =\n{\n"
        f'  version = "{version}";{compatible}\n'
        "  images: (\n"
        f'    {{ filename = "{image.name}"; type = "mcuboot"; '
        f'sha256 = "{hashlib.sha256(data).hexdigest()}"; }}\n'
        "  );\n};\n"
    ).encode()
    with dest.open("wb") as out:
        for name, body in (
            (SWU_DESCRIPTION, description),
            (image.name, data),
            (_CPIO_TRAILER, b""),
        ):
            _write_member(out, name, body)
    return dest


def _write_member(f: BinaryIO, name: str, body: bytes) -> None:
    encoded = name.encode() + b"\x00"
    fields = [0, 0o100644 if body or name != _CPIO_TRAILER else 0, 0, 0, 1, 0, len(body)]
    fields += [0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(f"{v:08X}".encode() for v in fields)
    start = f.tell()
    f.write(header + encoded)
    f.write(b"\x00" * (_align4(f.tell() - start) - (f.tell() - start)))
    f.write(body)
    f.write(b"\x00" * (_align4(len(body)) - len(body)))
