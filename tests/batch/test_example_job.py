"""The example job shipped in app/resources loads, flashes a simulated board, and every key
it shows (set or commented) is documented in docs/production.md."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import app
from app.workflows.batch import BatchRunner, default_connect
from app.workflows.job import load_job

EXAMPLE = Path(app.__file__).parent / "resources" / "examples" / "job.toml"
DOCS = Path(__file__).parents[2] / "docs" / "production.md"


def test_the_shipped_example_loads_with_every_section() -> None:
    """The example verifies its image with its key and fills every table."""
    job = load_job(EXAMPLE)
    assert job.name == "demo sensor 1.1.0" and job.version_text == "1.1.0"
    assert job.key_names and job.targets.devices == ("udp:127.0.0.1:1337",)
    assert (job.concurrency, job.retries, job.station, job.operator) == (4, 1, "line 3", "dana")
    assert job.identity == ("os_info", "address") and job.barcode_require == "none"


def _keys(text: str) -> set[str]:
    """Every key of the example, including the commented ones (`# key = ...`)."""
    keys = set()
    for table in tomllib.loads(text).values():
        keys |= set(table)
    keys |= set(re.findall(r"^# (\w+) = ", text, re.MULTILINE))
    return keys


def test_every_key_of_the_example_is_documented() -> None:
    """docs/production.md names each key the example shows, in backticks."""
    docs = DOCS.read_text(encoding="utf-8")
    keys = _keys(EXAMPLE.read_text(encoding="utf-8"))
    assert len(keys) >= 25
    assert {k for k in keys if f"`{k}`" not in docs} == set()


async def test_the_example_flashes_a_simulated_board(
    boards: Callable[..., Any], tmp_path: Path
) -> None:
    """With its device pointed at a simulator, the example job passes a board."""
    board = await boards()
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('"udp:127.0.0.1:1337"', f'"udp:{board.address}"')
    text = text.replace('"../demo/', f'"{EXAMPLE.parent.parent}/demo/')
    job_file = tmp_path / "job.toml"
    job_file.write_text(text, encoding="utf-8")
    job = load_job(job_file)
    (row,) = await BatchRunner(job, connect=default_connect(2.0)).run(list(job.targets.devices))
    assert row.passed, row.failure_reason
    assert row.new_version == "1.1.0"
