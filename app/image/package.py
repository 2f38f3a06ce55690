"""Open what a user hands us — raw `.bin`, signed Intel HEX, or a `dfu_application.zip` style
package — and verify every image in it, one verdict each.

A package is a zip with `manifest.json` whose `files` list names each image with its image
index, file, version and slot (Zephyr/nRF Connect SDK style; key spellings of both are read).
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from intelhex import IntelHex, IntelHexError

from app.image.decrypt import DecryptionKey
from app.image.keys import KeyStore
from app.image.model import ImageVersion
from app.image.source import BytesSource, FileSource
from app.image.verify import SignatureCheck, Verdict, VerdictKind, verify_source

log = logging.getLogger(__name__)

MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024
"""HEX and zip members are decoded in memory; nothing MCUboot boots is anywhere near this."""
MAX_IMAGE_BYTES = 64 * 1024 * 1024
"""Larger than any MCUboot slot (the biggest, on external flash, are a few MiB): a HEX file
whose records span more is refused from its record addresses, before a byte is laid out."""
_BROKEN_ZIP = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,  # a compression method zipfile lacks
    RuntimeError,  # an encrypted member (zipfile wants a password)
    EOFError,
    zlib.error,  # corrupt deflate data
    OSError,
    ValueError,
)
"""What `zipfile` raises for a damaged, encrypted or unsupported package or member."""
_ZIP_MAGIC = b"PK\x03\x04"


def verify_path(
    path: Path,
    keys: KeyStore | None = None,
    decrypt_key: DecryptionKey | None = None,
    *,
    file_digest: bool = False,
) -> list[Verdict]:
    """One verdict per image in the file at `path` (never raises for bad input).

    `file_digest`: also hash every byte of each image as read (`Verdict.file_sha256`), for
    the upload, whose sent bytes must hash to it.
    """
    label = str(path)
    try:
        with path.open("rb") as f:
            head = f.read(4)
        kind = _kind(path, head)
        if kind == "zip":
            return _verify_package(path, keys, decrypt_key, file_digest)
        if kind == "hex":
            _small(path)
            data = _read_hex(path.read_bytes())
            return [
                verify_source(BytesSource(data), keys, decrypt_key, label, file_digest=file_digest)
            ]
        with FileSource(path) as source:
            return [verify_source(source, keys, decrypt_key, label, file_digest=file_digest)]
    except _Unreadable as exc:
        return [_failed(label, str(exc))]
    except OSError as exc:
        return [_failed(label, f"Cannot read {path}: {exc.strerror or exc}.")]


class _Unreadable(Exception):
    """Internal: the container (HEX, zip, manifest) is broken; the message is the sentence."""


def _kind(path: Path, head: bytes) -> str:
    if head == _ZIP_MAGIC:
        return "zip"
    if path.suffix.lower() == ".hex" or head[:1] == b":":
        return "hex"
    return "bin"


def _small(path: Path) -> None:
    """Refuse to decode a container into memory when it is far beyond any slot size."""
    size = path.stat().st_size
    if size > MAX_IN_MEMORY_BYTES:
        raise _Unreadable(f"{path} is {size >> 20} MiB; no firmware image is that large.")


def _read_hex(data: bytes) -> bytes:
    """Intel HEX to the contiguous bytes imgtool would read (gaps filled with 0xFF)."""
    hexfile = IntelHex()
    try:
        hexfile.loadhex(io.StringIO(data.decode("ascii")))
    except (IntelHexError, UnicodeDecodeError, ValueError) as exc:
        raise _Unreadable(f"The file is not valid Intel HEX ({exc}).") from exc
    if hexfile.minaddr() is None:
        raise _Unreadable("The Intel HEX file holds no data.")
    span = hexfile.maxaddr() - hexfile.minaddr() + 1
    if span > MAX_IMAGE_BYTES:  # minaddr/maxaddr read the record addresses only
        raise _Unreadable(
            f"The Intel HEX file spans {span >> 20} MiB, more than any slot holds; "
            "that is not one image."
        )
    return bytes(hexfile.tobinstr())


def _verify_package(
    path: Path, keys: KeyStore | None, decrypt_key: DecryptionKey | None, file_digest: bool
) -> list[Verdict]:
    _small(path)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = _manifest_entries(archive)
            return [
                _verify_member(archive, path, entry, keys, decrypt_key, file_digest)
                for entry in entries
            ]
    except _BROKEN_ZIP as exc:
        raise _Unreadable(f"{path} is not a readable zip package ({_short(exc)}).") from exc


def _manifest_entries(archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    try:
        text = archive.read("manifest.json")
    except KeyError as exc:
        raise _Unreadable("The zip package has no manifest.json.") from exc
    except _BROKEN_ZIP as exc:
        raise _Unreadable(f"The package's manifest.json cannot be read ({_short(exc)}).") from exc
    try:
        manifest = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Unreadable(f"The package's manifest.json is not valid JSON ({exc}).") from exc
    except RecursionError as exc:  # json's decoder recurses once per nesting level
        raise _Unreadable("The package's manifest.json is nested too deeply to be one.") from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not files:
        raise _Unreadable('The package\'s manifest.json lists no images under "files".')
    if not all(isinstance(e, dict) and isinstance(e.get("file"), str) for e in files):
        raise _Unreadable('Every manifest.json entry needs a "file" name.')
    return files


def _verify_member(
    archive: zipfile.ZipFile,
    path: Path,
    entry: dict[str, Any],
    keys: KeyStore | None,
    decrypt_key: DecryptionKey | None,
    file_digest: bool,
) -> Verdict:
    name: str = entry["file"]
    label = f"{path}:{name}"
    index = _int_or_none(entry.get("image_index", entry.get("image-index", entry.get("index"))))
    slot = _int_or_none(entry.get("slot", entry.get("slot_index_secondary")))
    declared = entry.get("version", entry.get("version_MCUBOOT"))
    declared = str(declared) if declared is not None else None
    try:
        info = archive.getinfo(name)
        if info.file_size > MAX_IMAGE_BYTES:
            return _failed(label, f"{name} in the package is too large to be an image.")
        data = archive.read(info)
    except KeyError:
        verdict = _failed(label, f"The manifest lists {name}, but the package does not hold it.")
    except _BROKEN_ZIP as exc:
        verdict = _failed(label, f"{name} in the package cannot be read ({_short(exc)}).")
    else:
        if name.lower().endswith(".hex"):
            try:
                data = _read_hex(data)
            except _Unreadable as exc:
                return replace(_failed(label, str(exc)), image_index=index, slot=slot)
        verdict = verify_source(
            BytesSource(data), keys, decrypt_key, label, file_digest=file_digest
        )
    verdict = replace(verdict, image_index=index, slot=slot, declared_version=declared)
    return _check_declared_version(verdict)


def _check_declared_version(verdict: Verdict) -> Verdict:
    if verdict.declared_version is None or verdict.image is None:
        return verdict
    try:
        declared = ImageVersion.parse(verdict.declared_version)
    except ValueError:
        return replace(
            verdict,
            warnings=(
                *verdict.warnings,
                f"The manifest version {verdict.declared_version!r} is not a version number.",
            ),
        )
    actual = verdict.image.header.version
    if declared.key(True) == actual.key(True):
        return verdict
    return replace(
        verdict,
        kind=VerdictKind.INVALID,
        problems=(
            *verdict.problems,
            f"The manifest says version {declared} but the image header says {actual}.",
        ),
    )


def _short(exc: BaseException) -> str:
    """zipfile's own words, without the ZipInfo repr some of its messages embed."""
    if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
        return "it is encrypted; Slotwise reads only unencrypted packages"
    if isinstance(exc, zlib.error):
        return "its compressed data is corrupt"
    return str(exc) or type(exc).__name__


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value), 0) if value is not None else None
    except ValueError:
        return None


def _failed(label: str, problem: str) -> Verdict:
    return Verdict(label, VerdictKind.INVALID, None, None, SignatureCheck(), problems=(problem,))
