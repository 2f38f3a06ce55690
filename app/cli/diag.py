"""Diagnostics commands: caps, params, bootloader, datetime, tasks, mempool, stats, settings,
fs, shell and report. A feature the firmware lacks is one plain line and exit status 1."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.connect import UsageError, with_client
from app.cli.messages import ERROR_CHARS
from app.client import SmpClient
from app.smp.errors import DeviceError
from app.text import BLOCK_CHARS, device_text
from app.workflows import fs_transfer
from app.workflows.diagnostics import (
    FEATURE_TITLE,
    INT_WIDTHS,
    Feature,
    Support,
    ValueType,
    decode_setting,
    detect_capabilities,
    encode_setting,
    guarded,
    guess_setting,
    mode_text,
    read_stats,
    set_datetime_now,
    task_rows,
)
from app.workflows.findings import findings_text
from app.workflows.report import TrafficRecorder, collect_report, write_bundle


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("caps", help="which SMP features the device supports")
    _json_flag(p)
    p.set_defaults(func=with_client(_caps))

    p = commands.add_parser("params", help="the device's MCUmgr buffer size and count")
    _json_flag(p)
    p.set_defaults(func=with_client(_params))

    p = commands.add_parser("bootloader", help="bootloader name, mode and downgrade rule")
    p.add_argument("--query", help="send this bootloader-info query instead (e.g. mode)")
    _json_flag(p)
    p.set_defaults(func=with_client(_bootloader))

    p = commands.add_parser("datetime", help="read the device clock, or set it from this PC")
    p.add_argument("--set-now", action="store_true", help="set it to this PC's local time")
    p.add_argument(
        "--utc",
        action="store_true",
        help="with --set-now: send UTC instead (the device keeps no time zone)",
    )
    p.set_defaults(func=with_client(_datetime))

    p = commands.add_parser("tasks", help="thread statistics: priority, state, stack use")
    _json_flag(p)
    p.set_defaults(func=with_client(_tasks))

    p = commands.add_parser("mempool", help="memory pool statistics")
    _json_flag(p)
    p.set_defaults(func=with_client(_mempool))

    p = commands.add_parser("stats", help="statistics groups: list them, or read one or all")
    p.add_argument("name", nargs="?", help="group to read (default: every group)")
    p.add_argument("--list", action="store_true", help="only list the group names")
    _json_flag(p)
    p.set_defaults(func=with_client(_stats))

    _register_settings(commands)
    _register_fs(commands)

    p = commands.add_parser("shell", help="run a shell command on the device")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="CMD", help="command and arguments")
    p.set_defaults(func=with_client(_shell))

    p = commands.add_parser(
        "report", help="write a diagnostic bundle (zip: JSON, HTML, traffic log, pulled files)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    p.add_argument(
        "--pull",
        action="append",
        default=[],
        metavar="PATH",
        help="also pull this device file into the bundle (repeatable)",
    )
    p.set_defaults(func=with_client(_report))


def _register_settings(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("settings", help="read, write, delete, commit, load or save settings")
    sub = p.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    type_help = "how to read the value: text (UTF-8), int (little-endian) or hex bytes"
    g = sub.add_parser("get", help="read one setting")
    g.add_argument("name")
    g.add_argument("--type", choices=[str(t) for t in ValueType], help=type_help)
    s = sub.add_parser("set", help="write one setting")
    s.add_argument("name")
    s.add_argument("value")
    s.add_argument("--type", choices=[str(t) for t in ValueType], default="text", help=type_help)
    s.add_argument(
        "--width", type=int, choices=INT_WIDTHS, default=4, help="bytes of an int value (default 4)"
    )
    d = sub.add_parser("delete", help="delete one setting")
    d.add_argument("name")
    sub.add_parser("save", help="save all settings to persistent storage")
    sub.add_parser("commit", help="apply settings written but not yet committed")
    sub.add_parser("load", help="reload all settings from persistent storage")
    p.set_defaults(func=with_client(_settings))


def _register_fs(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("fs", help="file system: get, put, hash")
    sub = p.add_subparsers(dest="fs_command", metavar="ACTION", required=True)
    g = sub.add_parser("get", help="download a device file")
    g.add_argument("remote", help="absolute path on the device, e.g. /lfs/log.txt")
    g.add_argument("local", nargs="?", type=Path, help="where to save (default: its name here)")
    g.add_argument("--force", action="store_true", help="replace a local file of that name")
    u = sub.add_parser("put", help="upload a file to the device")
    u.add_argument("local", type=Path)
    u.add_argument("remote")
    h = sub.add_parser("hash", help="the device's hash of a file, compared with a local file")
    h.add_argument("remote")
    h.add_argument("--local", type=Path, help="compare with this local file")
    h.add_argument("--type", dest="algorithm", help="crc32 or sha256 (default: best known)")
    p.set_defaults(func=with_client(_fs))


# --- commands ---------------------------------------------------------------------------------


async def _caps(client: SmpClient, args: argparse.Namespace) -> int:
    caps = await detect_capabilities(client)
    if args.json:
        print(
            json.dumps(
                {
                    "source": caps.source,
                    "groups": list(caps.groups) if caps.groups is not None else None,
                    "features": {str(f.feature): str(f.support) for f in caps.features},
                },
                indent=2,
            )
        )
        return 0
    how = (
        "groups listed by the device"
        if caps.source == "enum"
        else "the device cannot list its groups; probed with harmless reads"
    )
    print(f"capabilities ({how})")
    marks = {Support.SUPPORTED: "yes", Support.UNSUPPORTED: "no", Support.UNKNOWN: "?"}
    for f in caps.features:
        print(f"  {marks[f.support]:<4}{FEATURE_TITLE[f.feature]:<26}{f.note}")
    return 0


async def _params(client: SmpClient, args: argparse.Namespace) -> int:
    p = await guarded(Feature.PARAMS, client.params())
    if args.json:
        print(json.dumps({"buf_size": p.buf_size, "buf_count": p.buf_count}))
    else:
        print(f"{p.buf_count} buffers of {p.buf_size} bytes")
    return 0


async def _bootloader(client: SmpClient, args: argparse.Namespace) -> int:
    if args.query:
        reply = await guarded(Feature.BOOTLOADER_INFO, client.bootloader_info(args.query))
        result: dict[str, Any] = {
            "query": args.query,
            "bootloader": reply.bootloader,
            "mode": reply.mode,
            "no-downgrade": reply.no_downgrade,
        }
    else:
        name = (await guarded(Feature.BOOTLOADER_INFO, client.bootloader_info())).bootloader
        result = {"bootloader": name}
        try:
            mode = await client.bootloader_info("mode")
            result |= {
                "mode": mode.mode,
                "mode_text": mode_text(mode.mode),
                "no-downgrade": bool(mode.no_downgrade),
            }
        except DeviceError as exc:
            result["mode_text"] = f"mode not reported ({exc})"
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        if value is not None:
            print(f"{key:<13}{device_text(value)}")
    return 0


async def _datetime(client: SmpClient, args: argparse.Namespace) -> int:
    if args.set_now:
        sent = await guarded(Feature.DATETIME, set_datetime_now(client, utc=args.utc))
        print(f"device clock set to {sent}")
        return 0
    print(device_text(await guarded(Feature.DATETIME, client.datetime_get())))
    return 0


async def _tasks(client: SmpClient, args: argparse.Namespace) -> int:
    rows = task_rows(await guarded(Feature.TASK_STATS, client.task_stats()))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "prio": r.prio,
                        "tid": r.tid,
                        "state": r.state,
                        "state_text": r.state_text,
                        "stack_used_bytes": r.stack_used_bytes,
                        "stack_size_bytes": r.stack_size_bytes,
                        "context_switches": r.context_switches,
                        "runtime": r.runtime,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    print(
        f"{'name':<16}{'prio':>5}  {'state':<20}{'stack used':<22}{'switches':>10}{'runtime':>12}"
    )
    for r in rows:
        stack = "-"
        if r.stack_size_bytes and r.stack_used_bytes is not None and r.stack_fraction is not None:
            stack = (
                f"{r.stack_used_bytes}/{r.stack_size_bytes} B {round(r.stack_fraction * 100):3d}%"
            )
        print(
            f"{device_text(r.name, limit=32):<16}{r.prio:>5}  {r.state_text:<20}{stack:<22}"
            f"{_dash(r.context_switches):>10}{_dash(r.runtime):>12}"
        )
    return 0


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)


async def _mempool(client: SmpClient, args: argparse.Namespace) -> int:
    pools = await guarded(Feature.MEMPOOL_STATS, client.mempool_stats())
    if args.json:
        print(json.dumps({n: p.to_body() for n, p in pools.items()}, indent=2))
        return 0
    for name, p in pools.items():
        print(
            f"{device_text(name)}: {p.nfree} of {p.nblks} blocks of {p.blksiz} bytes free "
            f"(lowest ever {p.min})"
        )
    return 0


async def _stats(client: SmpClient, args: argparse.Namespace) -> int:
    if args.list:
        names = await guarded(Feature.STATS, client.stat_list())
        print(json.dumps(names) if args.json else "\n".join(device_text(n) for n in names))
        return 0
    if args.name:
        groups = {args.name: await guarded(Feature.STATS, client.stat_read(args.name))}
        failed: dict[str, str] = {}
    else:
        readout = await guarded(Feature.STATS, read_stats(client))
        groups, failed = readout.groups, readout.failed
    if args.json:
        print(
            json.dumps({"groups": groups, "failed": failed} if not args.name else groups, indent=2)
        )
        return 1 if failed and not groups else 0
    if not groups and not failed:
        print("the device has no statistics groups")
    for name, fields in groups.items():
        print(device_text(name))
        for counter, value in fields.items():
            print(f"  {device_text(counter):<28}{value}")
    for name, reason in failed.items():
        # The group's name and the reason's `rsn` are the device's words: one safe line each.
        print(
            f"slotwise: statistics group {device_text(name)} could not be read: "
            f"{device_text(reason, limit=ERROR_CHARS)}",
            file=sys.stderr,
        )
    return 1 if failed and not groups else 0


async def _settings(client: SmpClient, args: argparse.Namespace) -> int:
    action = args.settings_command
    if action == "get":
        value = await guarded(Feature.SETTINGS, client.setting_read(args.name))
        text = decode_setting(value, ValueType(args.type)) if args.type else guess_setting(value)
        print(device_text(text, limit=BLOCK_CHARS))
    elif action == "set":
        data = encode_setting(args.value, ValueType(args.type), args.width)
        await guarded(Feature.SETTINGS, client.setting_write(args.name, data))
        print(f"{args.name} = {data.hex(' ') or '(empty)'}")
    elif action == "delete":
        await guarded(Feature.SETTINGS, client.setting_delete(args.name))
        print(f"deleted {args.name}")
    else:
        run = {
            "save": client.settings_save,
            "commit": client.settings_commit,
            "load": client.settings_load,
        }[action]
        await guarded(Feature.SETTINGS, run())
        print(
            {"save": "settings saved", "commit": "settings committed", "load": "settings reloaded"}[
                action
            ]
        )
    return 0


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


async def _fs(client: SmpClient, args: argparse.Namespace) -> int:
    if args.fs_command == "get":
        data = await guarded(Feature.FS, fs_transfer.download(client, args.remote))
        name = args.remote.rstrip("/").rsplit("/", 1)[-1] or "download"
        target = args.local or Path(name)
        if target.is_dir():
            target = target / name
        if target.exists() and not args.force:
            raise UsageError(f"{target} already exists; add --force to replace it")
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from exc
        print(f"{args.remote} -> {target} ({len(data)} bytes)")
        return 0
    if args.fs_command == "put":
        data = _read_local(args.local)
        await guarded(Feature.FS, fs_transfer.upload(client, args.remote, data))
        print(f"{args.local} -> {args.remote} ({len(data)} bytes)")
        return 0
    if args.local is not None:
        check = await guarded(
            Feature.FS,
            fs_transfer.hash_check(client, args.remote, _read_local(args.local), args.algorithm),
        )
        verdict = "match" if check.matches else "DIFFER"
        print(
            f"{check.algorithm} device {check.device_digest} ({check.device_length} B), "
            f"local {check.local_digest} ({check.local_length} B): {verdict}"
        )
        return 0 if check.matches else 1
    reply = await guarded(Feature.FS, client.file_hash(args.remote, args.algorithm))
    print(f"{reply.type} {fs_transfer.device_digest(reply.output)} ({reply.length} bytes)")
    return 0


async def _shell(client: SmpClient, args: argparse.Namespace) -> int:
    if not args.argv:
        raise UsageError("shell needs a command, e.g. slotwise -d ... shell kernel uptime")
    reply = await guarded(Feature.SHELL, client.shell_exec(list(args.argv)))
    output = device_text(reply.o.replace("\r\n", "\n"), limit=BLOCK_CHARS, multiline=True)
    sys.stdout.write(output if output.endswith("\n") or not output else output + "\n")
    if reply.ret:
        print(f"slotwise: the shell command returned {reply.ret}", file=sys.stderr)
        return 1
    return 0


async def _report(client: SmpClient, args: argparse.Namespace) -> int:
    traffic = TrafficRecorder()
    client.on_traffic = traffic
    report = await collect_report(client, pull=args.pull, traffic=traffic)
    path = write_bundle(report, args.out)
    errors = len(report.errors)
    files = len(report.files)
    print(
        f"report written to {path} ({files} file{'s' if files != 1 else ''} requested, "
        f"{errors} error{'s' if errors != 1 else ''} noted)"
    )
    for line in findings_text(report.findings()):  # the same findings as the HTML summary
        print(line)
    return 0
