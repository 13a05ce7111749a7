"""Projections agree with each other and land in the cone; the closed form and its rank test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.projection import ProjectionNotConverged, has_disjoint_rows, has_full_row_rank


def in_cone_and_box(cone, Z, box=None, tol=1e-6, Y=None):
    floor = 0.0 if Y is None else np.linalg.norm(Y, axis=1)  # as ProjectionInfo.max_violation
    assert cc.relative_violation(cone.A, Z, floor).max() <= tol
    if box is not None:
        assert np.abs(Z).max() <= box * (1 + tol)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=6),
       st.integers(0, 2**31 - 1))
def test_three_projections_agree(rows, seed):
    cone = cc.Cone.from_inequalities(rows)
    Y = np.random.default_rng(seed).normal(size=(20, 3)) * 3
    exact = cc.project(cone, Y, "nnls")
    in_cone_and_box(cone, exact, tol=1e-9, Y=Y)
    active = cc.project(cone, Y, "active-set")
    in_cone_and_box(cone, active, tol=1e-12, Y=Y)
    assert np.abs(active - exact).max() <= 1e-9 * max(1.0, np.abs(Y).max())
    for method in ("osqp", "dual"):
        # The dual may miss its duality-gap test at the cap on ill-conditioned A: flagged, and
        # still close (strict=True would raise ProjectionNotConverged).
        Z, info = cc.project(cone, Y, method, tol=1e-7, strict=False, return_info=True)
        assert info.converged or (method == "dual" and info.iterations == 10_000)
        in_cone_and_box(cone, Z, tol=1e-5, Y=Y)
        assert np.abs(Z - exact).max() < 1e-3 * max(1.0, np.abs(Y).max())


def test_projection_is_the_nearest_point():
    """Moreau: y - P(y) is in the polar cone and orthogonal to P(y)."""
    cone = cc.Cone.from_inequalities(cc.preset("ice-cream", k=7))
    Y = np.random.default_rng(0).normal(size=(50, 3))
    P = cc.project(cone, Y, "nnls")
    N = Y - P
    assert np.abs(np.einsum("ij,ij->i", N, P)).max() < 1e-9
    assert np.all(N @ cone.rays.T <= 1e-9)  # N is in the polar: obtuse to every ray


def test_box_projection_osqp_and_dual_agree():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    Y = np.random.default_rng(1).normal(size=(8, 64)) * 2
    a, info_a = cc.project(cone, Y, "osqp", box=1.0, return_info=True)
    b, info_b = cc.project(cone, Y, "dual", box=1.0, tol=1e-8, return_info=True)
    in_cone_and_box(cone, a, box=1.0, tol=1e-5, Y=Y)
    in_cone_and_box(cone, b, box=1.0, tol=1e-5, Y=Y)
    assert np.abs(a - b).max() < 1e-3
    assert info_b.iterations > 0 and info_a.method == "osqp"
    assert info_a.converged and info_b.converged and info_a.iterations is None


def test_dual_runs_on_torch_tensors_and_keeps_type():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    Y = torch.randn(4, 5, 3, dtype=torch.float64)
    Z, info = cc.project(cone, Y, "dual", return_info=True)
    assert isinstance(Z, torch.Tensor) and Z.shape == Y.shape
    assert info.max_violation < 1e-5 and info.converged and info.unconverged == 0


def test_refuses_a_box_without_box_support_and_unknown_methods():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    for method in ("nnls", "active-set"):
        with pytest.raises(cc.ConeInputError, match=f"'{method}' projects onto the cone only"):
            cc.project(cone, np.zeros((1, 3)), method, box=1.0)
    with pytest.raises(cc.ConeInputError, match="method must be one of"):
        cc.project(cone, np.zeros((1, 3)), "cvx")
    with pytest.raises(cc.ConeInputError, match="points have 2 coordinates"):
        cc.project(cone, np.zeros((1, 2)))


def test_closed_form_is_feasible_for_full_row_rank():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    F = np.random.default_rng(2).normal(size=(100, 64)) * 5
    Z = cc.closed_form(cone, F)
    in_cone_and_box(cone, Z, tol=1e-12)
    Zt = cc.closed_form(cone, torch.as_tensor(F))
    assert np.allclose(Zt.numpy(), Z)


def test_closed_form_refuses_rank_deficient_A():
    cone = cc.Cone.from_inequalities(cc.preset("redundant-pyramid"))
    with pytest.raises(cc.ConeInputError, match=r"full row rank.*6 rows\s+and rank 3: row\(s\) 4"):
        cc.closed_form(cone, np.zeros((1, 3)))
    with pytest.raises(cc.ConeInputError, match="full row rank"):
        cc.ClosedFormHead(cone, 4)


@pytest.mark.parametrize("rows, full", [
    ([[1, -2], [-3, 1]], True),                  # the wedge: 2 independent rows in 2-D
    ([[1, -2, 0], [-3, 1, 0]], True),            # ... times a line: still rank 2 = m
    ([[1, 0, -1], [-1, 0, -1], [0, 1, -1], [0, -1, -1]], False),  # 4 rows in 3-D
    ([[1, 1], [2, 2]], False),                   # a repeated direction
    ([[0, 0]], False),                           # a zero row has rank 0
    ([[0, 0, -1]], True),                        # a half-space
])
def test_full_row_rank_by_hand(rows, full):
    cone = cc.Cone.from_inequalities(rows)
    assert has_full_row_rank(cone) is full
    assert full == (np.linalg.matrix_rank(np.array(rows, dtype=float)) == len(rows))
    if full:
        F = np.random.default_rng(0).normal(size=(50, len(rows[0])))
        in_cone_and_box(cone, cc.closed_form(cone, F), tol=1e-12, Y=F)  # some land near 0
    else:
        with pytest.raises(cc.ConeInputError, match="full row rank"):
            cc.closed_form(cone, np.zeros((1, len(rows[0]))))


# ------------------------------------------------------------------ exact batched projections
def generator_nnls(cone, Y):
    """The reference the active set must match: scipy's NNLS on the generators, lines free."""
    from scipy.optimize import nnls

    G = np.vstack([cone.rays, cone.lines, -cone.lines]) if len(cone.lines) else cone.rays
    if len(G) == 0:
        return np.zeros_like(Y)
    return np.array([G.T @ nnls(G.T, y)[0] for y in Y])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5).flatmap(lambda d: st.lists(
           st.lists(st.integers(-4, 4), min_size=d, max_size=d), min_size=1, max_size=8)),
       st.integers(0, 2**31 - 1), st.sampled_from([1e-2, 1.0, 1e3]))
def test_active_set_is_exact_on_random_cones(rows, seed, scale):
    """Batched Lawson-Hanson on the generators agrees with scipy's NNLS (on the rays and +-lines)
    and with the polar-side 'nnls' method to 1e-6 of the input's scale, and is in the cone."""
    cone = cc.Cone.from_inequalities(rows)
    Y = np.random.default_rng(seed).normal(size=(30, cone.dim)) * scale
    Z, info = cc.project(cone, Y, "active-set", return_info=True)
    assert info.converged and info.unconverged == 0
    assert info.max_violation <= 1e-12
    bound = 1e-6 * np.linalg.norm(Y, axis=1)[:, None] + 1e-12
    assert np.all(np.abs(Z - generator_nnls(cone, Y)) <= bound)
    assert np.all(np.abs(Z - cc.project(cone, Y, "nnls")) <= bound)


def test_active_set_on_torch_float32_keeps_type_and_is_exact():
    """Solved in float64 (the normal equations square the conditioning of 64 nearly parallel
    rays), returned in the input's dtype and device."""
    cone = cc.Cone.from_inequalities(cc.preset("ice-cream", k=64))
    Y = torch.randn(200, 3, generator=torch.Generator().manual_seed(0)) * 5
    Z, info = cc.project(cone, Y, "active-set", return_info=True)
    assert Z.dtype == torch.float32 and Z.shape == Y.shape and info.converged
    exact = cc.project(cone, Y.double().numpy(), "nnls")
    assert np.abs(Z.double().numpy() - exact).max() <= 1e-5
    assert info.max_violation <= 1e-6


def test_blocks_without_box_is_the_closed_form():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    Y = np.random.default_rng(3).normal(size=(40, 64)) * 2
    Z, info = cc.project(cone, Y, "blocks", return_info=True)
    assert np.abs(Z - cc.project(cone, Y, "nnls")).max() <= 1e-12 and info.converged


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.3, 1.0, 3.0]), st.sampled_from([2, 4]))
def test_blocks_with_box_matches_osqp(seed, box, block):
    """One multiplier per block, by bisection: OSQP's answer (polished) to 1e-6, feasible."""
    A = cc.preset("checkerboard-8") if block == 2 else cc.preset("checkerboard-8", block=4)
    rng = np.random.default_rng(seed)
    A = A * rng.integers(1, 4, size=A.shape)  # other weights, same supports
    cone = cc.Cone.from_inequalities(A)
    Y = rng.normal(size=(16, 64)) * 2
    Z, info = cc.project(cone, Y, "blocks", box=box, return_info=True)
    assert info.converged
    in_cone_and_box(cone, Z, box=box, tol=1e-12, Y=Y)
    reference = cc.project(cone, Y, "osqp", box=box, tol=1e-9)
    assert np.abs(Z - reference).max() <= 1e-6
    Zt = cc.project(cone, torch.as_tensor(Y, dtype=torch.float32), "blocks", box=box)
    assert Zt.dtype == torch.float32 and np.abs(Zt.double().numpy() - Z).max() <= 1e-5


def test_blocks_refuses_rows_that_share_a_column():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    assert not has_disjoint_rows(cone)
    assert has_disjoint_rows(cc.Cone.from_inequalities(cc.preset("checkerboard-8")))
    with pytest.raises(cc.ConeInputError, match="rows 1 and 2 both use column 1"):
        cc.project(cone, np.zeros((1, 3)), "blocks")


# ------------------------------------------------------------------ no silent failures
@pytest.mark.parametrize("method, kwargs", [
    ("dual", {"max_iter": 10}),
    ("active-set", {"max_iter": 2}),
    ("blocks", {"box": 0.5, "max_iter": 3}),
])
def test_an_unconverged_projection_raises_or_flags(method, kwargs):
    """The float32 dual on a 64-facet ice-cream cone used to return points off the cone
    (relative violation 1.0) without a word."""
    name = "checkerboard-8" if method == "blocks" else "ice-cream"
    cone = cc.Cone.from_inequalities(cc.preset(name, **({"k": 64} if name == "ice-cream" else {})))
    Y = torch.randn(50, cone.dim, generator=torch.Generator().manual_seed(0)) * 3
    with pytest.raises(ProjectionNotConverged, match=f"the {method} projection did not converge "
                       r"for \d+ of 50 points") as caught:
        cc.project(cone, Y, method, **kwargs)
    assert isinstance(caught.value, cc.ConeError)
    assert not caught.value.info.converged and caught.value.points.shape == Y.shape
    Z, info = cc.project(cone, Y, method, strict=False, return_info=True, **kwargs)
    assert not info.converged and 0 < info.unconverged <= 50 and info.iterations == kwargs[
        "max_iter"]
    assert torch.equal(Z, caught.value.points)


def test_the_dual_at_its_iteration_cap_in_float32_is_flagged():
    cone = cc.Cone.from_inequalities(cc.preset("ice-cream", k=64))
    Y = torch.randn(100, 3, generator=torch.Generator().manual_seed(1)) * 3
    _, info = cc.project(cone, Y, "dual", max_iter=2000, strict=False, return_info=True)
    assert not info.converged and info.max_violation > 1e-6
    _, exact_info = cc.project(cone, Y, "active-set", return_info=True)
    assert exact_info.converged and exact_info.max_violation <= 1e-6


def test_osqp_failure_status_is_flagged(monkeypatch):
    """OSQP's own status (here: its iteration limit) counts, not only our iterations."""
    import conecore.projection as projection

    real = projection.osqp_solver

    def starved(A, box, tol=1e-6):
        solver = real(A, box, tol)
        solver.update_settings(max_iter=1, polishing=False)
        return solver

    monkeypatch.setattr(projection, "osqp_solver", starved)
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    Y = np.random.default_rng(0).normal(size=(5, 64))
    _, info = cc.project(cone, Y, "osqp", box=1.0, strict=False, return_info=True)
    assert not info.converged and info.unconverged == 5


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("scale", [1e200, 1e-200])
@pytest.mark.parametrize("method", ["nnls", "dual", "osqp", "active-set", "closed form"])
def test_rows_far_out_of_range_project_as_the_same_cone(method, scale):
    """A with its rows times 1e200 (or 1e-200) is the same cone: the same projections. Before,
    the dual method raised OverflowError, OSQP did not converge, and the closed form's pinv
    and products overflowed."""
    rows = np.array([[1, 0, -1], [0, 1, -1], [-1, 0, -1]], dtype=float)
    Y = np.random.default_rng(0).normal(size=(6, 3))
    small, far = cc.Cone.from_inequalities(rows), cc.Cone.from_inequalities(rows * scale)

    def run(cone):
        return cc.closed_form(cone, Y) if method == "closed form" else cc.project(cone, Y, method)

    assert np.allclose(run(far), run(small), atol=1e-7)
