"""Helpers for the simulator tests: send typed requests through `process()` and decode."""

from __future__ import annotations

import hashlib
from typing import Any

from app.sim.device import Reply, SimDevice
from app.smp.groups import img
from app.smp.header import Header
from app.smp.message import Request, decode_packet, encode_request


class Bench:
    """A simulated device on the bench: typed requests in, decoded replies out."""

    def __init__(self, device: SimDevice) -> None:
        self.device = device
        self.seq = 0

    def raw(self, frame: bytes) -> Reply:
        return self.device.process(frame)

    def send(self, request: Request, version: int = 1) -> tuple[Header, dict[str, Any]]:
        self.seq = (self.seq + 1) % 256
        reply = self.device.process(encode_request(request, self.seq, version))
        assert reply.frame is not None, "the device did not answer"
        header, body = decode_packet(reply.frame)
        assert header.sequence == self.seq
        return header, body

    def body(self, request: Request, version: int = 1) -> dict[str, Any]:
        return self.send(request, version)[1]

    def upload(
        self,
        image: bytes,
        *,
        chunk: int = 1024,
        image_no: int | None = None,
        sha: bool = True,
        upgrade: bool | None = None,
        version: int = 1,
    ) -> dict[str, Any]:
        """Upload the whole image, following the device's offsets; returns the last reply."""
        digest = hashlib.sha256(image).digest() if sha else None
        off = 0
        body: dict[str, Any] = {}
        while True:
            first = off == 0
            req = img.ImageUpload(
                off=off,
                data=image[off : off + chunk],
                length=len(image) if first else None,
                sha=digest if first else None,
                image=image_no if first else None,
                upgrade=upgrade if first else None,
            )
            body = self.body(req, version)
            if "off" not in body:
                return body
            off = body["off"]
            if off >= len(image):
                return body

    def state(self, version: int = 1) -> list[dict[str, Any]]:
        return self.body(img.ImageState(), version)["images"]

    def test(self, image_hash: bytes, version: int = 1) -> dict[str, Any]:
        return self.body(img.ImageStateWrite(hash=image_hash, confirm=False), version)

    def confirm(self, image_hash: bytes | None = None, version: int = 1) -> dict[str, Any]:
        return self.body(img.ImageStateWrite(hash=image_hash, confirm=True), version)


def flags(entry: dict[str, Any]) -> set[str]:
    """The true flags of one image-list entry."""
    names = ("bootable", "pending", "confirmed", "active", "permanent")
    return {n for n in names if entry.get(n)}


def by_slot(entries: list[dict[str, Any]], image: int = 0) -> dict[int, dict[str, Any]]:
    return {e["slot"]: e for e in entries if e.get("image", 0) == image}
