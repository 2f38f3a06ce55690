"""Workflows on top of the client: the update job (and batch runs, reports). No Qt."""

from app.workflows.advice import tuning_advice
from app.workflows.images import load_update_images
from app.workflows.progress import ProgressCallback, ProgressEvent, ProgressMeter, Stage
from app.workflows.update import (
    ImageOutcome,
    UpdateOptions,
    UpdateResult,
    describe_plan,
    read_device_state,
    run_update,
)
from app.workflows.update_types import (
    DeviceState,
    DowngradeRefused,
    HashMismatch,
    Mode,
    Outcome,
    UpdateError,
    UpdateImage,
)
from app.workflows.watch import classify_boot, confirm_running, read_slots, wait_for_device

__all__ = [
    "DeviceState",
    "DowngradeRefused",
    "HashMismatch",
    "ImageOutcome",
    "Mode",
    "Outcome",
    "ProgressCallback",
    "ProgressEvent",
    "ProgressMeter",
    "Stage",
    "UpdateError",
    "UpdateImage",
    "UpdateOptions",
    "UpdateResult",
    "classify_boot",
    "confirm_running",
    "describe_plan",
    "load_update_images",
    "read_device_state",
    "read_slots",
    "run_update",
    "tuning_advice",
    "wait_for_device",
]
