"""`slotwise upload`: verify an image locally, upload it fast, check the device's hash, then
test, confirm or leave it, reset and watch the device come back.

Progress goes to stderr on a terminal (a bar and the steps in words) or, with --json, to stdout
as JSON Lines for line-station scripts, whose last line is the result. Piped without --json,
stderr carries only the one error line on failure (-v logs the steps).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from app.cli.connect import UsageError, connected
from app.cli.messages import say_error
from app.cli.options import (
    add_unproven_image_flags,
    answer_timeout_s,
    existing_file,
    upload_waits,
    whole_number,
)
from app.client import SmpClient
from app.client.upload import UploadOptions
from app.errors import SlotwiseError
from app.image.errors import ClearPayloadRefused, ContentsUnproven
from app.image.keys import KeyStore
from app.text import device_text
from app.transport import open_transport
from app.units import format_bytes, format_rate, format_seconds
from app.workflows.images import (
    Allowances,
    file_findings,
    load_images_to_upload,
    load_update_images,
)
from app.workflows.preflight import YES_FLAGS, CheckKind
from app.workflows.progress import ProgressEvent, Stage
from app.workflows.recovery import RecoverOptions, recover
from app.workflows.update import UpdateOptions, UpdateResult, run_update
from app.workflows.update_types import Mode, UpdateImage

BAR_WIDTH = 30


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("upload", help="upload a signed image, verify it, test or confirm it")
    p.add_argument("file", type=existing_file, help="signed image (.bin, .hex) or a .zip package")
    p.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.TEST.value,
        help="test (default): boot it once and keep the old one as fallback; "
        "confirm: make it permanent (needs --yes); none: upload only",
    )
    p.add_argument(
        "--image",
        type=whole_number(0, 15),
        metavar="N",
        help="target image number on multi-image devices (default 0)",
    )
    p.add_argument("--no-reset", action="store_true", help="mark the image but do not reset")
    p.add_argument("--yes", action="store_true", help="agree to --mode confirm (no rollback)")
    p.add_argument(
        "--window",
        type=whole_number(1),
        metavar="N",
        help="requests in flight (default: the device's buffer count - 1; 1 = stop-and-wait)",
    )
    p.add_argument(
        "--allow-downgrade", action="store_true", help="install an image older than the one running"
    )
    p.add_argument(
        "--key",
        action="append",
        type=existing_file,
        default=[],
        metavar="PUB.pem",
        help="trusted public key; the signature must verify with one (repeatable)",
    )
    add_unproven_image_flags(p, "upload")
    p.add_argument(
        "--explain",
        action="store_true",
        help="say what the mode does here and why the upload was not faster",
    )
    p.add_argument("--json", action="store_true", help="JSON Lines progress and result")
    p.set_defaults(func=run)

    p = commands.add_parser(
        "recover",
        help="restore firmware on a board in MCUboot serial recovery (overwrites the primary slot)",
    )
    p.add_argument("file", type=existing_file, help="signed image (.bin or .hex)")
    p.add_argument(
        "--image",
        type=whole_number(0, 15),
        default=0,
        metavar="N",
        help="image number on multi-image boards",
    )
    p.add_argument(
        "--key",
        action="append",
        type=existing_file,
        default=[],
        metavar="PUB.pem",
        help="trusted public key; the signature must verify with one (repeatable)",
    )
    p.add_argument(
        "--buffer-bytes",
        type=whole_number(64),
        metavar="N",
        help="the recovery's receive buffer, CONFIG_BOOT_SERIAL_MAX_RECEIVE_SIZE "
        "(default: what it reports, else 512)",
    )
    p.add_argument("--json", action="store_true", help="JSON Lines progress and result")
    p.set_defaults(func=run_recover)


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    keys = _keys(args.key)
    allowances = Allowances(
        encrypted_unproven=args.allow_unverified_encrypted, clear_payload=args.allow_clear_payload
    )
    try:
        images = load_images_to_upload(args.file, keys, allowances, image=args.image)
    except ContentsUnproven as exc:  # any other ImageError: exit 1 as it is
        raise ContentsUnproven(
            f"{exc} Add --allow-unverified-encrypted to upload it anyway."
        ) from exc
    except ClearPayloadRefused as exc:
        flag = YES_FLAGS[CheckKind.CLEAR_PAYLOAD]
        raise ClearPayloadRefused(f"{exc}; add {flag} to upload it anyway") from exc
    choices = allowances.choices(keys_given=keys is not None)
    for label, check in file_findings(images, choices):
        if check.kind is CheckKind.CLEAR_PAYLOAD:  # allowed, or refused above: said once, here
            print(f"slotwise: warning: {label}: {check.sentence}.", file=sys.stderr)
    if args.allow_unverified_encrypted and any(i.contents_unproven for i in images):
        print(
            "slotwise: warning: uploading an encrypted image whose contents were NOT checked "
            "(--allow-unverified-encrypted); only its signature over the stated hash was.",
            file=sys.stderr,
        )
    if keys is None:
        print(
            "slotwise: warning: the signature was NOT checked (no --key given); only the "
            "image's hash was verified. Pass the signing key's public half with --key to "
            "refuse images you did not sign.",
            file=sys.stderr,
        )
    printer = _Printer(sys.stdout if args.json else sys.stderr, json_lines=args.json)
    try:
        return asyncio.run(_upload(args, options, images, printer))
    except KeyboardInterrupt:
        printer.finish()  # the bar's line ends before the interrupt's sentence
        raise KeyboardInterrupt(printer.what_is_left(args.device)) from None


def run_recover(args: argparse.Namespace) -> int:
    keys = _keys(args.key)
    images = load_update_images(args.file, keys, image=args.image)  # ImageError: exit 1
    if len(images) != 1:
        raise UsageError("recover writes one image; give a single .bin or .hex, not a package")
    if keys is None:
        print(
            "slotwise: warning: the signature was NOT checked (no --key given); MCUboot will "
            "refuse an image not signed with the board's key, and the board stays in recovery.",
            file=sys.stderr,
        )
    options = RecoverOptions(
        buffer_bytes=args.buffer_bytes, bound_waits=lambda o: upload_waits(args, o)
    )
    return asyncio.run(_recover(args, images[0], options))


async def _recover(args: argparse.Namespace, item: UpdateImage, options: RecoverOptions) -> int:
    printer = _Printer(sys.stdout if args.json else sys.stderr, json_lines=args.json)
    reconnected: list[SmpClient] = []

    async def reconnect() -> SmpClient:
        client = SmpClient(open_transport(args.device), timeout_s=args.timeout)
        reconnected.append(client)
        await client.open()
        return client

    async with connected(args) as client:
        try:
            result = await recover(
                client, item, options, on_progress=printer.event, reconnect=reconnect
            )
        except SlotwiseError as exc:
            if args.json:
                print(json.dumps({"event": "result", "ok": False, "message": str(exc)}), flush=True)
            raise
        finally:
            for extra in reconnected:
                with contextlib.suppress(SlotwiseError):
                    await extra.close()
    printer.finish()
    s = result.upload
    if args.json:
        print(
            json.dumps(
                {
                    "event": "result",
                    "ok": True,
                    "message": result.message,
                    "running": {
                        "image": result.running.image_number,
                        "slot": result.running.slot,
                        "version": result.running.version,
                        "hash": result.running.hash.hex() if result.running.hash else None,
                    },
                    "upload": {
                        "bytes": s.total_bytes,
                        "seconds": round(s.elapsed_s, 3),
                        "rate_bps": round(s.rate_bps),
                        "chunk_bytes": s.chunk_bytes,
                        "retries": s.retries,
                    },
                }
            ),
            flush=True,
        )
        return 0
    print(device_text(result.message, limit=1000))
    print(
        f"  {s.total_bytes} bytes in {format_seconds(s.elapsed_s)} ({format_rate(s.rate_bps)}), "
        f"{s.chunk_bytes}-byte chunks one at a time, {s.retries} retries"
    )
    return 0


def _options(args: argparse.Namespace) -> UpdateOptions:
    mode = Mode(args.mode)
    if mode is Mode.CONFIRM and not args.yes:
        raise UsageError(
            "--mode confirm makes the image permanent with no way back if it "
            "fails to boot; add --yes to do that"
        )
    upload = upload_waits(args, UploadOptions(window=args.window, max_window=args.window))
    return UpdateOptions(
        mode=mode,
        image=args.image,
        reset=not args.no_reset,
        allow_downgrade=args.allow_downgrade,
        allow_clear_payload=args.allow_clear_payload,
        upload=upload,
    )


def _keys(paths: list[Path]) -> KeyStore | None:
    if not paths:
        return None
    store = KeyStore()
    for number, path in enumerate(paths):
        store.add(f"key{number}-{path.stem}"[:64], path)  # KeyFileInvalid: exit 1
    return store


async def _upload(
    args: argparse.Namespace, options: UpdateOptions, images: list[Any], printer: _Printer
) -> int:
    reconnected: list[SmpClient] = []

    async def reconnect() -> SmpClient:
        client = SmpClient(open_transport(args.device), timeout_s=answer_timeout_s(args))
        reconnected.append(client)
        await client.open()
        return client

    async with connected(args) as client:
        try:
            result = await run_update(
                client, images, options, on_progress=printer.event, reconnect=reconnect
            )
        except SlotwiseError as exc:
            if args.json:  # scripts read the last line; stderr still gets the sentence
                print(json.dumps({"event": "result", "ok": False, "message": str(exc)}), flush=True)
            raise
        finally:  # a reconnect may have replaced the client; close every link opened
            for extra in reconnected:
                with contextlib.suppress(SlotwiseError):
                    await extra.close()
    printer.finish()
    return _report(args, result, printer)


def _report(args: argparse.Namespace, result: UpdateResult, printer: _Printer) -> int:
    if args.json:
        print(json.dumps(_result_json(result)), flush=True)
    else:
        if args.explain:
            for line in result.plan:
                print(f"  {line}")
            for line in result.advice or (
                "No link bottleneck found: the upload ran as fast as this device and link allow.",
            ):
                print(f"  advice: {line}")
        for outcome in result.images:
            if not printer.said(outcome.message):  # a terminal saw it as the last step
                print(device_text(outcome.message, limit=1000))
            if outcome.upload is not None:
                s = outcome.upload
                print(
                    f"  {s.total_bytes} bytes ({format_bytes(s.total_bytes)}) in "
                    f"{format_seconds(s.elapsed_s)} ({format_rate(s.rate_bps)}), "
                    f"window {s.final_window}, {s.retries} retries, {s.resumes} resumes"
                )
        if result.can_confirm:
            print(f"To keep it: slotwise -d {args.device} confirm")
    if not result.ok:
        say_error(result.message)
        return 1
    return 0


def _result_json(result: UpdateResult) -> dict[str, Any]:
    return {
        "event": "result",
        "ok": result.ok,
        "message": result.message,
        "can_confirm": result.can_confirm,
        "plan": list(result.plan),
        "advice": list(result.advice),
        "images": [
            {
                "image": o.image,
                "file": o.label,
                "outcome": str(o.outcome),
                "message": o.message,
                "upload": None
                if o.upload is None
                else {
                    "bytes": o.upload.total_bytes,
                    "seconds": round(o.upload.elapsed_s, 3),
                    "rate_bps": round(o.upload.rate_bps),
                    "retries": o.upload.retries,
                    "resumes": o.upload.resumes,
                    "window": o.upload.final_window,
                },
            }
            for o in result.images
        ],
        "slots": [
            {
                "image": s.image_number,
                "slot": s.slot,
                "version": s.version,
                "hash": s.hash.hex() if s.hash else None,
                "active": s.active,
                "confirmed": s.confirmed,
                "pending": s.pending,
            }
            for s in result.slots
        ],
    }


class _Printer:
    """Progress on a terminal (a bar and sentences) or as JSON Lines; silent in a pipe."""

    def __init__(self, stream: TextIO, *, json_lines: bool) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self.tty = stream.isatty() and not json_lines
        self.bar_shown = False
        self._said: set[str] = set()
        self.last: ProgressEvent | None = None
        self.upload_started = False

    def event(self, event: ProgressEvent) -> None:
        self.last = event
        self.upload_started = self.upload_started or event.stage is Stage.UPLOADING
        if self.json_lines:
            print(
                json.dumps({"event": "progress", **_rounded(event)}), file=self.stream, flush=True
            )
            return
        if not self.tty:  # a pipe or a log: stderr stays for the one error line (-v logs steps)
            return
        if event.message and event.stage not in (Stage.DONE, Stage.FAILED):  # said at the end
            self._line(event.message)
        elif event.stage is Stage.UPLOADING and not event.message:
            # ticks only: the stage's first event (its sentence) carries no upload fraction
            self._bar(event)

    def _bar(self, event: ProgressEvent) -> None:
        filled = int(event.fraction * BAR_WIDTH)
        rate = f"{format_rate(event.rate_bps):>11}"
        eta = f"ETA {event.eta_s:4.0f} s" if event.eta_s is not None else ""
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {event.fraction:4.0%} {rate} {eta}   "
        )
        self.stream.flush()
        self.bar_shown = True

    def _line(self, text: str) -> None:
        if self.bar_shown:
            self.stream.write("\n")
            self.bar_shown = False
        print(device_text(text, limit=1000), file=self.stream, flush=True)
        self._said.add(_sentence_key(text))

    def said(self, text: str) -> bool:
        """Whether the terminal already showed this sentence as a step (when stdout is that
        terminal too: a script reading stdout still gets every result line)."""
        return sys.stdout.isatty() and _sentence_key(text) in self._said

    def what_is_left(self, device: str) -> str:
        """What an interrupt leaves on the device, judged by the last step the update reached."""
        last, look = self.last, f"`slotwise -d {device} images` shows what it holds"
        if last is None or not self.upload_started:
            return "nothing was written to the device"
        if last.stage is Stage.UPLOADING and last.fraction < 1:
            return (
                f"the upload stopped at {last.fraction:.0%}: the new image is incomplete and "
                "not marked, so the device keeps running what it ran; the same upload again "
                "resumes where it stopped"
            )
        if last.stage in (Stage.RESETTING, Stage.WAITING):
            return f"the device was restarting with the new image; once it is back, {look}"
        return f"the image was uploaded, but may not be marked yet; {look}"

    def finish(self) -> None:
        if self.bar_shown:
            self.stream.write("\n")
            self.bar_shown = False


def _sentence_key(text: str) -> str:
    """A step and the result say the same sentence, the result capitalised with a period."""
    return text.strip().rstrip(".").casefold()


def _rounded(event: ProgressEvent) -> dict[str, Any]:
    data = event.to_json()
    for key in ("rate_bps", "eta_s", "elapsed_s"):
        if data[key] is not None:
            data[key] = round(data[key], 3)
    return data


__all__ = ["register", "run", "run_recover"]
