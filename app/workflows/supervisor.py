"""The supervisor password that leaves operator mode: how it is stored and checked.

Only a salted, slow hash is kept (`hashlib.scrypt`, RFC 7914), written as one text field:

    scrypt$16384$8$1$<salt, base64>$<key, base64>

so a job file or a settings file that leaks does not give the password away to a table of
fast SHA-256 guesses. Older stations kept an unsalted SHA-256 in hex; `migrate()` wraps such a
value as `scrypt-sha256$...` (scrypt over that digest), which checks the same password without
ever knowing it, and settings are rewritten that way when they are read. A typed password is
compared in constant time (`hmac.compare_digest`).

Pure: no I/O, no Qt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""Cost: 16 MiB and a few tens of ms per check, the interactive-login figures of RFC 7914 §2."""
KEY_BYTES = 32
SALT_BYTES = 16
_PLAIN, _WRAPPED = "scrypt", "scrypt-sha256"


def hash_password(password: str) -> str:
    """The stored form of `password`, with a fresh random salt."""
    return _encode(_PLAIN, password.encode("utf-8"), os.urandom(SALT_BYTES))


def migrate(stored: str) -> str:
    """`stored` in the salted form: a legacy SHA-256 hex digest is wrapped, others kept."""
    value = stored.strip()
    if _is_sha256_hex(value):
        return _encode(_WRAPPED, value.lower().encode("ascii"), os.urandom(SALT_BYTES))
    return value


def is_password_hash(stored: str) -> bool:
    """A value that some password can match: the scrypt form, or a legacy SHA-256 hex digest
    (anything else would lock a station for good)."""
    value = stored.strip()
    return _is_sha256_hex(value) or _decode(value) is not None


def password_matches(password: str, stored: str) -> bool:
    """True when `password` is the one `stored` was made from (constant-time compare)."""
    value = stored.strip()
    if _is_sha256_hex(value):
        typed = hashlib.sha256(password.encode("utf-8")).hexdigest()
        return hmac.compare_digest(typed.encode("ascii"), value.lower().encode("ascii"))
    parts = _decode(value)
    if parts is None:
        return False
    scheme, n, r, p, salt, key = parts
    secret = password.encode("utf-8")
    if scheme == _WRAPPED:
        secret = hashlib.sha256(secret).hexdigest().encode("ascii")
    typed_key = hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=len(key))
    return hmac.compare_digest(typed_key, key)


def _encode(scheme: str, secret: bytes, salt: bytes) -> str:
    key = hashlib.scrypt(secret, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES)
    fields = (scheme, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(key))
    return "$".join(fields)


def _decode(value: str) -> tuple[str, int, int, int, bytes, bytes] | None:
    fields = value.split("$")
    if len(fields) != 6 or fields[0] not in (_PLAIN, _WRAPPED):
        return None
    try:
        n, r, p = (int(f) for f in fields[1:4])
        salt, key = (base64.b64decode(f, validate=True) for f in fields[4:6])
    except ValueError:
        return None
    # Bounds so a hostile job file cannot make a check take gigabytes or minutes.
    if not (n >= 2 and n & (n - 1) == 0 and r >= 1 and 1 <= p <= 16):
        return None
    if 128 * n * r > 32 * 1024 * 1024:  # hashlib.scrypt's default memory limit
        return None
    if len(salt) < 8 or not 16 <= len(key) <= 64:
        return None
    return fields[0], n, r, p, salt, key


def _is_sha256_hex(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
