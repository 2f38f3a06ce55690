"""README's exit-status and message rule, walked over every subcommand the parser knows.

0 success; 1 the command ran and failed; 2 the command line cannot be carried out as written.
Either way one stderr line, `slotwise: ` and a sentence that does not start with a capital
(a proper noun aside), never a traceback. A subcommand added without a row here fails
`test_every_subcommand_is_walked`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sim_process import free_loopback_host

from app.cli import NO_DEVICE_COMMANDS, build_parser, main

PROPER_NOUNS = ("Bluetooth", "MCUboot", "SMP", "USB", "UDP", "BLE", "HEX", "TOML", "JSON")
HASH = "ab" * 32


def leaf_commands() -> Iterator[tuple[str, ...]]:
    """Every runnable subcommand path, e.g. ("settings", "get")."""

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if path and not groups:
            yield path
        for group in groups:
            for name, child in group.choices.items():
                yield from walk(child, (*path, name))

    yield from walk(build_parser(), ())


def arguments(files: Path, image: Path, key: Path) -> dict[tuple[str, ...], list[str]]:
    """The smallest arguments that parse, per subcommand (the device comes separately)."""
    out = str(files / "out")
    return {
        ("echo",): [],
        ("info",): [],
        ("images",): [],
        ("test",): [HASH],
        ("confirm",): [],
        ("reset",): [],
        ("erase",): [],
        ("upload",): [str(image), "--key", str(key)],
        ("recover",): [str(image), "--key", str(key)],
        ("verify",): [str(image)],
        ("flash",): [str(image), "--key", str(key)],
        ("caps",): [],
        ("params",): [],
        ("bootloader",): [],
        ("datetime",): [],
        ("tasks",): [],
        ("mempool",): [],
        ("stats",): [],
        ("settings", "get"): ["device/serial"],
        ("settings", "set"): ["device/serial", "42"],
        ("settings", "delete"): ["device/serial"],
        ("settings", "save"): [],
        ("settings", "commit"): [],
        ("settings", "load"): [],
        ("fs", "get"): ["/lfs/log.txt", out],
        ("fs", "put"): [str(image), "/lfs/app.bin"],
        ("fs", "hash"): ["/lfs/log.txt"],
        ("shell",): ["kernel", "uptime"],
        ("report",): ["--out", out + ".zip"],
        ("discover",): ["--udp", "127.0.0.1:9"],
        ("sim",): [],
        ("fleet", "check"): ["--server", "http://127.0.0.1:9"],
        ("fleet", "apply"): ["--server", "http://127.0.0.1:9"],
        ("fleet", "watch"): ["--server", "http://127.0.0.1:9"],
    }


def talks_to_one_device(command: tuple[str, ...]) -> bool:
    return command[0] not in NO_DEVICE_COMMANDS and command[0] != "fleet"


FILE_ARGUMENTS: dict[tuple[str, ...], Callable[[Path], list[str]]] = {
    ("upload",): lambda missing: [str(missing)],
    ("recover",): lambda missing: [str(missing)],
    ("verify",): lambda missing: [str(missing)],
    ("flash",): lambda missing: [str(missing), "--device", "udp:127.0.0.1:9"],
    ("fs", "put"): lambda missing: [str(missing), "/lfs/x"],
    **{
        ("fleet", action): lambda missing: ["--server", "http://127.0.0.1:9", "--key", str(missing)]
        for action in ("check", "apply", "watch")
    },
}
"""Subcommands that read a local file: naming one that does not exist is a usage error."""


def run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def assert_one_line(err: str, args: list[str]) -> str:
    """The rule's message: one line, `slotwise: `, no traceback, no leading capital."""
    assert err.count("\n") == 1 and err.startswith("slotwise: "), (args, err)
    sentence = err.removeprefix("slotwise: ")
    assert not re.match(r"[A-Z]", sentence) or sentence.startswith(PROPER_NOUNS), (args, err)
    return sentence.strip()


@pytest.fixture
def case(tmp_path: Path, signed_image: Path, signing_key: Path) -> dict[str, object]:
    from cryptography.hazmat.primitives import serialization

    public = tmp_path / "release.pub.pem"
    private = serialization.load_pem_private_key(signing_key.read_bytes(), password=None)
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return {"args": arguments(tmp_path, signed_image, public), "missing": tmp_path / "nope.bin"}


def test_every_subcommand_is_walked(case: dict[str, object]) -> None:
    """The table below covers exactly the subcommands the parser offers."""
    assert set(leaf_commands()) == set(case["args"])  # type: ignore[call-overload]


def test_error_paths_of_every_subcommand_follow_the_rule(
    capsys: pytest.CaptureFixture[str], case: dict[str, object]
) -> None:
    """Unknown options, no device, a device that refuses, a missing file: 2, 2, 1, 2."""
    table: dict[tuple[str, ...], list[str]] = case["args"]  # type: ignore[assignment]
    refused = f"udp:{free_loopback_host()}:9"
    for command, args in table.items():
        bogus = (  # shell hands every word after it to the device's shell
            ["--no-such-option", *command, *args]
            if command == ("shell",)
            else [*command, *args, "--no-such-option"]
        )
        code, err = run(capsys, bogus)
        assert code == 2 and assert_one_line(err, [*command]).endswith("--help`)"), err
        if command in FILE_ARGUMENTS:
            missing = FILE_ARGUMENTS[command](case["missing"])  # type: ignore[arg-type]
            code, err = run(capsys, [*command, *missing, "-d", refused])
            assert code == 2 and "nope.bin" in assert_one_line(err, [*command]), err
        if not talks_to_one_device(command):
            continue
        code, err = run(capsys, [*command, *args])
        assert code == 2 and "needs a device" in assert_one_line(err, [*command]), err
        code, err = run(capsys, [*command, "-d", refused, *args])
        assert code == 1, (command, err)
        assert assert_one_line(err, [*command]).startswith("no answer from"), err


def test_sentences_from_the_core_follow_the_rule_on_the_command_line(
    capsys: pytest.CaptureFixture[str], case: dict[str, object], tmp_path: Path
) -> None:
    """An image verdict's capitalised sentence is lowered after `slotwise: `, names are kept."""
    not_an_image = tmp_path / "random.bin"
    not_an_image.write_bytes(bytes(range(256)) * 4)
    garbage_key = tmp_path / "garbage.pem"
    garbage_key.write_text("not a key")
    table: dict[tuple[str, ...], list[str]] = case["args"]  # type: ignore[assignment]
    image = table[("verify",)][0]
    for args, words in (
        (["-d", "udp:127.0.0.1:9", "upload", str(not_an_image)], "invalid image magic"),
        (["verify", image, "--key", str(garbage_key)], f"{garbage_key} is not a PEM"),
        (["-d", "udp:127.0.0.1:9", "upload", image, "--key", str(garbage_key)], str(garbage_key)),
    ):
        code, err = run(capsys, args)
        lines = [line for line in err.splitlines() if not line.startswith("slotwise: warning:")]
        assert code == 1 and len(lines) == 1, err
        sentence = assert_one_line(lines[0] + "\n", args)
        assert sentence.startswith(words) and not sentence.endswith("."), sentence
