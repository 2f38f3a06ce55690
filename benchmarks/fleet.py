"""Scale of the fleet gateway: one station serving 16 simulated boards from one gooseBit,
against one board alone.

Starts a real gooseBit (as tests/fleet does), uploads one .swu carrying an imgtool-signed
image, assigns it to every board, and times one gateway round (`app.fleet.gateway.watch`,
one poll per board: poll, deploymentBase, download, verdict, upload, test boot, confirm,
feedback) for all the boards together, and for one board alone in the same run. The boards
are hosted in one separate process (benchmarks/batch.py's farm) on UDP with the same link
model as the batch benchmark. Prints the ratio; target under 1.5.

    python benchmarks/fleet.py [--boards 16] [--size 65536]

Needs gooseBit: pip install -e '.[fleet-test]'.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

from batch import UDP_LATENCY_MS, UDP_RATE_BPS, farm, make_image  # noqa: E402

from app.fleet.artifacts import make_swu  # noqa: E402
from app.fleet.gateway import FleetOptions, FleetOutcome, Result, watch  # noqa: E402
from app.fleet.server import ServerProfile  # noqa: E402
from app.image.keys import KeyStore  # noqa: E402
from tests.fleet.goosebit_server import GooseBit  # noqa: E402


def public_key(private: Path) -> Path:
    import subprocess

    out = private.with_suffix(".pub.pem")
    pem = subprocess.run(
        [sys.executable, "-m", "imgtool.main", "getpub", "-k", str(private), "-e", "pem"],
        check=True,
        capture_output=True,
    ).stdout
    out.write_bytes(pem)
    return out


async def one_round(
    devices: list[str], profile: ServerProfile, options: FleetOptions
) -> dict[str, FleetOutcome]:
    outcomes: dict[str, FleetOutcome] = {}

    def record(device: str, outcome: object) -> None:
        if not isinstance(outcome, FleetOutcome):
            raise SystemExit(f"{device}: {outcome}")
        outcomes[device] = outcome

    await watch(devices, profile, options, on_outcome=record, stop=asyncio.Event(), rounds=1)
    return outcomes


def served(
    devices: list[str], server: GooseBit, image: Path, keys: KeyStore, state: Path
) -> tuple[float, int]:
    """Register the boards, assign the software to all, and time one round serving them."""
    profile = ServerProfile(server.url)
    options = FleetOptions(state_dir=state, keys=keys, template="{address}")
    registered = asyncio.run(one_round(devices, profile, options))
    ids = [o.controller_id for o in registered.values()]
    server.api("PATCH", "/devices", {"devices": ids, "software": str(image_id(server, image))})
    started = time.perf_counter()
    outcomes = asyncio.run(one_round(devices, profile, options))
    elapsed = time.perf_counter() - started
    good = [o for o in outcomes.values() if o.result is Result.SUCCESS and o.told_server]
    for device, outcome in outcomes.items():
        if outcome not in good:
            print(f"  FAIL {device}: {outcome.result}: {outcome.message}", file=sys.stderr)
    return elapsed, len(good)


_UPLOADED: dict[Path, int] = {}


def image_id(server: GooseBit, swu: Path) -> int:
    if swu not in _UPLOADED:
        _UPLOADED[swu] = server.upload_software(swu)
    return _UPLOADED[swu]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boards", type=int, default=16)
    parser.add_argument("--size", type=int, default=64 * 1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image, key = make_image(root, args.size)
        swu = make_swu(image, root / "app.swu", version="1.1.0", board="nrf52840dk_nrf52840")
        keys = KeyStore()
        keys.add("bench", public_key(key))
        (root / "goosebit").mkdir()
        server = GooseBit(root / "goosebit")
        server.start()
        try:
            with farm(["udp"]) as alone:
                single, _ = served(alone, server, swu, keys, root / "state-1")
            with farm(["udp"] * args.boards) as specs:
                total, passed = served(specs, server, swu, keys, root / "state-n")
        finally:
            server.stop()
    print(
        f"image {args.size} bytes in an .swu from one gooseBit; UDP boards "
        f"{UDP_RATE_BPS} B/s, {UDP_LATENCY_MS} ms"
    )
    print(f"one board alone             {single:7.2f} s")
    print(f"{args.boards} boards, one gateway     {total:7.2f} s   ({passed} told success)")
    print(f"ratio to one board alone    {total / single:7.2f}   (target < 1.5)")


if __name__ == "__main__":
    main()
