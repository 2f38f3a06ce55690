"""CI's conformance run: every command against every simulator profile, as
scripts/conformance.py runs it; none may fail, and docs/conformance.md must say the same."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "conformance", ROOT / "scripts" / "conformance.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _matrix(markdown: str) -> list[str]:
    """The command x profile table's rows (the verdicts; sentences may hold timings)."""
    head = markdown.split("\n## ", 1)[0]
    return [line for line in head.splitlines() if re.match(r"\| `", line)]


def test_every_command_works_or_is_not_in_the_firmware() -> None:
    """No command fails on any profile, and the committed table is the generated one."""
    conformance = _script()
    results = conformance.run_profiles()
    failed = [
        (profile, o.step.label, o.sentence)
        for profile, outcomes in results.items()
        for o in outcomes
        if o.verdict == conformance.Verdict.FAILS
    ]
    assert failed == []
    generated = conformance.render(results, source="against the simulator's firmware profiles")
    committed = (ROOT / "docs" / "conformance.md").read_text()
    assert _matrix(generated) == _matrix(committed), "run scripts/conformance.py and commit"
    assert len(_matrix(committed)) == len(conformance.STEPS)
