"""The fleet's small parts: controller ids, .swu archives, the feedback queue, the token store."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.fleet.artifacts import ArtifactRejected, make_swu, unpack_swu
from app.fleet.ddi import FleetError
from app.fleet.feedback import FeedbackQueue
from app.fleet.identity import DEFAULT_TEMPLATE, DeviceFacts, controller_id, setting_names
from app.fleet.secrets import TokenStore
from app.fleet.server import AuthKind, DdiHttp, ServerProfile
from tests.fleet.ddi_server import TENANT, DdiServer, HawkbitLike
from tests.fleet.goosebit_server import free_port


def test_default_template_prefers_the_settings_serial() -> None:
    facts = DeviceFacts(
        platform="nrf52840dk/nrf52840",
        address="udp-127.0.0.1-1337",
        settings={"device/serial": "SN 0042"},
    )
    assert setting_names(DEFAULT_TEMPLATE) == ["device/serial"]
    assert controller_id(DEFAULT_TEMPLATE, facts) == "nrf52840dk-nrf52840-SN-0042"


def test_template_falls_back_in_order() -> None:
    facts = DeviceFacts(platform="b", usb_serial="ABC", ble="AA:BB:CC:DD:EE:FF", address="x")
    assert controller_id(DEFAULT_TEMPLATE, facts) == "b-ABC"
    assert controller_id("{ble}", facts) == "AA:BB:CC:DD:EE:FF"


def test_template_with_nothing_to_fill_names_the_field() -> None:
    with pytest.raises(FleetError, match=r"\{node\}.*--controller-id"):
        controller_id("{node}", DeviceFacts())
    with pytest.raises(FleetError, match="unknown controller-id field"):
        controller_id("{colour}", DeviceFacts())


def test_swu_round_trip_and_tamper(tmp_path: Path, signed_image: Path) -> None:
    """An .swu made here unpacks to the same image; a changed image fails its sha256."""
    swu = make_swu(signed_image, tmp_path / "a.swu", version="1.1.0")
    assert swu.read_bytes()[:6] == b"070701"
    out = unpack_swu(swu, tmp_path / "out")
    assert out.read_bytes() == signed_image.read_bytes()
    data = bytearray(swu.read_bytes())
    data[-600] ^= 0xFF  # inside the image member
    (tmp_path / "bad.swu").write_bytes(bytes(data))
    with pytest.raises(ArtifactRejected, match="sha256"):
        unpack_swu(tmp_path / "bad.swu", tmp_path / "bad")


def test_not_an_swu_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.swu"
    path.write_bytes(b"PK\x03\x04 not cpio")
    with pytest.raises(ArtifactRejected, match="cpio"):
        unpack_swu(path, tmp_path / "o")


async def test_queue_keeps_messages_until_the_server_answers(tmp_path: Path) -> None:
    """Queued while nobody listens, sent in order once, and the file is then empty."""
    queue = FeedbackQueue(tmp_path, "dev-1")
    port = free_port()
    url = f"http://127.0.0.1:{port}/T/controller/v1/dev-1/deploymentBase/1/feedback"
    for n in range(3):
        queue.put(url, {"n": n})
    state = HawkbitLike()
    async with DdiHttp(ServerProfile(f"http://127.0.0.1:{port}"), timeout_s=2) as http:
        assert not await queue.flush(http)  # nobody listens yet
        assert [q.body["n"] for q in queue.pending()] == [0, 1, 2]
        with DdiServer(state, port):
            assert await queue.flush(http)
            assert await queue.flush(http)
    assert [r.body["n"] for r in state.requests] == [0, 1, 2]
    assert queue.pending() == []


def test_token_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a keyring the token goes to a 0600 file, and the store says so."""
    monkeypatch.setenv("SLOTWISE_NO_KEYRING", "1")
    store = TokenStore(tmp_path)
    where = store.save("srv|DEFAULT|GatewayToken", "t0ken")
    assert str(store.file) in where and "no system keyring" in where
    assert stat.S_IMODE(os.stat(store.file).st_mode) == 0o600
    assert store.load("srv|DEFAULT|GatewayToken") == "t0ken"
    os.chmod(store.file, 0o644)
    with pytest.raises(FleetError, match="other users"):
        store.load("srv|DEFAULT|GatewayToken")


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ('url = "https://h"\ntoken = "t"', "does not belong in the job file"),
        ('url = "https://h"\nauth = "GatewayToken"', "needs token_env"),
        ('url = "https://h"\nauth = "Basic"', "auth must be"),
        ('tenant = "x"', "needs url"),
    ],
)
def test_job_server_table_mistakes_are_one_sentence(
    tmp_path: Path, signed_image: Path, server: str, message: str
) -> None:
    from app.workflows.job import JobError, load_job

    job = tmp_path / "job.toml"
    job.write_text(f'[job]\nimage = "{signed_image}"\n[server]\n{server}\n')
    with pytest.raises(JobError, match=message):
        load_job(job)


def test_job_server_table_is_read(tmp_path: Path, signed_image: Path) -> None:
    from app.workflows.job import load_job

    job = tmp_path / "job.toml"
    job.write_text(
        f'[job]\nimage = "{signed_image}"\n[server]\nurl = "https://h"\n'
        'auth = "TargetToken"\ntoken_env = "T"\ncontroller_id = "{node}"\n'
    )
    server = load_job(job).server
    assert server is not None
    assert (server.url, server.auth, server.token_env, server.controller_id) == (
        "https://h",
        "TargetToken",
        "T",
        "{node}",
    )


async def test_token_goes_only_to_the_server_itself(tmp_path: Path) -> None:
    """A link to another host (a CDN) is fetched without the token."""
    state = HawkbitLike(artifact=b"x" * 100)
    with DdiServer(state) as server:
        other = server.url.replace("127.0.0.1", "localhost")
        profile = ServerProfile(server.url, TENANT, AuthKind.GATEWAY, "tok")
        async with DdiHttp(profile) as http:
            await http.get_json(f"{server.url}/{TENANT}/controller/v1/a")
            await http.get_json(f"{other}/{TENANT}/controller/v1/b")
    seen = {r.path.rsplit("/", 1)[-1]: r.headers.get("Authorization") for r in state.requests}
    assert seen == {"a": "GatewayToken tok", "b": None}


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (cryptography), and its key."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slotwise test server")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls_with_a_given_ca_file(tmp_path: Path) -> None:
    """Over TLS the server's certificate must verify: with its CA file the poll works; with the
    system store alone it is refused, in one sentence."""
    import ssl

    from app.fleet.server import ServerUnreachable

    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with DdiServer(HawkbitLike(), tls=tls) as server:
        url = f"{server.url}/{TENANT}/controller/v1/dev"
        async with DdiHttp(ServerProfile(server.url, TENANT, ca_file=cert)) as http:
            body = await http.get_json(url)
        assert body["config"]["polling"]["sleep"] == "00:00:01"
        async with DdiHttp(ServerProfile(server.url, TENANT)) as http:
            with pytest.raises(ServerUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get_json(url)
