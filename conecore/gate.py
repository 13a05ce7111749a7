"""The gate in front of the child processes: at most ``max_parallel()`` conversions run at once
in this Python process (by default one per core), the others wait in line, first come first
served; a request of an owner replaces that owner's older one.

A conversion that may take long runs in a child process (``cdd_backend.py``). One server serves
many users, so the children share its cores: a request that finds them all busy waits here and
can say so. Pass a :class:`Ticket`:

* ``on_wait(status)`` is called in the requesting thread while it waits in line and while its
  child runs (when the number ahead changes, and every ``interval`` seconds), with a
  :class:`WaitStatus` whose :meth:`~WaitStatus.message` reads "Queued: 2 conversions ahead of
  yours" or "Computing the extreme rays: 3 s (stops at 10 s)". If the callback raises (a user
  interface stopping the request), the request leaves the line, or its child is killed, and the
  exception propagates.
* ``owner``: a newer request with the same owner (a user session) cancels this one: a waiting
  request leaves the line, a running child is killed within 0.1 s, and the older request raises
  :class:`ConeCancelledError`.

The time limit counts from the start of the child; time spent in line does not count (the line
moves: every child ahead of it stops at its own limit). The gate is process-wide on purpose
(the cores are); :func:`set_max_parallel` changes its width, and the environment variable
``CONECORE_MAX_PARALLEL`` sets it at import.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from conecore.errors import ConeError

PARALLEL_ENV = "CONECORE_MAX_PARALLEL"
POLL_S = 0.1  # how often a running child is checked for its time limit and for cancellation


class ConeCancelledError(ConeError):
    """A newer request of the same owner replaced this one (it was waiting in line, or its
    child process was stopped)."""


@dataclass(frozen=True)
class WaitStatus:
    """Where a request stands: ``"queued"`` (``ahead`` conversions run or wait before it) or
    ``"running"`` (its child has run ``elapsed`` seconds of its ``timeout``)."""

    state: str
    ahead: int
    running: int
    waited: float
    elapsed: float
    timeout: float

    def message(self) -> str:
        """One line for a status bar."""
        if self.state == "queued":
            s = "" if self.ahead == 1 else "s"
            return (f"Queued: {self.ahead} conversion{s} ahead of yours "
                    f"({self.running} running, {max_parallel()} at a time); "
                    f"waiting {self.waited:.0f} s.")
        return (f"Computing the extreme rays: {self.elapsed:.0f} s "
                f"(stops at {self.timeout:g} s).")


@dataclass(frozen=True)
class Ticket:
    """Who asks (``owner``: any hashable, e.g. a session id; ``None``: anonymous) and how to
    tell them that they wait (``on_wait``, called every ``interval`` seconds at most)."""

    owner: Hashable | None = None
    on_wait: Callable[[WaitStatus], None] | None = None
    interval: float = 0.5


@dataclass
class ChildResult:
    """What a child left: its exit status, its output, and whether it was stopped at its
    time limit."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float


class _Entry:
    __slots__ = ("cancelled", "owner", "since")

    def __init__(self, owner: Hashable | None) -> None:
        self.owner = owner
        self.cancelled = False
        self.since = time.monotonic()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _initial_width() -> int:
    value = os.environ.get(PARALLEL_ENV, "").strip()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    return _cores()


class _Gate:
    def __init__(self, width: int) -> None:
        self.cond = threading.Condition()
        self.width = width
        self.running: list[_Entry] = []
        self.waiting: list[_Entry] = []
        self.latest: dict[Hashable, _Entry] = {}

    # -------------------------------------------------------------- owners
    def claim(self, owner: Hashable | None) -> _Entry:
        """A new entry for ``owner``; the owner's older entry (waiting or running) is
        cancelled."""
        entry = _Entry(owner)
        if owner is None:
            return entry
        with self.cond:
            old = self.latest.get(owner)
            if old is not None:
                old.cancelled = True
                self.cond.notify_all()
            self.latest[owner] = entry
        return entry

    def _forget(self, entry: _Entry) -> None:
        if entry.owner is not None and self.latest.get(entry.owner) is entry:
            del self.latest[entry.owner]

    # -------------------------------------------------------------- the line
    def enter(self, entry: _Entry, ticket: Ticket | None, timeout: float) -> None:
        """Wait until ``entry`` may start a child; raises :class:`ConeCancelledError` when
        it is replaced meanwhile."""
        interval = ticket.interval if ticket else 0.5
        on_wait = ticket.on_wait if ticket else None
        told: int | None = None
        last = 0.0
        with self.cond:
            self.waiting.append(entry)
        try:
            while True:
                with self.cond:
                    if entry.cancelled:
                        raise ConeCancelledError(
                            "a newer request replaced this one while it waited in line")
                    if self.waiting[0] is entry and len(self.running) < self.width:
                        self.waiting.pop(0)
                        self.running.append(entry)
                        return
                    ahead = len(self.running) + self.waiting.index(entry)
                    running = len(self.running)
                now = time.monotonic()
                if on_wait is not None and (ahead != told or now - last >= interval):
                    told, last = ahead, now
                    on_wait(WaitStatus("queued", ahead, running, now - entry.since, 0.0,
                                       timeout))
                with self.cond:
                    if not entry.cancelled and not (self.waiting[0] is entry
                                                    and len(self.running) < self.width):
                        self.cond.wait(min(interval, POLL_S * 5))
        except BaseException:
            with self.cond:
                if entry in self.waiting:
                    self.waiting.remove(entry)
                    self._forget(entry)
                    self.cond.notify_all()
            raise

    def leave(self, entry: _Entry) -> None:
        with self.cond:
            if entry in self.running:
                self.running.remove(entry)
            self._forget(entry)
            self.cond.notify_all()


_GATE = _Gate(_initial_width())


def max_parallel() -> int:
    """How many child conversions may run at once in this process."""
    return _GATE.width


def set_max_parallel(n: int | None) -> int:
    """Let at most ``n`` child conversions run at once (``None``: one per core); returns the
    previous width. Raising it lets waiting requests start at once."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"max_parallel has to be an integer of at least 1. Got {n!r}")
    with _GATE.cond:
        old, _GATE.width = _GATE.width, (n if n is not None else _cores())
        _GATE.cond.notify_all()
    return old


def load() -> tuple[int, int]:
    """``(running, waiting)``: the child conversions running now and those in line."""
    with _GATE.cond:
        return len(_GATE.running), len(_GATE.waiting)


def cancel(owner: Hashable) -> None:
    """Cancel ``owner``'s request, if one waits or runs (it raises ConeCancelledError)."""
    _GATE.claim(owner)
    with _GATE.cond:
        _GATE.latest.pop(owner, None)


def run_child(argv: list[str], payload: str, timeout: float,
              ticket: Ticket | None = None) -> ChildResult:
    """Run ``argv`` with ``payload`` on its stdin through the gate: wait for a free slot, then
    let it run at most ``timeout`` seconds (killed after), telling ``ticket.on_wait``.

    Raises :class:`ConeCancelledError` when a newer request of ``ticket.owner`` replaces this
    one; anything ``on_wait`` raises propagates after the child is killed.
    """
    entry = _GATE.claim(ticket.owner if ticket else None)
    _GATE.enter(entry, ticket, timeout)
    proc = None
    try:
        # The job goes through a file: communicate() with a timeout does not resume writing
        # its input when called again (CPython 3.11), so a pipe would stall a large job.
        with tempfile.TemporaryFile("w+", encoding="utf-8") as job:
            job.write(payload)
            job.seek(0)
            # No preexec_fn: the child limits its own memory (fork + exec stays thread-safe).
            proc = subprocess.Popen(argv, stdin=job, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        start = time.monotonic()
        interval = ticket.interval if ticket else 0.5
        last = start
        while True:
            try:
                out, err = proc.communicate(timeout=POLL_S)
                return ChildResult(proc.returncode, out, err, False,
                                   time.monotonic() - start)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if entry.cancelled:
                raise ConeCancelledError("a newer request replaced this one; its child was "
                                         "stopped")
            if now - start >= timeout:
                proc.kill()
                out, err = proc.communicate()
                return ChildResult(proc.returncode, out, err, True, now - start)
            if ticket and ticket.on_wait and now - last >= interval:
                last = now
                ticket.on_wait(WaitStatus("running", 0, len(_GATE.running), 0.0, now - start,
                                          timeout))
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        _GATE.leave(entry)
