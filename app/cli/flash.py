"""`slotwise flash`: the production line from a terminal or a station script."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.cli.connect import UsageError
from app.cli.messages import say_error
from app.cli.options import (
    add_unproven_image_flags,
    answer_timeout_s,
    existing_file,
    upload_waits,
    whole_number,
)
from app.client.upload import UploadOptions
from app.text import device_text
from app.workflows.batch import BatchRunner, BoardEvent, Reporter, default_connect
from app.workflows.images import file_findings
from app.workflows.job import CONCURRENCY_RANGE, RETRIES_RANGE, Job, load_job, make_job
from app.workflows.preflight import CheckKind
from app.workflows.results import ResultRow, ResultsLog
from app.workflows.station import Station, job_finder
from app.workflows.update import UpdateOptions


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "flash",
        help="flash many boards in parallel and log a pass/fail row for each",
        description="Flash boards from a job file, or one image onto the listed devices. "
        "Exit status 0 only when every board passed.",
    )
    p.add_argument("file", nargs="?", type=existing_file, help="image or package (without --job)")
    p.add_argument("--job", type=existing_file, help="a TOML job file")
    p.add_argument(
        "-d",
        "--device",
        dest="devices",
        action="append",
        default=[],
        metavar="DEVICE",
        help="a board to flash (repeatable): udp:..., serial:..., ble:...",
    )
    p.add_argument(
        "--key",
        dest="keys",
        action="append",
        default=[],
        type=existing_file,
        metavar="PUB.pem",
        help="trusted signing key (repeatable)",
    )
    p.add_argument("--mode", choices=("test", "confirm", "none"), default="test")
    p.add_argument(
        "--concurrency",
        type=whole_number(*CONCURRENCY_RANGE),
        default=8,
        metavar="N",
        help=f"boards flashed at once ({CONCURRENCY_RANGE[0]}-{CONCURRENCY_RANGE[1]}, default 8)",
    )
    p.add_argument(
        "--retries",
        type=whole_number(*RETRIES_RANGE),
        default=1,
        metavar="N",
        help=f"extra attempts per failed board ({RETRIES_RANGE[0]}-{RETRIES_RANGE[1]}, default 1)",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="FILE.csv",
        help="append result rows here (CSV, and JSON Lines beside it)",
    )
    p.add_argument(
        "--station",
        action="store_true",
        help="keep running: flash every board that appears (Ctrl+C stops)",
    )
    p.add_argument("--yes", action="store_true", help="allow --mode confirm (no rollback)")
    p.add_argument(
        "--hash-password",
        action="store_true",
        help="read a supervisor password (prompted, or one line on stdin), print the salted "
        "hash a job's supervisor_password holds, and exit",
    )
    add_unproven_image_flags(
        p, "flash", "; a job file says allow_clear_payload / allow_unverified_encrypted = true"
    )
    p.set_defaults(func=run)


def _devices(args: argparse.Namespace) -> list[str]:
    """The boards named on the command line: flash's --device, or the global -d before it."""
    return list(args.devices) or ([args.device] if args.device else [])


def _job(args: argparse.Namespace) -> Job:
    if args.job is not None:
        if args.file is not None:
            raise UsageError("give either an image FILE or --job, not both")
        job = load_job(
            args.job,
            allow_encrypted_unproven=args.allow_unverified_encrypted,
            allow_clear_payload=args.allow_clear_payload,
        )
    elif args.file is not None:
        if not _devices(args) and not args.station:
            raise UsageError("name the boards with --device (repeatable), or use --job")
        job = make_job(
            args.file,
            args.keys,
            mode=args.mode,
            concurrency=args.concurrency,
            retries=args.retries,
            allow_encrypted_unproven=args.allow_unverified_encrypted,
            allow_clear_payload=args.allow_clear_payload,
        )
    else:
        raise UsageError("flash needs an image FILE with --device ..., or --job job.toml")
    if str(job.mode) == "confirm" and not args.yes:
        raise UsageError(
            "--mode confirm makes the new image permanent with no rollback; "
            "add --yes if that is what you want"
        )
    return job


def run(args: argparse.Namespace) -> int:
    if args.hash_password:
        return _hash_password()
    job = _job(args)
    return asyncio.run(_flash(job, args))


async def _flash(job: Job, args: argparse.Namespace) -> int:
    if job.server is None:
        return await _flash_with(job, args, None)
    from app.fleet.production import JobReporter
    from app.fleet.profiles import default_state_dir

    reporter = JobReporter(job, default_state_dir())  # JobError (no token): exit 1
    try:
        return await _flash_with(job, args, reporter)
    finally:
        await reporter.close()


async def _flash_with(job: Job, args: argparse.Namespace, reporter: Reporter | None) -> int:
    report = ResultsLog.for_report(args.report) if args.report else None
    options = (  # only an explicit --timeout changes the job's own upload patience
        UpdateOptions(mode=job.mode, upload=upload_waits(args, UploadOptions()))
        if args.timeout is not None
        else None
    )
    runner = BatchRunner(
        job,
        report,
        connect=default_connect(answer_timeout_s(args)),
        on_board=_print_board,
        options=options,
        reporter=reporter,
    )
    devices = _devices(args) or list(job.targets.devices)
    print(
        f"job {job.name}: {job.image_path.name} version {job.version_text}, mode {job.mode}, "
        f"{job.concurrency} at a time",
        flush=True,
    )
    for label, check in file_findings(job.images, job.choices):
        if check.kind is CheckKind.CLEAR_PAYLOAD:  # allowed, or the job would not have loaded
            print(f"slotwise: warning: {label}: {check.sentence}.", file=sys.stderr)
    if any(i.contents_unproven for i in job.images):
        print(
            "slotwise: warning: the image is encrypted and its contents were NOT checked "
            "(allowed explicitly); only its signature over the stated hash was",
            file=sys.stderr,
        )
    if not job.key_names:
        print(
            "slotwise: warning: the job names no trusted key, so the image's signature was "
            "NOT checked (only its hash); add keys = [...] to the job or --key",
            file=sys.stderr,
        )
    if args.station:
        station = Station(runner, job_finder(job.targets))
        stop = asyncio.Event()
        try:
            await station.run(stop)
        except (KeyboardInterrupt, asyncio.CancelledError):
            stop.set()
        rows = station.rows
    else:
        if not devices:
            raise UsageError("the job names no devices: add --device or [targets] devices")
        rows = await runner.run(devices)
    return _summary(rows, runner)


def _print_board(event: BoardEvent) -> None:
    if event.row is None:
        return
    row = event.row
    verdict = "PASS" if row.passed else "FAIL"
    detail = (
        f"{row.previous_version or '?'} -> {row.new_version}" if row.passed else row.failure_reason
    )
    print(
        f"{verdict} {row.device} (attempt {row.attempt}, "
        f"{row.durations_s.get('total', 0.0):.1f} s): {device_text(detail, limit=1000)}",
        flush=True,
    )


def _hash_password() -> int:
    import getpass

    from app.workflows.supervisor import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("supervisor password: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("an empty supervisor password would open operator mode to anyone")
    print(f'supervisor_password = "{hash_password(password)}"')
    return 0


def _summary(rows: list[ResultRow], runner: BatchRunner) -> int:
    final: dict[str, ResultRow] = {}
    for row in rows:
        final[row.device] = row
    passed = sum(1 for r in final.values() if r.passed)
    failed = len(final) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    if runner.stopped:
        say_error(runner.stopped)
        return 1
    return 0 if failed == 0 and final else 1
