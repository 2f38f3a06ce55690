"""Workflows on top of the client: the update job (and batch runs, reports). No Qt.

The names below are the package's public surface, loaded on first use (PEP 562): importing
one workflow module (diagnostics, erase, ...) does not import the update's image and
signature code, so a command starts with what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and readers see them
    from app.workflows.advice import (
        tuning_advice as tuning_advice,
    )
    from app.workflows.images import (
        load_update_images as load_update_images,
    )
    from app.workflows.progress import (
        ProgressCallback as ProgressCallback,
    )
    from app.workflows.progress import (
        ProgressEvent as ProgressEvent,
    )
    from app.workflows.progress import (
        ProgressMeter as ProgressMeter,
    )
    from app.workflows.progress import (
        Stage as Stage,
    )
    from app.workflows.update import (
        ImageOutcome as ImageOutcome,
    )
    from app.workflows.update import (
        UpdateOptions as UpdateOptions,
    )
    from app.workflows.update import (
        UpdateResult as UpdateResult,
    )
    from app.workflows.update import (
        describe_plan as describe_plan,
    )
    from app.workflows.update import (
        read_device_state as read_device_state,
    )
    from app.workflows.update import (
        run_update as run_update,
    )
    from app.workflows.update_types import (
        DeviceState as DeviceState,
    )
    from app.workflows.update_types import (
        DowngradeRefused as DowngradeRefused,
    )
    from app.workflows.update_types import (
        HashMismatch as HashMismatch,
    )
    from app.workflows.update_types import (
        Mode as Mode,
    )
    from app.workflows.update_types import (
        Outcome as Outcome,
    )
    from app.workflows.update_types import (
        UpdateError as UpdateError,
    )
    from app.workflows.update_types import (
        UpdateImage as UpdateImage,
    )
    from app.workflows.watch import (
        classify_boot as classify_boot,
    )
    from app.workflows.watch import (
        confirm_running as confirm_running,
    )
    from app.workflows.watch import (
        read_slots as read_slots,
    )
    from app.workflows.watch import (
        wait_for_device as wait_for_device,
    )

_EXPORTS: dict[str, str] = {
    "DeviceState": "app.workflows.update_types",
    "DowngradeRefused": "app.workflows.update_types",
    "HashMismatch": "app.workflows.update_types",
    "ImageOutcome": "app.workflows.update",
    "Mode": "app.workflows.update_types",
    "Outcome": "app.workflows.update_types",
    "ProgressCallback": "app.workflows.progress",
    "ProgressEvent": "app.workflows.progress",
    "ProgressMeter": "app.workflows.progress",
    "Stage": "app.workflows.progress",
    "UpdateError": "app.workflows.update_types",
    "UpdateImage": "app.workflows.update_types",
    "UpdateOptions": "app.workflows.update",
    "UpdateResult": "app.workflows.update",
    "classify_boot": "app.workflows.watch",
    "confirm_running": "app.workflows.watch",
    "describe_plan": "app.workflows.update",
    "load_update_images": "app.workflows.images",
    "read_device_state": "app.workflows.update",
    "read_slots": "app.workflows.watch",
    "run_update": "app.workflows.update",
    "tuning_advice": "app.workflows.advice",
    "wait_for_device": "app.workflows.watch",
}
"""Each public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
