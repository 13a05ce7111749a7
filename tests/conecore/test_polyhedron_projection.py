"""Projections onto polyhedra (the PolyhedronLayer's baselines) and the benchmark suite."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

import conecore as cc
from conecore.polyhedron import Polyhedron
from conecore.polyhedron_bench import PolyhedronBench, main, polyhedron_suite, simplex_784
from conecore.polyhedron_projection import Projector, face_maps, project_polyhedron


def objective(Y: np.ndarray, Z: np.ndarray) -> np.ndarray:
    return np.linalg.norm(Y - Z, axis=1)


def satisfies_kkt(P: Polyhedron, y: np.ndarray, z: np.ndarray, tol: float = 1e-7) -> bool:
    """z is feasible and y - z is a non-negative combination of the normals active at z (free
    for equalities): the optimality conditions of the projection, sufficient as it is convex."""
    if not P.contains(z, atol=1e-9):
        return False
    norms = np.linalg.norm(P.A, axis=1)
    slack = (P.A @ z - P.b) / norms
    active = [i for i in range(len(P.A)) if slack[i] >= -tol * max(1.0, P.scale)]
    G = [P.A[i] / norms[i] for i in active] + [-P.A[i] / norms[i] for i in P.equalities]
    if not G:
        return bool(np.allclose(y, z, atol=tol))
    _, residual = nnls(np.array(G).T, y - z)
    return residual <= tol * max(1.0, np.linalg.norm(y - z))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3), st.integers(0, 2**31 - 1), st.integers(4, 12))
@example(3, 1993, 4)  # a thin tetrahedron: its vertex, solved from the normals, was 3e-8 off
def test_face_enumeration_is_the_exact_projection(d, seed, n_points):
    rng = np.random.default_rng(seed)
    P = Polyhedron.from_generators(rng.integers(-10, 11, size=(n_points, d)))
    Y = rng.normal(size=(64, d)) * 15
    Z = project_polyhedron(P, Y, "faces")
    assert all(satisfies_kkt(P, y, z) for y, z in zip(Y, Z))
    # OSQP (approximate) is never better by more than its own infeasibility allows
    reference = project_polyhedron(P, Y, "osqp", tol=1e-9)
    # (on a thin polytope an answer 1e-7 outside can be closer by 1e-4 and more: only OSQP's
    # answers inside to round-off are compared)
    norms = np.linalg.norm(P.A, axis=1)
    feasible = ((reference @ P.A.T - P.b) / norms).max(axis=1) <= 1e-9  # distance past a side
    assert np.all(objective(Y, Z)[feasible] <= objective(Y, reference)[feasible] + 1e-4)
    inside = Y[P.contains(Y)]
    assert np.allclose(project_polyhedron(P, inside, "faces"), inside)


def test_faces_handles_lower_dimensional_polytopes_and_equalities():
    segment = Polyhedron.from_generators([[0, 0, 0], [2, 2, 0]])  # a segment in R^3
    Y = np.array([[1.0, 1.0, 5.0], [3.0, 3.0, 0.0], [-1.0, 0.0, 0.0]])
    Z = project_polyhedron(segment, Y, "faces")
    assert np.allclose(Z, [[1, 1, 0], [2, 2, 0], [0, 0, 0]])


def test_a_3d_polytope_has_one_candidate_per_face():
    cube = Polyhedron.from_inequalities(np.vstack([np.eye(3, dtype=int), -np.eye(3, dtype=int)]),
                                        [1] * 6)
    P, q = face_maps(cube)
    assert P.shape == (1 + 6 + 12 + 8, 3, 3) and q.shape == (27, 3)
    assert np.allclose(P[0], np.eye(3))  # the polytope itself: y when it is inside


def test_simplex_projection_matches_osqp_and_is_exact():
    P = simplex_784(20)
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(100, 20)) * 3
    Z = project_polyhedron(P, torch.as_tensor(Y), "simplex")
    assert isinstance(Z, torch.Tensor)
    assert torch.allclose(Z.sum(dim=1), torch.ones(100, dtype=torch.float64)) and (Z >= 0).all()
    assert np.allclose(Z.numpy(), project_polyhedron(P, Y, "osqp", tol=1e-10), atol=1e-6)


def test_projection_errors():
    box = Polyhedron.from_inequalities([[1, 0], [-1, 0]], [1, 1])  # a slab: not bounded
    with pytest.raises(cc.ConeInputError, match="polytopes"):
        project_polyhedron(box, np.zeros((1, 2)), "faces")
    with pytest.raises(cc.ConeInputError, match="probability simplex"):
        project_polyhedron(box, np.zeros((1, 2)), "simplex")
    with pytest.raises(cc.ConeInputError, match="method must be"):
        project_polyhedron(box, np.zeros((1, 2)), "nnls")
    empty = Polyhedron.from_inequalities([[1], [-1]], [-1, -1])
    with pytest.raises(cc.ConeInputError, match="empty"):
        project_polyhedron(empty, np.zeros((1, 1)))
    Z, info = project_polyhedron(box, np.array([[3.0, 1.0]]), return_info=True)
    assert np.allclose(Z, [[1.0, 1.0]], atol=1e-5) and info == {"unsolved": 0}
    proj = Projector(box, "osqp")
    assert np.allclose(proj(np.array([[-4.0, 2.0]])), [[-1.0, 2.0]], atol=1e-5)


def test_the_suite_runs_and_the_layer_is_feasible():
    config = PolyhedronBench(cases=("polytope-3d",), in_features=8, batches=(1, 16), repeat=1,
                             max_solver_samples=4, device="cpu")
    seen = []
    rows = polyhedron_suite(config, progress=lambda f, label: seen.append(f))
    assert seen == [0.5, 1.0]
    assert {r.method for r in rows} == {"plain head (no constraint)", "PolyhedronLayer",
                                        "head + OSQP projection",
                                        "head + exact projection (faces)"}
    for r in rows:
        assert r.batch_ms > 0
        if r.method != "plain head (no constraint)":
            assert r.max_violation < 1e-5
    with pytest.raises(ValueError, match="cases"):
        PolyhedronBench(cases=("cube",))
    with pytest.raises(ValueError, match="batches"):
        PolyhedronBench(batches=(0,))


def test_the_cli_prints_json(capsys):
    assert main(["--case", "polytope-3d", "--batch", "2", "--repeat", "1",
                 "--max-solver-samples", "2", "--in-features", "4", "--device", "cpu",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["config"]["cases"] == ["polytope-3d"] and len(doc["rows"]) == 4


def test_osqp_returns_points_inside_as_they_are_and_stays_quiet(capfd):
    """A point already in the polyhedron is its own projection: no solve (OSQP 1.x printed
    "Polishing not needed" for each such point, even with verbose off)."""
    square = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1])
    Y = np.array([[0.25, -0.5], [1.0, 1.0], [3.0, 0.0], [0.0, -2.0]])
    Z = project_polyhedron(square, Y, "osqp")
    assert np.array_equal(Z[:2], Y[:2])  # inside (the corner too): untouched, bit for bit
    assert np.allclose(Z[2:], [[1.0, 0.0], [0.0, -1.0]], atol=1e-6)
    assert "Polishing" not in capfd.readouterr().out


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1e200, 1e40, 1e-200])
def test_rows_far_out_of_range_are_the_same_polyhedron(scale):
    """The square with its rows (and b) times 1e200, 1e40 or 1e-200: the same projections and
    the same layer. Before, OSQP returned (0, 0) for points outside at 1e200, with no sign, and
    the layer's float32 A was inf (its violation NaN)."""
    from conecore.polyhedron_layer import PolyhedronLayer

    A, b = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]), np.ones(4)
    Y = np.random.default_rng(0).normal(size=(8, 2)) * 3
    x = torch.randn(6, 3)
    results = []
    for s in (1.0, scale):
        poly = Polyhedron.from_inequalities(A * s, b * s)
        torch.manual_seed(0)
        layer = PolyhedronLayer(poly, 3)
        with torch.no_grad():
            z = layer(x)
        assert bool(torch.isfinite(layer.A).all()) and float(layer.violation(z).max()) == 0
        results.append((project_polyhedron(poly, Y, "osqp"), project_polyhedron(poly, Y, "faces"),
                        z))
    for small, far in zip(*results, strict=True):
        assert np.allclose(np.asarray(far), np.asarray(small), atol=1e-6)
