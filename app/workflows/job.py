"""A production job: what to flash, how, onto which boards, and what to record.

Loaded from TOML once per shift. The image is verified when the job loads and its file hash
pinned; `check_unchanged()` re-reads the file before every board, so a file replaced on disk
stops the job instead of flashing something nobody verified.

The format, every key, is documented in docs/production.md ("The job file"), and
app/resources/examples/job.toml is a working example (a test loads it).
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.errors import SlotwiseError
from app.image.errors import ClearPayloadRefused, ContentsUnproven, ImageError
from app.image.keys import KeyStore
from app.workflows.images import Allowances, load_images_to_upload
from app.workflows.preflight import JOB_KEYS, YES_FLAGS, CheckKind, Choices
from app.workflows.update_types import Mode, UpdateImage

IDENTITY_FIELDS = ("os_info", "usb_serial", "ble_address", "address")
"""Identity sources besides `setting:NAME` (a settings key read from the board)."""


CONCURRENCY_RANGE = (1, 256)
"""Boards flashed at once: at least one, and no line has more ports than this."""
RETRIES_RANGE = (0, 20)
"""Extra attempts per board after a failed one."""


class JobError(SlotwiseError):
    """The job file is wrong, or its image changed or failed verification."""


@dataclass(frozen=True, slots=True)
class Targets:
    devices: tuple[str, ...] = ()
    udp: tuple[str, ...] = ()
    serial_vid_pid: tuple[str, ...] = ()
    serial_name: str | None = None
    ble_name: str | None = None


@dataclass(frozen=True, slots=True)
class JobServer:
    """The job's `[server]`: where each board's result is reported (app/fleet does it)."""

    url: str
    tenant: str = "DEFAULT"
    auth: str = "none"
    token_env: str | None = None
    controller_id: str | None = None
    """A controller-id template; None: the fleet default."""


@dataclass(frozen=True, slots=True)
class Job:
    """A loaded, verified job."""

    name: str
    path: Path | None
    image_path: Path
    images: tuple[UpdateImage, ...]
    file_sha256: bytes
    """SHA-256 of the image file as verified at load time (pinned)."""
    mode: Mode = Mode.TEST
    expected_version: str | None = None
    concurrency: int = 4
    retries: int = 1
    station: str = ""
    operator: str = ""
    targets: Targets = field(default_factory=Targets)
    identity: tuple[str, ...] = ("os_info",)
    barcode_require: str = "none"
    barcode_check: str | None = None
    supervisor_password_hash: str | None = None
    """The stored form (app/workflows/supervisor.py) of the password that leaves operator mode."""
    key_names: tuple[str, ...] = ()
    server: JobServer | None = None
    choices: Choices = field(default_factory=Choices)
    """The pre-flight's yeses the job file or the command line gave (its images passed them)."""

    def check_unchanged(self) -> None:
        """Raises JobError when the image file on disk is not the one verified at load."""
        try:
            now = _file_sha256(self.image_path)
        except OSError as exc:
            raise JobError(
                f"the job's image {self.image_path} can no longer be read: "
                f"{exc.strerror or exc}; the job is stopped"
            ) from exc
        if now != self.file_sha256:
            raise JobError(
                f"the job's image {self.image_path} changed on disk after the job "
                "was loaded and verified; the job is stopped"
            )

    @property
    def version_text(self) -> str:
        return ", ".join(i.version.smp_text for i in self.images)


def load_job(
    path: Path, *, allow_encrypted_unproven: bool = False, allow_clear_payload: bool = False
) -> Job:
    """Parse, validate and verify a TOML job file.

    The CLI's choices add to the job's own keys: either `allow_encrypted_unproven` or the
    key `allow_unverified_encrypted` lets an encrypted-unproven image through, and either
    `allow_clear_payload` or the key of that name an `imgtool sign --clear` one.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JobError(f"cannot read job file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise JobError(f"job file {path} is not valid TOML: {exc}") from exc
    section = _table(raw, "job")
    base = path.parent
    image = section.get("image")
    if not isinstance(image, str) or not image:
        raise JobError(f'job file {path}: [job] image = "FILE" is required')
    keys = [base / k for k in _strings(section, "keys")]
    job = make_job(
        base / image,
        keys,
        name=str(section.get("name") or path.stem),
        path=path,
        mode=str(section.get("mode", "test")),
        expected_version=_optional_str(section, "expected_version"),
        concurrency=_int(section, "concurrency", 4, *CONCURRENCY_RANGE),
        retries=_int(section, "retries", 1, *RETRIES_RANGE),
        station=str(section.get("station", "")),
        operator=str(section.get("operator", "")),
        # an older job's unsalted SHA-256 hex still works (supervisor.password_matches)
        supervisor_password_hash=_optional_str(section, "supervisor_password")
        or _optional_str(section, "supervisor_password_sha256"),
        allow_encrypted_unproven=allow_encrypted_unproven
        or _bool(section, "allow_unverified_encrypted"),
        allow_clear_payload=allow_clear_payload or _bool(section, "allow_clear_payload"),
    )
    targets_raw = _table(raw, "targets", required=False)
    targets = Targets(
        devices=tuple(_strings(targets_raw, "devices")),
        udp=tuple(_strings(targets_raw, "udp")),
        serial_vid_pid=tuple(_strings(targets_raw, "serial_vid_pid")),
        serial_name=_optional_str(targets_raw, "serial_name"),
        ble_name=_optional_str(targets_raw, "ble_name"),
    )
    identity = tuple(_strings(_table(raw, "identity", required=False), "read")) or ("os_info",)
    for item in identity:
        if item not in IDENTITY_FIELDS and not item.startswith("setting:"):
            raise JobError(
                f"job file {path}: unknown identity field {item!r} "
                f"(use {', '.join(IDENTITY_FIELDS)} or setting:NAME)"
            )
    barcode = _table(raw, "barcode", required=False)
    require = str(barcode.get("require", "none"))
    if require not in ("none", "before", "after"):
        raise JobError(f"job file {path}: [barcode] require must be none, before or after")
    return replace(
        job,
        targets=targets,
        identity=identity,
        barcode_require=require,
        barcode_check=_optional_str(barcode, "check"),
        server=_server(_table(raw, "server", required=False), path),
    )


def _server(table: dict[str, Any], path: Path) -> JobServer | None:
    if not table:
        return None
    url = _optional_str(table, "url")
    if not url:
        raise JobError(f'job file {path}: [server] needs url = "https://..."')
    auth = str(table.get("auth", "none"))
    if auth not in ("none", "GatewayToken", "TargetToken"):
        raise JobError(f"job file {path}: [server] auth must be none, GatewayToken or TargetToken")
    if "token" in table:
        raise JobError(
            f"job file {path}: a token does not belong in the job file; name the environment "
            "variable that holds it with token_env"
        )
    token_env = _optional_str(table, "token_env")
    if auth != "none" and not token_env:
        raise JobError(f"job file {path}: [server] auth = {auth!r} needs token_env")
    return JobServer(
        url=url,
        tenant=str(table.get("tenant", "DEFAULT")),
        auth=auth,
        token_env=token_env,
        controller_id=_optional_str(table, "controller_id"),
    )


def make_job(
    image_path: Path,
    key_paths: list[Path],
    *,
    name: str = "ad-hoc",
    path: Path | None = None,
    mode: str = "test",
    expected_version: str | None = None,
    concurrency: int = 4,
    retries: int = 1,
    station: str = "",
    operator: str = "",
    supervisor_password_hash: str | None = None,
    allow_encrypted_unproven: bool = False,
    allow_clear_payload: bool = False,
) -> Job:
    """A job for one image (used by `slotwise flash FILE --device ...` and by load_job)."""
    try:
        chosen = Mode(mode)
    except ValueError:
        raise JobError(f"mode {mode!r} is not one of test, confirm, none") from None
    for option, value, (low, high) in (
        ("concurrency", concurrency, CONCURRENCY_RANGE),
        ("retries", retries, RETRIES_RANGE),
    ):
        if not low <= value <= high:
            raise JobError(f"{option} must be a whole number from {low} to {high}, not {value}")
    store = KeyStore()
    names = []
    for key_path in key_paths:
        try:
            names.append(store.add(key_path.stem, key_path).name)
        except (OSError, ImageError, ValueError) as exc:
            raise JobError(f"cannot load trusted key {key_path}: {exc}") from exc
    allowances = Allowances(
        encrypted_unproven=allow_encrypted_unproven, clear_payload=allow_clear_payload
    )
    try:
        pinned = _file_sha256(image_path)
        images = load_images_to_upload(image_path, store if key_paths else None, allowances)
    except ValueError as exc:  # a path the OS cannot take, e.g. one holding a NUL byte
        raise JobError(f"cannot read image {str(image_path)!r}: {exc}") from exc
    except OSError as exc:
        raise JobError(f"cannot read image {image_path}: {exc.strerror or exc}") from exc
    except ContentsUnproven as exc:
        raise JobError(f"{exc} To flash it anyway, {_yes(CheckKind.ENCRYPTED_UNPROVEN)}.") from exc
    except ClearPayloadRefused as exc:
        raise JobError(f"{exc}; to flash it anyway, {_yes(CheckKind.CLEAR_PAYLOAD)}") from exc
    except ImageError as exc:
        raise JobError(f"image {image_path} failed verification: {exc}") from exc
    if expected_version is not None:
        versions = {i.version.smp_text for i in images} | {str(i.version) for i in images}
        if expected_version not in versions:
            found = ", ".join(i.version.smp_text for i in images)
            raise JobError(
                f"image {image_path} is version {found}, but the job expects {expected_version}"
            )
    return Job(
        name=name,
        path=path,
        image_path=image_path,
        images=tuple(images),
        file_sha256=pinned,
        mode=chosen,
        expected_version=expected_version,
        concurrency=concurrency,
        retries=retries,
        station=station,
        operator=operator,
        supervisor_password_hash=supervisor_password_hash,
        key_names=tuple(names),
        choices=allowances.choices(keys_given=bool(key_paths)),
    )


def _yes(finding: CheckKind) -> str:
    return f"pass {YES_FLAGS[finding]} or set {JOB_KEYS[finding]} = true in [job]"


def _file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def _table(raw: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = raw.get(name)
    if value is None:
        if required:
            raise JobError(f"job file needs a [{name}] table")
        return {}
    if not isinstance(value, dict):
        raise JobError(f"[{name}] in the job file must be a table")
    return value


def _strings(table: dict[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JobError(f"{key} in the job file must be a list of strings")
    return value


def _optional_str(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise JobError(f"{key} in the job file must be a string")
    return value


def _bool(table: dict[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise JobError(f"{key} in the job file must be true or false")
    return value


def _int(table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise JobError(f"{key} in the job file must be a whole number from {low} to {high}")
    return value
