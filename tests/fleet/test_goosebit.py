"""Round trips against a real gooseBit: register, install, refuse, cancel, lose the server.

One gooseBit serves the module (it takes a second or two to start); each test has its own
simulated board (a random loopback address, so its own controller id) and its own software
version (gooseBit refuses two uploads of one version for one board).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.cli.messages import error_line
from app.client.client import SmpClient
from app.fleet.artifacts import unpack_swu
from app.fleet.feedback import FeedbackQueue
from app.fleet.gateway import FleetEvent, FleetMode, FleetOptions, Result, apply
from app.fleet.server import ServerProfile
from app.image.errors import ImageError
from app.image.keys import KeyStore
from app.transport import open_transport
from app.workflows.images import load_update_images
from tests.fleet.goosebit_server import GooseBit, goosebit_package

pytestmark = pytest.mark.skipif(
    goosebit_package() is None, reason="gooseBit comes with the fleet-test extra"
)

SLOW_LINK = ("--rate-bps", "40000")
"""40 kB/s: 5 s for 200 kB, 10 s for 400 kB; time for the server to act while it uploads."""


@pytest.fixture(scope="module")
def goosebit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GooseBit]:
    server = GooseBit(tmp_path_factory.mktemp("goosebit"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fleet_cli(device: str, server: GooseBit, state: Path, *extra: str) -> list[str]:
    return ["-d", device, "fleet", "apply", "--server", server.url, "--state-dir", str(state)]


def trusted(key: Path) -> KeyStore:
    store = KeyStore()
    store.add("trusted", key)
    return store


def controller_of(device: str) -> str:
    """The default template's id for a simulated board at `device`."""
    return f"nrf52840dk-nrf52840-{device.replace(':', '-')}"


async def slots_of(device: str) -> list[tuple[int, str, bool, bool, bool]]:
    async with SmpClient(open_transport(device)) as client:
        return [
            (s.slot, s.version, s.active, s.confirmed, s.pending)
            for s in await client.image_state()
        ]


def register(device: str, server: GooseBit, state: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The first apply registers the board (nothing is assigned yet: exit 1)."""
    assert main([*fleet_cli(device, server, state), "--json"]) == 1
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["result"] == "nothing"
    return str(result["controller_id"])


def test_apply_registers_installs_and_reports_success(
    goosebit: GooseBit,
    sim_factory: Callable[..., str],
    make_swu_image: Callable[..., Path],
    trusted_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The board registers with its attributes, installs the assigned .swu, and gooseBit
    records the action finished and the new software version."""
    device = sim_factory()
    cid = register(device, goosebit, tmp_path, capsys)
    assert cid == controller_of(device)
    registered = goosebit.device(cid)
    assert registered["hardware"]["model"] == "nrf52840dk_nrf52840"
    assert registered["sw_version"] == "1.0.0"
    assert registered["last_state"] == "Registered"

    goosebit.assign(cid, goosebit.upload_software(make_swu_image("1.1.0")))
    argv = [*fleet_cli(device, goosebit, tmp_path), "--key", str(trusted_key), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["ok"] and result["told_server"] and result["version"] == "1.1.0"

    finished = goosebit.device(cid)
    assert finished["last_state"] == "Finished"
    assert finished["sw_version"] == "1.1.0"
    log = goosebit.device_log(cid).splitlines()
    assert log == result["details"]
    assert log[-1] == "success: the device runs 1.1.0"
    assert (0, "1.1.0", True, True, False) in asyncio.run(slots_of(device))


def test_wrong_key_image_ends_in_error_with_the_verdict(
    goosebit: GooseBit,
    sim_factory: Callable[..., str],
    make_swu_image: Callable[..., Path],
    other_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An image whose signer is not among the trusted keys is refused before a byte reaches
    the board, and gooseBit's log carries the verdict's sentence."""
    device = sim_factory()
    cid = register(device, goosebit, tmp_path, capsys)
    swu = make_swu_image("1.2.0")  # signed by the suite's key; only other_key is trusted
    with pytest.raises(ImageError) as local:  # the verdict a local file gets
        load_update_images(unpack_swu(swu, tmp_path / "local"), trusted(other_key))
    goosebit.assign(cid, goosebit.upload_software(swu))
    argv = [*fleet_cli(device, goosebit, tmp_path), "--key", str(other_key)]
    assert main(argv) == 1
    assert error_line(local.value) in capsys.readouterr().err

    assert goosebit.device(cid)["last_state"] == "Error"
    assert goosebit.device(cid)["sw_version"] == "1.0.0"
    assert goosebit.device_log(cid).splitlines()[-1] == f"failed: {local.value}"
    assert asyncio.run(slots_of(device)) == [(0, "1.0.0", True, True, False)]


async def test_withdrawn_assignment_mid_upload_ends_canceled_on_the_old_image(
    goosebit: GooseBit,
    sim_factory: Callable[..., str],
    make_swu_image: Callable[..., Path],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """gooseBit has no cancelAction: taking the assignment away is its cancel. The upload stops
    cleanly, the board keeps running its old image, and the server hears `canceled`."""
    device = sim_factory(*SLOW_LINK)
    options = FleetOptions(state_dir=tmp_path, keys=trusted(trusted_key), watch_interval_s=0.2)
    profile = ServerProfile(goosebit.url)
    first = await apply(device, profile, options)
    assert first.result is Result.NOTHING
    cid = first.controller_id
    software = await asyncio.to_thread(goosebit.upload_software, make_swu_image("1.3.0", 400_000))
    await asyncio.to_thread(goosebit.assign, cid, software)

    uploading = asyncio.Event()

    def seen(event: FleetEvent) -> None:
        if event.message.startswith("uploading") and (event.fraction or 0) > 0.1:
            uploading.set()

    run = asyncio.create_task(apply(device, profile, options, on_event=seen))
    await uploading.wait()
    await asyncio.to_thread(goosebit.pin, cid)
    outcome = await run

    assert outcome.result is Result.CANCELED and outcome.told_server
    log = (await asyncio.to_thread(goosebit.device_log, cid)).splitlines()
    assert log[-1].startswith("canceled: upload stopped at ")
    assert log[-1].endswith("the device still runs 1.0.0")
    assert (await asyncio.to_thread(goosebit.device, cid))["sw_version"] == "1.0.0"
    slots = await slots_of(device)
    assert slots[0] == (0, "1.0.0", True, True, False)
    assert not any(pending for *_, pending in slots)


async def test_server_lost_mid_install_hears_every_feedback_once(
    goosebit: GooseBit,
    sim_factory: Callable[..., str],
    make_swu_image: Callable[..., Path],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """gooseBit stops during the upload and comes back: the install goes on, the messages
    wait on disk, and the server gets each one exactly once, in order, ending in success."""
    device = sim_factory(*SLOW_LINK)
    options = FleetOptions(state_dir=tmp_path, keys=trusted(trusted_key), watch_interval_s=0.2)
    profile = ServerProfile(goosebit.url)
    cid = (await apply(device, profile, options)).controller_id
    software = await asyncio.to_thread(goosebit.upload_software, make_swu_image("1.4.0", 200_000))
    await asyncio.to_thread(goosebit.assign, cid, software)

    uploading = asyncio.Event()
    queued_while_away = asyncio.Event()
    server_down = False

    def seen(event: FleetEvent) -> None:
        if event.message.startswith("uploading") and (event.fraction or 0) > 0.05:
            uploading.set()
        if server_down and event.fraction is None:  # a feedback line, said after the stop
            queued_while_away.set()

    run = asyncio.create_task(apply(device, profile, options, on_event=seen))
    await uploading.wait()
    await asyncio.to_thread(goosebit.stop)
    server_down = True
    await queued_while_away.wait()
    assert FeedbackQueue(tmp_path / "feedback", cid).pending()  # waiting for the server
    await asyncio.to_thread(goosebit.start)
    outcome = await run

    assert outcome.result is Result.SUCCESS and outcome.told_server and outcome.ok
    log = (await asyncio.to_thread(goosebit.device_log, cid)).splitlines()
    assert log == list(outcome.details)
    assert len(set(log)) == len(log)
    assert (await asyncio.to_thread(goosebit.device, cid))["sw_version"] == "1.4.0"
    assert (0, "1.4.0", True, True, False) in await slots_of(device)
    assert FleetMode.CONFIRM is options.mode


def test_production_job_registers_boards_and_closes_their_action(
    goosebit: GooseBit,
    sim_factory: Callable[..., str],
    image_factory: Callable[..., Path],
    make_swu_image: Callable[..., Path],
    trusted_key: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job with a [server]: the flashed board is registered with its attributes; when the
    server has an action for it, the board's result closes that action."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    device = sim_factory()
    cid = controller_of(device)

    def job(image: Path) -> Path:
        path = tmp_path / f"job-{image.stem}.toml"
        path.write_text(
            f'[job]\nname = "line"\nimage = "{image}"\nkeys = ["{trusted_key}"]\n'
            f'station = "line 3"\nmode = "confirm"\n[targets]\ndevices = ["{device}"]\n'
            f'[server]\nurl = "{goosebit.url}"\n'
        )
        return path

    assert main(["flash", "--job", str(job(image_factory("1.6.0"))), "--yes"]) == 0
    registered = goosebit.device(cid)
    assert registered["hardware"]["model"] == "nrf52840dk_nrf52840"
    assert registered["sw_version"] == "1.6.0"  # the attributes were read after flashing

    goosebit.assign(cid, goosebit.upload_software(make_swu_image("1.7.0")))
    assert main(["flash", "--job", str(job(image_factory("1.7.0"))), "--yes"]) == 0
    finished = goosebit.device(cid)
    assert finished["last_state"] == "Finished" and finished["sw_version"] == "1.7.0"
    assert goosebit.device_log(cid).splitlines()[-1] == (
        "flashed by job 'line' at line 3: 1.6.0 -> 1.7.0"
    )


def test_target_token_against_goosebit_device_auth(
    sim_factory: Callable[..., str],
    make_swu_image: Callable[..., Path],
    trusted_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gooseBit with device authentication (lax mode): the board's TargetToken lets the
    install through; a wrong one is refused in one line, and the token is in neither."""
    env = {"GOOSEBIT_DEVICE_AUTH__ENABLE": "true", "GOOSEBIT_DEVICE_AUTH__MODE": "lax"}
    server = GooseBit(tmp_path / "gb", env=env)
    server.start()
    try:
        device = sim_factory()
        cid = register(device, server, tmp_path / "state", capsys)
        server.set_token(cid, "right-token")
        server.assign(cid, server.upload_software(make_swu_image("1.8.0")))
        base = [*fleet_cli(device, server, tmp_path / "state"), "--key", str(trusted_key)]

        assert main([*base, "--target-token", "wrong-token"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "401" in err and "wrong-token" not in err

        assert main([*base, "--target-token", "right-token"]) == 0
        out, err = capsys.readouterr()
        assert "right-token" not in out + err
        assert server.device(cid)["sw_version"] == "1.8.0"
    finally:
        server.stop()
