"""Fuzzing: any bytes give a verdict, never an exception; damage to signed bytes is never valid."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_helpers import Case, Keys

from app.image import KeyStore, Verdict, verify_bytes, verify_path
from app.image.decrypt import load_decryption_key

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def signed(images: dict[str, Case], keys: Keys) -> tuple[bytes, KeyStore, int]:
    """A signed image with protected TLVs, its trusted key, and the end of its hashed region."""
    data = images["p256_protected"].path.read_bytes()
    store = KeyStore()
    store.add("root", keys.pub("ecdsa-p256"))
    verdict = verify_bytes(data, store)
    assert verdict.valid and verdict.image is not None
    return data, store, verdict.image.header.hashed_size


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_give_an_invalid_verdict(data: bytes) -> None:
    """Arbitrary bytes are judged invalid with a problem sentence."""
    verdict = verify_bytes(data)
    assert isinstance(verdict, Verdict) and not verdict.valid and verdict.problems


@FUZZ
@given(
    hdr=st.integers(0, 0xFFFF),
    prot=st.integers(0, 0xFFFF),
    img=st.integers(0, 0xFFFFFFFF),
    flags=st.integers(0, 0xFFFFFFFF),
    tail=st.binary(max_size=600),
)
def test_random_headers_give_a_verdict(
    hdr: int, prot: int, img: int, flags: int, tail: bytes
) -> None:
    """A correct magic followed by arbitrary sizes and bytes never raises."""
    header = struct.pack("<IIHHIIBBHII", 0x96F3B83D, 0, hdr, prot, img, flags, 1, 0, 0, 0, 0)
    verdict = verify_bytes(header + tail)
    assert isinstance(verdict, Verdict) and not verdict.valid


@FUZZ
@given(
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1, max_size=4)
)
def test_byte_flips_never_raise_and_break_signed_bytes(
    signed: tuple[bytes, KeyStore, int], flips: list[tuple[int, int]]
) -> None:
    """Flipped bytes give a verdict; any flip inside the hashed region makes it invalid."""
    data, store, hashed = signed
    damaged = bytearray(data)
    for offset, xor in flips:
        damaged[offset % len(data)] ^= xor
    for keys in (None, store):
        verdict = verify_bytes(bytes(damaged), keys)
        assert isinstance(verdict, Verdict)
        if damaged[:hashed] != data[:hashed]:
            assert not verdict.valid


@FUZZ
@given(cut=st.integers(min_value=0))
def test_truncations_are_invalid(signed: tuple[bytes, KeyStore, int], cut: int) -> None:
    """Every truncation of an unpadded image is invalid with a problem sentence."""
    data, store, _hashed = signed
    verdict = verify_bytes(data[: cut % len(data)], store)
    assert not verdict.valid and verdict.problems


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=3))
def test_encrypted_image_flips_with_decryption_never_raise(
    images: dict[str, Case], keys: Keys, flips: list[tuple[int, int]]
) -> None:
    """Damaged encrypted images (incl. their ENC TLV) with a decryption key give a verdict."""
    data = bytearray(images["enc_x25519"].path.read_bytes())
    for offset, xor in flips:
        data[offset % len(data)] ^= xor
    verdict = verify_bytes(bytes(data), None, load_decryption_key(keys.priv("x25519")))
    assert isinstance(verdict, Verdict)
    original = images["enc_x25519"].path.read_bytes()
    if (
        verdict.image is not None
        and data[: verdict.image.header.hashed_size] != original[: verdict.image.header.hashed_size]
    ):
        assert not verdict.valid


@FUZZ
@given(
    data=st.binary(max_size=1024),
    suffix=st.sampled_from([".hex", ".zip", ".bin"]),
    prefix=st.sampled_from([b"", b":", b"PK\x03\x04"]),
)
def test_random_containers_give_verdicts(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str, prefix: bytes
) -> None:
    """Random HEX-, zip- and bin-looking files give a list of invalid verdicts."""
    path: Path = tmp_path_factory.getbasetemp() / f"fuzz{suffix}"
    path.write_bytes(prefix + data)
    verdicts = verify_path(path)
    assert verdicts and not any(v.valid for v in verdicts)
