"""What a slot card shows, derived from a SlotView: badges, sizes and hashes as text."""

from __future__ import annotations

from dataclasses import dataclass

from app.gui.targets import SlotView


@dataclass(frozen=True, slots=True)
class Badge:
    text: str
    tone: str
    """"good", "warn", "info" or "muted": the card picks colours that work in both themes."""
    tip: str


def slot_badges(slot: SlotView) -> list[Badge]:
    """The flags the device reports for a slot, as badges with a one-line explanation."""
    if slot.empty:
        return [Badge("empty", "muted", "No image in this slot.")]
    badges: list[Badge] = []
    if slot.active:
        badges.append(Badge("active", "good", "This image is running now."))
    if slot.pending:
        badges.append(
            Badge(
                "pending",
                "warn",
                "Marked to boot on the next reset."
                + ("" if slot.permanent else " It reverts unless confirmed."),
            )
        )
    if slot.confirmed:
        badges.append(Badge("confirmed", "good", "Confirmed: MCUboot keeps booting it."))
    elif slot.active:
        badges.append(
            Badge(
                "unconfirmed",
                "warn",
                "Running on trial: the next reset reverts unless you confirm it.",
            )
        )
    if slot.permanent:
        badges.append(Badge("permanent", "info", "Will become the permanent image on reset."))
    if slot.bootable:
        badges.append(Badge("bootable", "muted", "MCUboot can boot this image."))
    else:
        badges.append(Badge("not bootable", "warn", "MCUboot will not boot this image."))
    return badges


def short_hash(value: bytes | None) -> str:
    return value.hex()[:12] if value else "no hash"


def slot_title(slot: SlotView, images: int) -> str:
    name = "primary" if slot.slot == 0 else "secondary"
    prefix = f"Image {slot.image} \u00b7 " if images > 1 else ""
    return f"{prefix}Slot {slot.slot} ({name})"
