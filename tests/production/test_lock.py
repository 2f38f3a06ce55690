"""Supervisor password checks for leaving operator mode."""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.gui.production.lock import set_settings_password, settings_password_hash
from app.gui.settings import LEGACY_PASSWORD_KEY, SUPERVISOR_PASSWORD_KEY, AppSettings
from app.workflows.supervisor import hash_password, is_password_hash, migrate, password_matches


def test_an_older_jobs_hex_sha256_still_matches_in_any_case() -> None:
    """A legacy SHA-256 hex value still works; hex case and surrounding spaces do not matter,
    a different text or a truncated hash never matches."""
    digest = hashlib.sha256(b"s3cret").hexdigest()
    assert password_matches("s3cret", digest)
    assert password_matches("s3cret", f"  {digest.upper()}\n")
    assert not password_matches("s3cret ", digest)
    assert not password_matches("S3cret", digest)
    assert not password_matches("s3cret", digest[:32])
    assert not password_matches("", digest)


def test_settings_keep_the_hash_never_the_password(qapp: object, tmp_path: Path) -> None:
    """A supervisor password set in the settings file is stored as a salted scrypt hash only."""
    settings = AppSettings(tmp_path / "slotwise.ini")
    assert settings_password_hash(settings) is None
    set_settings_password(settings, "line-lead-pw")
    text = (tmp_path / "slotwise.ini").read_text()
    assert "line-lead-pw" not in text
    stored = settings_password_hash(AppSettings(tmp_path / "slotwise.ini"))
    assert stored is not None and password_matches("line-lead-pw", stored)
    assert stored.startswith("scrypt$")


def test_the_stored_form_is_salted_and_slow() -> None:
    """Two hashes of one password differ (salt), both match it, and neither is a SHA-256."""
    first, second = hash_password("line-3"), hash_password("line-3")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert password_matches("line-3", first) and password_matches("line-3", second)
    assert not password_matches("line-4", first)
    assert hashlib.sha256(b"line-3").hexdigest() not in first
    assert is_password_hash(first) and not is_password_hash("letmein")
    assert not is_password_hash("scrypt$1048576$64$1$c2FsdHNhbHQ=$" + "A" * 44)  # 8 GiB


def test_old_settings_are_migrated_on_read(qapp: object, tmp_path: Path) -> None:
    """A station's legacy SHA-256 is wrapped in scrypt and the old key removed; the same
    password still leaves operator mode."""
    from PySide6.QtCore import QSettings

    path = tmp_path / "slotwise.ini"
    legacy = QSettings(str(path), QSettings.Format.IniFormat)
    legacy.setValue(LEGACY_PASSWORD_KEY, hashlib.sha256(b"old-pw").hexdigest())
    legacy.sync()
    stored = settings_password_hash(AppSettings(path))
    assert stored is not None and stored.startswith("scrypt-sha256$")
    assert password_matches("old-pw", stored) and not password_matches("other", stored)
    again = QSettings(str(path), QSettings.Format.IniFormat)
    assert again.value(LEGACY_PASSWORD_KEY) is None
    assert again.value(SUPERVISOR_PASSWORD_KEY) == stored
    assert hashlib.sha256(b"old-pw").hexdigest() not in path.read_text()
    assert migrate(stored) == stored
