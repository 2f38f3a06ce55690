"""A DDI server that lies, floods, stalls and points elsewhere: each is one sentence, the token
stays home and nothing outside the artifact cache is touched."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from app.fleet import artifacts
from app.fleet.artifacts import ArtifactCache, ArtifactRejected, unpack_swu
from app.fleet.ddi import (
    MIN_POLL_S,
    Artifact,
    DdiFormatError,
    FleetError,
    parse_deployment,
    parse_poll,
)
from app.fleet.feedback import FeedbackQueue
from app.fleet.server import (
    MAX_JSON_BYTES,
    AuthKind,
    DdiHttp,
    DownloadTooLarge,
    ServerProfile,
    ServerUnreachable,
)

Route = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """Answers each path with the test's function; records (path, Authorization) per request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.default: Route = body(b'{"message": "not found"}', 404)
        self.seen: list[tuple[str, str | None]] = []
        self.closing = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append((self.path, self.headers.get("Authorization")))
                path = self.path.split("?", 1)[0]
                outer.routes.get(path, outer.default)(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="hostile-ddi")

    def stop(self) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    server.thread.start()
    yield server
    server.stop()


def body(raw: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    return answer


ENDLESS_LIMIT_BYTES = 64 * 1024 * 1024
"""Where an "endless" answer really ends: far past every cap the tests check, so a gateway
that stopped capping fails its test instead of filling the disk (it did, 68 GB, twice)."""


def endless(closing: threading.Event, pause_s: float = 0.0, block: bytes = b"x" * 65536) -> Route:
    """Sends `block` after `block` until the client goes away (or the test ends, or
    ENDLESS_LIMIT_BYTES went out)."""

    def answer(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        sent = 0
        try:
            while not closing.is_set() and sent < ENDLESS_LIMIT_BYTES:
                sent += len(block)
                h.wfile.write(block)
                h.wfile.flush()
                if pause_s:
                    time.sleep(pause_s)
        except OSError:
            pass  # the client hung up: what the test wanted

    return answer


def profile(server: HostileServer) -> ServerProfile:
    return ServerProfile(server.url, "T", AuthKind.GATEWAY, "SECRET-TOKEN")


def artifact(url: str, data: bytes, name: str = "app.bin", size: int | None = -1) -> Artifact:
    return Artifact(
        filename=name,
        size=len(data) if size == -1 else size,
        hashes={"sha256": hashlib.sha256(data).hexdigest()},
        links={"download": url},
    )


def deployment_with_hash(digest: object, filename: object = "app.bin") -> dict[str, object]:
    art = {"filename": filename, "size": 3, "hashes": {"sha256": digest}, "_links": {}}
    return {"id": "7", "deployment": {"chunks": [{"part": "bApp", "artifacts": [art]}]}}


@pytest.mark.parametrize("digest", ["x/../../..", "../" * 20, "0" * 63 + "/", "AB" * 33, 7])
def test_a_hash_that_is_not_hex_is_refused(digest: object) -> None:
    """A sha256 names the cache folder: `sha256-x/../../..` reached outside it (and a cached
    file there that failed its check was deleted)."""
    with pytest.raises(DdiFormatError, match="sha256 is not 64 hex digits"):
        parse_deployment(deployment_with_hash(digest))


async def test_a_traversing_hash_never_touches_a_file_outside_the_cache(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """Even an Artifact built past the parser cannot turn its hash into a path."""
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"precious")
    hostile.routes["/a"] = body(b"abc")
    cache = ArtifactCache(tmp_path / "state" / "artifacts")
    evil = Artifact("victim.bin", 3, {"sha256": "x/../../.."}, {"download": f"{hostile.url}/a"})
    async with DdiHttp(profile(hostile)) as http:
        for _ in range(2):  # the first run made the folder, the second deleted the victim
            with pytest.raises(ArtifactRejected, match="not a hex digest"):
                await cache.fetch(http, evil)
    assert victim.read_bytes() == b"precious"
    assert not hostile.seen  # refused before asking the server


@pytest.mark.parametrize("name", ["a\x00.bin", "..", "dir/..", "x" * 300 + ".bin", "/"])
async def test_an_artifact_name_that_cannot_be_a_file_is_one_sentence(
    hostile: HostileServer, tmp_path: Path, name: str
) -> None:
    hostile.routes["/a"] = body(b"abc")
    cache = ArtifactCache(tmp_path / "artifacts")
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(ArtifactRejected, match="cannot be a file name here") as info:
            await cache.fetch(http, artifact(f"{hostile.url}/a", b"abc", name=name))
    assert "\x00" not in str(info.value) and "\n" not in str(info.value)


async def test_path_parts_of_an_artifact_name_are_dropped(
    hostile: HostileServer, tmp_path: Path
) -> None:
    hostile.routes["/a"] = body(b"abc")
    cache = ArtifactCache(tmp_path / "artifacts")
    async with DdiHttp(profile(hostile)) as http:
        path, _ = await cache.fetch(
            http, artifact(f"{hostile.url}/a", b"abc", name="..\\..\\../../up.bin")
        )
    assert path.name == "up.bin" and path.parent.parent == tmp_path / "artifacts"


async def test_a_download_stops_at_the_size_the_server_gave(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """An endless answer for a 1000-byte artifact: refused once byte 1001 arrives, nothing
    kept (it filled the disk before)."""
    hostile.routes["/a"] = endless(hostile.closing)
    cache = ArtifactCache(tmp_path / "artifacts")
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(DownloadTooLarge, match="more than the 1000 bytes"):
            await cache.fetch(http, artifact(f"{hostile.url}/a", b"y" * 1000))
    assert not [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()]


async def test_a_download_without_a_size_stops_at_the_cap(
    hostile: HostileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts, "MAX_ARTIFACT_BYTES", 200_000)
    hostile.routes["/a"] = endless(hostile.closing)
    cache = ArtifactCache(tmp_path / "artifacts")
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(DownloadTooLarge, match="more than the 200000 bytes"):
            await cache.fetch(http, artifact(f"{hostile.url}/a", b"y", size=None))


async def test_a_stated_size_larger_than_any_package_is_refused_before_downloading(
    hostile: HostileServer, tmp_path: Path
) -> None:
    cache = ArtifactCache(tmp_path / "artifacts")
    huge = artifact(f"{hostile.url}/a", b"y", size=artifacts.MAX_ARTIFACT_BYTES + 1)
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(ArtifactRejected, match="larger than"):
            await cache.fetch(http, huge)
    assert not hostile.seen


async def test_a_range_answer_that_starts_elsewhere_is_not_appended(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """We hold 100 bytes and ask for `bytes=100-`; the server answers 206 with the file from
    byte 0. Appending that gave a file that failed its hash; now the file is fetched whole."""
    data = bytes(range(256)) * 4
    lie = body(data, 206, {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"})

    def answer(h: BaseHTTPRequestHandler) -> None:
        (lie if h.headers.get("Range") else body(data))(h)

    hostile.routes["/a"] = answer
    cache = ArtifactCache(tmp_path / "artifacts")
    art = artifact(f"{hostile.url}/a", data)
    folder = cache.folder(art)
    folder.mkdir(parents=True)
    (folder / "app.bin.part").write_bytes(data[:100])
    async with DdiHttp(profile(hostile)) as http:
        path, cached = await cache.fetch(http, art)
    assert path.read_bytes() == data and not cached


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000],
    ids=["nested-list", "nested-object"],
)
async def test_deeply_nested_json_is_one_sentence(hostile: HostileServer, raw: bytes) -> None:
    """It was a RecursionError traceback."""
    hostile.routes["/c"] = body(raw)
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(FleetError, match="did not answer JSON"):
            await http.get_json(f"{hostile.url}/c")


async def test_an_endless_json_answer_is_cut(hostile: HostileServer) -> None:
    """It was read into memory until the machine ran out."""
    hostile.routes["/c"] = endless(hostile.closing, block=b"[1," * 20_000)
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(FleetError, match=f"more than {MAX_JSON_BYTES} bytes"):
            await http.get_json(f"{hostile.url}/c")


async def test_a_trickling_server_is_given_up_on(hostile: HostileServer) -> None:
    """A byte every 50 ms never trips the socket's timeout; the call's own deadline does."""
    hostile.routes["/c"] = endless(hostile.closing, pause_s=0.05, block=b" ")
    async with DdiHttp(profile(hostile), timeout_s=0.5) as http:
        with pytest.raises(ServerUnreachable, match=r"took over 0\.5 s"):
            await http.get_json(f"{hostile.url}/c")


@pytest.mark.parametrize(
    "link",
    ["http://127.0.0.1:99999/x", "http://[::1/x", "file:///etc/passwd", "ftp://127.0.0.1/x", ""],
)
async def test_a_link_that_is_no_http_url_is_one_sentence(
    hostile: HostileServer, link: str
) -> None:
    """A bad port was a ValueError traceback; a file: link read a local file."""
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(FleetError) as info:
            await http.get_json(link)
    assert "\n" not in str(info.value) and "SECRET" not in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://[::1", "http://:80"])
def test_a_server_address_with_a_bad_port_or_host_is_refused(url: str) -> None:
    with pytest.raises(FleetError, match="is not an http"):
        ServerProfile(url)


async def test_a_redirect_to_another_origin_never_carries_the_token(
    hostile: HostileServer,
) -> None:
    """Held before this audit: the token is an unredirected header."""
    other = hostile.url.replace("127.0.0.1", "localhost")
    hostile.routes["/r"] = body(b"", 302, {"Location": f"{other}/c"})
    hostile.routes["/c"] = body(b"{}")
    async with DdiHttp(profile(hostile)) as http:
        assert await http.get_json(f"{hostile.url}/r") == {}
    assert hostile.seen == [("/r", "GatewayToken SECRET-TOKEN"), ("/c", None)]


async def test_server_text_in_an_error_is_neutralised(hostile: HostileServer) -> None:
    hostile.routes["/c"] = body(b'{"message": "no\\u001b[2J\\r\\nslotwise: forged"}', 403)
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(FleetError) as info:
            await http.get_json(f"{hostile.url}/c")
    assert "\x1b" not in str(info.value) and "\n" not in str(info.value)


def test_a_zero_poll_interval_is_not_a_tight_loop() -> None:
    """`00:00:00` made `fleet watch` connect to its devices and poll without pause."""
    base = {"config": {"polling": {"sleep": "00:00:00"}}, "_links": {}}
    assert parse_poll(base).sleep_s == MIN_POLL_S


@pytest.mark.parametrize("content", ["5", '{"a": 1}', '[{"url": 1, "body": {}}, {"body": 2}]'])
async def test_a_feedback_queue_of_the_wrong_shape_is_started_afresh(
    tmp_path: Path, content: str
) -> None:
    queue = FeedbackQueue(tmp_path, "dev-1")
    queue.path.write_text(content)
    assert queue.pending() == []
    queue.put("http://127.0.0.1:9/x", {"a": 1})
    assert [q.url for q in queue.pending()] == ["http://127.0.0.1:9/x"]


@pytest.mark.parametrize(
    "option", [["--server-wait", "nan"], ["--server-wait", "-1"], ["--rounds", "x"]]
)
def test_bad_numbers_for_fleet_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: list[str]
) -> None:
    """`--server-wait nan` retried an unreachable server for ever after an install."""
    argv = ["-d", "udp:127.0.0.1:9", "fleet", "watch", "--server", "http://127.0.0.1:9"]
    assert main([*argv, "--state-dir", str(tmp_path), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option[0] in err


def test_fleet_check_shows_server_text_safely(
    hostile: HostileServer,
    sim_factory: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A chunk name and a file name holding escape sequences and line breaks reached the
    terminal raw (clear screen, a forged `slotwise:` line)."""
    data = b"not an image"
    evil = "app\x1b[2J\r\nslotwise: all good.bin"
    link = {"href": f"{hostile.url}/T/controller/v1/X/deploymentBase/5"}
    art = {
        "filename": evil,
        "size": len(data),
        "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
        "_links": {"download": {"href": f"{hostile.url}/dl"}},
    }
    chunk = {"part": "bApp\x1b]0;owned\x07", "version": "1\r\n2", "name": "n", "artifacts": [art]}
    deployment = {"id": "5", "deployment": {"download": "forced", "update": "forced"}}
    deployment["deployment"]["chunks"] = [chunk]  # type: ignore[index]
    hostile.routes["/T/controller/v1/" + "X"] = body(json.dumps({"_links": {}}).encode())
    hostile.default = body(json.dumps({"_links": {"deploymentBase": link}}).encode())
    hostile.routes[link["href"].removeprefix(hostile.url)] = body(json.dumps(deployment).encode())
    hostile.routes["/dl"] = body(data)
    device = sim_factory()
    argv = ["-d", device, "fleet", "check", "--server", hostile.url, "--tenant", "T"]
    code = main([*argv, "--state-dir", str(tmp_path)])
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
    assert "\nslotwise: all good" not in shown
    assert code in (0, 1) and "app\\x1b[2J\\r\\nslotwise: all good.bin" in shown


def cpio(members: list[tuple[str, bytes, int]]) -> bytes:
    """A newc archive of (name, data, mode) members, then the trailer."""
    out = bytearray()
    for name, data, mode in [*members, ("TRAILER!!!", b"", 0)]:
        encoded = name.encode("utf-8", "surrogateescape") + b"\x00"
        fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
        out += b"070701" + b"".join(f"{v:08X}".encode() for v in fields) + encoded
        out += b"\x00" * (-len(out) % 4) + data
        out += b"\x00" * (-len(out) % 4)
    return bytes(out)


FILE, LINK = 0o100644, 0o120777


def description(*names: str) -> bytes:
    blocks = ", ".join(f'{{ filename = "{n}"; type = "mcuboot"; }}' for n in names)
    return f"software = {{ images: ( {blocks} ); }};".encode()


def test_a_link_member_is_not_taken_for_the_image(tmp_path: Path) -> None:
    """A symlink `app.bin -> /etc/shadow` came first and its target path was taken as the
    image; links, directories and devices are no members to install."""
    swu = tmp_path / "a.swu"
    swu.write_bytes(
        cpio(
            [
                ("sw-description", description("app.bin"), FILE),
                ("app.bin", b"/etc/shadow", LINK),
                ("app.bin", b"the image", FILE),
            ]
        )
    )
    assert unpack_swu(swu, tmp_path / "out").read_bytes() == b"the image"


def test_a_member_name_with_a_nul_is_one_sentence(tmp_path: Path) -> None:
    swu = tmp_path / "a.swu"
    swu.write_bytes(cpio([("sw-description", b"", FILE), ("x\x00y.bin", b"abc", FILE)]))
    with pytest.raises(ArtifactRejected, match="NUL"):
        unpack_swu(swu, tmp_path / "out")


@pytest.mark.parametrize("field", [b"-0000100", b"+0000010", b" 00000FF", b"0x0000FF"])
def test_a_cpio_size_that_is_not_eight_hex_digits_is_refused(tmp_path: Path, field: bytes) -> None:
    """`-0000100` pointed the next header back at an earlier one: an endless loop."""
    raw = bytearray(cpio([("sw-description", b"x" * 64, FILE), ("b.bin", b"", FILE)]))
    second = raw.index(b"070701", 6)
    raw[second + 54 : second + 62] = field
    swu = tmp_path / "a.swu"
    swu.write_bytes(bytes(raw))
    with pytest.raises(ArtifactRejected, match="broken cpio header"):
        unpack_swu(swu, tmp_path / "out")


def test_a_member_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    raw = bytearray(cpio([("sw-description", b"x" * 64, FILE)]))
    raw[54:62] = b"7FFFFFFF"
    swu = tmp_path / "a.swu"
    swu.write_bytes(bytes(raw))
    with pytest.raises(ArtifactRejected, match="ends inside a member"):
        unpack_swu(swu, tmp_path / "out")


def test_an_oversized_description_is_refused(tmp_path: Path) -> None:
    """2 MiB of `filename = "a";` after one `{` took the old pattern about 20 s per 256 kB,
    growing with the square of the size: hours for this file."""
    text = b"{" + b'filename = "a"; ' * (2 * 1024 * 1024 // 16)
    swu = tmp_path / "a.swu"
    swu.write_bytes(cpio([("sw-description", text, FILE), ("a", b"", FILE)]))
    with pytest.raises(ArtifactRejected, match="sw-description has"):
        unpack_swu(swu, tmp_path / "out")


def test_description_blocks_are_read_as_before(tmp_path: Path) -> None:
    """The linear reading finds every image block, with its sha256 when it has one."""
    digest = "ab" * 32
    text = (
        'software = { version = "1"; images: ( { filename = "a.bin"; sha256 = "'
        + digest
        + '"; }, { type = "x"; filename = "b.hex"; } ); scripts: ( { filename = "s.sh"; } ); };'
    )
    assert artifacts._described_images(text) == {"a.bin": digest, "b.hex": None, "s.sh": None}
    pathological = "{" + 'filename = "a"; ' * 60_000  # 20 s and more before; no block here
    assert artifacts._described_images(pathological) == {}


def test_a_negative_size_cannot_lead_back_to_an_earlier_header(tmp_path: Path) -> None:
    """A size of minus the member's own offset pointed at the first header again: the reader
    went round for ever, its member list growing."""
    raw = bytearray(cpio([("sw-description", b"x" * 8, FILE), ("b.bin", b"", FILE)]))
    second = raw.index(b"070701", 6)
    data_at = (second + 110 + len(b"b.bin\x00") + 3) & ~3
    raw[second + 54 : second + 62] = f"-{data_at:07X}".encode()
    swu = tmp_path / "a.swu"
    swu.write_bytes(bytes(raw))
    with pytest.raises(ArtifactRejected, match="broken cpio header"):
        unpack_swu(swu, tmp_path / "out")


def test_same_origin_fills_in_default_ports() -> None:
    mine = ServerProfile("https://ddi.example", "T", AuthKind.GATEWAY, "t")
    assert mine.same_origin("https://ddi.example:443/x")
    assert not mine.same_origin("http://ddi.example/x")
    assert not mine.same_origin("https://ddi.example.evil/x")
    assert not mine.same_origin("https://ddi.example:99999/x")


@pytest.mark.parametrize("link", ["deploymentBase", "configData", "cancelAction"])
def test_action_links_to_another_host_are_not_followed(
    hostile: HostileServer,
    sim_factory: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    link: str,
) -> None:
    """The deployment, configData and cancel resources are the DDI server's own: followed to
    another host, they sent the device's attributes and the action's feedback there."""
    elsewhere = hostile.url.replace("127.0.0.1", "localhost") + f"/T/controller/v1/X/{link}/5"
    hostile.default = body(json.dumps({"_links": {link: {"href": elsewhere}}}).encode())
    device = sim_factory()
    argv = ["-d", device, "fleet", "apply", "--server", hostile.url, "--tenant", "T"]
    code = main([*argv, "--controller-id", "X", "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "points to another host" in err and err.count("\n") == 1
    assert [path for path, _ in hostile.seen] == ["/T/controller/v1/X"]


def test_a_relative_action_link_is_resolved_against_the_server(
    hostile: HostileServer,
    sim_factory: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile.routes["/T/controller/v1/X"] = body(
        json.dumps({"_links": {"deploymentBase": {"href": "X/deploymentBase/5?c=1"}}}).encode()
    )
    hostile.default = body(b'{"message": "gone"}', 404)
    device = sim_factory()
    argv = ["-d", device, "fleet", "check", "--server", hostile.url, "--tenant", "T"]
    assert main([*argv, "--controller-id", "X", "--state-dir", str(tmp_path)]) == 1
    assert ("/T/controller/v1/X/deploymentBase/5?c=1", None) in hostile.seen


@pytest.mark.parametrize(
    "url", ["http://admin:hunter2@127.0.0.1:9", "https://hunter2@ddi.example", "admin:hunter2@x"]
)
def test_credentials_in_the_server_address_are_refused_and_never_echoed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str
) -> None:
    """`--server http://admin:hunter2@host` was echoed in the `polled ...` event (stderr and
    the JSON Lines) and in error lines; urllib cannot use it anyway."""
    argv = ["-d", "udp:127.0.0.1:9", "fleet", "apply", "--server", url, "--json"]
    assert main([*argv, "--state-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err
    assert "user name or password" in one_line(captured.err)


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("slotwise: "), err
    return err


def cut_short(h: BaseHTTPRequestHandler) -> None:
    """Promises 100 bytes, sends 3, hangs up."""
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    h.wfile.write(b'{"a')


def no_http(h: BaseHTTPRequestHandler) -> None:
    h.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


@pytest.mark.parametrize("answer", [cut_short, no_http], ids=["cut-short", "not-http"])
async def test_a_broken_http_answer_is_one_sentence(
    hostile: HostileServer, tmp_path: Path, answer: Route
) -> None:
    """A body cut short and an answer that is not HTTP (BadStatusLine, not an OSError) are
    each one sentence, from a JSON call and from a download alike."""
    hostile.routes["/c"] = answer
    cache = ArtifactCache(tmp_path / "artifacts")
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(FleetError):
            await http.get_json(f"{hostile.url}/c")
        with pytest.raises(ServerUnreachable):
            await cache.fetch(http, artifact(f"{hostile.url}/c", b"x" * 100))


async def test_a_download_cut_short_is_kept_for_a_resume(
    hostile: HostileServer, tmp_path: Path
) -> None:
    """The server hangs up after 3 of 100 bytes: http.client ends the body without an error,
    the size check failed and deleted the part, and every retry started from byte 0."""
    hostile.routes["/c"] = cut_short
    cache = ArtifactCache(tmp_path / "artifacts")
    art = artifact(f"{hostile.url}/c", b"x" * 100)
    async with DdiHttp(profile(hostile)) as http:
        with pytest.raises(ServerUnreachable, match="broke off at 3 bytes"):
            await cache.fetch(http, art)
    assert (cache.folder(art) / "app.bin.part").read_bytes() == b'{"a'


def assigning(hostile: HostileServer, data: bytes) -> None:
    """The hostile server assigns one artifact (`app.bin`, `data`) to every controller."""
    href = f"{hostile.url}/T/controller/v1/X/deploymentBase/5"
    art = {
        "filename": "app.bin",
        "size": len(data),
        "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
        "_links": {"download": {"href": f"{hostile.url}/dl"}},
    }
    deployment = {"download": "forced", "update": "forced", "chunks": [{"artifacts": [art]}]}
    hostile.routes["/T/controller/v1/X"] = body(
        json.dumps({"_links": {"deploymentBase": {"href": href}}}).encode()
    )
    hostile.routes["/T/controller/v1/X/deploymentBase/5"] = body(
        json.dumps({"id": "5", "deployment": deployment}).encode()
    )
    hostile.routes["/dl"] = body(data)


def test_a_state_dir_that_is_a_file_is_one_sentence(
    hostile: HostileServer,
    sim_factory: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--state-dir` naming a file: the cache could not be made, and telling the server so
    failed again inside the error handling (NotADirectoryError traceback)."""
    assigning(hostile, b"not an image")
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("a file")
    device = sim_factory()
    argv = ["-d", device, "fleet", "apply", "--server", hostile.url, "--tenant", "T"]
    code = main([*argv, "--controller-id", "X", "--state-dir", str(not_a_dir)])
    err = capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err
    assert str(not_a_dir) in one_line(err)


@pytest.mark.parametrize("content", [b"not a pem\n", b"", b"\x00\xff" * 100])
def test_a_ca_file_without_a_certificate_is_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes
) -> None:
    """`--ca-file` naming a file that holds no PEM certificate was an ssl.SSLError traceback."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(content)
    argv = ["-d", "udp:127.0.0.1:9", "fleet", "check", "--server", "https://127.0.0.1:9"]
    code = main([*argv, "--ca-file", str(ca), "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "holds no CA certificate" in one_line(err)


_SWU_SEED = cpio(
    [
        ("sw-description", description("app.bin"), FILE),
        ("app.bin", b"\x3d\xb8\xf3\x96" + bytes(200), FILE),
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(_SWU_SEED) - 1),
            st.binary(min_size=1, max_size=9)
            | st.sampled_from([b"-", b"+", b" ", b"\x00", b"FFFFFFFF", b"-000000", b"00000000"]),
        ),
        max_size=6,
    ),
    cut=st.integers(0, len(_SWU_SEED)),
)
def test_a_mutated_swu_is_unpacked_or_refused_in_one_sentence(
    tmp_path: Path, edits: list[tuple[int, bytes]], cut: int
) -> None:
    """Bytes overwritten anywhere (header digits, signs, sizes, names) and the file cut
    anywhere: unpacking ends, with the image or with an ArtifactRejected, never another
    exception and never a loop."""
    raw = bytearray(_SWU_SEED)
    for at, patch in edits:
        raw[at : at + len(patch)] = patch
    swu = tmp_path / "m.swu"
    swu.write_bytes(bytes(raw[: max(cut, 1)]))
    try:
        out = unpack_swu(swu, tmp_path / "out")
    except ArtifactRejected as exc:
        assert "\n" not in str(exc)
    else:
        assert out.parent == tmp_path / "out" and out.is_file()
