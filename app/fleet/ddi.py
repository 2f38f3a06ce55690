"""The Direct Device Integration (DDI) resources as values, parsed from and written to JSON.

Pure: no I/O. Shapes follow hawkBit's DDI API (the `DdiControllerBase`, `DdiDeploymentBase`,
`DdiCancel` and `DdiActionFeedback` models and their documented examples); gooseBit answers a
subset of the same shapes. Unknown keys are ignored, as hawkBit's own models do.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.errors import SlotwiseError


class FleetError(SlotwiseError):
    """A fleet operation failed; the sentence says why (never carries a token)."""


class DdiFormatError(FleetError):
    """The server answered with JSON that is not the DDI resource we asked for."""


class Handling(StrEnum):
    """`deployment.download` / `deployment.update`: how the device should treat that step."""

    SKIP = "skip"
    """Do not do this step (e.g. `update: skip` is a download-only action)."""
    ATTEMPT = "attempt"
    """A soft update: the device may decide (or ask someone) when."""
    FORCED = "forced"


class Execution(StrEnum):
    """`status.execution` values a device may send (hawkBit's state-machine mapping table)."""

    CLOSED = "closed"
    PROCEEDING = "proceeding"
    CANCELED = "canceled"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    RESUMED = "resumed"
    DOWNLOAD = "download"
    DOWNLOADED = "downloaded"


class Finished(StrEnum):
    """`status.result.finished`; `none` is handled like success by hawkBit."""

    SUCCESS = "success"
    FAILURE = "failure"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Poll:
    """The controller base resource: how long to sleep and which actions the server has."""

    sleep_s: float
    deployment_href: str | None = None
    cancel_href: str | None = None
    config_data_href: str | None = None
    installed_href: str | None = None


@dataclass(frozen=True, slots=True)
class Artifact:
    filename: str
    size: int | None
    hashes: Mapping[str, str]
    """Lower-case algorithm name (sha256, sha1, md5) -> lower-case hex, as the server gave."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Link name (download, download-http, md5sum, ...) -> href."""

    @property
    def download_url(self) -> str | None:
        """HTTPS `download` first, then plain `download-http` (hawkBit offers both)."""
        return self.links.get("download") or self.links.get("download-http")


@dataclass(frozen=True, slots=True)
class Chunk:
    part: str
    name: str
    version: str
    artifacts: tuple[Artifact, ...]


@dataclass(frozen=True, slots=True)
class Deployment:
    action_id: str
    download: Handling
    update: Handling
    chunks: tuple[Chunk, ...]
    maintenance_window: str | None = None
    """`available` or `unavailable` when the action has a window; None when it has none."""

    @property
    def may_install_now(self) -> bool:
        return self.update is not Handling.SKIP and self.maintenance_window != "unavailable"


@dataclass(frozen=True, slots=True)
class Cancel:
    action_id: str
    stop_id: str
    """The deployment action the server wants stopped."""


def parse_sleep(text: object) -> float:
    """`HH:MM:SS` (hawkBit's `config.polling.sleep`) to seconds."""
    if not isinstance(text, str):
        raise DdiFormatError(f"polling sleep is not a HH:MM:SS text: {text!r}")
    parts = text.split(":")
    try:
        hours, minutes, seconds = (int(p) for p in parts)
    except ValueError:
        raise DdiFormatError(f"polling sleep is not HH:MM:SS: {text!r}") from None
    if min(hours, minutes, seconds) < 0 or minutes > 59 or seconds > 59:
        raise DdiFormatError(f"polling sleep is not HH:MM:SS: {text!r}")
    return float(hours * 3600 + minutes * 60 + seconds)


MIN_POLL_S = 1.0
"""The shortest poll interval obeyed: `00:00:00` made a gateway poll (and connect to its
devices) in a tight loop."""


def parse_poll(body: object, *, default_sleep_s: float = 300.0) -> Poll:
    root = _mapping(body, "controller base")
    sleep_s = default_sleep_s
    config = root.get("config")
    if isinstance(config, Mapping):
        polling = config.get("polling")
        if isinstance(polling, Mapping) and "sleep" in polling:
            sleep_s = max(parse_sleep(polling["sleep"]), MIN_POLL_S)
    links = _links(root.get("_links"))
    return Poll(
        sleep_s=sleep_s,
        deployment_href=links.get("deploymentBase"),
        cancel_href=links.get("cancelAction"),
        config_data_href=links.get("configData"),
        installed_href=links.get("installedBase"),
    )


def parse_deployment(body: object) -> Deployment:
    root = _mapping(body, "deploymentBase")
    deployment = _mapping(root.get("deployment"), "deploymentBase.deployment")
    chunks = deployment.get("chunks", [])
    if not isinstance(chunks, list):
        raise DdiFormatError("deploymentBase.deployment.chunks is not a list")
    window = deployment.get("maintenanceWindow")
    if window is not None and window not in ("available", "unavailable"):
        raise DdiFormatError(f"unknown maintenanceWindow {window!r}")
    return Deployment(
        action_id=_text(root.get("id"), "deploymentBase.id"),
        download=_handling(deployment.get("download", "forced"), "download"),
        update=_handling(deployment.get("update", "forced"), "update"),
        chunks=tuple(_chunk(c) for c in chunks),
        maintenance_window=window,
    )


def parse_cancel(body: object) -> Cancel:
    root = _mapping(body, "cancelAction")
    action = _mapping(root.get("cancelAction"), "cancelAction.cancelAction")
    return Cancel(
        action_id=_text(root.get("id"), "cancelAction.id"),
        stop_id=_text(action.get("stopId"), "cancelAction.stopId"),
    )


def action_id_of(href: str) -> str:
    """The action id at the end of a deploymentBase/cancelAction link (query dropped)."""
    return href.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def feedback_body(
    execution: Execution,
    finished: Finished,
    details: list[str] | tuple[str, ...] = (),
    *,
    progress: tuple[int, int] | None = None,
    when: dt.datetime | None = None,
) -> dict[str, Any]:
    """One `DdiActionFeedback`: time, status.execution, status.result (finished, progress)."""
    result: dict[str, Any] = {"finished": str(finished)}
    if progress is not None:
        result["progress"] = {"cnt": progress[0], "of": progress[1]}
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S")
    return {
        "time": stamp,
        "status": {"execution": str(execution), "result": result, "details": list(details)},
    }


def config_data_body(attributes: Mapping[str, str]) -> dict[str, Any]:
    """`DdiConfigData`: the attributes, merged into what the server has."""
    return {"mode": "merge", "data": dict(attributes)}


# --- helpers -----------------------------------------------------------------------------------


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DdiFormatError(f"the server's {what} is not a JSON object")
    return value


def _text(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DdiFormatError(f"the server's {what} is missing or not text")
    return str(value)


def _handling(value: object, what: str) -> Handling:
    try:
        return Handling(str(value))
    except ValueError:
        raise DdiFormatError(f"unknown {what} handling {value!r}") from None


def _links(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {
        name: link["href"]
        for name, link in value.items()
        if isinstance(link, Mapping) and isinstance(link.get("href"), str)
    }


def _chunk(value: object) -> Chunk:
    chunk = _mapping(value, "chunk")
    artifacts = chunk.get("artifacts", [])
    if not isinstance(artifacts, list):
        raise DdiFormatError("a chunk's artifacts is not a list")
    return Chunk(
        part=str(chunk.get("part", "")),
        name=str(chunk.get("name", "")),
        version=str(chunk.get("version", "")),
        artifacts=tuple(_artifact(a) for a in artifacts),
    )


def _artifact(value: object) -> Artifact:
    artifact = _mapping(value, "artifact")
    size = artifact.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DdiFormatError(f"artifact size {size!r} is not a byte count")
    hashes = artifact.get("hashes", {})
    if not isinstance(hashes, Mapping):
        raise DdiFormatError("artifact hashes is not an object")
    return Artifact(
        filename=_text(artifact.get("filename"), "artifact filename"),
        size=size,
        hashes=_hashes(hashes),
        links=_links(artifact.get("_links")),
    )


HEX_DIGITS = {"sha256": 64, "sha1": 40, "md5": 32}
"""The digests the gateway checks, and the length of each in hex."""
_HEX = re.compile(r"[0-9a-f]+")


def is_hex_digest(algorithm: str, digest: str) -> bool:
    return len(digest) == HEX_DIGITS.get(algorithm) and _HEX.fullmatch(digest) is not None


def _hashes(value: Mapping[str, Any]) -> dict[str, str]:
    """The digests the gateway checks, each as the hex it must be: a hash names the cache
    folder, so anything else (`../..`) could reach outside the cache."""
    found = {}
    for key, digest in value.items():
        algorithm = str(key).lower()
        if algorithm not in HEX_DIGITS or not digest:
            continue  # an algorithm nobody here checks: ignored, as hawkBit's own model does
        text = str(digest).lower()
        if not is_hex_digest(algorithm, text):
            digits = HEX_DIGITS[algorithm]
            raise DdiFormatError(f"the artifact's {algorithm} is not {digits} hex digits")
        found[algorithm] = text
    return found
