"""The upload's window controller on its own: event sequences in, windows and timeouts out."""

from __future__ import annotations

import pytest

from app.client.window import WindowController, WindowPolicy

POLICY = WindowPolicy(start_window=4, max_window=6, grow_after=3)

# (events, window after them, ceiling after them); "a" = clean in-order answer (rtt 10 ms),
# "o" = answer out of order, "t" = timeout, "e" = ENOMEM, "r" = rewind, "l" = loss, "s" = resync
WINDOW_CASES = [
    ("", 4, 6),
    ("aa", 4, 6),
    ("aaa", 5, 6),  # three clean answers grow it by one
    ("aaaaaa", 6, 6),
    ("aaaaaaaaaaaa", 6, 6),  # never past the ceiling
    ("aat", 3, 6),  # a timeout shrinks by one ...
    ("aataaa", 4, 6),  # ... and the count of clean answers starts over
    ("aaraa", 3, 6),  # a rewind shrinks by one too
    ("aasaa", 4, 6),  # a resync keeps the window, restarts the count
    ("ooo", 4, 6),  # answers out of order do not count as clean
    ("e", 3, 3),  # ENOMEM: one less, and never back to the window that hit it
    ("eaaaaaaaa", 3, 3),
    ("aaae", 4, 4),  # hit at 5: the ceiling is 4
    ("l", 2, 6),  # a loss halves
    ("ll", 1, 6),
    ("lll", 1, 6),  # never below one
    ("tttttt", 1, 6),
    ("eeeeee", 1, 1),
]


def feed(controller: WindowController, events: str) -> None:
    for event in events:
        match event:
            case "a":
                controller.on_answer(0.01, in_order=True)
            case "o":
                controller.on_answer(0.01, in_order=False)
            case "t":
                controller.on_timeout()
            case "e":
                controller.on_enomem()
            case "r":
                controller.on_rewind()
            case "l":
                controller.on_loss()
            case "s":
                controller.on_resync()


@pytest.mark.parametrize(("events", "window", "ceiling"), WINDOW_CASES)
def test_window_after_events(events: str, window: int, ceiling: int) -> None:
    """The window grows after clean runs, shrinks on trouble, and respects ENOMEM's ceiling."""
    controller = WindowController(POLICY)
    feed(controller, events)
    assert (controller.window, controller.max_window) == (window, ceiling)


def test_largest_window_remembers_the_peak() -> None:
    """The largest window reached is kept for the statistics, after later shrinking."""
    controller = WindowController(POLICY)
    feed(controller, "aaaaaall")
    assert controller.largest_window == 6 and controller.window == 1


TIMEOUT_POLICY = WindowPolicy(
    start_window=1, max_window=1, first_timeout_s=0.5, min_timeout_s=0.1, max_timeout_s=16.0
)


@pytest.mark.parametrize(
    ("reliable", "events", "first_chunk", "timeout_s"),
    [
        (False, "", False, 0.5),  # nothing measured yet: the first-chunk wait
        (False, "a", True, 0.5),  # the first chunk always waits for the slot erase
        (False, "a", False, 0.1),  # 10 ms measured: srtt + 4 * rttvar = 30 ms, the floor wins
        (True, "a", False, 0.5),  # reliable links: a 5x floor
        (False, "t", False, 0.75),  # each timeout backs off by 1.5x ...
        (False, "tt", False, 1.125),
        (False, "tttttttttttt", False, 16.0),  # ... up to the ceiling
        (False, "tta", False, 0.1),  # an answer ends the back-off
        (False, "e", False, 1.0),  # ENOMEM at window 1 doubles it
    ],
)
def test_timeout_after_events(
    reliable: bool, events: str, first_chunk: bool, timeout_s: float
) -> None:
    """The timeout: the first-chunk wait until a round trip is known, RFC 6298 after, a floor
    by link kind, and exponential back-off while requests time out."""
    controller = WindowController(
        WindowPolicy(
            start_window=1,
            max_window=1,
            first_timeout_s=0.5,
            min_timeout_s=0.1,
            max_timeout_s=16.0,
            reliable=reliable,
        )
    )
    feed(controller, events)
    assert controller.timeout_s(first_chunk=first_chunk) == pytest.approx(timeout_s)


def test_round_trip_is_smoothed_as_rfc_6298() -> None:
    """The first sample sets srtt and half of it as variance; later ones move by 1/8 and 1/4."""
    controller = WindowController(TIMEOUT_POLICY)
    controller.on_answer(0.2, in_order=True)
    assert (controller.srtt_s, controller.rttvar_s) == pytest.approx((0.2, 0.1))
    controller.on_answer(0.6, in_order=True)
    assert controller.srtt_s == pytest.approx(0.875 * 0.2 + 0.125 * 0.6)
    assert controller.rttvar_s == pytest.approx(0.75 * 0.1 + 0.25 * 0.4)
    assert controller.timeout_s() == pytest.approx(controller.srtt_s + 4 * controller.rttvar_s)
