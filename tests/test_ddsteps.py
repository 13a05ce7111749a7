"""The step-by-step double description agrees with pycddlib, and its steps are consistent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.ddsteps import double_description


def same_cone_as_library(A) -> None:
    dd = double_description(A)
    cone = cc.Cone.from_inequalities(A)
    assert len(dd.lines) == len(cone.lines)
    rays = np.array(dd.rays, dtype=float).reshape(-1, cone.dim)
    if len(cone.lines):
        rays = rays - (rays @ cone.lines.T) @ cone.lines  # the library's rays are orthogonal
    if len(rays):
        rays = rays / np.linalg.norm(rays, axis=1, keepdims=True)
    assert cc.Cone.from_generators(rays, np.array(dd.lines, dtype=float).reshape(
        -1, cone.dim)).same_as(cone)
    assert len(rays) == len(cone.rays)  # no redundant rays survive


@pytest.mark.parametrize("name", [n for n in cc.PRESETS if cc.preset(n).shape[1] <= 6])
def test_presets_agree_with_pycddlib(name):
    same_cone_as_library(cc.preset(name))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=7),
       st.randoms(use_true_random=False))
def test_random_cones_and_orders_agree(rows, rnd):
    same_cone_as_library(rows)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    dd = double_description(rows, order)
    assert cc.Cone.from_generators(np.array(dd.rays, dtype=float).reshape(-1, 3),
                                   np.array(dd.lines, dtype=float).reshape(-1, 3)).same_as(
        cc.Cone.from_inequalities(rows))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=4, max_size=4), min_size=1, max_size=7))
def test_every_kept_ray_satisfies_every_constraint_so_far(rows):
    dd = double_description(rows)
    seen = []
    for step in dd.steps:
        seen.append(np.array(step.normal))
        for r in step.rays:
            assert all(a @ np.array(r) <= 0 for a in seen)
        for ell in step.lines:
            assert all(a @ np.array(ell) == 0 for a in seen)
        for (p, n), born in zip(step.parents, step.born):
            assert np.array(step.normal) @ np.array(born) == 0
            assert p in step.dropped and n in step.kept
        assert step.sentence()


def test_bounds_are_refused_with_a_message():
    with pytest.raises(cc.ConeTooLargeError, match="d = 7"):
        double_description(np.eye(7))
    with pytest.raises(cc.ConeTooLargeError, match="permutation"):
        double_description([[1, 0], [0, 1]], order=[0, 0])


def test_steps_page_steps_and_reports_a_bad_order():
    at = steps_page()
    assert not at.exception
    assert "cuts off 1 ray(s)" in at.markdown[0].value
    at.slider(key="dd_step").set_value(0).run()
    assert at.markdown[0].value.startswith("**Start:**")
    at.text_input(key="dd_order").input("4, 3, 2").run()
    assert any("each row number from 1 to 4 once" in e.value for e in at.error)
    at.text_input(key="dd_order").input("4 3 2 1").run()
    at.slider(key="dd_step").set_value(4).run()
    assert not at.error and "add a1" in at.markdown[0].value


def test_classroom_link_sets_the_step_and_hides_the_order():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["A"] = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"
    at.query_params["dd_step"] = "2"
    at.query_params["controls"] = "hide"
    at.run()
    at.switch_page("pages/steps.py").run()
    assert not at.exception
    assert at.markdown[0].value.startswith("**Step 2: add a2")
    assert not [t for t in at.text_input if t.key == "dd_order"]


def test_play_all_steps_walks_from_start_to_the_end_and_stops():
    at = steps_page()
    assert at.slider(key="dd_step").value == 4  # the last step first
    at.button(key="dd_play").click().run()
    assert at.slider(key="dd_step").value == 0 and at.session_state["dd_playing"]
    assert at.button(key="dd_play").disabled and not at.button(key="dd_pause").disabled
    seen = []
    for _ in range(6):  # each timer tick is one more run; AppTest runs the whole script
        at.run()
        seen.append(at.slider(key="dd_step").value)
    assert seen[:4] == [1, 2, 3, 4] and not at.session_state["dd_playing"]
    assert at.markdown[0].value.startswith("**Step 4:")
    assert not at.exception


def steps_page(**params: str):
    """The Steps page (AppTest) for the square pyramid, with extra URL parameters."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"),
                           default_timeout=120)
    at.query_params["A"] = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/steps.py").run()
    return at
