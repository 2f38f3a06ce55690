"""Small helpers shared by the image tests: run the CLI in-process and flip bits."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from app.cli import main


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    """`slotwise ARGS` in-process: (exit status, stdout, stderr); usage errors give 2."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse reports usage errors this way
            rc = int(exc.code) if isinstance(exc.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


def verify_json(path: Path, *extra: str | Path) -> tuple[int, list[dict[str, Any]]]:
    """`slotwise verify --json PATH ...` parsed."""
    rc, out, _ = run_cli("verify", "--json", path, *extra)
    return rc, json.loads(out)


def flipped(src: Path, dst: Path, offset: int, bit: int = 0) -> Path:
    """A copy of `src` with one bit flipped at `offset` (negative counts from the end)."""
    data = bytearray(src.read_bytes())
    data[offset] ^= 1 << bit
    dst.write_bytes(bytes(data))
    return dst


def truncated(src: Path, dst: Path, length: int) -> Path:
    dst.write_bytes(src.read_bytes()[:length])
    return dst
