"""Turn verdicts into the CLI's two outputs: a five-second text report and a JSON object.

Pure: no I/O; the CLI prints what these return. JSON field meanings: docs/image-verification.md.
"""

from __future__ import annotations

from typing import Any

from app.image.model import McubootImage
from app.image.verify import Verdict, VerdictKind


def verdict_to_json(verdict: Verdict) -> dict[str, Any]:
    """The `--json` object for one image; every key is present even when the file is junk."""
    image = verdict.image
    header = image.header if image else None
    hash_check = verdict.hash
    return {
        "file": verdict.label,
        "image_index": verdict.image_index,
        "slot": verdict.slot,
        "valid": verdict.valid,
        "verdict": str(verdict.kind),
        "hash": {
            "algorithm": hash_check.algorithm if hash_check else None,
            "value": hash_check.value.hex() if hash_check else None,
            "ok": hash_check.ok if hash_check else None,
        },
        "signature": {
            "algorithm": verdict.signature.algorithm,
            "ok": verdict.signature.ok,
            "key": verdict.signature.key,
        },
        "encrypted": verdict.encrypted,
        "decrypted": verdict.decrypted,
        "clear_payload": verdict.clear_payload,
        "version": str(header.version) if header else None,
        "declared_version": verdict.declared_version,
        "header_size": header.header_size if header else None,
        "image_size": header.image_size if header else None,
        "protected_tlv_size": header.protected_tlv_size if header else None,
        "load_address": header.load_address if header else None,
        "flags": list(header.flag_names) if header else [],
        "tlvs": [
            {"type": t.type, "name": t.name, "length": t.length, "protected": t.protected}
            for t in (image.tlvs if image else ())
        ],
        "security_counter": image.security_counter if image else None,
        "dependencies": [
            {"image_id": d.image_id, "min_version": str(d.min_version)}
            for d in (image.dependencies if image else ())
        ],
        "boot_record": _jsonable(image.boot_record) if image else None,
        "custom_tlvs": [
            {"type": t.type, "value": t.value.hex()} for t in (image.custom_tlvs if image else ())
        ],
        "trailer": _trailer_json(image),
        "problems": list(verdict.problems),
        "warnings": list(verdict.warnings),
    }


def _trailer_json(image: McubootImage | None) -> dict[str, Any] | None:
    if image is None or image.trailer is None:
        return None
    t = image.trailer
    return {
        "max_align": t.max_align,
        "image_ok": t.image_ok,
        "copy_done": t.copy_done,
        "swap_info": t.swap_info,
    }


def _jsonable(value: object) -> object:
    """CBOR values as JSON: bytes become hex, map keys strings."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


HEADLINES = {
    VerdictKind.VALID: "VALID",
    VerdictKind.UNSIGNED_CHECK: "HASH OK \u2014 signature not checked",
    VerdictKind.ENCRYPTED_UNPROVEN: "ENCRYPTED, CONTENTS UNPROVEN \u2014 signature OK",
    VerdictKind.INVALID: "INVALID",
}
"""The first line of the text report: the verdict in words no one reads as more than it is."""


def format_verdict(verdict: Verdict) -> str:
    """A short report: verdict first, then the few facts a technician checks."""
    where = f" (image {verdict.image_index})" if verdict.image_index is not None else ""
    lines = [f"{verdict.label}{where}: {HEADLINES[verdict.kind]}"]
    lines.extend(f"  ! {p}" for p in verdict.problems)
    image = verdict.image
    if image is not None:
        h = image.header
        flags = ", ".join(h.flag_names) or "none"
        lines.append(
            f"  version    {h.version}   payload {h.image_size} B   "
            f"header 0x{h.header_size:X}   flags {flags}"
        )
        if h.load_address:
            lines.append(f"  load addr  0x{h.load_address:08X}")
    if verdict.hash is not None:
        state = {True: "OK", False: "MISMATCH", None: "not checked (encrypted)"}[verdict.hash.ok]
        lines.append(f"  hash       {verdict.hash.algorithm} {state}  {verdict.hash.value.hex()}")
    if image is not None:
        lines.append(f"  signature  {_signature_text(verdict)}")
    if verdict.encrypted:
        how = (
            ", decrypted for the check"
            if verdict.decrypted
            else ", but the payload is stored in clear"
            if verdict.clear_payload
            else ""
        )
        lines.append(f"  encrypted  yes (header flags){how}")
    if image is not None:
        lines.extend(_extras(image))
    lines.extend(f"  note: {w}" for w in verdict.warnings)
    return "\n".join(lines)


def _signature_text(verdict: Verdict) -> str:
    sig = verdict.signature
    if sig.algorithm is None:
        return "none (unsigned image)"
    if sig.ok is None:
        return f"{sig.algorithm}, not checked (no --key given); key hash {_short(sig.key)}"
    if sig.ok:
        return f"{sig.algorithm} OK, key {sig.key}"
    return f"{sig.algorithm} FAILED (key {_short(sig.key)})"


def _short(key_id: str | None) -> str:
    """Key hashes are long; 16 hex digits identify a key to a person."""
    if key_id is None:
        return "none"
    return f"{key_id[:16]}..." if len(key_id) > 20 else key_id


def _extras(image: McubootImage) -> list[str]:
    lines = []
    if image.security_counter is not None:
        lines.append(f"  sec. cnt   {image.security_counter} (0x{image.security_counter:08X})")
    for dep in image.dependencies:
        lines.append(f"  depends on image {dep.image_id} >= {dep.min_version}")
    if image.boot_record is not None:
        record = str(_jsonable(image.boot_record))
        lines.append(f"  boot rec.  {record[:90]}{'...' if len(record) > 90 else ''}")
    for tlv in image.custom_tlvs:
        lines.append(f"  TLV 0x{tlv.type:04X} {tlv.value.hex()}")
    if image.trailer is not None:
        t = image.trailer
        ok = "confirmed" if t.confirmed else "test (image_ok unset)"
        lines.append(f"  trailer    padded, {ok}, copy_done 0x{t.copy_done:02X}")
    return lines
