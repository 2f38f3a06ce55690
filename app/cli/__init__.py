"""The `slotwise` command: one module per family of subcommands, all on the same core.

Exit status and messages (the rule README states): 0 success; 1 the command ran and failed
(an invalid image or key, a device that fails, refuses or does not answer); 2 the command
line cannot be carried out as written (unknown option, bad value, a file it names that does
not exist or cannot be opened, no device, a risky choice without --yes). Either way stderr
gets one line, `slotwise: ` and a sentence in lower case, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from app.cli.messages import say_error
from app.cli.options import positive_seconds
from app.errors import SlotwiseError

Command = Callable[[argparse.Namespace], int]


DEVICE_HELP = "udp:HOST[:PORT], serial:PORT[@BAUD] or ble:ADDRESS_OR_NAME"
NO_DEVICE_COMMANDS = frozenset({"verify", "discover", "sim", "flash"})
"""Subcommands that do not talk to one `-d` device (flash has its own repeatable --device)."""


COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(("echo", "info", "images", "test", "confirm", "reset", "erase"), "device"),
    **dict.fromkeys(("upload", "recover"), "upload"),
    "verify": "verify",
    "flash": "flash",
    **dict.fromkeys(
        ("caps", "params", "bootloader", "datetime", "tasks", "mempool", "stats", "settings"),
        "diag",
    ),
    **dict.fromkeys(("fs", "shell", "report"), "diag"),
    "discover": "discover",
    "sim": "sim",
    "fleet": "fleet",
}
"""The app.cli module that registers each subcommand. Only the chosen command's module is
imported, so `slotwise echo` starts without the image, workflow, simulator or fleet code
(a command missing here still works: every module is then imported)."""
ALL_MODULES = ("device", "upload", "verify", "flash", "diag", "discover", "sim", "fleet")
_VALUE_OPTIONS = frozenset(
    {"-d", "--device", "--timeout", "--screenshot", "--ble-hci", "--production"}
)
"""Options before the command that take a value (the value is not the command)."""


def _modules_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The modules `argv` needs: its command's, or all (for --help, or no command)."""
    if argv is None:
        return ALL_MODULES
    after_option = False
    for token in argv:
        if token in ("-h", "--help") and not after_option:
            return ALL_MODULES
        if not after_option and not token.startswith("-"):
            module = COMMAND_MODULES.get(token)
            return (module,) if module is not None else ALL_MODULES
        after_option = token in _VALUE_OPTIONS
    return ALL_MODULES


class _VersionAction(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs every command ~30 ms)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import app

        print(f"slotwise {app.__version__}")  # stdout, as argparse's own version action does
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    """argparse with the house's usage error: one `slotwise:` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"slotwise: {message} (see `{self.prog} --help`)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `slotwise` parser; given `argv`, with only the subcommand it names (see
    COMMAND_MODULES), so a command imports what it needs and nothing more."""
    import importlib

    parser = _Parser(
        prog="slotwise",
        description="Update and diagnose firmware on Zephyr/MCUboot devices over SMP.",
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show the version and exit"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv shows SMP traffic)"
    )
    parser.add_argument(
        "-d",
        "--device",
        metavar="DEVICE",
        help=DEVICE_HELP,
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="seconds to wait for the device: each answer (default 5), and an upload "
        "that stops advancing (default 60)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="open the application on built-in simulated devices"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PATH",
        help="with the application: render the window to PATH (PNG) and exit",
    )
    parser.add_argument(
        "--ble-hci",
        metavar="SPEC",
        help="with the application: find and reach BLE devices through this Bumble HCI "
        "controller (usb:0, serial:/dev/ttyACM0,1000000, tcp-client:HOST:PORT) instead of "
        "the system Bluetooth stack",
    )
    parser.add_argument(
        "--production",
        type=Path,
        metavar="JOB.toml",
        help="open the application straight into the production view for a job",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (Qt, window, core thread, simulator, "
        "bundled demo image), print a report and exit 0 on success",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _modules_for(argv):
        importlib.import_module(f"app.cli.{name}").register(commands)
    for name, command in commands.choices.items():
        if name not in NO_DEVICE_COMMANDS:
            for each in _with_subcommands(command):
                if {"-d", "--device"} & set(each._option_string_actions):
                    continue  # a command with a --device of its own (fleet)
                # Also after the subcommand; SUPPRESS keeps a -d given before it.
                each.add_argument(
                    "-d", "--device", default=argparse.SUPPRESS, metavar="DEVICE", help=DEVICE_HELP
                )
    return parser


def _with_subcommands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _with_subcommands(child)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (2), --help or --version (0): returned like any
        return exc.code if isinstance(exc.code, int) else 0
    logging.basicConfig(
        # Without -v the terminal gets only the one `slotwise:` line: the log's warnings
        # (retries, a library's complaints) are details for -v.
        level=[logging.ERROR, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.self_test:  # before any subcommand: the check that a (frozen) build works
        from app.selftest import run as self_test

        return self_test()
    func: Command | None = getattr(args, "func", None)
    if func is None:
        return _open_gui(args)
    from app.cli.connect import UsageError

    try:
        return func(args)
    except UsageError as exc:
        say_error(exc)
        return 2
    except SlotwiseError as exc:  # may quote the device (an rsn, a version): one safe line
        say_error(exc)
        return 1
    except KeyboardInterrupt as exc:  # a command may say what the interrupt left behind
        left = str(exc)
        print(
            f"slotwise: interrupted: {left}" if left else "slotwise: interrupted", file=sys.stderr
        )
        return 130


def _no_display() -> bool:
    """On Linux/BSD without X11 or Wayland, Qt would abort with a generic plugin error."""
    import os

    if sys.platform.startswith(("win", "darwin")) or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_gui(args: argparse.Namespace) -> int:
    """No subcommand: the desktop application (Qt is imported only here)."""
    try:
        from app.gui.app import run
    except ImportError as exc:
        print(f"slotwise: the desktop application needs PySide6 ({exc})", file=sys.stderr)
        return 1
    if args.screenshot is None and _no_display():
        print(
            "slotwise: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are "
            "unset). Run it on a desktop, or render the demo offscreen with "
            "`slotwise --demo --screenshot demo.png`; the command line works everywhere "
            "(`slotwise --help`).",
            file=sys.stderr,
        )
        return 1
    if args.production is not None:
        from app.gui.production import run as run_production

        return run_production(args.production)
    if args.ble_hci and importlib.util.find_spec("bumble") is None:
        print("slotwise: --ble-hci needs Bumble (pip install bumble)", file=sys.stderr)
        return 1
    if args.device is not None:
        from app.transport import open_transport

        try:  # a spec that cannot be right is a usage error before any window opens
            open_transport(args.device)
        except ValueError as exc:
            print(f"slotwise: {exc}", file=sys.stderr)
            return 2
    return run(
        demo=args.demo,
        screenshot=args.screenshot,
        ble_hci=args.ble_hci,
        device=args.device,
        say_error=say_error,
    )
