"""Contract tests from hawkBit's documented DDI examples: the JSON parsed as hawkBit documents
it, and whole runs against a server that answers with those examples (tests/fleet/ddi_server.py)
for what gooseBit never sends: several chunks, md5/sha256, `download-http`, maintenance
windows, cancelAction, GatewayToken."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.cli import main
from app.client.client import SmpClient
from app.fleet.artifacts import ArtifactRejected, choose_artifact
from app.fleet.ddi import (
    Handling,
    action_id_of,
    parse_cancel,
    parse_deployment,
    parse_poll,
)
from app.fleet.gateway import FleetEvent, FleetOptions, Result, apply
from app.fleet.server import AuthKind, ServerProfile
from app.image.keys import KeyStore
from app.transport import open_transport
from app.workflows.images import Allowances
from tests.fleet.ddi_server import TENANT, DdiServer, HawkbitLike, example

TOKEN = "s3cr3t-gateway-token"


def test_controller_base_example_parses() -> None:
    """hawkBit's controller base example: 12 h sleep and its three links."""
    poll = parse_poll(example("controllerBase"))
    assert poll.sleep_s == 12 * 3600
    assert poll.deployment_href is not None and action_id_of(poll.deployment_href) == "5"
    assert poll.config_data_href is not None and poll.config_data_href.endswith("/configData")
    assert poll.installed_href is not None and poll.cancel_href is None


def test_deployment_base_example_parses_every_chunk_and_hash() -> None:
    """hawkBit's deploymentBase example: three chunks of two artifacts, three hashes each,
    https `download` preferred over `download-http`, the window and metadata ignored safely."""
    deployment = parse_deployment(example("deploymentBase"))
    assert deployment.action_id == "8"
    assert deployment.download is Handling.FORCED and deployment.update is Handling.FORCED
    assert deployment.maintenance_window == "available" and deployment.may_install_now
    assert [c.part for c in deployment.chunks] == ["jvm", "os", "bApp"]
    assert sum(len(c.artifacts) for c in deployment.chunks) == 6
    first = deployment.chunks[0].artifacts[0]
    assert first.size == 13 and set(first.hashes) == {"sha1", "md5", "sha256"}
    assert first.download_url is not None and first.download_url.startswith("https://")


def test_example_offers_nothing_installable() -> None:
    """The example's .tgz and .signature artifacts are refused by name, all listed."""
    with pytest.raises(ArtifactRejected, match=r"binary\.tgz, file\.signature"):
        choose_artifact(parse_deployment(example("deploymentBase")))


def test_cancel_example_parses() -> None:
    cancel = parse_cancel(example("cancelAction"))
    assert (cancel.action_id, cancel.stop_id) == ("11", "11")


@pytest.mark.parametrize(
    "body",
    [
        {"deployment": {"chunks": []}},
        {"id": "1", "deployment": {"download": "sometimes", "chunks": []}},
        {"id": "1", "deployment": {"maintenanceWindow": "later", "chunks": []}},
        {"id": "1", "deployment": {"chunks": [{"artifacts": [{"filename": "a", "size": -1}]}]}},
        [],
    ],
)
def test_malformed_deployments_are_one_sentence(body: object) -> None:
    from app.fleet.ddi import DdiFormatError

    with pytest.raises(DdiFormatError):
        parse_deployment(body)


# --- whole runs against the hawkBit-shaped server ------------------------------------------


@pytest.fixture
def hawkbit(signed_image: Path) -> Iterator[tuple[DdiServer, HawkbitLike]]:
    state = HawkbitLike(artifact=signed_image.read_bytes())
    with DdiServer(state) as server:
        yield server, state


def options_for(tmp_path: Path, key: Path, **extra: object) -> FleetOptions:
    store = KeyStore()
    store.add("trusted", key)
    return FleetOptions(state_dir=tmp_path, keys=store, watch_interval_s=0.2, **extra)  # type: ignore[arg-type]


async def slots_of(device: str) -> list[tuple[int, str, bool, bool, bool]]:
    async with SmpClient(open_transport(device)) as client:
        return [
            (s.slot, s.version, s.active, s.confirmed, s.pending)
            for s in await client.image_state()
        ]


async def test_gateway_token_run_with_a_closed_then_open_window(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Attributes go to configData, the artifact is picked from the bApp chunk and checked
    against sha1, md5 and sha256, the install waits for the window, and the action closes with
    success; the GatewayToken is sent on every request and never logged."""
    server, state = hawkbit
    state.window = "unavailable"
    device = sim_factory()
    profile = ServerProfile(server.url, TENANT, AuthKind.GATEWAY, TOKEN)

    def seen(event: FleetEvent) -> None:
        if event.message == "waiting for the maintenance window":
            state.window = "available"

    caplog.set_level(logging.DEBUG)
    outcome = await apply(device, profile, options_for(tmp_path, trusted_key), on_event=seen)

    assert outcome.result is Result.SUCCESS and outcome.ok and outcome.action_id == "11"
    assert all(r.headers["Authorization"] == f"GatewayToken {TOKEN}" for r in state.requests)
    assert TOKEN not in caplog.text and TOKEN not in repr(profile)
    attributes = state.config_data()[0]
    assert attributes["mode"] == "merge"
    assert attributes["data"]["hw_boardname"] == "nrf52840dk_nrf52840"
    assert attributes["data"]["sw_version"] == "1.0.0"
    assert len(attributes["data"]["slotwise.image0.slot0.hash"]) == 64
    statuses = [
        (f["status"]["execution"], f["status"]["result"]["finished"]) for f in state.feedback()
    ]
    assert ("scheduled", "none") in statuses
    assert statuses[-1] == ("closed", "success")
    details = [line for f in state.feedback() for line in f["status"]["details"]]
    assert "from the cache" not in details[1] and "md5, sha1, sha256 match" in details[1]
    assert (0, "1.1.0", True, True, False) in await slots_of(device)


async def test_cancel_action_mid_upload_is_acknowledged(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
    image_factory: Callable[..., Path],
) -> None:
    """A cancelAction for the running action stops the upload; the cancel feedback says
    canceled, then closed/success, and the board stays on its old image."""
    server, state = hawkbit
    state.artifact = image_factory("1.5.0", size=400_000).read_bytes()
    device = sim_factory("--rate-bps", "40000")

    def seen(event: FleetEvent) -> None:
        if event.message.startswith("uploading") and (event.fraction or 0) > 0.1:
            state.cancel = True

    outcome = await apply(
        device, ServerProfile(server.url, TENANT), options_for(tmp_path, trusted_key), on_event=seen
    )

    assert outcome.result is Result.CANCELED and outcome.told_server
    cancel_feedback = state.feedback("cancelAction")
    assert [f["status"]["execution"] for f in cancel_feedback] == ["canceled", "closed"]
    assert cancel_feedback[-1]["status"]["result"]["finished"] == "success"
    assert "the device still runs 1.0.0" in cancel_feedback[-1]["status"]["details"][0]
    assert not any(f["status"]["execution"] == "closed" for f in state.feedback())
    slots = await slots_of(device)
    assert slots[0] == (0, "1.0.0", True, True, False)
    assert not any(pending for *_, pending in slots)


async def test_download_resumes_with_range(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """A partial download in the cache is continued with `Range: bytes=N-`, not restarted."""
    server, state = hawkbit
    digest = hashlib.sha256(state.artifact).hexdigest()
    partial = tmp_path / "artifacts" / f"sha256-{digest}" / "app.bin.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(state.artifact[:10_000])

    outcome = await apply(
        sim_factory(), ServerProfile(server.url, TENANT), options_for(tmp_path, trusted_key)
    )

    assert outcome.ok
    downloads = [r for r in state.requests if r.path.endswith("/app.bin")]
    assert [r.headers.get("Range") for r in downloads] == ["bytes=10000-"]


async def test_hash_mismatch_is_refused_before_the_device(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """An md5 that does not match ends the action in failure naming md5; nothing is uploaded."""
    server, state = hawkbit
    state.break_md5 = True
    device = sim_factory()

    outcome = await apply(
        device, ServerProfile(server.url, TENANT), options_for(tmp_path, trusted_key)
    )

    assert outcome.result is Result.FAILURE and outcome.told_server
    last = state.feedback()[-1]["status"]
    assert (last["execution"], last["result"]["finished"]) == ("closed", "failure")
    assert "md5" in last["details"][0]
    assert await slots_of(device) == [(0, "1.0.0", True, True, False)]


def test_cli_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad server URL is a usage error with one line, not a traceback."""
    code = main(["-d", "udp:127.0.0.1:9", "fleet", "apply", "--server", "ftp://x"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("slotwise: ")


def test_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str], sim_factory: Callable[..., str], tmp_path: Path
) -> None:
    """No server listening: exit 1 with one sentence."""
    device = sim_factory()
    code = main(
        [
            "-d",
            device,
            "fleet",
            "apply",
            "--server",
            "http://127.0.0.1:9",
            "--state-dir",
            str(tmp_path),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach" in err


@pytest.mark.parametrize("command", ["apply", "check", "watch"])
def test_an_unusable_state_folder_is_one_line(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """A state folder that cannot be made (its parent is a file) is one sentence naming it:
    exit 1 from apply and check, an error line for the device from watch, never a traceback."""
    server, _ = hawkbit
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    argv = ["-d", sim_factory(), "fleet", command, "--server", server.url, "--tenant", TENANT]
    argv += ["--state-dir", str(blocker / "state")]
    if command == "watch":
        argv += ["--rounds", "1"]

    code = main(argv)

    out, err = capsys.readouterr()
    said = f"cannot use the fleet state folder {blocker / 'state'}"
    if command == "watch":
        assert code == 0 and said in out and "Traceback" not in err
    else:
        assert code == 1 and err.count("\n") == 1 and said in err


def test_check_says_what_apply_would_do_and_tells_nothing(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`fleet check` prints the controller id, the action and the verdict; no feedback, no
    attributes, and the board is untouched."""
    server, state = hawkbit
    device = sim_factory()
    argv = ["-d", device, "fleet", "check", "--server", server.url, "--tenant", TENANT]
    assert main([*argv, "--key", str(trusted_key), "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Controller id: nrf52840dk-nrf52840-udp-" in out
    assert "Action 11: download forced, update forced, maintenance window available." in out
    assert "Apply would install app.bin in confirm mode." in out
    assert not state.feedback() and not state.config_data()


def test_watch_serves_every_device(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One `fleet watch` round serves two boards; each ends told success (JSON Lines)."""
    import json

    server, state = hawkbit
    devices = [sim_factory(), sim_factory()]
    argv = ["fleet", "watch", "--server", server.url, "--tenant", TENANT, "--rounds", "1"]
    argv += ["--key", str(trusted_key), "--state-dir", str(tmp_path), "--json"]
    for device in devices:
        argv += ["--device", device]
    assert main(argv) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finals = {r["device"]: r for r in results if r["event"] == "result"}
    assert set(finals) == set(devices)
    assert all(r["ok"] and r["version"] == "1.1.0" for r in finals.values())
    closed = [f for f in state.feedback() if f["status"]["execution"] == "closed"]
    assert len(closed) == 2


async def test_download_only_action_downloads_and_installs_nothing(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """`update: skip`: the artifact is downloaded and checked, the server hears `downloaded`,
    and the board is not touched."""
    server, state = hawkbit
    state.update = "skip"
    device = sim_factory()
    outcome = await apply(
        device, ServerProfile(server.url, TENANT), options_for(tmp_path, trusted_key)
    )
    assert outcome.result is Result.DEFERRED
    assert state.feedback()[-1]["status"]["execution"] == "downloaded"
    assert await slots_of(device) == [(0, "1.0.0", True, True, False)]


async def test_soft_update_is_deferred_when_asked(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
) -> None:
    """`update: attempt` with soft updates deferred: nothing is downloaded or sent."""
    server, state = hawkbit
    state.update = "attempt"
    device = sim_factory()
    options = options_for(tmp_path, trusted_key, install_attempt=False)
    outcome = await apply(device, ServerProfile(server.url, TENANT), options)
    assert outcome.result is Result.DEFERRED
    assert not state.feedback()
    assert not [r for r in state.requests if r.path.endswith("/app.bin")]


@pytest.mark.parametrize(
    ("kind", "flag", "allowances", "said", "runs"),
    [
        # The simulated MCUboot holds no decryption key, so it does not boot the encrypted
        # image it was sent: the board comes back on 1.0.0, as with a wrongly keyed bootloader.
        (
            "encrypted",
            "--allow-unverified-encrypted",
            Allowances(encrypted_unproven=True),
            "contents NOT checked",
            "1.0.0",
        ),
        (
            "clear",
            "--allow-clear-payload",
            Allowances(clear_payload=True),
            "stored in clear",
            "1.2.0",
        ),
    ],
)
async def test_an_image_needing_a_yes_is_refused_without_it_and_sent_with_it(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    tmp_path: Path,
    needs_a_yes: dict[str, Path],
    kind: str,
    flag: str,
    allowances: Allowances,
    said: str,
    runs: str,
) -> None:
    """An encrypted-unproven or clear-payload artifact closes the action in failure naming the
    option that allows it, with nothing sent to the board; with the option it is uploaded and
    the feedback says what was not proven."""
    server, state = hawkbit
    state.artifact = needs_a_yes[kind].read_bytes()
    device = sim_factory()
    profile = ServerProfile(server.url, TENANT)

    refused = await apply(device, profile, options_for(tmp_path, trusted_key))

    assert refused.result is Result.FAILURE and refused.told_server
    last = state.feedback()[-1]["status"]
    assert (last["execution"], last["result"]["finished"]) == ("closed", "failure")
    assert flag in last["details"][0]
    assert not any(line.startswith("uploading") for line in refused.details)
    assert await slots_of(device) == [(0, "1.0.0", True, True, False)]

    allowed = await apply(
        device, profile, options_for(tmp_path, trusted_key, allowances=allowances)
    )

    verified = next(line for line in allowed.details if line.startswith("verified: 1.2.0"))
    assert said in verified and flag in verified
    assert "uploading 100%" in allowed.details and allowed.told_server
    assert allowed.ok is (runs == "1.2.0")
    assert (0, runs, True, True, False) in await slots_of(device)


def test_check_says_whether_apply_would_install_an_encrypted_image(
    hawkbit: tuple[DdiServer, HawkbitLike],
    sim_factory: Callable[..., str],
    trusted_key: Path,
    needs_a_yes: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`fleet check` applies apply's rule: refused without --allow-unverified-encrypted, and
    with it, installed by explicit choice with its contents not checked."""
    server, state = hawkbit
    state.artifact = needs_a_yes["encrypted"].read_bytes()
    argv = ["-d", sim_factory(), "fleet", "check", "--server", server.url, "--tenant", TENANT]
    argv += ["--key", str(trusted_key), "--state-dir", str(tmp_path)]

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Apply would refuse app.bin:" in out and "--allow-unverified-encrypted" in out

    assert main([*argv, "--allow-unverified-encrypted"]) == 0
    out = capsys.readouterr().out
    assert "Apply would install app.bin in confirm mode." in out
    assert "By explicit choice: signature verified; encrypted, contents NOT checked" in out
