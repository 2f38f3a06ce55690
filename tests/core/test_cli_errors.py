"""Bad input of every kind ends in one `slotwise:` line and exit 1 (2 for usage), never a
traceback or a hang: broken packages, out-of-range numbers, odd paths, a broken sim state."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from intelhex import IntelHex
from sim_process import free_loopback_host

from app.cli import main
from app.sim.device import Reply, SimConfig, SimDevice
from tests.upload.conftest import ThreadedSim, sim_device


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """`slotwise ARGS` in-process: (exit status, stdout, stderr); argparse's exit included."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single stderr line every failure prints (asserted to be the only one)."""
    assert err.count("\n") == 1 and err.startswith("slotwise: "), err
    assert "Traceback" not in err
    return err.strip()


# --- broken zip packages --------------------------------------------------------------------

MANIFEST = json.dumps({"files": [{"file": "app.bin", "image_index": 0}]})


def _package(path: Path, image: bytes, manifest: str = MANIFEST, deflate: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("app.bin", image)
    return path


def corrupt_deflate(folder: Path, image: bytes) -> Path:
    """app.bin's deflate stream starts with a block of the reserved type 3 (RFC 1951, 3.2.3)."""
    path = _package(folder / "corrupt.zip", image, deflate=True)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        header = archive.getinfo("app.bin").header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, header + 26)
    data[header + 30 + name_len + extra_len] = 0xFF  # BFINAL=1, BTYPE=11
    path.write_bytes(bytes(data))
    return path


def encrypted_member(folder: Path, image: bytes) -> Path:
    """app.bin flagged as encrypted (general-purpose bit 0), as a password-protected zip is."""
    path = _package(folder / "encrypted.zip", image)
    data = bytearray(path.read_bytes())
    for signature, flags_at, name_len_at, name_at in (
        (b"PK\x03\x04", 6, 26, 30),
        (b"PK\x01\x02", 8, 28, 46),
    ):
        pos = data.find(signature)
        while pos >= 0:
            (name_len,) = struct.unpack_from("<H", data, pos + name_len_at)
            if data[pos + name_at : pos + name_at + name_len] == b"app.bin":
                data[pos + flags_at] |= 1
            pos = data.find(signature, pos + 4)
    path.write_bytes(bytes(data))
    return path


def nested_manifest(folder: Path, image: bytes) -> Path:
    """A manifest.json nested 100,000 arrays deep."""
    return _package(folder / "nested.zip", image, manifest="[" * 100_000 + "]" * 100_000)


BROKEN_PACKAGES = [corrupt_deflate, encrypted_member, nested_manifest]


@pytest.mark.parametrize("make", BROKEN_PACKAGES, ids=lambda f: f.__name__)
def test_broken_packages_fail_in_one_line_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, signed_image: Path, make: object
) -> None:
    """A corrupt, encrypted or absurdly nested package is refused by verify, upload and a job."""
    package = make(tmp_path, signed_image.read_bytes())  # type: ignore[operator]
    job = tmp_path / "job.toml"
    job.write_text(f'[job]\nimage = "{package.name}"\n', encoding="utf-8")

    code, out, err = run(capsys, "verify", package)
    assert code == 1 and "INVALID" in out and "Traceback" not in err

    device = f"udp:{free_loopback_host()}:9"  # refused before anything connects
    for args in (("-d", device, "upload", package), ("flash", "--job", job, "-d", device)):
        code, out, err = run(capsys, *args)
        assert code == 1, err
        assert any(word in one_line(err) for word in ("is encrypted", "is corrupt", "nested"))


# --- numbers, paths and sizes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [
        ("--concurrency", "0"),
        ("--concurrency", "-1"),
        ("--concurrency", "257"),
        ("--retries", "-1"),
        ("--retries", "21"),
        ("--retries", "many"),
    ],
)
def test_flash_numbers_out_of_the_job_files_range_are_usage_errors(
    capsys: pytest.CaptureFixture[str], signed_image: Path, option: tuple[str, str]
) -> None:
    """flash refuses the numbers a job file would refuse, before anything starts."""
    code, _out, err = run(capsys, "flash", signed_image, "--device", "udp:127.0.0.1:9", *option)
    assert code == 2
    assert option[0] in one_line(err)


def test_job_image_path_with_a_nul_byte_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A job whose image path holds a NUL byte says so instead of a ValueError traceback."""
    job = tmp_path / "job.toml"
    job.write_text('[job]\nimage = "app\\u0000.bin"\n', encoding="utf-8")
    code, _out, err = run(capsys, "flash", "--job", job, "-d", "udp:127.0.0.1:9")
    assert code == 1 and "null byte" in one_line(err)


def test_sparse_hex_larger_than_any_slot_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, signed_image: Path
) -> None:
    """A HEX file whose two records lie 200 MiB apart is refused, not laid out in memory."""
    hexfile = IntelHex()
    hexfile.frombytes(signed_image.read_bytes(), offset=0)
    hexfile[200 * 1024 * 1024] = 0xFF
    path = tmp_path / "sparse.hex"
    hexfile.write_hex_file(str(path))
    code, out, _err = run(capsys, "verify", path)
    assert code == 1 and "INVALID" in out and "more than any slot holds" in out


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"settings": 5}', '"settings"'),
        ('{"settings": {"device/serial": 7}}', "'device/serial'"),
        ("[1, 2]", "JSON object"),
        ("{not json", "cannot be read as JSON"),
    ],
)
def test_sim_with_a_wrongly_typed_state_file_names_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, named: str
) -> None:
    """`slotwise sim --state-dir` on a device.json of wrong types says which part is wrong."""
    (tmp_path / "device.json").write_text(content, encoding="utf-8")
    code, _out, err = run(capsys, "sim", "--state-dir", tmp_path, "--udp", "127.0.0.1:0")
    assert code == 1 and named in one_line(err)


# --- where -d goes, and what discover says --------------------------------------------------


def test_device_option_is_accepted_after_the_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`slotwise images -d DEV` and `slotwise settings get NAME -d DEV` reach the device."""
    with ThreadedSim(sim_device()) as sim:
        code, out, err = run(capsys, "images", "--json", "-d", sim.spec)
        assert code == 0, err
        assert json.loads(out)[0]["version"] == "1.0.0"
        code, out, err = run(capsys, "echo", "ping", "--device", sim.spec)
        assert (code, out) == (0, "ping\n"), err
        code, _out, err = run(capsys, "settings", "get", "no/such", "-d", sim.spec)
        assert code == 1 and "no setting of that name" in one_line(err)


def test_discover_that_finds_nothing_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """A discover run where nothing answers ends with 'no devices answered', not silence."""
    host = free_loopback_host()
    code, out, _err = run(capsys, "discover", "--udp", f"{host}:9")
    assert code == 0
    assert out.splitlines()[-1] == f"no devices answered (searched udp {host}:9)"


# --- waiting: refusals end at once, --timeout bounds every wait ----------------------------


def test_upload_to_a_port_nobody_listens_on_fails_on_the_refusals(
    capsys: pytest.CaptureFixture[str], signed_image: Path
) -> None:
    """Every datagram is refused by the host: the upload says so instead of timing out 5 times."""
    host = free_loopback_host()
    code, _out, err = run(capsys, "-d", f"udp:{host}:9", "upload", signed_image)
    lines = err.splitlines()
    assert code == 1 and len(lines) == 2  # the unsigned-image warning, then the error
    assert lines[1] == (
        f"slotwise: no answer from {host}:9: nothing listens on that port "
        "(the host refused 3 datagrams in a row)"
    )


class StallingDevice(SimDevice):
    """Goes silent once a few KiB of an upload are written (a board that hangs mid-upload)."""

    def process(self, frame: bytes) -> Reply:
        reply = super().process(frame)
        if self.counters["bytes_written"] >= 4096:
            self.stop_answering()
        return reply


def test_a_stalled_upload_gives_up_after_the_timeout_given(
    capsys: pytest.CaptureFixture[str], signed_image: Path
) -> None:
    """--timeout bounds the stall wait too (it was 60 s whatever --timeout said)."""
    device = StallingDevice(SimConfig(slot_size=1024 * 1024, buf_count=4))
    with ThreadedSim(device) as sim:
        code, _out, err = run(capsys, "--timeout", "1", "-d", sim.spec, "upload", signed_image)
    assert code == 1
    assert "for 1 s" in err.splitlines()[-1]


class GarbageDevice(SimDevice):
    """Answers every request with bytes that are no SMP packet (the client logs and drops them)."""

    def process(self, frame: bytes) -> Reply:
        return Reply(frame=b"\x07garbage")


def test_log_warnings_stay_off_the_terminal_without_verbose() -> None:
    """Dropped replies log warnings; without -v stderr still holds only the one error line."""
    import subprocess
    import sys

    with ThreadedSim(GarbageDevice(SimConfig())) as sim:
        quiet, verbose = (
            subprocess.run(
                [sys.executable, "-m", "app", *flags, "--timeout", "1", "-d", sim.spec, "echo"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            for flags in ([], ["-v"])
        )
    assert quiet.returncode == 1
    assert quiet.stderr.startswith("slotwise: no answer from") and quiet.stderr.count("\n") == 1
    assert "WARNING" in verbose.stderr and verbose.stderr.splitlines()[-1] == (quiet.stderr.strip())
