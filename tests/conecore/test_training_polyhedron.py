"""The one training loop on a polyhedron A z <= b: the PolyhedronLayer next to the other methods
(conecore.training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.baselines import penalty
from conecore.layer import NONNEG
from conecore.polyhedron_layer import polyhedron_violation
from conecore.presets import POLYHEDRA
from conecore.training import (
    POLYHEDRON_METHODS,
    LiveTraining,
    TrainConfig,
    constraint_rows,
    methods_for,
    projector,
    violation,
)
from conecore.violation import VIOLATION_TOL, relative_violation

# Tiny models gain nothing from intra-op threads; under pytest-xdist on a small machine the
# threads of every worker spin against each other (measured: 100 steps 0.2 s alone, 8 s so).
torch.set_num_threads(1)


def example(name: str) -> cc.Polyhedron:
    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())


@pytest.mark.parametrize("name", ["triangle", "quadrant", "strip", "probability"])
def test_every_method_learns_and_the_polyhedron_layer_never_leaves(name):
    P = example(name)
    run = LiveTraining(P, TrainConfig(seed=1))
    assert run.methods == POLYHEDRON_METHODS and run.layer_method == "polyhedron_layer"
    first = run.step()
    run.run(200)
    last = run.history[-1]
    for method in run.methods:
        assert last[method]["loss"] < first[method]["loss"], method
    assert all(h["polyhedron_layer"]["violating"] == 0 for h in run.history)
    assert max(h["polyhedron_layer"]["worst"] for h in run.history) <= VIOLATION_TOL
    evaluation = run.evaluate()
    for method in ("polyhedron_layer", "projection"):  # the latter projected at test time
        assert evaluation[method]["violating"] == 0, method
        assert P.contains(evaluation[method]["outputs"], atol=1e-5).all(), method
    assert evaluation["unconstrained"]["violating"] > 0.01  # the targets leak outside


def test_targets_are_a_feasible_function_plus_noise():
    P = example("hexagon")
    clean = LiveTraining(P, TrainConfig(noise=0.0, methods=("polyhedron_layer",)))
    assert P.contains(clean.Y.double().numpy(), atol=1e-5).all()
    noisy = LiveTraining(P, TrainConfig(noise=0.3, methods=("polyhedron_layer",)))
    assert not P.contains(noisy.Y.double().numpy()).all()


def test_projection_task_targets_are_the_projections():
    P = example("square")
    run = LiveTraining(P, TrainConfig(task="projection", methods=("polyhedron_layer",)))
    X, Y = run.X.double().numpy(), run.Y.double().numpy()
    assert np.allclose(Y, np.clip(X, -1, 1), atol=1e-6)


def test_a_cone_is_the_special_case_with_one_vertex_at_the_origin():
    """The same seed draws the same targets on a cone and on that cone as a polyhedron (the
    vertex at 0 adds nothing), and b = 0 makes both violations the same measure."""
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    P = cc.Polyhedron.from_cone(cone)
    a = LiveTraining(cone, TrainConfig(seed=2, methods=("unconstrained",)))
    b = LiveTraining(P, TrainConfig(seed=2, methods=("unconstrained",)))
    assert torch.allclose(a.Y, b.Y, atol=1e-6) and torch.equal(a.X, b.X)
    Z = torch.randn(500, 2, dtype=torch.float64)
    assert torch.allclose(violation(cone, Z, 0.5), violation(P, Z, 0.5))


def test_methods_that_need_a_cone_are_skipped_on_a_polyhedron_with_the_reason():
    P = example("triangle")
    assert methods_for(P) == POLYHEDRON_METHODS
    run = LiveTraining(P, TrainConfig(methods=("cone_layer", "closed_form", "unconstrained")))
    assert run.methods == ("unconstrained",)
    assert "needs a cone" in run.skipped["cone_layer"] and "closed_form" in run.skipped
    with pytest.raises(cc.ConeInputError, match="no method left"):
        LiveTraining(P, TrainConfig(methods=("cone_layer",)))
    cone_run = LiveTraining(cc.Cone.from_inequalities(cc.preset("wedge")),
                            TrainConfig(methods=("polyhedron_layer", "cone_layer")))
    assert cone_run.methods == ("cone_layer",) and "polyhedron_layer" in cone_run.skipped


def test_an_empty_polyhedron_or_another_object_is_a_clear_error():
    empty = cc.Polyhedron.from_inequalities([[1, 0], [-1, 0]], [-1, -1])
    with pytest.raises(cc.ConeInputError, match="empty"):
        LiveTraining(empty)
    with pytest.raises(cc.ConeInputError, match=r"Cone or a conecore\.Polyhedron"):
        LiveTraining(np.eye(2))  # type: ignore[arg-type]


def test_penalty_and_rows_count_equalities_both_ways():
    P = example("probability")  # p >= 0, p1 + p2 + p3 = 1
    A, b = constraint_rows(P)
    assert A.shape == (5, 3)
    At, bt = torch.as_tensor(A), torch.as_tensor(b)
    inside = torch.tensor([[0.2, 0.3, 0.5]], dtype=torch.float64)
    assert float(penalty(At, inside, 10.0, bt)) == 0.0
    above = torch.tensor([[0.5, 0.5, 0.5]], dtype=torch.float64)  # sums to 1.5
    assert float(penalty(At, above, 10.0, bt)) == pytest.approx(10 * 0.25)
    below = torch.tensor([[0.1, 0.1, 0.1]], dtype=torch.float64)  # sums to 0.3
    assert float(penalty(At, below, 10.0, bt)) == pytest.approx(10 * 0.49)
    # b = None is the cone's penalty, as before
    assert float(penalty(At, above, 1.0)) == float(penalty(At, above, 1.0, torch.zeros(5)))
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    A0, b0 = constraint_rows(cone)
    assert np.array_equal(A0, cone.A) and not b0.any()
    z = torch.randn(50, 2, dtype=torch.float64)
    assert torch.equal(violation(cone, z, 1.0), relative_violation(cone.A, z, 1.0))


@pytest.mark.parametrize("name", ["hexagon", "quadrant", "strip", "probability", "octahedron"])
def test_projector_lands_inside_and_leaves_feasible_points_alone(name):
    P = example(name)
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(200, P.dim)) * 3
    Z = projector(P)(Y)
    assert Z.shape == Y.shape and P.contains(Z, atol=1e-5).all()
    kept = polyhedron_violation(P, Y) == 0
    assert np.array_equal(Z[kept], Y[kept])
    # the nearest feasible point: no feasible sample (the vertices) is closer
    V = np.asarray(P.vertices)
    nearest_vertex = np.linalg.norm(Y[:, None] - V[None], axis=2).min(axis=1)
    assert np.all(np.linalg.norm(Z - Y, axis=1) <= nearest_vertex + 1e-5)


# ---------------------------------------------------------------------- property
ROWS = st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=3), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.lists(st.integers(-2, 4), min_size=5, max_size=5), st.sampled_from(list(NONNEG)),
       st.sampled_from(["regression", "projection"]), st.floats(1e-3, 1.0),
       st.integers(0, 10_000))
def test_every_polyhedron_layer_output_in_training_is_inside(rows, b, nonneg, task, lr, seed):
    """Any polyhedron, map, task, learning rate (up to 1: wild weights) and seed: every batch
    output of the PolyhedronLayer during training, and every test output, is in the
    polyhedron."""
    d = len(rows[0])
    rows = [(r + [0] * d)[:d] for r in rows]
    P = cc.Polyhedron.from_inequalities(rows, b[: len(rows)])
    config = TrainConfig(task=task, nonneg=nonneg, lr=lr, seed=seed, width=8, batch=32,
                         n_train=64, n_eval=64, methods=("polyhedron_layer", "unconstrained"))
    if P.is_empty:
        with pytest.raises(cc.ConeInputError, match="empty"):
            LiveTraining(P, config)
        return
    run = LiveTraining(P, config)
    seen = []
    layer = run.models["polyhedron_layer"]
    hook = layer.register_forward_hook(lambda m, i, out: seen.append(out.detach().double()))
    try:
        run.run(12)
    finally:
        hook.remove()
    assert len(seen) == 12
    for z in seen:
        assert torch.isfinite(z).all()
        assert float(polyhedron_violation(P, z).max()) <= VIOLATION_TOL
    assert all(h["polyhedron_layer"]["violating"] == 0 for h in run.history)
    out = run.evaluate()["polyhedron_layer"]
    assert not out["outside"].any() and P.contains(out["outputs"], atol=1e-4).all()
