"""Findings: what a support engineer should look at first, computed from a diagnostic read.

One home for the rules; the HTML report's summary, `slotwise report` on the terminal and
the GUI's diagnostics page all show this list. Each finding carries its evidence (the
numbers it was decided on), never a conclusion without them. Pure: no I/O, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from app.units import format_bytes
from app.workflows.diagnostics import CLOCK_NOT_SET, DiagnosticSnapshot, StatsReadout

STACK_NEAR_FULL = 0.85
"""A thread that has used this share of its stack is one deeper call from an overflow
(Zephyr's stack sentinel / MPU guard then faults the device)."""
HEAP_LOW_WATER = 0.10
"""A pool whose fewest-ever free blocks fell to this share of its blocks came close to
an allocation failure."""
SMALL_BUFFER_BYTES = 1024
"""Below this, every upload request carries a few hundred bytes (Zephyr's default netbuf
size is 384); 2048 or more makes updates several times faster."""
FEW_BUFFERS = 2
"""With two buffers or fewer only one request can be in flight (no pipelining)."""
CLOCK_UNSET_BEFORE_YEAR = 2000
"""A device clock reading earlier than this counts from boot: it was never set."""
CRASH_FILE = re.compile(r"(core|crash|dump|fault|panic)", re.IGNORECASE)
"""A pulled file with one of these in its name holds a crash dump."""
ERROR_COUNTER = re.compile(r"(err|fail|drop|overrun|timeout|reset|crc|lost)", re.IGNORECASE)
"""Statistics counters whose growth means something went wrong while we watched."""


class Severity(Enum):
    WARN = "warn"
    """Look at this: it can fail an update or the device."""
    NOTE = "note"
    """Worth knowing; nothing is wrong yet."""


class Kind(Enum):
    STACK_NEAR_OVERFLOW = "stack_near_overflow"
    HEAP_LOW_WATER = "heap_low_water"
    CRASH_DUMP = "crash_dump"
    RESET_REASON = "reset_reason"
    CLOCK_NEVER_SET = "clock_never_set"
    UNCONFIRMED_WILL_REVERT = "unconfirmed_will_revert"
    PENDING_IMAGE = "pending_image"
    SMALL_BUFFERS = "small_buffers"
    STATS_GREW = "stats_grew"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    severity: Severity
    title: str
    """One sentence a person reads first."""
    evidence: tuple[str, ...]
    """The values it was decided on, one per line."""


def find(
    snapshot: DiagnosticSnapshot,
    *,
    stats_later: StatsReadout | None = None,
    pulled_files: Sequence[str] = (),
) -> list[Finding]:
    """Every finding in `snapshot`, warnings first.

    `stats_later`: the statistics read again a little later (growth between the two reads);
    `pulled_files`: device paths pulled into the bundle (a crash dump among them).
    """
    found = [
        *_stacks(snapshot),
        *_heaps(snapshot),
        *_crash(snapshot, pulled_files),
        *_clock(snapshot),
        *_images(snapshot),
        *_buffers(snapshot),
        *_stats_growth(snapshot, stats_later),
    ]
    return sorted(found, key=lambda f: f.severity is not Severity.WARN)


def _stacks(s: DiagnosticSnapshot) -> list[Finding]:
    near = [
        t
        for t in s.tasks.value or ()
        if t.stack_size_bytes and t.stack_used_bytes is not None
        if t.stack_used_bytes / t.stack_size_bytes >= STACK_NEAR_FULL
    ]
    if not near:
        return []
    return [
        Finding(
            Kind.STACK_NEAR_OVERFLOW,
            Severity.WARN,
            f"{len(near)} thread{'s' if len(near) > 1 else ''} near a stack overflow",
            tuple(
                f"{t.name}: {t.stack_used_bytes} of {t.stack_size_bytes} bytes of stack used "
                f"({100 * (t.stack_used_bytes or 0) // (t.stack_size_bytes or 1)}%)"
                for t in near
            ),
        )
    ]


def _heaps(s: DiagnosticSnapshot) -> list[Finding]:
    low = [
        (name, p)
        for name, p in (s.mempools.value or {}).items()
        if p.nblks and p.min is not None and p.min / p.nblks <= HEAP_LOW_WATER
    ]
    return [
        Finding(
            Kind.HEAP_LOW_WATER,
            Severity.WARN,
            f"Memory pool {name!r} nearly ran out",
            (
                f"at worst {p.min} of {p.nblks} blocks were free (low-water mark), "
                f"{p.nfree} free now; blocks of {p.blksiz} bytes",
            ),
        )
        for name, p in low
    ]


def _crash(s: DiagnosticSnapshot, pulled_files: Sequence[str]) -> list[Finding]:
    found = []
    dumps = [path for path in pulled_files if CRASH_FILE.search(path.rsplit("/", 1)[-1])]
    if dumps:
        found.append(
            Finding(
                Kind.CRASH_DUMP,
                Severity.WARN,
                "A crash dump is on the device",
                tuple(f"{path} (in the bundle under files/)" for path in dumps),
            )
        )
    resets = [line for line in s.logs.value or () if re.search(r"reset|fatal|fault", line, re.I)]
    if resets:
        found.append(
            Finding(
                Kind.RESET_REASON,
                Severity.WARN,
                "The device's log names a reset or a fault",
                tuple(resets[-3:]),
            )
        )
    return found


def _clock(s: DiagnosticSnapshot) -> list[Finding]:
    reading = s.datetime
    if reading.code == CLOCK_NOT_SET:
        evidence = f"the device answers a clock read with {CLOCK_NOT_SET}"
    elif reading.value and reading.value[:4].isdigit() and int(reading.value[:4]) < 2000:
        evidence = f"the device clock reads {reading.value} (counting from boot)"
    else:
        return []
    return [
        Finding(
            Kind.CLOCK_NEVER_SET,
            Severity.NOTE,
            "The device clock was never set: its log times count from boot",
            (evidence, "slotwise datetime --set-now sets it"),
        )
    ]


def _images(s: DiagnosticSnapshot) -> list[Finding]:
    found = []
    slots = s.images.value or []
    for slot in slots:
        where = f"image {slot.image_number} slot {slot.slot}"
        others = [
            o
            for o in slots
            if o.image_number == slot.image_number and o.slot != slot.slot and o.version
        ]
        if slot.active and not slot.confirmed:
            back = f" to {others[0].version}" if others else ""
            found.append(
                Finding(
                    Kind.UNCONFIRMED_WILL_REVERT,
                    Severity.WARN,
                    f"The running image {slot.version} is not confirmed: the next reset "
                    f"reverts{back}",
                    (f"{where}: {slot.version}, active, not confirmed",),
                )
            )
        elif slot.pending and not slot.active:
            how = "for good (permanent)" if slot.permanent else "once, on test"
            found.append(
                Finding(
                    Kind.PENDING_IMAGE,
                    Severity.NOTE,
                    f"Image {slot.version} is pending: the next reset boots it {how}",
                    (f"{where}: {slot.version}, pending{', permanent' if slot.permanent else ''}",),
                )
            )
    return found


def _buffers(s: DiagnosticSnapshot) -> list[Finding]:
    if s.params.value is None:
        return []
    size, count = s.params.value
    if size >= SMALL_BUFFER_BYTES and count > FEW_BUFFERS:
        return []
    reasons = []
    if size < SMALL_BUFFER_BYTES:
        reasons.append(
            f"each request carries at most {format_bytes(size)} "
            "(CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE; 2048 or more is several times faster)"
        )
    if count <= FEW_BUFFERS:
        reasons.append(
            f"{count} buffer{'s' if count != 1 else ''}: one request in flight at a time "
            "(CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT; 4 or more allow pipelining)"
        )
    return [
        Finding(
            Kind.SMALL_BUFFERS,
            Severity.NOTE,
            "MCUmgr buffers are too small for fast updates",
            (f"{count} \u00d7 {size} bytes", *reasons),
        )
    ]


def _stats_growth(s: DiagnosticSnapshot, later: StatsReadout | None) -> list[Finding]:
    before = s.stats.value
    if before is None or later is None:
        return []
    grew = [
        f"{group}.{name}: {old} \u2192 {later.groups[group][name]}"
        for group, fields in before.groups.items()
        for name, old in fields.items()
        if ERROR_COUNTER.search(name)
        and group in later.groups
        and later.groups[group].get(name, old) > old
    ]
    if not grew:
        return []
    return [
        Finding(
            Kind.STATS_GREW,
            Severity.WARN,
            "Error counters grew while the report was being read",
            tuple(grew),
        )
    ]


def findings_json(found: Sequence[Finding]) -> list[dict[str, object]]:
    return [
        {
            "kind": f.kind.value,
            "severity": f.severity.value,
            "title": f.title,
            "evidence": list(f.evidence),
        }
        for f in found
    ]


def findings_text(found: Sequence[Finding]) -> list[str]:
    """Terminal lines: `warn  title` then the evidence indented; "no findings" when none."""
    if not found:
        return ["findings: none (stacks, heap, clock, images, buffers and counters look fine)"]
    lines = [f"findings ({len(found)}):"]
    for f in found:
        lines.append(f"  {f.severity.value:<5} {f.title}")
        lines.extend(f"        {e}" for e in f.evidence)
    return lines
