r"""The ConeLayer: outputs in :math:`C = \{z : A z \le 0\}` by construction.

By Minkowski–Weyl every point of the cone is

.. math:: z = L^\top t + R^\top \mu, \qquad t \in \mathbb{R}^l,\ \mu \in \mathbb{R}^k_{\ge 0},

with ``R`` the extreme rays and ``L`` a basis of the lineality space, and every such combination
is in the cone: :math:`A L^\top = 0` and :math:`A R^\top \le 0` entrywise, so for
:math:`\mu \ge 0`, :math:`A z = A R^\top \mu \le 0`. The layer predicts ``t`` with an affine map
and ``mu`` with an affine map followed by a non-negative function, so every output is feasible
— for any weights, during training and at test time — and the map is differentiable.

Cost. With many lines (the paper's 28 x 28 checkerboard has 768 lines in d = 784) multiplying by
an ``l x d`` basis would double the cost of the head. Instead the line part is parameterised as
:math:`P (W h + b)` with :math:`P = I - Q Q^\top` the projection onto ``ker A`` (``Q``: an
orthonormal basis of the row space, ``r = d - l`` columns), and ``P`` is folded into the weights
once per forward: :math:`P W = W - Q (Q^\top W)` costs :math:`2 d r h`, independent of the batch.
With few lines the explicit basis is cheaper and is used instead.

The optional box divides by :math:`\max(1, \|z\|_\infty / b)`: a positive scaling, so the output
stays in the (homogeneous) cone and also in :math:`[-b, b]^d`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.violation import relative_violation

NONNEG: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "abs": torch.abs,
    "relu": F.relu,
    "softplus": F.softplus,
    # exp overflows float32 past 88; clamping keeps outputs finite for any input scale.
    "exp": lambda u: torch.exp(torch.clamp(u, max=60.0)),
    "square": torch.square,
}


def parse_nonneg(nonneg: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if nonneg not in NONNEG:
        raise ConeInputError(
            f"nonneg must be one of {', '.join(NONNEG)}; got {nonneg!r}"
        )
    return NONNEG[nonneg]


def _parse_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConeInputError(f"{name} has to be a positive integer. Got {value!r}")
    return int(value)


class ConeLayer(nn.Module):
    r"""``(..., in_features) -> (..., d)``, every output in the cone ``A z <= 0``.

    Args:
        cone: the :class:`~conecore.Cone` (its rays and lines are copied into buffers).
        in_features: size of the last input dimension.
        nonneg: the map making ray coefficients non-negative: ``"abs"``, ``"relu"``,
            ``"softplus"``, ``"exp"`` or ``"square"``.
        box: if given, outputs also lie in ``[-box, box]^d``.
        line_mode: ``"auto"`` (default), ``"basis"`` (multiply by the lines) or ``"project"``
            (project onto ``ker A``); both give the same set of outputs.
    """

    def __init__(
        self,
        cone: Cone,
        in_features: int,
        nonneg: str = "softplus",
        box: float | None = None,
        line_mode: str = "auto",
    ) -> None:
        super().__init__()
        if not isinstance(cone, Cone):
            raise ConeInputError(f"cone has to be a conecore.Cone. Got {type(cone).__name__}")
        self.in_features = _parse_positive_int(in_features, "in_features")
        self.nonneg = nonneg
        self._nonneg = parse_nonneg(nonneg)
        if box is not None and not (isinstance(box, (int, float)) and np.isfinite(box) and box > 0):
            raise ConeInputError(f"box has to be a positive number or None. Got {box!r}")
        self.box = None if box is None else float(box)
        d, k, ell = cone.dim, cone.rays.shape[0], cone.lines.shape[0]
        r = d - ell
        if line_mode == "auto":
            line_mode = "project" if ell > 2 * r else "basis"
        if line_mode not in ("basis", "project"):
            raise ConeInputError(
                f"line_mode must be 'auto', 'basis' or 'project'. Got {line_mode!r}"
            )
        if ell == 0:
            line_mode = "none"
        self.line_mode = line_mode
        self.out_features, self.num_rays, self.num_lines = d, k, ell
        # float64 masters: every dtype/device change re-rounds from these (see _apply), so a
        # float64 layer is as accurate as the cone, not as a float32 copy of it.
        basis = _rowspace_basis(cone) if line_mode == "project" else np.array(cone.lines)
        self._masters = {"A": np.array(cone.A), "rays": np.array(cone.rays), "line_basis": basis}
        dtype = torch.get_default_dtype()
        for name, value in self._masters.items():
            self.register_buffer(name, torch.as_tensor(value, dtype=dtype))
        n_line_params = d if line_mode == "project" else ell
        # Affine maps to the ray coefficients u (k) and to the line part (l, or d to project).
        self.ray_coef = nn.Linear(self.in_features, k) if k else None
        self.line_coef = nn.Linear(self.in_features, n_line_params) if line_mode != "none" else None
        self._folded: tuple[tuple[int, ...], torch.Tensor, torch.Tensor] | None = None

    def _apply(self, fn, recurse=True):  # type: ignore[override]
        super()._apply(fn, recurse)
        for name, master in self._masters.items():
            current = getattr(self, name)
            setattr(self, name, torch.as_tensor(master, dtype=current.dtype, device=current.device))
        return self

    # ------------------------------------------------------------------ maths
    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The line part as a ``(d, h)`` weight and a ``(d,)`` bias: ``P W`` or ``L^T W``."""
        W, b, B = self.line_coef.weight, self.line_coef.bias, self.line_basis
        if self.line_mode == "project":
            # P W = W - Q (Q^T W), with Q = line_basis^T (d x r) orthonormal, spanning row(A).
            return W - B.T @ (B @ W), b - B.T @ (B @ b)
        return B.T @ W, B.T @ b

    def _line_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Folded line weights; cached for inference (no autograd) until the weights change."""
        if torch.is_grad_enabled() and self.line_coef.weight.requires_grad:
            self._folded = None
            return self._fold()
        W, b, B = self.line_coef.weight, self.line_coef.bias, self.line_basis
        key = (W._version, b._version, B._version, W.data_ptr(), b.data_ptr(), B.data_ptr())
        if self._folded is None or self._folded[0] != key:
            with torch.no_grad():
                self._folded = (key, *self._fold())
        return self._folded[1], self._folded[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ConeInputError(
                f"ConeLayer expects inputs with last dimension {self.in_features}; "
                f"got shape {tuple(x.shape)}"
            )
        lead = x.shape[:-1]
        h = x.reshape(-1, self.in_features)
        if self.line_coef is not None:
            W_line, b_line = self._line_weights()
            z = F.linear(h, W_line, b_line)
            if self.ray_coef is not None:
                # In place is safe: F.linear's backward does not need its output.
                z = z.addmm_(self._nonneg(self.ray_coef(h)), self.rays)
        elif self.ray_coef is not None:
            z = self._nonneg(self.ray_coef(h)) @ self.rays
        else:  # the cone is {0}
            z = h.new_zeros(h.shape[0], self.out_features)
        if self.box is not None:
            peak = z.abs().amax(dim=-1, keepdim=True)  # faster than vector_norm(ord=inf) on CPU
            scale = torch.clamp(peak / self.box, min=1.0)
            z = z.div_(scale) if not (torch.is_grad_enabled() and z.requires_grad) else z / scale
        return z.reshape(*lead, self.out_features)

    # ------------------------------------------------------------------ helpers
    def violation(self, z: torch.Tensor) -> torch.Tensor:
        """Per output, 0 inside the cone: :func:`conecore.relative_violation` (no floor)."""
        return relative_violation(self.A, z)

    @torch.no_grad()
    def coefficients(self, z: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Coefficients ``(mu, t)`` with ``mu >= 0`` and ``z = R^T mu + L^T t`` for feasible ``z``.

        ``t`` is in the layer's line coordinates (``L z`` for the explicit basis, the projection
        :math:`P z` itself in projection mode); ``mu`` is the non-negative least-squares fit of
        the rest (scipy ``nnls``), exact for points of the cone.
        """
        from scipy.optimize import nnls

        Z = torch.as_tensor(z, dtype=torch.float64).reshape(-1, self.out_features).cpu().numpy()
        B = self.line_basis.double().cpu().numpy()
        R = self.rays.double().cpu().numpy()
        if self.line_mode == "project":
            row_part = (Z @ B.T) @ B
            t = Z - row_part
        elif self.line_mode == "basis":
            t = Z @ B.T
            row_part = Z - t @ B
        else:
            t = np.zeros((len(Z), 0))
            row_part = Z
        mu = np.zeros((len(Z), self.num_rays))
        if self.num_rays:
            for i, y in enumerate(row_part):
                mu[i] = nnls(R.T, y)[0]
        return torch.as_tensor(mu), torch.as_tensor(t)

    def extra_repr(self) -> str:
        box = f", box={self.box:g}" if self.box is not None else ""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"rays={self.num_rays}, lines={self.num_lines}, nonneg={self.nonneg!r}, "
            f"line_mode={self.line_mode!r}{box}"
        )


def _rowspace_basis(cone: Cone) -> np.ndarray:
    """An orthonormal basis (rows) of the row space of ``A``: the complement of the lines."""
    d, ell = cone.dim, cone.lines.shape[0]
    if ell == 0:
        return np.eye(d)
    Q, _ = np.linalg.qr(np.array(cone.lines).T, mode="complete")
    return Q[:, ell:].T.copy()
