"""Figures that tell the truth: what is drawn is where the maths says it is."""

from __future__ import annotations

import json

import numpy as np
import pytest

import conecore as cc
from conecore import plotting


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def polygon(t) -> np.ndarray:
    return np.column_stack([t.x, t.y]).astype(float)


def area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def inside(poly: np.ndarray, p: np.ndarray) -> bool:
    """Point in a convex polygon (either orientation)."""
    edges = np.roll(poly[:-1], -1, axis=0) - poly[:-1]
    cross = edges[:, 0] * (p[1] - poly[:-1, 1]) - edges[:, 1] * (p[0] - poly[:-1, 0])
    return bool(np.all(cross >= -1e-12) or np.all(cross <= 1e-12))


@pytest.mark.parametrize("preset", ["wedge", "only-origin", "whole-space"])
def test_2d_cone_shading_reaches_the_edge_of_the_view_and_is_the_cone(preset):
    cone = cc.Cone.from_inequalities(cc.preset(preset))
    fig = plotting.figure_2d(cone, radius=2.0)
    R = 2.5  # the view is 1.25 x the radius
    shaded = [t for t in fig.data if t.name == "cone"]
    if cone.kind == cc.Kind.ONLY_ORIGIN:
        assert not shaded
        return
    poly = polygon(shaded[0])
    assert np.all(cone.contains(poly, atol=1e-9))  # every corner of the shading is in the cone
    assert np.isclose(np.abs(poly).max(), R)  # and it reaches the view's edge
    if len(cone.rays):  # a point of the cone near the view's corner is shaded
        inner = cone.rays.sum(axis=0)
        inner = inner / np.abs(inner).max() * R * 0.95
        assert inside(poly, inner)


def test_half_planes_are_the_half_of_the_view_on_their_side():
    """Each half-plane fills exactly half of the square view (no finite rotated rectangle with
    corners inside the view), on the side a . x <= 0."""
    cone = cc.Cone.from_inequalities([[1, -2], [-3, 1]])
    fig = plotting.figure_2d(cone)
    R = 1.25
    halves = [t for t in fig.data if t.legendgroup == "half" and t.fill == "toself"]
    assert len(halves) == 2
    for t, a in zip(halves, cone.A, strict=True):
        poly = polygon(t)
        assert np.all(poly @ a <= 1e-9)
        assert np.isclose(area(poly), 2 * R * R)


def test_clip_to_view_is_the_intersection():
    square = plotting._clip_to_view([], 1.0)
    assert len(square) == 5 and np.isclose(area(square), 4.0)
    half = plotting._clip_to_view([np.array([1.0, 0.0])], 1.0)  # x <= 0
    assert np.allclose(sorted(map(tuple, np.round(half[:-1], 9))),
                       sorted([(-1, -1), (0, -1), (0, 1), (-1, 1)]))
    assert len(plotting._clip_to_view([np.array([1.0, 0]), np.array([-1.0, 0]),
                                       np.array([0, 1.0]), np.array([0, -1.0])], 1.0)) == 0


def test_outputs_far_out_still_sit_on_the_shading():
    """Train live / Samples: outputs at (3, 1.7) inside the wedge are on the shaded region
    (the shading stopped at radius 1.2 and they looked outside)."""
    cone = cc.Cone.from_inequalities([[1, -2], [-3, 1]])
    z = np.array([[3.0, 1.7]])
    assert cone.contains(z)[0]
    fig = plotting.figure_outputs(cone, {"cone_layer": z}, {"cone_layer": np.array([False])})
    assert inside(polygon(trace(fig, "cone")), z[0])


def test_sample_animation_frames_carry_their_title_and_redraw_it():
    """During playback the title follows the slider: each frame has its own title and every
    animate call redraws (a 2-D frame without redraw keeps the first title)."""
    from conecore.samples import sample_frames

    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    frames = sample_frames(cone, steps=50, frames=3, n_samples=50, seed=0)
    fig = plotting.figure_sample_animation(cone, frames)
    titles = [f.layout.title.text for f in fig.frames]
    assert len(set(titles)) == len(titles) and all(t.startswith("step ") for t in titles)
    assert all(s.args[1]["frame"]["redraw"] for s in fig.layout.sliders[0].steps)
    assert all(b.args[1]["frame"]["redraw"] for b in fig.layout.updatemenus[0].buttons)
    assert fig.layout.legend.y < 0 < fig.layout.title.y  # legend under the plot, title on top


def test_curves_draw_the_cone_layer_on_top_and_label_powers_of_ten():
    history = [{m: {"loss": 1.0 / (k + 1), "violating": 0.0 if m != "unconstrained" else 0.2}
                for m in ("cone_layer", "unconstrained", "closed_form", "projection")}
               for k in range(50)]
    fig = plotting.figure_curves(history, "violating", "outside", log=False)
    names = [t.name for t in fig.data]
    assert names[-1] == "cone_layer"  # drawn last: on top of the closed form's line at 0
    dashes = {t.name: t.line.dash for t in fig.data}
    assert len(set(dashes.values())) == len(dashes)  # each method its own dash
    log = plotting.figure_curves(history, "loss", "loss")
    assert log.layout.yaxis.dtick == 1 and log.layout.yaxis.exponentformat == "power"


def test_outputs_of_a_3d_cone_are_drawn_with_the_cone_in_space():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    Z = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]])
    fig = plotting.figure_outputs(cone, {"cone_layer": Z[:1], "unconstrained": Z},
                                  {"cone_layer": np.array([False]),
                                   "unconstrained": ~cone.contains(Z)})
    kinds = {t.type for t in fig.data}
    assert "scatter3d" in kinds and ("mesh3d" in kinds or "surface" in kinds)
    assert any(t.name == "unconstrained: outside" and t.type == "scatter3d" for t in fig.data)


def test_live_curves_are_thinned_and_complete():
    """figure_curves (drawn on every live tick, built without Plotly's validation): one line a
    method with its title and colour, at most ``max_points`` points, the last steps included
    up to the stride, values floored for the log axis, and a figure Plotly can serialise."""
    import plotly.graph_objects as go

    from conecore.plotting import METHOD_COLORS, figure_curves

    history = [{"cone_layer": {"loss": 1.0 / (k + 1)}, "penalty": {"loss": 0.0}}
               for k in range(1000)]
    fig = figure_curves(history, "loss", "training loss", {"cone_layer": "ConeLayer"},
                        max_points=300)
    spec = fig.to_dict()
    go.Figure(spec)  # Plotly's validation accepts what was built without it
    names = [t["name"] for t in spec["data"]]
    assert names == ["penalty", "ConeLayer"]  # the ConeLayer drawn last, on top
    assert spec["data"][1]["line"]["color"] == METHOD_COLORS["cone_layer"]
    x = fig.data[1].x
    assert len(x) <= 300 and x[0] == 1 and x[-1] > 1000 - 4
    assert min(fig.data[0].y) == 1e-8  # zero floored on the log axis
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert spec["layout"]["title"]["text"] == "training loss"
    empty = figure_curves([], "loss", "nothing yet", log=False)
    assert len(empty.data) == 0 and empty.layout.yaxis.type == "linear"


def test_dd_step_labels_rays_as_the_page_lists_them_and_cut_rays_stand_out():
    from conecore.ddsteps import double_description

    A = [[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]]
    dd = double_description(A, [0, 2, 1, 3])
    for k in range(1, len(dd.steps) + 1):
        step = dd.steps[k - 1]
        fig = plotting.figure_dd_step(dd, k, animate=False)
        for t in fig.data:
            if t.type == "scatter3d" and t.name and t.name[0] == "r" and t.name[1:].isdigit():
                j = int(t.name[1:])
                tip = np.array([t.x[-1], t.y[-1], t.z[-1]])
                want = np.asarray(step.rays[j - 1], dtype=float)
                L = np.asarray(cc.Cone.from_inequalities(
                    [A[i] for i in dd.order[:k]]).lines, dtype=float)
                if len(L):  # drawn orthogonal to the lines; the step's ray may lean along them
                    want = want - L.T @ (L @ want)
                assert np.allclose(tip / np.linalg.norm(tip), want / np.linalg.norm(want))
        cut = [t for t in fig.data if t.name == "cut off"]
        assert all(t.line.color == plotting.CUT_COLOR for t in cut)
        assert bool(cut) == bool(step.dropped)


def test_polyhedron_2d_shades_exactly_the_region_and_marks_vertices():
    from conecore.presets import POLYHEDRA

    square = cc.polyhedron_from_ine(POLYHEDRA["square"][2])
    fig = plotting.figure_polyhedron_2d(square)
    region = polygon(trace(fig, "the polyhedron"))
    assert np.isclose(area(region), 4.0) and np.all(square.contains(region, atol=1e-9))
    V = polygon(trace(fig, "vertices"))
    assert sorted(map(tuple, V.tolist())) == [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    quadrant = cc.polyhedron_from_ine(POLYHEDRA["quadrant"][2])  # unbounded: cut by the view
    fig = plotting.figure_polyhedron_2d(quadrant, np.array([[2.0, 0.0], [0.0, 0.0]]))
    region = polygon(trace(fig, "the polyhedron"))
    assert np.all(quadrant.contains(region, atol=1e-9)) and area(region) > 1
    assert len(trace(fig, "outputs: outside").x) == 1  # (0, 0) has x < 1


# ---------------------------------------------------------------------- polyhedra: train, samples
def _example(name: str) -> cc.Polyhedron:
    from conecore.presets import POLYHEDRA

    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())


def test_coordinate_shadow_of_the_cube_is_the_square_and_of_probability_the_triangle():
    from conecore.plotting import coordinate_shadow

    square = coordinate_shadow(_example("cube"), (0, 2))
    assert square.dim == 2 and square.same_as(_example("square"))
    tri = coordinate_shadow(_example("probability"))
    assert tri.same_as(_example("triangle"))
    with pytest.raises(ValueError, match="two different coordinates"):
        coordinate_shadow(_example("cube"), (1, 1))


def test_polyhedron_outputs_figure_marks_what_it_is_told_and_views_every_point():
    from conecore.plotting import figure_polyhedron_outputs

    P = _example("triangle")
    inside = np.array([[0.2, 0.2], [0.5, 0.4]])
    far = np.array([[3.0, -2.0]])
    fig = figure_polyhedron_outputs(P, {"polyhedron_layer": inside, "unconstrained": far},
                                    {"polyhedron_layer": np.array([False, False]),
                                     "unconstrained": np.array([True])},
                                    {"polyhedron_layer": "PL", "unconstrained": "U"})
    traces = {t.name: t for t in fig.data}
    assert "(view)" not in " ".join(traces)  # the points that size the view are not drawn
    assert np.allclose(np.column_stack([traces["PL"].x, traces["PL"].y]), inside)
    assert len(traces["U"].x) == 0 and np.allclose([traces["U: outside"].x[0],
                                                    traces["U: outside"].y[0]], far[0])
    lo, hi = fig.layout.xaxis.range
    assert lo < 0 and hi > 3  # the far point is in view
    region = np.column_stack([traces["the polyhedron"].x, traces["the polyhedron"].y])
    assert P.contains(region, atol=1e-9).all()


def test_polyhedron_outputs_in_3d_are_drawn_over_the_shadow_with_a_title_that_says_so():
    from conecore.plotting import figure_polyhedron_outputs

    P = _example("cube")
    Z = np.array([[0.5, 0.5, 3.0]])  # over the square, outside the cube
    fig = figure_polyhedron_outputs(P, {"unconstrained": Z}, {"unconstrained": np.array([True])})
    traces = {t.name: t for t in fig.data}
    assert "its shadow on (x1, x2)" in traces and "R^3" in fig.layout.title.text
    assert (traces["unconstrained: outside"].x[0], traces["unconstrained: outside"].y[0]) == (
        0.5, 0.5)


def test_polyhedron_sample_animation_has_the_polygon_and_a_frame_per_checkpoint():
    from conecore.plotting import figure_polyhedron_sample_animation
    from conecore.samples import sample_frames

    P = _example("hexagon")
    frames = sample_frames(P, steps=30, frames=3, n_samples=50, seed=0)
    fig = figure_polyhedron_sample_animation(P, frames, {"polyhedron_layer": "PL",
                                                         "unconstrained": "U"})
    assert "the polyhedron" in {t.name for t in fig.data} and len(fig.frames) == 3
    for frame, samples in zip(fig.frames, frames.samples["polyhedron_layer"], strict=True):
        pl = next(t for t in frame.data if t.name == "PL")
        assert np.allclose(np.column_stack([pl.x, pl.y]), samples)
        assert "samples outside the polyhedron: PL: 0" in frame.layout.title.text


def test_polyhedron_projection_is_the_hull_of_the_projected_vertices():
    d = 5
    cube = cc.Polyhedron.from_inequalities(np.vstack([np.eye(d, dtype=int),
                                                      -np.eye(d, dtype=int)]), [1] * (2 * d))
    fig = plotting.figure_polyhedron_projected(cube, (1, 4))
    ring = trace(fig, "shadow: the hull of the projected vertices")
    assert len(ring.x) == 5 and np.isclose(area(polygon(ring)), 4.0)
    assert "Projection onto x2, x5" in fig.layout.title.text
    # A shifted orthant: one vertex, rays from it; a ray orthogonal to the view is a point.
    orthant = cc.Polyhedron.from_inequalities(-np.eye(4, dtype=int), [-1, -2, -3, -4])
    fig = plotting.figure_polyhedron_projected(orthant, (0, 1, 2), np.zeros((3, 4)))
    rays = trace(fig, "rays (projected)")
    assert np.sum(np.isnan(np.asarray(rays.x, dtype=float))) == 3  # 3 of the 4 rays show
    assert len(trace(fig, "outputs: outside").x) == 3
    with pytest.raises(ValueError, match="2 or 3 distinct"):
        plotting.figure_polyhedron_projected(cube, (1, 1))


def test_polyhedron_2d_draws_each_boundary_across_the_view_and_shades_what_it_cuts():
    # x <= 3 and y >= 1: neither boundary passes through the origin.
    P = cc.Polyhedron.from_inequalities([[1, 0], [0, -1]], [3, -1])
    fig = plotting.figure_polyhedron_2d(P)
    lo = [fig.layout.xaxis.range[0], fig.layout.yaxis.range[0]]
    hi = [fig.layout.xaxis.range[1], fig.layout.yaxis.range[1]]
    lines = polygon(trace(fig, "boundaries a·x = b"))
    segments = [s for s in np.split(lines, np.flatnonzero(np.isnan(lines[:, 0]))) if len(s)]
    ends = [e for e in (s[~np.isnan(s[:, 0])] for s in segments) if len(e)]
    assert len(ends) == 2
    x3 = next(e for e in ends if np.allclose(e[:, 0], 3))
    assert np.allclose(sorted(x3[:, 1]), [lo[1], hi[1]])  # from edge to edge of the view
    y1 = next(e for e in ends if np.allclose(e[:, 1], 1))
    assert np.allclose(sorted(y1[:, 0]), [lo[0], hi[0]])
    cut = [t for t in fig.data if t.name == "cut away by a constraint"]
    assert len(cut) == 2
    for t, (a, beta) in zip(cut, [((1, 0), 3), ((0, -1), -1)]):  # a x >= b where shaded
        assert np.all(polygon(t) @ np.array(a) >= beta - 1e-9)
    labels = trace(fig, "constraint numbers")
    assert list(labels.text) == ["1", "2"]
    hl = plotting.figure_polyhedron_2d(P, highlight=1)
    assert len(trace(hl, "new constraint 2").x) == 2
    assert not any(t.name == "boundaries a·x = b" for t in
                   plotting.figure_polyhedron_2d(P, show_constraints=False).data)


def test_polyhedron_dd_step_figure_marks_what_is_cut_and_born():
    from conecore.ddsteps import polyhedron_steps

    # The triangle x, y >= 0, x + y <= 1 after the orthant: two rays cut, two vertices born.
    steps = polyhedron_steps([[-1, 0], [0, -1], [1, 1]], [0, 0, 1])
    fig = plotting.figure_polyhedron_dd_step(steps, 3)
    assert sorted(map(tuple, polygon(trace(fig, "born")).tolist())) == [(0, 1), (1, 0)]
    assert len(trace(fig, "vertices").x) == 3
    assert len(trace(fig, "new constraint 3").x) == 2
    cube3 = polyhedron_steps([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1],
                              [0, 0, -1]], [1] * 6)
    fig = plotting.figure_polyhedron_dd_step(cube3, 2)  # a slab: 2 vertices, 2 lines
    assert len(trace(fig, "vertices").x) == 2
    assert trace(fig, "the polyhedron (cut by the view)").type == "mesh3d"
    fig = plotting.figure_polyhedron_dd_step(cube3, 6)
    assert len(trace(fig, "born").x) == 4 and len(trace(fig, "the polytope").i) == 12


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("rows", [[[1, -2], [-3, 1]], [[1, 0, -1], [0, 1, -1], [-1, 0, -1]],
                                  [[1, 1, 0]]])
def test_rows_past_1e154_draw_the_same_cone(rows):
    """The same cone with A's rows scaled by 1e200: the same picture (the hover text shows the
    rows as typed). The plain norms of such rows overflowed: the normals and half-planes
    vanished, the 3-D facets lost their colours and the surface's NNLS overflowed."""
    rows = np.array(rows, dtype=float)
    draw = plotting.figure_2d if rows.shape[1] == 2 else plotting.figure_3d

    def traces(A):
        data = json.loads(draw(cc.Cone.from_inequalities(A)).to_json())["data"]
        return [{k: v for k, v in t.items() if k != "hovertext"} for t in data]

    assert traces(rows * 1e200) == traces(rows)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_polyhedron_rows_far_out_of_range_draw_the_same_picture(scale):
    """The square |x|, |y| <= 1 with its first two rows (a and b) scaled by 1e300 or 1e-300:
    the same polyhedron, the same picture, step by step too. ``a . a`` overflowed (or
    underflowed to 0): those rows' boundaries and numbers were not drawn, with warnings."""
    from conecore.ddsteps import polyhedron_steps

    A = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    b = np.ones(4)
    s = np.array([scale, scale, 1, 1])
    for fig, ref in (
            (plotting.figure_polyhedron_2d(cc.Polyhedron.from_inequalities(A * s[:, None], b * s)),
             plotting.figure_polyhedron_2d(cc.Polyhedron.from_inequalities(A, b))),
            (plotting.figure_polyhedron_dd_step(polyhedron_steps(A * s[:, None], b * s), 2),
             plotting.figure_polyhedron_dd_step(polyhedron_steps(A, b), 2))):
        assert len(trace(ref, "constraint numbers").text) >= 2
        got, want = json.loads(fig.to_json())["data"], json.loads(ref.to_json())["data"]
        assert [t.get("name") for t in got] == [t.get("name") for t in want]
        for t, u in zip(got, want, strict=True):
            for axis in ("x", "y"):
                if axis in u:
                    assert np.allclose(polygon_axis(t, axis), polygon_axis(u, axis),
                                       equal_nan=True), (u.get("name"), axis)


def polygon_axis(t: dict, axis: str) -> np.ndarray:
    import base64

    v = t[axis]
    if isinstance(v, dict):  # Plotly's typed arrays
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def test_dd_steps_of_rows_past_1e308_as_integers_are_drawn():
    """The step-by-step works with each row as primitive integers: (1e-300, 1e200) has ~500
    digits, past float64. Drawing a step built the cone from those integers ("overflows
    (|x| must be below 1e308)": the Steps page crashed) and turned the rays into floats
    (OverflowError); both now scale each exact vector by a power of two first."""
    from fractions import Fraction

    from conecore.ddsteps import double_description

    A = np.array([[-1, Fraction(1, 3)], [10**30, 10**200], [Fraction(1, 10**300), 10**200],
                  [1, Fraction(1, 10)]], dtype=object)
    dd = double_description(A)
    assert max(abs(v) for row in dd.A for v in row) > 2**1024  # past float64
    for k in range(len(dd.steps) + 1):
        fig = plotting.figure_dd_step(dd, k)
        data = json.loads(fig.to_json())["data"]
        assert all(np.isfinite(polygon_axis(t, "x")[~np.isnan(polygon_axis(t, "x"))]).all()
                   for t in data if "x" in t)


def test_polyhedron_steps_with_exact_vectors_past_1e308():
    """Rays and lines of a step as primitive integers can pass 1e308 ((1e300, -7/2, 0) and
    (1e30, 1, 1)): from_parts refused them and the Polyhedra page crashed; they are directions,
    so each is scaled by a power of two. A vertex past 1e308 cannot be drawn at all: a
    ConeInputError that says so (the page shows it in place of the picture)."""
    from fractions import Fraction

    from conecore.ddsteps import polyhedron_steps

    steps = polyhedron_steps(np.array([[10**300, Fraction(-7, 2), 0], [10**30, 1, 1]],
                                      dtype=object), [2**63, 1])
    assert max(abs(v) for s in steps.steps for r in s.rays for v in r) > 2**1024
    for k in range(len(steps.steps)):
        plotting.figure_polyhedron_dd_step(steps, k)
    big, huge = 10**30, 10**300
    far = polyhedron_steps(np.array([[2, -3, big], [Fraction(1, 10), huge, 2**63],
                                     [Fraction(-7, 2), Fraction(1, huge), Fraction(-7, 2)],
                                     [-3, Fraction(-7, 2), -3], [huge, -1, big]], dtype=object),
                           [-1, big, 1, -big, big])
    plotting.figure_polyhedron_dd_step(far, 3)
    with pytest.raises(cc.ConeInputError, match="vertex with a coordinate past 1e308"):
        plotting.figure_polyhedron_dd_step(far, 4)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_tiny_row_with_a_large_b_draws_without_overflow_warnings():
    """x1 * 1e-300 <= 1e10: brought into range (a divided by 2^-997), b passes float64. It is
    inf, never binding (the boundary x1 = 1e310 is off any view), without the overflow
    warnings rows_in_range and the boundary lines raised."""
    P = cc.polyhedron_from_A_b("1e-300 0\n-1 0\n0 1\n0 -1", "1e10\n0\n1\n1")
    A, b = P.rows_in_range()
    assert np.isinf(b[0]) and np.isfinite(A).all()
    fig = plotting.figure_polyhedron_2d(P)
    assert len(trace(fig, "constraint numbers").text) == 3  # rows 2 to 4
