"""The heads the ConeLayer is compared with, and the penalty, each on its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import conecore as cc
from conecore.baselines import penalty

WEDGE = torch.tensor([[1.0, -2.0], [-3.0, 1.0]])


def test_penalty_by_hand():
    """weight * mean over outputs of |relu(A z)|^2."""
    z = torch.tensor([[1.0, 0.0],     # A z = (1, -3): 1
                      [0.0, -1.0],    # A z = (2, -1): 4
                      [1.0, 1.0]])    # A z = (-1, -2): inside, 0
    assert float(penalty(WEDGE, z, 1.0)) == pytest.approx(5 / 3)
    assert float(penalty(WEDGE, z, 3.0)) == pytest.approx(5.0)
    assert float(penalty(WEDGE, z[2:], 10.0)) == 0.0


def test_penalty_gradient_points_back_into_the_cone():
    """d/dz |relu(A z)|^2 = 2 A^T relu(A z): a step against it lowers the violation."""
    z = torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    A = WEDGE.double()
    penalty(A, z, 1.0).backward()
    assert torch.allclose(z.grad, 2 * torch.relu(z @ A.T) @ A)
    stepped = (z - 0.1 * z.grad).detach()
    assert cc.relative_violation(A, stepped) < cc.relative_violation(A, z.detach())


def test_penalty_matches_dtypes():
    z = torch.ones(4, 2, dtype=torch.float64)
    assert penalty(WEDGE, z, 1.0).dtype == torch.float64  # A follows z


def test_heads():
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    x = torch.randn(32, 10, generator=torch.Generator().manual_seed(0))
    head = cc.ClosedFormHead(cone, 10)
    assert cc.relative_violation(cone.A, head(x).detach().double()).max() < 1e-5
    proj = cc.ProjectedHead(cone, 10)
    train_out = proj(x)
    proj.eval()
    eval_out = proj(x)
    assert cc.relative_violation(cone.A, eval_out.double()).max() < 1e-5
    assert cc.relative_violation(cone.A, train_out.detach().double()).max() > 0
    assert cc.UnconstrainedHead(cone, 10)(x).shape == (32, 64)
    with pytest.raises(cc.ConeInputError, match="full row rank"):
        cc.ClosedFormHead(cc.Cone.from_inequalities(cc.preset("pyramid")), 4)


def test_closed_form_head_is_the_closed_form():
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    head = cc.ClosedFormHead(cone, 3)
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(1))
    f = torch.nn.functional.linear(x, head.weight, head.bias).detach()
    assert np.allclose(head(x).detach().numpy(), cc.closed_form(cone, f.double().numpy()),
                       atol=1e-5)
