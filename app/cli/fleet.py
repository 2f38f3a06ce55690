"""`slotwise fleet check|apply|watch`: Slotwise as a hawkBit DDI gateway (docs/fleet.md).

`apply` exits 0 only when the server was told `success`; 1 otherwise (one line on stderr),
2 for usage. Tokens come from `--gateway-token`/`--target-token`, the environment
(`SLOTWISE_FLEET_TOKEN`, taken as a gateway token) or the token store (`--save-token`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from app.cli.connect import UsageError
from app.cli.messages import say_error
from app.cli.options import (
    add_unproven_image_flags,
    answer_timeout_s,
    existing_file,
    non_negative_number,
    whole_number,
)
from app.cli.upload import _keys
from app.errors import SlotwiseError
from app.fleet.ddi import FleetError
from app.fleet.gateway import (
    FleetEvent,
    FleetMode,
    FleetOptions,
    FleetOutcome,
    apply,
    check,
    watch,
)
from app.fleet.identity import DEFAULT_TEMPLATE
from app.fleet.profiles import default_state_dir
from app.fleet.secrets import TokenStore, token_name
from app.fleet.server import AuthKind, ServerProfile
from app.text import BLOCK_CHARS, device_text
from app.workflows.images import Allowances


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("fleet", help="install what a hawkBit/DDI server assigns")
    actions = p.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    for name, helptext, func in (
        ("check", "what the server assigns to the device and what apply would do", _check),
        ("apply", "do it: download, verify, install, and tell the server", _apply),
        ("watch", "gateway loop: serve every --device at the server's pace", _watch),
    ):
        a = actions.add_parser(name, help=helptext)
        _server_options(a)
        if name == "watch":
            a.add_argument(
                "--device",
                dest="devices",
                action="append",
                default=[],
                metavar="DEVICE",
                help="a device to serve (repeatable; -d counts too)",
            )
            a.add_argument(
                "--rounds", type=whole_number(1), metavar="N", help="stop after N polls per device"
            )
            a.add_argument("--defer-soft", action="store_true", help="leave soft (attempt) updates")
        a.set_defaults(func=func)


def _server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=True, metavar="URL", help="DDI server base URL")
    p.add_argument("--tenant", default="DEFAULT", help="tenant (default DEFAULT)")
    tokens = p.add_mutually_exclusive_group()
    tokens.add_argument("--gateway-token", metavar="T", help="one token for all devices")
    tokens.add_argument("--target-token", metavar="T", help="this device's own token")
    p.add_argument(
        "--save-token", action="store_true", help="keep the token in the keyring (or 0600 file)"
    )
    p.add_argument("--ca-file", type=existing_file, metavar="PEM", help="CA certificates for TLS")
    p.add_argument("--controller-id", metavar="ID", help="use this id instead of the template")
    p.add_argument(
        "--id-template",
        default=DEFAULT_TEMPLATE,
        metavar="T",
        help=f"controller-id template (default {DEFAULT_TEMPLATE})",
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
        "--mode",
        choices=[m.value for m in FleetMode],
        default=FleetMode.CONFIRM.value,
        help="confirm (default): test boot, then confirm once it runs; test: leave it on trial",
    )
    add_unproven_image_flags(p, "install", "; said in the feedback")
    p.add_argument("--state-dir", type=Path, metavar="DIR", help="feedback queue and cache")
    p.add_argument(
        "--server-wait",
        type=non_negative_number,
        default=120.0,
        metavar="S",
        help="how long to keep trying an unreachable server after the install (default 120)",
    )
    p.add_argument("--json", action="store_true", help="JSON Lines events and result")


def _profile(args: argparse.Namespace, state_dir: Path) -> ServerProfile:
    store = TokenStore(state_dir)
    kind, token = AuthKind.NONE, None
    if args.gateway_token:
        kind, token = AuthKind.GATEWAY, args.gateway_token
    elif args.target_token:
        kind, token = AuthKind.TARGET, args.target_token
    elif os.environ.get("SLOTWISE_FLEET_TOKEN"):
        kind, token = AuthKind.GATEWAY, os.environ["SLOTWISE_FLEET_TOKEN"]
    else:
        for candidate in (AuthKind.GATEWAY, AuthKind.TARGET):
            name = token_name(args.server, args.tenant, candidate, args.controller_id)
            stored = store.load(name)
            if stored:
                kind, token = candidate, stored
                break
    try:
        profile = ServerProfile(args.server, args.tenant, kind, token, args.ca_file)
    except FleetError as exc:
        raise UsageError(str(exc)) from exc
    if args.save_token:
        if token is None:
            raise UsageError("--save-token needs --gateway-token or --target-token")
        name = token_name(args.server, args.tenant, kind, args.controller_id)
        print(f"slotwise: token saved in {store.save(name, token)}", file=sys.stderr)
    return profile


def _options(args: argparse.Namespace) -> tuple[ServerProfile, FleetOptions]:
    state_dir = args.state_dir or default_state_dir()
    profile = _profile(args, state_dir)
    options = FleetOptions(
        state_dir=state_dir,
        keys=_keys(args.key),
        mode=FleetMode(args.mode),
        template=args.id_template,
        controller_id=args.controller_id,
        smp_timeout_s=answer_timeout_s(args),
        server_wait_s=args.server_wait,
        install_attempt=not getattr(args, "defer_soft", False),
        allowances=Allowances(
            encrypted_unproven=args.allow_unverified_encrypted,
            clear_payload=args.allow_clear_payload,
        ),
    )
    return profile, options


def _need_device(args: argparse.Namespace) -> str:
    if not args.device:
        raise UsageError("this command needs a device: -d udp:HOST[:PORT], serial:... or ble:...")
    return str(args.device)


def _printer(args: argparse.Namespace) -> Any:
    def show(event: FleetEvent) -> None:
        if args.json:
            data: dict[str, Any] = {"event": "progress", "controller_id": event.controller_id}
            data |= {"message": event.message, "fraction": event.fraction}
            print(json.dumps(data), flush=True)
        elif sys.stderr.isatty() and event.fraction is None:
            # The server's file names and sentences are part of the message: shown safe.
            print(
                f"{event.controller_id}: {device_text(event.message)}", file=sys.stderr, flush=True
            )

    return show


def outcome_json(outcome: FleetOutcome) -> dict[str, Any]:
    return {
        "event": "result",
        "ok": outcome.ok,
        "controller_id": outcome.controller_id,
        "result": str(outcome.result),
        "message": outcome.message,
        "told_server": outcome.told_server,
        "action_id": outcome.action_id,
        "version": outcome.version,
        "details": list(outcome.details),
    }


def _apply(args: argparse.Namespace) -> int:
    device = _need_device(args)
    profile, options = _options(args)
    try:
        outcome = asyncio.run(apply(device, profile, options, on_event=_printer(args)))
    except SlotwiseError as exc:
        if args.json:  # scripts read the last line; stderr still gets the sentence
            print(json.dumps({"event": "result", "ok": False, "message": str(exc)}), flush=True)
        raise
    if args.json:
        print(json.dumps(outcome_json(outcome)), flush=True)
    else:
        print(f"{outcome.controller_id}: {outcome.result}: {device_text(outcome.message)}")
    if outcome.ok:
        return 0
    if not outcome.told_server and outcome.result is not outcome.result.NOTHING:
        print(
            f"slotwise: {device_text(outcome.message)}; the server has not heard the end yet "
            f"(queued in "
            f"{options.state_dir / 'feedback'}; the next fleet apply or watch sends it)",
            file=sys.stderr,
        )
    else:
        say_error(outcome.message)
    return 1


def _check(args: argparse.Namespace) -> int:
    device = _need_device(args)
    profile, options = _options(args)
    plan = asyncio.run(check(device, profile, options))
    if args.json:
        data = {"event": "result", "controller_id": plan.controller_id, "assigned": plan.assigned}
        data |= {"action_id": plan.action_id, "artifact": plan.artifact}
        print(json.dumps(data | {"plan": list(plan.sentences)}), flush=True)
        return 0
    print(f"Controller id: {plan.controller_id}")
    for line in plan.sentences:
        print(f"  {device_text(line, limit=BLOCK_CHARS)}")
    return 0


def _watch(args: argparse.Namespace) -> int:
    devices = [*([args.device] if args.device else []), *args.devices]
    if not devices:
        raise UsageError("fleet watch needs at least one --device (or -d)")
    profile, options = _options(args)

    def report(device: str, outcome: FleetOutcome | FleetError) -> None:
        if isinstance(outcome, FleetError):
            line = {"event": "error", "device": device, "message": str(outcome)}
            text = f"{device}: {device_text(outcome)}"
        else:
            line = {**outcome_json(outcome), "device": device}
            message = device_text(outcome.message)
            text = f"{device}: {outcome.controller_id}: {outcome.result}: {message}"
        print(json.dumps(line) if args.json else text, flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        await watch(
            devices,
            profile,
            options,
            on_outcome=report,
            on_event=_printer(args),
            stop=stop,
            rounds=args.rounds,
        )

    asyncio.run(main())
    return 0


__all__ = ["register"]
