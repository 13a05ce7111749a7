r"""The heads the ConeLayer is compared with, all ``(..., in_features) -> (..., d)``.

* :class:`UnconstrainedHead`: a plain affine map, the cost limit and the accuracy reference.
* :func:`penalty`: the soft penalty :math:`\lambda \|\operatorname{relu}(A z)\|^2`, added to the
  loss of an unconstrained head (the hand-tuned trade-off the paper avoids).
* :class:`ProjectedHead`: unconstrained while training, projected onto the cone at test time
  (one projection per sample, :func:`conecore.project`).
* :class:`ClosedFormHead`: :math:`f - A^+ \operatorname{relu}(A f)`, feasible when ``A`` has
  full row rank.
"""

from __future__ import annotations

import torch
from torch import nn

from conecore.cone import Cone, rows_in_range
from conecore.projection import closed_form_matrix, project


class UnconstrainedHead(nn.Linear):
    """``nn.Linear(in_features, d)``: no constraint at all."""

    def __init__(self, cone: Cone, in_features: int) -> None:
        super().__init__(in_features, cone.dim)


def penalty(A: torch.Tensor, z: torch.Tensor, weight: float,
            b: torch.Tensor | None = None) -> torch.Tensor:
    r""":math:`\lambda\, \mathrm{mean}_n \|\operatorname{relu}(A z_n - b)\|^2` (``b = 0``, a
    cone, when not given; a polyhedron's equalities as two rows each)."""
    excess = z @ A.to(z.dtype).T
    if b is not None:
        excess = excess - b.to(z.dtype)
    return weight * torch.relu(excess).square().sum(dim=-1).mean()


class ProjectedHead(nn.Linear):
    """Unconstrained in training mode; in eval mode each output is projected onto the cone."""

    def __init__(self, cone: Cone, in_features: int, method: str = "nnls",
                 box: float | None = None) -> None:
        super().__init__(in_features, cone.dim)
        self.cone, self.method, self.box = cone, method, box

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = super().forward(x)
        if self.training:
            return f
        with torch.no_grad():
            return project(self.cone, f.detach(), self.method, box=self.box)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", projection={self.method!r}"


class ClosedFormHead(nn.Linear):
    r"""An affine map followed by :math:`f \mapsto f - A^+ \operatorname{relu}(A f)`."""

    def __init__(self, cone: Cone, in_features: int) -> None:
        super().__init__(in_features, cone.dim)
        pinv = closed_form_matrix(cone)  # raises for rank-deficient A
        dtype = torch.get_default_dtype()
        self.register_buffer("A", torch.as_tensor(rows_in_range(cone.A), dtype=dtype))
        self.register_buffer("A_pinv", torch.as_tensor(pinv, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = super().forward(x)
        return f - torch.relu(f @ self.A.T) @ self.A_pinv.T
