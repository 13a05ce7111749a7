"""Conversions in the app (issue 14, items 3 and 4): cones the upper bound theorem used to
refuse open, and a session whose conversion waits for a free core says so."""

from __future__ import annotations

import itertools
import threading

import conecore as cc
from conecore import gate
from conecore.cdd_backend import Limits
from explorer import session
from tests.app.pages import open_page


def cross_polytope_text(n: int) -> str:
    rows = [[-1, *s] for s in itertools.product((-1, 1), repeat=n)] + [[-1] + [0] * n]
    return ";".join(",".join(map(str, row)) for row in rows)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_link_to_the_8d_cross_polytope_opens_with_its_16_rays():
    at = open_page("build", A=cross_polytope_text(8))
    assert not at.error, [e.value for e in at.error]
    assert metrics(at)["extreme rays"] == "16" and metrics(at)["rows of A"] == "257"


def test_a_session_that_waits_for_a_core_is_told_it_is_queued(monkeypatch):
    """One core for conversions, held by another visitor's long one: the page's conversion
    shows "Queued: 1 conversion ahead of yours" where it waits, then the cone."""
    session._shared_cones.clear()
    shown: list[str] = []
    real_show = session._Waiting.show
    monkeypatch.setattr(session._Waiting, "show",
                        lambda self, status: shown.append(
                            status if isinstance(status, str) else status.message())
                        or real_show(self, status))
    old = gate.set_max_parallel(1)
    try:
        started = threading.Event()
        holder = threading.Thread(target=lambda: _hold(started), daemon=True)
        holder.start()
        assert started.wait(20)
        at = open_page("build", A=cross_polytope_text(7))
        holder.join(20)
    finally:
        gate.set_max_parallel(old)
    assert not at.error, [e.value for e in at.error]
    assert metrics(at)["extreme rays"] == "14"
    assert any(text.startswith("Queued: 1 conversion ahead of yours") for text in shown)
    assert not any("Queued" in i.value for i in at.info)  # gone once the cone is there


def _hold(started: threading.Event) -> None:
    """Another visitor's conversion: the 400 x 4 cone of issue 14, stopped after 2 s."""
    slow = [[1, t, t * t, t**3] for t in range(1, 401)]

    def on_wait(status):
        if status.state == "running":
            started.set()

    try:
        cc.Cone.from_inequalities(slow, limits=Limits(timeout=2.0),
                                  ticket=gate.Ticket(owner="someone", on_wait=on_wait,
                                                     interval=0.05))
    except cc.ConeTimeoutError:
        pass
    finally:
        started.set()
