"""MCUboot image inspection and verification: parse, verify, trusted keys, device checks.

No Qt and no device I/O; used by the CLI, the GUI and batch runs alike.
"""

from app.image.checks import (
    SlotFit,
    VersionRelation,
    check_slot_fit,
    compare_version,
    trailer_size,
)
from app.image.decrypt import load_decryption_key
from app.image.errors import (
    ContentsUnproven,
    DecryptionFailed,
    ImageError,
    ImageInvalid,
    KeyFileInvalid,
    SignatureInvalid,
    UntrustedKey,
)
from app.image.keys import KeyStore, TrustedKey, load_public_key, public_key_bytes
from app.image.model import ImageHeader, ImageVersion, McubootImage, Tlv, TlvType, Trailer
from app.image.package import verify_path
from app.image.parse import parse_bytes, parse_image
from app.image.report import format_verdict, verdict_to_json
from app.image.verify import (
    HashCheck,
    SignatureCheck,
    Verdict,
    VerdictKind,
    require_valid,
    verify_bytes,
    verify_source,
)

__all__ = [
    "ContentsUnproven",
    "DecryptionFailed",
    "HashCheck",
    "ImageError",
    "ImageHeader",
    "ImageInvalid",
    "ImageVersion",
    "KeyFileInvalid",
    "KeyStore",
    "McubootImage",
    "SignatureCheck",
    "SignatureInvalid",
    "SlotFit",
    "Tlv",
    "TlvType",
    "Trailer",
    "TrustedKey",
    "UntrustedKey",
    "Verdict",
    "VerdictKind",
    "VersionRelation",
    "check_slot_fit",
    "compare_version",
    "format_verdict",
    "load_decryption_key",
    "load_public_key",
    "parse_bytes",
    "parse_image",
    "public_key_bytes",
    "require_valid",
    "trailer_size",
    "verdict_to_json",
    "verify_bytes",
    "verify_path",
    "verify_source",
]
