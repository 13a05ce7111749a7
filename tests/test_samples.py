"""Samples: constrained samples never escape; the animation's frames say so; the page works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import conecore as cc
from conecore.plotting import figure_sample_animation
from conecore.samples import mmd, sample_frames

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize("name", ["wedge", "pyramid", "wedge-line"])
def test_constrained_samples_stay_in_the_cone_and_the_twin_escapes(name):
    cone = cc.Cone.from_inequalities(cc.preset(name))
    frames = sample_frames(cone, steps=120, frames=5, n_samples=200, seed=0)
    assert frames.samples["cone_layer"].shape == (5, 200, cone.dim)
    for frame in frames.samples["cone_layer"]:
        assert np.all(cone.contains(frame, atol=1e-5))
    assert not frames.outside["cone_layer"].any()
    assert frames.outside["unconstrained"][-1].sum() > 20  # the target leaks outside


def test_animation_figure_has_one_frame_per_checkpoint_with_points_in_the_cone():
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    frames = sample_frames(cone, steps=40, frames=4, n_samples=50)
    fig = figure_sample_animation(cone, frames, {"cone_layer": "C", "unconstrained": "U"})
    assert len(fig.frames) == 4
    for frame in fig.frames:
        inside = next(t for t in frame.data if t.name == "C")
        pts = np.column_stack([inside.x, inside.y])
        assert np.all(cone.contains(pts, atol=1e-5))
        assert "samples outside the cone: C: 0" in frame.layout.title.text


def test_mmd_is_zero_for_equal_samples_and_bounds_are_named():
    import torch

    x = torch.randn(64, 2)
    assert float(mmd(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd(x, x + 3)) > 0.1
    with pytest.raises(cc.ConeInputError, match="frames must be from 2 to 60"):
        sample_frames(cc.Cone.from_inequalities(cc.preset("wedge")), frames=100)


def test_samples_page():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["A"] = "1,-2;-3,1"
    at.run()
    at.switch_page("pages/samples.py").run()
    assert not at.exception
    at.number_input(key="samples_steps").set_value(50).run()
    at.number_input(key="samples_frames").set_value(5).run()
    at.button(key="samples_go").click().run()
    assert not at.exception
    assert any("ConeLayer decoder**: 0 of 300" in m.value for m in at.markdown)


def test_benchmark_page_runs_for_the_current_cone():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["A"] = "1,-2;-3,1"
    at.run()
    at.switch_page("pages/benchmark.py").run()
    at.multiselect(key="bench_batches").set_value([1, 4]).run()
    at.button(key="bench_go").click().run()
    assert not at.exception
    rows = at.session_state["bench_rows"]
    assert {r.batch for r in rows} == {1, 4}
    assert all(r.max_violation < 1e-5 for r in rows if r.method == "ConeLayer")
    assert any("--suite layer" in c.value for c in at.code)
