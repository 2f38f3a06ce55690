"""`slotwise --self-test` from the source tree: it passes, and it fails with a reason."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import selftest
from app.gui.demo import DEMO_IMAGE
from tests.packaging.conftest import ROOT, clean_env


def run_self_test(options: selftest.Options) -> tuple[int, str]:
    out = io.StringIO()
    code = selftest.run(options, out=out, watchdog_s=60)
    return code, out.getvalue()


def test_self_test_passes_in_process(qapp: object) -> None:
    """Every check passes: Qt, icons, window, a slot read through the bridge from the
    in-process simulator, the demo image's hash and signature, a clean shutdown."""
    code, out = run_self_test(selftest.Options())
    assert code == 0, out
    assert out.count("\n  ok    ") == 7
    assert "read 2 slots over udp:127.0.0.1:" in out
    assert "hash ok, ecdsa-p256 signature ok (slotwise-demo)" in out
    assert out.endswith("PASS: 7 checks\n")


def test_self_test_names_a_corrupted_image(qapp: object, tmp_path: Path) -> None:
    """A demo image with one flipped payload byte fails the self-test: exit 1, and the
    verifier's reason (the hash) is printed."""
    data = bytearray(DEMO_IMAGE.read_bytes())
    data[0x400] ^= 0xFF  # inside the payload (the header is 0x200 bytes)
    broken = tmp_path / "demo.bin"
    broken.write_bytes(bytes(data))
    code, out = run_self_test(selftest.Options(demo_image=broken))
    assert code == 1
    assert "FAIL: demo image: the demo image does not verify:" in out
    assert "hash" in out.splitlines()[-1].lower()
    assert "PASS" not in out


def test_self_test_rejects_an_image_signed_by_another_key(qapp: object, tmp_path: Path) -> None:
    """Verification is against the bundled key: a different trusted key fails the check."""
    other = tmp_path / "other.pem"
    done = subprocess.run(
        [sys.executable, "-m", "imgtool.main", "keygen", "-k", str(other), "-t", "ecdsa-p256"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    public = tmp_path / "other.pub.pem"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "imgtool.main",
            "getpub",
            "-k",
            str(other),
            "-e",
            "pem",
            "-o",
            str(public),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    code, out = run_self_test(selftest.Options(demo_key=public))
    assert code == 1
    assert "FAIL: demo image:" in out


def test_self_test_reports_a_missing_resource(qapp: object, tmp_path: Path) -> None:
    """A missing bundled key is reported by path, not as a traceback."""
    missing = tmp_path / "gone.pem"
    code, out = run_self_test(selftest.Options(demo_key=missing))
    assert code == 1
    assert f"FAIL: demo image: bundled resource missing: {missing}" in out


@pytest.mark.parametrize(
    ("env", "chosen"),
    [
        ({}, "offscreen"),
        ({"DISPLAY": ":0"}, None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, None),
        ({"QT_QPA_PLATFORM": "xcb"}, None),
    ],
)
def test_platform_choice(env: dict[str, str], chosen: str | None) -> None:
    """Offscreen only on Linux without a display and without an explicit platform."""
    environ = dict(env)
    if not sys.platform.startswith("linux"):
        pytest.skip("the offscreen fallback is for Linux")
    assert selftest.choose_platform(environ) == chosen
    if chosen:
        assert environ["QT_QPA_PLATFORM"] == chosen
    else:
        assert environ == env


def test_cli_flag_runs_the_self_test_headless(tmp_path: Path) -> None:
    """`python -m app --self-test` with no display exits 0 with the report on stdout, and
    leaves the user's settings alone (HOME is a fresh directory that stays empty of them)."""
    env = clean_env(
        HOME=str(tmp_path),
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "app", "--self-test"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no display: offscreen" in done.stdout
    assert done.stdout.rstrip().endswith("PASS: 7 checks")
    assert not (tmp_path / "config").exists()
