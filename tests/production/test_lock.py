"""Supervisor password checks for leaving operator mode."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.gui.production.lock import (
    password_matches,
    set_settings_password,
    settings_password_hash,
)
from app.gui.settings import AppSettings


def test_password_matches_the_hex_sha256_in_any_case() -> None:
    """The typed text is compared by SHA-256; hex case and surrounding spaces in the job's
    value do not matter, a different text or a truncated hash never matches."""
    digest = hashlib.sha256(b"s3cret").hexdigest()
    assert password_matches("s3cret", digest)
    assert password_matches("s3cret", f"  {digest.upper()}\n")
    assert not password_matches("s3cret ", digest)
    assert not password_matches("S3cret", digest)
    assert not password_matches("s3cret", digest[:32])
    assert not password_matches("", digest)


def test_settings_keep_the_hash_never_the_password(qapp: object, tmp_path: Path) -> None:
    """A supervisor password set in the settings file is stored as its SHA-256 only."""
    settings = AppSettings(tmp_path / "slotwise.ini")
    assert settings_password_hash(settings) is None
    set_settings_password(settings, "line-lead-pw")
    text = (tmp_path / "slotwise.ini").read_text()
    assert "line-lead-pw" not in text
    stored = settings_password_hash(AppSettings(tmp_path / "slotwise.ini"))
    assert stored is not None and password_matches("line-lead-pw", stored)
