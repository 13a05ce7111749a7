"""Sharing one server among live views: how often each redraws and how long each tick trains.

A live view (the Train live page) trains for a moment and redraws, again and again. One view
on a laptop can redraw four times a second; thirty in a classroom, all on one small server
process, cannot: they would queue behind each other until a click waits minutes. The
``Pacer`` gives all live views together at most ``share`` of one core (the server is one
Python process, so one core is what its Python code can use), split evenly: each view's CPU
rate is ``share / n``; the rest of the core is left for clicks, full page runs and sending
the pages. A view alone on the server may use ``solo_share``. A view's tick costs its measured
overhead (evaluating, drawing) plus its training time, so with ``n`` views the interval
between ticks grows and the training per tick shrinks until
``(overhead + train) / interval <= share / n``.

Intervals come in steps of powers of two from ``min_interval`` (a view changes its timer only
by a full page run, so it should change seldom), and a view moves to a shorter interval only
with 25 % to spare (no flapping at a boundary). Views that stop say so (``forget``); a view
that vanishes (a closed tab) is dropped after ``window`` seconds without a tick.

Pure Python and thread-safe (the server runs each session's script in its own thread).

``RunGuard`` (below) is the live view's other half: a timer's tick must not make the server
drop the end of a click's page run (Streamlit's race, README "Load: a class without browsers").
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable, Hashable, MutableMapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tick:
    """One view's pace: ``interval`` seconds between ticks, ``train_seconds`` of each spent
    training; ``views`` live views share the server."""

    interval: float
    train_seconds: float
    views: int


class Pacer:
    def __init__(self, *, share: float = 0.5, solo_share: float = 0.9,
                 min_interval: float = 0.25,
                 max_interval: float = 8.0, min_train: float = 0.02, max_train: float = 0.1,
                 default_overhead: float = 0.1, window: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < share <= 1 or not 0 < solo_share <= 1:
            raise ValueError(f"share and solo_share must be in (0, 1], got {share}, {solo_share}")
        if not 0 < min_interval <= max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if not 0 <= min_train <= max_train:
            raise ValueError("need 0 <= min_train <= max_train")
        self.share, self.solo_share = share, solo_share
        self.min_interval, self.max_interval = min_interval, max_interval
        self.min_train, self.max_train = min_train, max_train
        self.default_overhead = default_overhead
        self.window = 2 * max_interval + 2 if window is None else window
        self.clock = clock
        self._lock = threading.Lock()
        # key -> (overhead estimate, last seen, the last few overheads)
        self._views: dict[Hashable, tuple[float, float, tuple[float, ...]]] = {}

    # ------------------------------------------------------------------ bookkeeping
    def _expire(self, now: float) -> None:
        for key in [k for k, (_, seen, _) in self._views.items() if now - seen > self.window]:
            del self._views[key]

    def record(self, key: Hashable, overhead: float) -> None:
        """View ``key`` ticked; its work other than training cost ``overhead`` CPU seconds.
        The estimate is the median of the last five ticks (the default until three are in),
        so that one slow tick (the first, which warms everything up) does not change the
        pace on its own."""
        overhead = max(0.0, float(overhead))
        with self._lock:
            now = self.clock()
            old = self._views.get(key)
            recent = (*(old[2] if old else ()), overhead)[-5:]
            value = statistics.median(recent) if len(recent) >= 3 else self.default_overhead
            self._views[key] = (value, now, recent)
            self._expire(now)

    def join(self, key: Hashable) -> None:
        """View ``key`` starts (or goes on) playing: it counts for the others from now on,
        before its first tick (thirty views pressing Play together must not each plan as
        if alone)."""
        with self._lock:
            now = self.clock()
            old = self._views.get(key)
            self._views[key] = (old[0], now, old[2]) if old else (self.default_overhead, now, ())
            self._expire(now)

    def forget(self, key: Hashable) -> None:
        """View ``key`` stopped (paused, finished, reset)."""
        with self._lock:
            self._views.pop(key, None)

    def views(self) -> int:
        """Live views that ticked within ``window`` seconds."""
        with self._lock:
            self._expire(self.clock())
            return len(self._views)

    # ------------------------------------------------------------------ the pace
    def _level(self, seconds: float) -> float:
        """The shortest ``min_interval * 2**j`` of at least ``seconds``, at most the maximum."""
        if seconds <= self.min_interval:
            return self.min_interval
        j = math.ceil(math.log2(seconds / self.min_interval) - 1e-12)
        return min(self.max_interval, self.min_interval * 2.0 ** j)

    def plan(self, key: Hashable, current: float | None = None) -> Tick:
        """The pace for view ``key`` now; ``current`` is its interval so far (hysteresis)."""
        with self._lock:
            self._expire(self.clock())
            overhead = self._views[key][0] if key in self._views else self.default_overhead
            n = len(self._views) + (key not in self._views)
        rate = (self.solo_share if n == 1 else self.share) / n  # CPU seconds per second
        need = (overhead + self.min_train) / rate  # the interval this view needs
        interval = self._level(need)
        if current is not None and interval < current:  # speed up only with 25 % to spare
            interval = min(current, self._level(need * 1.25))
        train = min(self.max_train, max(self.min_train, rate * interval - overhead))
        return Tick(interval=interval, train_seconds=train, views=n)


LIVE = Pacer(share=0.5, solo_share=0.9)
"""The server's one pacer (Train live): all sessions' live training together use at most half
of the server's one Python core (one session alone 90 %). With more sessions each redraws less
often (alone: four times a second; ten: every 2 s; thirty: every 8 s) and clicks stay quick for
everyone. Shared on purpose, and thread-safe."""


class RunGuard:
    """Keeps a live view's timer from swallowing the end of a click's page run.

    Streamlit (1.67) runs a session's scripts in one thread per *runner*; a runner runs the
    requests that reach it while it works, one after the other, and stops when none is left.
    Its messages reach the browser through the server's event loop, later. A fragment tick
    that the event loop handles after the runner stopped but before the loop has passed on
    that runner's last messages starts a new runner, and from then on the event loop drops
    every message the old runner still had queued (``AppSession.request_rerun``, then
    ``_handle_scriptrunner_event_on_event_loop``: "non-current ScriptRunner"), the page run's
    ``script_finished`` among them: the click's run never ends in the browser.

    Such a tick is the first tick to run on another thread than the click's run. So a page
    run that a visitor caused is *guarded* (its thread kept in ``state``), and the first live
    tick on another thread answers with a full page run instead (``cut`` is True), which sends
    the whole page, and its end, again. That run is the page's own (``own=True``), and the
    page's own runs (this one, a new timer, training's end) guard nothing new: one rerun at
    most per click. When no message was lost (a tick on an idle server also starts a runner)
    the rerun costs one page run and shows the same page.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def page_run(self, state: MutableMapping[str, Any], *, own: bool) -> None:
        """A full page run: guard it, unless it is the page's own rerun (which runs on the
        guarded run's thread, or after the guard was spent)."""
        if not own:
            state[self.key] = threading.current_thread()

    def cut(self, state: MutableMapping[str, Any]) -> bool:
        """In a live tick (a fragment run): whether to rerun the whole page because the
        guarded page run's end may have been dropped. True once per guarded run."""
        runner = state.get(self.key)
        if runner is None or runner is threading.current_thread():
            return False
        state[self.key] = None
        return True
