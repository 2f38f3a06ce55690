"""A command imports what it needs: `slotwise echo` starts without the image, signature,
workflow, simulator, fleet or Qt code (the fixed cost of every command, issue #14)."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

from sim_process import running_sim

from app.cli import ALL_MODULES, COMMAND_MODULES, build_parser

HEAVY = (
    "cryptography",
    "PySide6",
    "app.sim",
    "app.fleet",
    "app.image.verify",
    "intelhex",
    "importlib.metadata",
)

PROBE = """
import json, sys
from app.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_echo_imports_no_heavy_module() -> None:
    """A real `echo` against a simulator loads none of the heavy packages."""
    with running_sim("--udp", "127.0.0.1:0") as (address, _):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, "-d", f"udp:{address}", "echo", "light"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    out = done.stdout.strip().splitlines()
    assert out[0] == "light"
    report = json.loads(out[-1])
    assert report["code"] == 0
    assert [m for m in report["modules"] if m.startswith(HEAVY)] == []


def test_every_command_is_mapped_to_its_module() -> None:
    """COMMAND_MODULES names exactly the commands each app.cli module registers."""
    registered = {}
    for name in ALL_MODULES:
        commands = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"app.cli.{name}").register(commands)
        registered.update(dict.fromkeys(commands.choices, name))
    assert registered == COMMAND_MODULES


def test_a_parser_for_one_command_knows_only_that_family() -> None:
    """Given argv, the parser registers the named command's module; without, every one."""
    one = build_parser(["-d", "udp:127.0.0.1", "--timeout", "2", "echo"])
    every = build_parser()
    subcommands = next(a for a in one._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subcommands.choices) == {c for c, m in COMMAND_MODULES.items() if m == "device"}
    everything = next(a for a in every._actions if isinstance(a, argparse._SubParsersAction))
    assert set(everything.choices) == set(COMMAND_MODULES)
