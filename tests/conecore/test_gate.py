"""The gate in front of the child processes (issue 14, item 4): at most ``max_parallel()``
conversions run at once, the others wait with a visible "queued" status, and an owner's new
request replaces its own pending one (waiting or running)."""

from __future__ import annotations

import os
import threading
import time

import pytest

import conecore as cc
from conecore import gate
from conecore.cdd_backend import Limits
from conecore.gate import ConeCancelledError, Ticket

SLOW = [[1, t, t * t, t**3] for t in range(1, 401)]  # issue 14's 400 x 4 cone: seconds of work
SMALL = [[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]]  # the pyramid
CHILD = Limits(in_process_seconds=0)  # even a small cone runs in a child


@pytest.fixture
def one_at_a_time():
    old = gate.set_max_parallel(1)
    yield
    gate.set_max_parallel(old)


class Recorder:
    """A ticket's on_wait that keeps every status and says when the child runs."""

    def __init__(self) -> None:
        self.statuses: list[gate.WaitStatus] = []
        self.running = threading.Event()

    def __call__(self, status: gate.WaitStatus) -> None:
        self.statuses.append(status)
        if status.state == "running":
            self.running.set()

    def ticket(self, owner=None) -> Ticket:
        return Ticket(owner=owner, on_wait=self, interval=0.05)


def in_thread(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run():
        start = time.perf_counter()
        try:
            box["value"] = fn()
        except BaseException as exc:  # the test reads it
            box["error"] = exc
        box["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_the_gate_has_one_slot_per_core_by_default():
    assert gate.max_parallel() == (int(os.environ[gate.PARALLEL_ENV])
                                   if os.environ.get(gate.PARALLEL_ENV)
                                   else len(os.sched_getaffinity(0)))
    with pytest.raises(ValueError, match="at least 1"):
        gate.set_max_parallel(0)


def test_a_second_conversion_waits_in_line_and_says_so(one_at_a_time):
    """With one slot, a conversion that finds it busy reports "queued" with one ahead, then
    runs when the first one ends (here at its time limit)."""
    first = Recorder()
    thread, box = in_thread(lambda: cc.Cone.from_inequalities(
        SLOW, limits=Limits(timeout=1.5), ticket=first.ticket("a")))
    assert first.running.wait(20)
    second = Recorder()
    start = time.perf_counter()
    cone = cc.Cone.from_inequalities(SMALL, limits=CHILD, ticket=second.ticket("b"))
    waited = time.perf_counter() - start
    thread.join(20)
    assert len(cone.rays) == 4
    assert isinstance(box.get("error"), cc.ConeTimeoutError) or "value" in box  # fast machine
    queued = [s for s in second.statuses if s.state == "queued"]
    assert queued and queued[0].ahead == 1 and queued[0].running == 1
    assert "Queued: 1 conversion ahead of yours" in queued[0].message()
    assert waited > 0.3  # it waited for the first to stop
    assert gate.load() == (0, 0)


def test_a_new_request_replaces_the_owners_running_one(one_at_a_time):
    """The owner's running child is killed within a poll, and the newer request runs."""
    first = Recorder()
    thread, box = in_thread(lambda: cc.Cone.from_inequalities(
        SLOW, limits=Limits(timeout=20), ticket=first.ticket("session-1")))
    assert first.running.wait(20)
    start = time.perf_counter()
    cone = cc.Cone.from_inequalities(SMALL, limits=CHILD,
                                     ticket=Recorder().ticket("session-1"))
    thread.join(5)
    assert not thread.is_alive() and isinstance(box.get("error"), ConeCancelledError)
    assert box["seconds"] < 10 and time.perf_counter() - start < 5
    assert len(cone.rays) == 4 and gate.load() == (0, 0)


def test_a_new_request_replaces_the_owners_waiting_one(one_at_a_time):
    """Another owner holds the slot; the owner's first request waits in line and leaves it
    (ConeCancelledError) as soon as the same owner asks again; the second takes its place."""
    other = Recorder()
    busy, busy_box = in_thread(lambda: cc.Cone.from_inequalities(
        SLOW, limits=Limits(timeout=2.0), ticket=other.ticket("someone-else")))
    assert other.running.wait(20)
    mine = Recorder()
    waiting, box = in_thread(lambda: cc.Cone.from_inequalities(
        SMALL, limits=CHILD, ticket=mine.ticket("session-2")))
    for _ in range(200):
        if mine.statuses:
            break
        time.sleep(0.01)
    assert mine.statuses and mine.statuses[0].state == "queued"
    assert gate.load() == (1, 1)
    again = Recorder()
    cone = cc.Cone.from_inequalities(SMALL, limits=CHILD, ticket=again.ticket("session-2"))
    waiting.join(5)
    busy.join(20)
    assert isinstance(box.get("error"), ConeCancelledError)
    assert "waited in line" in str(box["error"])
    assert box["seconds"] < 1.5  # it left the line at once, long before the slot was free
    assert len(cone.rays) == 4 and [s.state for s in again.statuses][:1] == ["queued"]
    assert isinstance(busy_box.get("error"), cc.ConeTimeoutError) or "value" in busy_box
    assert gate.load() == (0, 0)


def test_an_exception_from_on_wait_stops_the_request_and_frees_the_slot(one_at_a_time):
    """A user interface stops a request by raising from its callback (Streamlit does, when the
    user asks for something else): the child is killed and the slot is free again."""

    class Stop(Exception):
        pass

    def on_wait(status):
        if status.state == "running" and status.elapsed > 0.2:
            raise Stop

    start = time.perf_counter()
    with pytest.raises(Stop):
        cc.Cone.from_inequalities(SLOW, limits=Limits(timeout=20),
                                  ticket=Ticket(on_wait=on_wait, interval=0.05))
    assert time.perf_counter() - start < 5
    assert gate.load() == (0, 0)
    assert len(cc.Cone.from_inequalities(SMALL, limits=CHILD).rays) == 4
