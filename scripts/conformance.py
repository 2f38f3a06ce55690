"""Run every Slotwise device command against firmware and write docs/conformance.md.

    python scripts/conformance.py                      # every simulator profile
    python scripts/conformance.py -d udp:192.0.2.7 --name "my board" --image app.signed.bin \
        --key key.pub.pem --out my-board.md            # your own board

Each command runs as `slotwise` runs it (same parser, same code), in one session that a user
could type: diagnostics first, then a whole update (upload with test, reset and watch),
confirm, an upload-only of a second image, test, reset, confirm and two erases. Each is then
one of: **works** (exit 0), **not in this firmware** (the firmware lacks the group or
command, told as such) or **fails** (anything else), with the sentence the user saw.
CI regenerates the table against the simulator profiles (tests/core/test_conformance.py) and
fails on any "fails".

On a real board the session changes it: it uploads and confirms the image you give (or the
demo image, which your bootloader will refuse unless it trusts the demo key), writes and deletes
the setting `slotwise/conformance`, and puts a small file at --fs-path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli import build_parser  # noqa: E402
from app.cli.connect import UsageError  # noqa: E402
from app.errors import SlotwiseError  # noqa: E402
from app.smp.errors import DeviceError  # noqa: E402
from app.workflows.diagnostics import NotSupported  # noqa: E402

DEMO_IMAGE = ROOT / "app" / "resources" / "demo" / "demo-app-1.1.0.signed.bin"
DEMO_KEY = ROOT / "app" / "resources" / "demo" / "demo-key.pub.pem"
DOC = ROOT / "docs" / "conformance.md"
SIM_PROFILES = (
    "zephyr-modern",
    "old-firmware",
    "zephyr-3.4",
    "zephyr-3.4-stock",
    "zephyr-3.4-fast",
    "zephyr-3.4-full",
)
"""Simulator profiles of application firmware (a bootloader's recovery mode is another
conversation: its own flow, its own table)."""
SETTING = "slotwise/conformance"
TIMEOUT_S = "3"


class Verdict(StrEnum):
    WORKS = "works"
    NOT_IN_FIRMWARE = "not in this firmware"
    FAILS = "fails"


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    """The command as the table shows it."""
    argv: tuple[str, ...]
    """Arguments after `-d DEVICE`; {image}, {image2}, {hash2}, {key}, {fs}, {tmp} are filled in."""
    shows: str = ""
    """The output line the table quotes: the first that starts with this, else the last
    (default: the first line)."""


STEPS = (
    Step("echo", ("echo", "conformance")),
    Step("info", ("info",), shows="bootloader"),
    Step("images", ("images",)),
    Step("caps", ("caps",)),
    Step("params", ("params",)),
    Step("bootloader", ("bootloader",)),
    Step("datetime --set-now", ("datetime", "--set-now")),
    Step("datetime", ("datetime",)),
    Step("tasks", ("tasks",), shows="idle"),
    Step("mempool", ("mempool",)),
    Step("stats", ("stats",)),
    Step("stats --list", ("stats", "--list")),
    Step("settings set", ("settings", "set", SETTING, "hello")),
    Step("settings get", ("settings", "get", SETTING)),
    Step("settings delete", ("settings", "delete", SETTING)),
    Step("fs put", ("fs", "put", "{tmp}/hello.txt", "{fs}")),
    Step("fs get", ("fs", "get", "{fs}", "{tmp}/back.txt", "--force")),
    Step("fs hash", ("fs", "hash", "{fs}", "--local", "{tmp}/hello.txt")),
    Step("shell kernel version", ("shell", "kernel", "version")),
    Step("report", ("report", "--out", "{tmp}/report.zip")),
    Step("upload FILE --key KEY", ("upload", "{image}", "--key", "{key}")),
    Step("confirm", ("confirm",)),
    Step("upload FILE2 --mode none", ("upload", "{image2}", "--mode", "none")),
    Step("test HASH2", ("test", "{hash2}")),
    Step("reset", ("reset",)),
    Step("confirm (after the reset)", ("confirm",)),
    Step("erase", ("erase",)),
    Step("erase (slot already empty)", ("erase",)),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    step: Step
    verdict: Verdict
    sentence: str


def run_step(device: str, argv: list[str], shows: str = "") -> tuple[Verdict, str]:
    """One command as `slotwise -d DEVICE ...` runs it; the verdict and what the user saw."""
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(["-d", device, "--timeout", TIMEOUT_S, *argv])
    verdict = Verdict.WORKS
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = args.func(args)
    except NotSupported as exc:
        return Verdict.NOT_IN_FIRMWARE, str(exc)
    except DeviceError as exc:
        return (Verdict.NOT_IN_FIRMWARE if exc.not_supported else Verdict.FAILS), str(exc)
    except (UsageError, SlotwiseError) as exc:
        return Verdict.FAILS, str(exc)
    if code != 0:
        verdict = Verdict.FAILS
    lines = [x.strip() for x in out.getvalue().splitlines() if x.strip()]
    if shows:  # the line that starts so, else the last (a table's last row)
        lines = [x for x in lines if x.startswith(shows)] or lines[-1:]
    problems = [x.strip() for x in err.getvalue().splitlines() if x.startswith("slotwise:")]
    shown = (lines[:1] + problems[:1]) if verdict is Verdict.WORKS else (problems or lines)[:1]
    return verdict, " / ".join(shown) or "(no output)"


def wait_until_booted(device: str, timeout_s: float = 60.0) -> None:
    """After a reset with an image pending: until the device lists no pending slot, i.e.
    it has rebooted through the bootloader (or the time is up; the next step then tells)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = io.StringIO()
        args = build_parser().parse_args(["-d", device, "--timeout", "1", "images", "--json"])
        with contextlib.suppress(SlotwiseError), contextlib.redirect_stdout(out):
            if args.func(args) == 0 and not any(s["pending"] for s in json.loads(out.getvalue())):
                return
        time.sleep(0.2)


def run_session(
    device: str, *, image: Path, key: Path, image2: Path, fs_path: str
) -> list[Outcome]:
    from app.sim.mcuboot import read_info  # the SHA-256 TLV, which the device lists

    hash2 = read_info(image2.read_bytes()).hash.hex()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="slotwise-conformance-") as tmp:
        (Path(tmp) / "hello.txt").write_text("hello from slotwise conformance\n")
        values = {
            "image": str(image),
            "image2": str(image2),
            "hash2": hash2,
            "key": str(key),
            "fs": fs_path,
            "tmp": tmp,
        }
        for step in STEPS:
            argv = [a.format(**values) for a in step.argv]
            verdict, sentence = run_step(device, argv, step.shows)
            sentence = sentence.replace(tmp, "<tmp>").replace(device, "DEVICE")
            address = device.split(":", 1)[-1]
            outcomes.append(Outcome(step, verdict, sentence.replace(address, "DEVICE")))
            if step.argv[0] == "reset" and verdict is Verdict.WORKS:
                wait_until_booted(device)
    return outcomes


@contextlib.contextmanager
def simulated(profile: str) -> Iterator[str]:
    """A simulated board of `profile` on a UDP port of its own loop thread; its -d spec."""
    from app.sim.device import SimDevice, profile_config
    from app.sim.serve import UdpSimServer

    server = UdpSimServer(SimDevice(profile_config(profile, name="conformance")), boot_s=0.05)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"conformance-{profile}")
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield f"udp:{server.address}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def second_image(directory: Path) -> Path:
    """An unsigned 1.2.0 image for the upload-only step (the simulator checks hashes only)."""
    from app.sim.mcuboot import build_image

    path = directory / "second-1.2.0.bin"
    path.write_bytes(build_image("1.2.0"))
    return path


def run_profiles(profiles: tuple[str, ...] = SIM_PROFILES) -> dict[str, list[Outcome]]:
    """The whole session against a fresh simulated board of each profile."""
    from app.sim.profiles import get_profile

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        image2 = second_image(Path(tmp))
        for profile in profiles:
            with simulated(profile) as spec:
                results[profile] = run_session(
                    spec,
                    image=DEMO_IMAGE,
                    key=DEMO_KEY,
                    image2=image2,
                    fs_path=f"{get_profile(profile).fs_mount}/conformance.txt",
                )
    return results


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: dict[str, list[Outcome]], *, source: str) -> str:
    """docs/conformance.md: the command x firmware matrix, then what each user saw."""
    names = list(results)
    lines = [
        "# Conformance: every command against each firmware",
        "",
        f"Generated by `scripts/conformance.py` ({source}); do not edit by hand. Each",
        "command ran in one session, in this order, as `slotwise -d DEVICE ...`. **works**: exit",
        "status 0; **not in this firmware**: the firmware lacks the group or command and the",
        "user is told so; **fails**: anything else (CI fails on it). Run it against your own",
        "board with `python scripts/conformance.py -d SPEC --image FILE --key KEY --out FILE.md`.",
        "",
        "| command | " + " | ".join(f"`{n}`" for n in names) + " |",
        "| --- | " + " | ".join("---" for _ in names) + " |",
    ]
    for index, step in enumerate(STEPS):
        verdicts = [str(results[n][index].verdict) for n in names]
        lines.append(f"| `{_cell(step.label)}` | " + " | ".join(verdicts) + " |")
    for name in names:
        lines += ["", f"## `{name}`", "", "| command | result | what the user sees |"]
        lines.append("| --- | --- | --- |")
        for outcome in results[name]:
            lines.append(
                f"| `{_cell(outcome.step.label)}` | {outcome.verdict} | {_cell(outcome.sentence)} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--device", help="a real board (udp:..., serial:..., ble:...)")
    parser.add_argument("--name", default="your board", help="the board's column title")
    parser.add_argument("--image", type=Path, default=DEMO_IMAGE, help="signed image to update to")
    parser.add_argument("--key", type=Path, default=DEMO_KEY, help="its public key")
    parser.add_argument("--image2", type=Path, help="a second image for upload-only and test")
    parser.add_argument("--fs-path", default="/lfs/conformance.txt", help="a writable file path")
    parser.add_argument("--out", type=Path, default=DOC, help=f"where to write (default {DOC})")
    args = parser.parse_args(argv)
    if args.device:
        with tempfile.TemporaryDirectory() as tmp:
            image2 = args.image2 or second_image(Path(tmp))
            session = run_session(
                args.device, image=args.image, key=args.key, image2=image2, fs_path=args.fs_path
            )
        results = {args.name: session}
        source = f"against {args.name} at {args.device}"
    else:
        results = run_profiles()
        source = "against the simulator's firmware profiles"
    args.out.write_text(render(results, source=source))
    failed = [(n, o.step.label) for n, rs in results.items() for o in rs if o.verdict == "fails"]
    for name, label in failed:
        print(f"conformance: `{label}` fails on {name}", file=sys.stderr)
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
