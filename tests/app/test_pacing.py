"""The pacer that shares the server among live views (explorer/pacing.py)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def crowd(n: int, overhead: float = 0.08, **kwargs) -> tuple[Pacer, Clock]:
    """``n`` views that have ticked three times at ``overhead`` each."""
    clock = Clock()
    pacer = Pacer(clock=clock, **kwargs)
    for k in range(n):
        for _ in range(3):
            pacer.record(k, overhead)
    return pacer, clock


def test_one_view_redraws_four_times_a_second_and_trains_fully():
    pacer, _ = crowd(1)
    tick = pacer.plan(0)
    assert (tick.interval, tick.train_seconds, tick.views) == (0.25, 0.1, 1)


def test_a_new_view_counts_itself():
    pacer, _ = crowd(3)
    assert pacer.plan("new").views == 4
    assert pacer.plan(0).views == 3


@pytest.mark.parametrize("n", [2, 5, 10, 30])
def test_more_views_slow_each_down_within_the_share(n):
    pacer, _ = crowd(n, share=0.75)
    tick = pacer.plan(0)
    one = crowd(1, share=0.75)[0].plan(0)
    assert tick.interval > one.interval
    assert tick.views == n
    used = n * (0.08 + tick.train_seconds) / tick.interval
    assert used <= 0.75 + 1e-9, used


def test_intervals_are_powers_of_two_times_the_minimum_and_capped():
    for n in range(1, 200, 7):
        tick = crowd(n)[0].plan(0)
        ratio = tick.interval / 0.25
        assert ratio == 2 ** round(__import__("math").log2(ratio))
        assert tick.interval <= 8.0
        assert 0.02 <= tick.train_seconds <= 0.1


@settings(max_examples=200, deadline=None)
@given(overheads=st.lists(st.floats(0, 2), min_size=1, max_size=60),
       share=st.floats(0.05, 1.0), solo=st.floats(0.05, 1.0))
def test_property_the_share_holds_unless_capped(overheads, share, solo):
    """Whatever the views cost, together they stay within ``share`` of a core (``solo_share``
    for a view alone), except where the interval is at its maximum (every view still redraws
    now and then)."""
    clock = Clock()
    pacer = Pacer(share=share, solo_share=solo, clock=clock)
    for k, c in enumerate(overheads):
        for _ in range(3):
            pacer.record(k, c)
    total = 0.0
    capped = False
    for k, c in enumerate(overheads):
        tick = pacer.plan(k)
        assert 0.25 <= tick.interval <= 8.0
        assert 0.02 <= tick.train_seconds <= 0.1
        capped |= tick.interval == 8.0
        total += (c + tick.train_seconds) / tick.interval
    if not capped:
        assert total <= (solo if len(overheads) == 1 else share) * (1 + 1e-9), total


def test_speeding_up_needs_room_to_spare():
    """Two views, half a core, no training: a view costing c needs c / 0.25 s between ticks."""
    def plan(overhead: float, current: float | None) -> float:
        pacer = Pacer(share=0.5, min_train=0.0, max_train=0.0, clock=Clock())
        for _ in range(3):
            pacer.record(0, overhead)
            pacer.record(1, overhead)
        return pacer.plan(0, current=current).interval

    assert plan(0.06, None) == 0.25  # needs 0.24 s: fits the fastest interval
    assert plan(0.06, 0.5) == 0.5  # ...but not with 25 % to spare: a slow view stays slow
    assert plan(0.04, 0.5) == 0.25  # needs 0.16 s (0.2 with the margin): speeds up
    assert plan(0.06, 0.25) == 0.25


def test_slowing_down_is_immediate():
    pacer, _ = crowd(1)
    fast = pacer.plan(0).interval
    for k in range(1, 20):
        for _ in range(3):
            pacer.record(k, 0.08)
    assert pacer.plan(0, current=fast).interval > fast


def test_forgotten_and_silent_views_leave():
    pacer, clock = crowd(10)
    assert pacer.views() == 10
    pacer.forget(3)
    assert pacer.views() == 9
    clock.now += pacer.window - 1
    pacer.record(0, 0.08)
    assert pacer.views() == 9
    clock.now += 2  # the others' last tick is now older than the window
    assert pacer.views() == 1
    assert pacer.plan(0).interval == 0.25


def test_the_estimate_is_the_median_of_recent_ticks():
    clock = Clock()
    pacer = Pacer(clock=clock, default_overhead=0.1)
    pacer.record(0, 5.0)  # a slow first tick (warm-up) ...
    pacer.record(0, 0.04)
    assert pacer._views[0][0] == 0.1  # ... the default until three ticks are in
    pacer.record(0, 0.05)
    assert pacer._views[0][0] == 0.05  # median of 5.0, 0.04, 0.05
    for c in (0.3, 0.3, 0.3):
        pacer.record(0, c)
    assert pacer._views[0][0] == 0.3  # the last five: 0.04, 0.05, 0.3, 0.3, 0.3
    pacer.record(0, -5)  # clamped to 0
    assert pacer._views[0][0] == 0.3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="share"):
        Pacer(share=0)
    with pytest.raises(ValueError, match="solo_share"):
        Pacer(solo_share=1.5)
    with pytest.raises(ValueError, match="min_interval"):
        Pacer(min_interval=2, max_interval=1)
    with pytest.raises(ValueError, match="min_train"):
        Pacer(min_train=0.2, max_train=0.1)


def test_threads_recording_at_once():
    pacer = Pacer()

    def work(k: int) -> None:
        for _ in range(500):
            pacer.record(k, 0.05)
            pacer.plan(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pacer.views() == 8



def test_views_that_join_count_before_their_first_tick():
    pacer = Pacer(clock=Clock())
    for k in range(30):  # a class presses Play together
        pacer.join(k)
    assert pacer.views() == 30
    assert pacer.plan(29).views == 30 and pacer.plan(29).interval > 0.25
    pacer.record(3, 0.2)
    pacer.join(3)  # joining again keeps what was measured
    assert pacer._views[3][2] == (0.2,)
