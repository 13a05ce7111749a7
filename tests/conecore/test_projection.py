"""Projections agree with each other and land in the cone; the closed form and its rank test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.projection import has_full_row_rank


def in_cone_and_box(cone, Z, box=None, tol=1e-6, Y=None):
    floor = 0.0 if Y is None else np.linalg.norm(Y, axis=1)  # as project(return_info=True)
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
    for method in ("osqp", "dual"):
        Z = cc.project(cone, Y, method, tol=1e-7)
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
    assert info_b["iterations"] > 0 and info_a["method"] == "osqp"


def test_dual_runs_on_torch_tensors_and_keeps_type():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    Y = torch.randn(4, 5, 3, dtype=torch.float64)
    Z, info = cc.project(cone, Y, "dual", return_info=True)
    assert isinstance(Z, torch.Tensor) and Z.shape == Y.shape
    assert info["max_violation"] < 1e-5


def test_nnls_refuses_a_box_and_unknown_methods():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    with pytest.raises(cc.ConeInputError, match="'nnls' projects onto the cone only"):
        cc.project(cone, np.zeros((1, 3)), "nnls", box=1.0)
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
