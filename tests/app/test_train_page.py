"""The Train live page and the loop behind it."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

import conecore as cc
from tests.app.pages import open_page


def train_page() -> AppTest:
    return open_page("train", A="1,-2;-3,1")


def test_page_step_play_pause_reset_and_page_switch():
    at = train_page()
    at.button(key="train_step").click().run()
    assert at.session_state["train_run"].steps == 1
    at.button(key="train_play").click().run()
    assert at.session_state["train_playing"]
    at.run()  # one fragment tick per run in AppTest
    steps = at.session_state["train_run"].steps
    assert steps > 1
    assert any("never left the cone" in s.value for s in at.success)
    at.button(key="train_pause").click().run()
    assert not at.session_state["train_playing"]
    paused = at.session_state["train_run"].steps
    at.run()
    assert at.session_state["train_run"].steps == paused
    # Switch away and back: the model is still there.
    at.switch_page("pages/build.py").run()
    at.switch_page("pages/train.py").run()
    assert at.session_state["train_run"].steps == paused and not at.exception
    at.button(key="train_reset").click().run()
    assert at.session_state["train_run"].steps == 0


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure the page drew under ``key``, as the browser receives it."""
    import json

    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")
             if c.proto.id.endswith(f"-{key}") or key in c.proto.id]
    assert specs, f"no chart {key}"
    return specs[0]


def points(trace: dict) -> np.ndarray:
    import base64

    def values(v):
        if isinstance(v, dict):  # Plotly's typed arrays: {"dtype": "f8", "bdata": ...}
            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return np.asarray(v, dtype=float)

    return np.column_stack([values(trace["x"]), values(trace["y"])])


def test_page_outputs_figure_marks_points_outside():
    """The outputs figure the visitor sees: every ConeLayer point inside the cone, and the
    unconstrained head's escapes drawn as a separate "outside" trace, all of them outside."""
    at = train_page()
    for _ in range(3):
        at.button(key="train_step").click().run()
    cone = cc.Cone.from_inequalities([[1, -2], [-3, 1]])
    fig = chart(at, "train_outputs")
    traces = {t.get("name"): t for t in fig["data"]}
    inside = points(traces["ConeLayer"])
    assert len(inside) > 10 and np.all(cone.contains(inside, atol=1e-5))
    assert "ConeLayer: outside" not in traces
    escaped = points(traces["unconstrained: outside"])
    assert len(escaped) and not np.any(cone.contains(escaped, atol=1e-9))
    assert np.all(cone.contains(points(traces["unconstrained"]), atol=1e-9))


def test_page_paces_itself_when_many_sessions_train():
    """With nine other sessions playing on the server, Play redraws less often (the pacer's
    interval for ten views), says so, and leaves the pacer when paused."""
    from explorer.pacing import LIVE

    others = [f"other-{k}" for k in range(9)]
    try:
        at = train_page()
        at.button(key="train_play").click().run()
        alone = at.session_state["train_interval"]
        assert alone == 0.25
        key = at.session_state["train_live_key"]
        assert key in LIVE._views  # its tick was recorded
        for k in others:
            LIVE.record(k, 0.1)
        at.run()  # a tick: the pace changes, so the page reruns in full with the new timer
        assert at.session_state["train_interval"] == LIVE.plan(key).interval > alone
        captions = " ".join(c.value for c in at.caption)
        assert "10 sessions are training on this server" in captions, captions
        at.button(key="train_pause").click().run()
        assert at.session_state["train_interval"] is None
        assert key not in LIVE._views
    finally:
        for k in others:
            LIVE.forget(k)


def test_run_guard_reruns_the_page_once_after_a_tick_on_another_runner():
    """explorer.pacing.RunGuard: a click's page run is guarded; a tick on its own runner's
    thread is fine; the first tick on another thread (a new runner: the click's run may have
    lost its end) asks for a page run, once; the page's own runs guard nothing new."""
    import threading

    from explorer.pacing import RunGuard

    guard, state = RunGuard("g"), {}

    def on_thread(fn):
        out = []
        t = threading.Thread(target=lambda: out.append(fn()))
        t.start()
        t.join()
        return out[0]

    assert not guard.cut(state)  # nothing guarded yet
    guard.page_run(state, own=False)  # a click's run, on this thread
    assert not guard.cut(state)  # a tick on the same runner
    assert on_thread(lambda: guard.cut(state))  # the first tick on another runner: rerun
    assert not on_thread(lambda: guard.cut(state))  # once
    guard.page_run(state, own=True)  # the page's own rerun: not guarded
    assert not on_thread(lambda: guard.cut(state))
    on_thread(lambda: guard.page_run(state, own=False))  # a click's run on another runner
    assert guard.cut(state) and not guard.cut(state)


def test_each_page_run_draws_the_live_view_as_a_new_fragment():
    """The live view's fragment gets a fresh name (so a fresh id) in every page run: the
    ticks of a timer that a click's run replaced then name a fragment the server no longer
    has, and it drops them instead of letting them cut off the click's run."""
    at = train_page()
    first = at.session_state["train_view"]
    at.button(key="train_step").click().run()
    at.button(key="train_play").click().run()
    assert at.session_state["train_view"] == first + 2
    at.button(key="train_pause").click().run()
    assert at.session_state["train_view"] == first + 3 and not at.exception


# ---------------------------------------------------------------------- the live view's curves


# ---------------------------------------------------------------------- on a polyhedron
def polyhedron(name: str) -> cc.Polyhedron:
    from conecore.presets import POLYHEDRA

    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())


def test_page_trains_on_a_polyhedron_from_the_link_and_draws_the_polygon():
    """?train_set=polyhedron&train_poly=triangle: the PolyhedronLayer next to the other methods,
    its outputs all in the triangle, the unconstrained head's escapes all outside, and the
    triangle itself shaded in the outputs figure."""
    at = open_page("train", A="1,-2;-3,1", train_set="polyhedron", train_poly="triangle")
    assert at.radio(key="train_set").value == "polyhedron"
    assert at.selectbox(key="train_poly").value == "triangle"
    assert at.multiselect(key="train_poly_methods").value == [
        "polyhedron_layer", "unconstrained", "penalty", "projection"]
    for _ in range(3):
        at.button(key="train_step").click().run()
    assert not at.exception
    run = at.session_state["train_run"]
    assert isinstance(run.constraint, cc.Polyhedron) and run.steps == 3
    assert any("PolyhedronLayer's outputs have never left the polyhedron" in s.value
               for s in at.success)
    tri = polyhedron("triangle")
    fig = chart(at, "train_outputs")
    traces = {t.get("name"): t for t in fig["data"]}
    region = points(traces["the polyhedron"])  # the shaded triangle, closed
    assert np.allclose(region[0], region[-1]) and len(region) == 4
    assert {tuple(np.round(p, 9)) for p in region} == {(0, 0), (1, 0), (0, 1)}
    inside = points(traces["PolyhedronLayer"])
    assert len(inside) == 256 and np.all(tri.contains(inside, atol=1e-6))
    assert "PolyhedronLayer: outside" not in traces
    escaped = points(traces["unconstrained: outside"])
    assert len(escaped) and not np.any(tri.contains(escaped, atol=1e-9))
    projected = points(traces["unconstrained + test-time projection"])
    assert np.all(tri.contains(projected, atol=1e-6))
    table = at.dataframe[0].value
    assert "outside the polyhedron (%)" in table.columns
    assert list(table["method"]) == ["PolyhedronLayer", "unconstrained", "penalty",
                                     "unconstrained + test-time projection"]


def test_page_on_probability_vectors_draws_a_shadow_and_says_so():
    """d = 3: the outputs figure shows coordinates x1, x2 over the triangle the probability
    vectors cast there, the page says that inside the picture is not inside, and every
    unconstrained output is outside (it never sums to 1 exactly)."""
    at = open_page("train", A="1,-2;-3,1", train_set="polyhedron", train_poly="probability")
    at.button(key="train_step").click().run()
    assert not at.exception
    assert any("shadow" in c.value and "R^3" in c.value for c in at.caption)
    fig = chart(at, "train_outputs")
    traces = {t.get("name"): t for t in fig["data"]}
    shadow = points(traces["its shadow on (x1, x2)"])
    assert {tuple(np.round(p, 9)) for p in shadow} == {(0, 0), (1, 0), (0, 1)}
    assert "R^3" in fig["layout"]["title"]["text"]
    run = at.session_state["train_run"]
    evaluation = run.evaluate()
    assert evaluation["polyhedron_layer"]["violating"] == 0
    assert evaluation["unconstrained"]["violating"] == 1.0
    xy = points(traces["PolyhedronLayer"])
    assert np.allclose(xy, evaluation["polyhedron_layer"]["outputs"][:, :2], atol=1e-6)


def test_switching_the_set_keeps_the_old_run_until_reset():
    at = train_page()
    at.button(key="train_step").click().run()
    at.radio(key="train_set").set_value("polyhedron").run()
    assert not at.exception
    assert isinstance(at.session_state["train_run"].constraint, cc.Cone)
    assert any("constraint set changed" in i.value for i in at.info)
    at.button(key="train_reset").click().run()
    assert isinstance(at.session_state["train_run"].constraint, cc.Polyhedron)
    assert not any("constraint set changed" in i.value for i in at.info)


def test_an_unknown_example_in_the_link_is_named_and_falls_back_without_a_traceback():
    at = open_page("train", A="1,-2;-3,1", train_set="polyhedron", train_poly="nonsense")
    assert not at.exception
    assert at.selectbox(key="train_poly").value == "square"
    assert any("train_poly='nonsense'" in w.value and "triangle" in w.value for w in at.warning)
    at.button(key="train_step").click().run()
    assert not at.exception and at.session_state["train_run"].steps == 1


def test_the_sidebar_says_when_the_page_uses_a_polyhedron_not_the_cone():
    """The sidebar's "Current cone" is the session's cone; on a polyhedron it also names the
    polyhedron the page trains on, and only on that page (another page clears it)."""
    at = open_page("train", A="1,-2;-3,1", train_set="polyhedron", train_poly="triangle")
    text = " ".join(m.value for m in at.sidebar.get("markdown"))
    assert "Current cone" in text
    assert "This page uses a polyhedron, not the cone" in text and "triangle" in text.lower()
    at.radio(key="train_set").set_value("cone").run()
    text = " ".join(m.value for m in at.sidebar.get("markdown"))
    assert "Current cone" in text and "polyhedron" not in text
    at = open_page("build", A="1,-2;-3,1")
    assert not any("polyhedron" in m.value for m in at.sidebar.get("markdown"))


def test_only_the_cone_layer_trains_on_the_only_origin_cone():
    """The only-origin cone with the ConeLayer as the only method: Step trains (the layer's
    outputs, all 0, are on the graph); before, the page showed "This app has encountered an
    error"."""
    at = open_page("train", A="1,1;-1,0;0,-1")
    at.multiselect(key="train_methods").set_value(["cone_layer"]).run()
    at.button(key="train_step").click().run()
    assert not at.exception and not at.error
    assert at.session_state["train_run"].steps == 1
    assert any("never left the cone" in s.value for s in at.success)
