"""`slotwise verify FILE`: the local image verdict, as a short report or JSON.

Exit status: 0 every image valid or hash-checked (unsigned-check), 1 an image encrypted-unproven
or invalid or the file unreadable, 2 usage error (including a key file that cannot be read).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli.messages import say_error
from app.cli.options import existing_directory, existing_file
from app.image import (
    ImageError,
    KeyStore,
    format_verdict,
    load_decryption_key,
    verdict_to_json,
    verify_path,
)
from app.image.decrypt import DecryptionKey


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `verify` to the `slotwise` command."""
    parser = commands.add_parser(
        "verify",
        help="check an image's hash and signature before uploading it",
        description="Verify an MCUboot image (.bin, signed .hex or a dfu_application.zip "
        "package): recompute its hash and check its signature with trusted keys.",
    )
    parser.add_argument(
        "file", type=existing_file, metavar="FILE", help="image or package to check"
    )
    parser.add_argument(
        "--key",
        "-k",
        type=existing_file,
        action="append",
        default=[],
        metavar="PUB.pem",
        help="trusted public key (PEM or DER; repeatable). A private key is "
        "reduced to its public half.",
    )
    parser.add_argument(
        "--keystore",
        type=existing_directory,
        metavar="DIR",
        help="directory of trusted public keys (*.pem), as the GUI keeps them",
    )
    parser.add_argument(
        "--decrypt-key",
        type=existing_file,
        metavar="KEY.pem",
        help="private key (X25519, EC P-256 or RSA) to decrypt an encrypted "
        "image in memory so its hash can be checked too",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list, one per image")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        keys = _trusted_keys(args.key, args.keystore)
        decrypt_key: DecryptionKey | None = (
            load_decryption_key(args.decrypt_key) if args.decrypt_key else None
        )
    except ImageError as exc:  # a key file that is there but is not a usable key
        say_error(exc)
        return 1
    verdicts = verify_path(args.file, keys, decrypt_key)
    if args.json:
        print(json.dumps([verdict_to_json(v) for v in verdicts], indent=2))
    else:
        print("\n\n".join(format_verdict(v) for v in verdicts))
    return 0 if verdicts and all(v.valid for v in verdicts) else 1


def _trusted_keys(paths: list[Path], directory: Path | None) -> KeyStore | None:
    if not paths and directory is None:
        return None
    if directory is not None and not directory.is_dir():
        raise ImageError(f"The key store {directory} is not a directory.")
    # Keys from --keystore are read, never written: the store is copied into memory.
    store = KeyStore()
    if directory is not None:
        for trusted in KeyStore(directory).list():
            store.add(trusted.name, trusted.key)
    for path in paths:
        name = _unique(store, _safe_name(path.stem))
        store.add(name, path)
    return store


def _safe_name(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem)[:64]
    return cleaned if cleaned[:1].isalnum() else f"key{cleaned}"[:64]


def _unique(store: KeyStore, name: str) -> str:
    candidate, n = name, 2
    while store.get(candidate) is not None:
        candidate = f"{name[:60]}-{n}"
        n += 1
    return candidate
