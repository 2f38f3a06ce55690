"""docs/transports.md cites only what a reader can open: web pages, or files in this
repository; never the section numbers of a digest that does not ship with it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "transports.md"


def test_no_section_numbers_of_an_unshipped_spec() -> None:
    """ "§1.4" and "transports.md §1" pointed into a digest readers do not have."""
    text = DOC.read_text(encoding="utf-8")
    assert "§" not in text


def test_every_link_opens() -> None:
    """Each Markdown link is a web address or a file of this repository that exists."""
    text = DOC.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    assert targets
    for target in targets:
        if target.startswith(("https://", "http://")):
            continue
        assert (DOC.parent / target.split("#")[0]).exists(), target
