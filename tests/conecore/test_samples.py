"""Samples: constrained samples never escape; the animation's frames say so; the page works."""

from __future__ import annotations

import numpy as np
import pytest

import conecore as cc
from conecore.plotting import figure_sample_animation
from conecore.samples import mmd, sample_frames


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




# ---------------------------------------------------------------------- on a polyhedron
def example(name: str) -> cc.Polyhedron:
    from conecore.presets import POLYHEDRA

    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())


@pytest.mark.parametrize("name", ["square", "quadrant", "probability"])
def test_polyhedron_layer_samples_stay_inside_and_the_twin_escapes(name):
    P = example(name)
    frames = sample_frames(P, steps=120, frames=4, n_samples=200, seed=0)
    assert set(frames.samples) == {"polyhedron_layer", "unconstrained"}
    for frame in frames.samples["polyhedron_layer"]:
        assert P.contains(frame, atol=1e-5).all()
    assert not frames.outside["polyhedron_layer"].any()
    assert frames.outside["unconstrained"][-1].sum() > 20


def test_the_target_sits_on_a_facet_inside_the_affine_hull():
    from conecore.samples import boundary_point, target_distribution

    P = example("probability")
    centre, H, _ = boundary_point(P)
    assert np.allclose(H @ np.ones(3), 0)  # the hull's directions sum to 0
    assert P.contains(centre[None])[0] and np.isclose(centre.sum(), 1)
    assert np.isclose(centre.min(), 0)  # on a facet p_i = 0
    T = target_distribution(P, 2000, seed=1)
    assert np.allclose(T.sum(axis=1), 1, atol=1e-5)  # probability vectors' plane
    share = P.contains(T, atol=1e-6).mean()
    assert 0.2 < share < 0.8  # part inside, part outside (negative entries)
    square = example("square")
    c, _, _ = boundary_point(square)
    assert np.isclose(np.abs(c).max(), 1)  # on an edge of the square


def test_an_empty_polyhedron_or_another_object_is_a_clear_error():
    empty = cc.Polyhedron.from_inequalities([[1, 0], [-1, 0]], [-1, -1])
    with pytest.raises(cc.ConeInputError, match="the polyhedron is empty"):
        sample_frames(empty)
    with pytest.raises(cc.ConeInputError, match=r"sample_frames needs a conecore\.Cone"):
        sample_frames(np.eye(2))  # type: ignore[arg-type]
