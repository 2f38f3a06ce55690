"""MCUboot image inspection and verification: parse, verify, trusted keys, device checks.

No Qt and no device I/O; used by the CLI, the GUI and batch runs alike.

The names below are the package's public surface, loaded on first use (PEP 562): importing
one submodule does not import the others (and their libraries), so a command starts with
what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and readers see them
    from app.image.checks import (
        SlotFit as SlotFit,
    )
    from app.image.checks import (
        VersionRelation as VersionRelation,
    )
    from app.image.checks import (
        check_slot_fit as check_slot_fit,
    )
    from app.image.checks import (
        compare_version as compare_version,
    )
    from app.image.checks import (
        trailer_size as trailer_size,
    )
    from app.image.decrypt import (
        load_decryption_key as load_decryption_key,
    )
    from app.image.errors import (
        ContentsUnproven as ContentsUnproven,
    )
    from app.image.errors import (
        DecryptionFailed as DecryptionFailed,
    )
    from app.image.errors import (
        ImageError as ImageError,
    )
    from app.image.errors import (
        ImageInvalid as ImageInvalid,
    )
    from app.image.errors import (
        KeyFileInvalid as KeyFileInvalid,
    )
    from app.image.errors import (
        SignatureInvalid as SignatureInvalid,
    )
    from app.image.errors import (
        UntrustedKey as UntrustedKey,
    )
    from app.image.keys import (
        KeyStore as KeyStore,
    )
    from app.image.keys import (
        TrustedKey as TrustedKey,
    )
    from app.image.keys import (
        load_public_key as load_public_key,
    )
    from app.image.keys import (
        public_key_bytes as public_key_bytes,
    )
    from app.image.model import (
        ImageHeader as ImageHeader,
    )
    from app.image.model import (
        ImageVersion as ImageVersion,
    )
    from app.image.model import (
        McubootImage as McubootImage,
    )
    from app.image.model import (
        Tlv as Tlv,
    )
    from app.image.model import (
        TlvType as TlvType,
    )
    from app.image.model import (
        Trailer as Trailer,
    )
    from app.image.package import (
        verify_path as verify_path,
    )
    from app.image.parse import (
        parse_bytes as parse_bytes,
    )
    from app.image.parse import (
        parse_image as parse_image,
    )
    from app.image.report import (
        format_verdict as format_verdict,
    )
    from app.image.report import (
        verdict_to_json as verdict_to_json,
    )
    from app.image.verify import (
        HashCheck as HashCheck,
    )
    from app.image.verify import (
        SignatureCheck as SignatureCheck,
    )
    from app.image.verify import (
        Verdict as Verdict,
    )
    from app.image.verify import (
        VerdictKind as VerdictKind,
    )
    from app.image.verify import (
        require_valid as require_valid,
    )
    from app.image.verify import (
        verify_bytes as verify_bytes,
    )
    from app.image.verify import (
        verify_source as verify_source,
    )

_EXPORTS: dict[str, str] = {
    "ContentsUnproven": "app.image.errors",
    "DecryptionFailed": "app.image.errors",
    "HashCheck": "app.image.verify",
    "ImageError": "app.image.errors",
    "ImageHeader": "app.image.model",
    "ImageInvalid": "app.image.errors",
    "ImageVersion": "app.image.model",
    "KeyFileInvalid": "app.image.errors",
    "KeyStore": "app.image.keys",
    "McubootImage": "app.image.model",
    "SignatureCheck": "app.image.verify",
    "SignatureInvalid": "app.image.errors",
    "SlotFit": "app.image.checks",
    "Tlv": "app.image.model",
    "TlvType": "app.image.model",
    "Trailer": "app.image.model",
    "TrustedKey": "app.image.keys",
    "UntrustedKey": "app.image.errors",
    "Verdict": "app.image.verify",
    "VerdictKind": "app.image.verify",
    "VersionRelation": "app.image.checks",
    "check_slot_fit": "app.image.checks",
    "compare_version": "app.image.checks",
    "format_verdict": "app.image.report",
    "load_decryption_key": "app.image.decrypt",
    "load_public_key": "app.image.keys",
    "parse_bytes": "app.image.parse",
    "parse_image": "app.image.parse",
    "public_key_bytes": "app.image.keys",
    "require_valid": "app.image.verify",
    "trailer_size": "app.image.checks",
    "verdict_to_json": "app.image.report",
    "verify_bytes": "app.image.verify",
    "verify_path": "app.image.package",
    "verify_source": "app.image.verify",
}
"""Each public name -> the module that defines it."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
