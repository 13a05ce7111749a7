r"""The PolyhedronLayer: outputs in :math:`P = \{z : A z \le b\}` by construction.

By Minkowski–Weyl every point of a non-empty polyhedron is

.. math:: z = V^\top p + R^\top \mu + L^\top t, \qquad p \in \Delta,\ \mu \ge 0,\ t \text{ free},

with ``V`` the vertices of its pointed part, ``R`` the extreme rays and ``L`` a basis of the
lines (:class:`~conecore.Polyhedron`), and every such point is in ``P``: :math:`A V^\top p \le b`
for a convex combination ``p``, :math:`A R^\top \mu \le 0` and :math:`A L^\top t = 0`. The layer
predicts ``p = softmax(W_v h + c_v)`` (one logit per vertex), and ``mu`` and ``t`` with a
:class:`~conecore.ConeLayer` on the recession cone ``{z : A z <= 0}`` (same non-negative maps,
same line modes, same precision rules), so every output is feasible for any weights and inputs.
A cone is the special case with one vertex, the origin: the layer is then the ConeLayer alone.

Numerics. :math:`V^\top p` is a convex combination only up to round-off: ``p`` sums to
:math:`1 + \delta` with :math:`|\delta|` a few units of round-off, which moves the output by
:math:`\delta \|V\|`, a lot for a small polytope far from the origin. So the vertices are stored
relative to their mean ``c``, :math:`z = c + (V - c)^\top p + \ldots`: the error is then
:math:`\delta` times the polytope's diameter, plus the rounding of ``c`` itself. When every
vertex is a standard unit vector or the origin (the probability simplex
:math:`\{x \ge 0, \sum x = 1\}`, :math:`\{x \ge 0, \sum x \le 1\}`, their faces), the output is
the softmax itself, placed in its coordinates (a gather, no product): exactly the usual
softmax head, and the cheapest.

How far an output is from ``P`` (:func:`polyhedron_violation`, computed in float64):

.. math:: v(z) = \frac{\max_i (a_i \cdot z - b_i)_+ / \|a_i\|}{\max(\|z\|, s)},

the distance past the farthest violated hyperplane, relative to the size of ``z`` or to the
polyhedron's scale ``s`` (the largest vertex norm, :attr:`Polyhedron.scale`), whichever is
larger: round-off of a float32 output is about :math:`10^{-7} \max(\|z\|, s)`. For a cone
(``b = 0``, ``s = 0``) this is :func:`conecore.relative_violation`. Equalities count both ways.

Precision, as the ConeLayer: the affine maps run in whatever precision autocast gives them;
the softmax, the combination with the vertices and the sum run with autocast off in float32, or
in float64 where float32 matrix products may be rounded (TF32, ``set_float32_matmul_precision``
below ``"highest"``). Outputs are float32 under autocast, float64 for a float64 layer.

Checkpoints. The state dict holds the vertices (as ``anchor`` and ``vertex_offsets``) next to
the recession cone's rays and lines. Loading weights saved from another polyhedron raises
:class:`~conecore.layer.ConeMismatchError`; weights of the same polyhedron load whatever order
its vertices came in (the logits are permuted to match).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from conecore.errors import ConeInputError
from conecore.layer import ConeLayer, ConeMismatchError, parse_nonneg, reduced_precision_matmul
from conecore.polyhedron import Polyhedron


def polyhedron_rows(poly: Polyhedron) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with every equality ``a x = b`` written as ``a x <= b`` and ``-a x <= -b``."""
    eq = list(poly.equalities)
    A = np.concatenate([poly.A, -poly.A[eq]]) if eq else np.array(poly.A)
    b = np.concatenate([poly.b, -poly.b[eq]]) if eq else np.array(poly.b)
    return A, b


def _violation(A: Any, b: Any, z: Any, floor: Any = 0.0) -> Any:
    is_tensor = isinstance(z, torch.Tensor)
    Z = z if is_tensor else torch.as_tensor(np.array(z, dtype=np.float64))
    out_dtype = Z.dtype if Z.is_floating_point() else torch.float64
    work = torch.float32 if Z.device.type == "mps" else torch.float64
    Zw = Z.to(work)

    def tensor(x: Any) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(device=Z.device, dtype=work)
        return torch.as_tensor(np.array(x, dtype=np.float64), device=Z.device).to(work)

    A_t, b_t = tensor(A), tensor(b).reshape(-1)
    if A_t.ndim != 2 or Zw.ndim < 1 or A_t.shape[1] != Zw.shape[-1] or len(b_t) != A_t.shape[0]:
        raise ConeInputError(f"A of shape {tuple(A_t.shape)} and b of {len(b_t)} entries do not "
                             f"fit outputs of shape {tuple(Zw.shape)}")
    if A_t.shape[0] == 0:
        v = Zw.new_zeros(Zw.shape[:-1])
    else:
        norms = torch.linalg.vector_norm(A_t, dim=1)
        norms = torch.where(norms > 0, norms, torch.ones_like(norms))
        beyond = (Zw @ A_t.T - b_t).clamp_min(0.0) / norms
        scale = torch.maximum(torch.linalg.vector_norm(Zw, dim=-1),
                              torch.as_tensor(floor, dtype=work, device=Z.device))
        v = beyond.amax(dim=-1) / scale.clamp_min(torch.finfo(work).tiny)
    v = v.to(out_dtype)
    return v if is_tensor else v.numpy()


def polyhedron_violation(poly: Polyhedron, z: Any, floor: float | None = None) -> Any:
    r""":math:`\max_i (a_i \cdot z - b_i)_+ / (\|a_i\| \max(\|z\|, \mathrm{floor}))` over the
    last dimension of ``z`` (equalities both ways), computed in float64: 0 in the polyhedron,
    positive outside.

    ``floor`` defaults to ``poly.scale`` (the largest vertex norm), the size at which round-off
    is judged; 0 gives the purely relative measure. Returns a tensor of ``z``'s dtype for a
    tensor ``z`` (differentiable), else a float64 numpy array, shaped ``z.shape[:-1]``.
    """
    if not isinstance(poly, Polyhedron):
        raise ConeInputError(f"poly has to be a conecore.Polyhedron. Got {type(poly).__name__}")
    A, b = polyhedron_rows(poly)
    return _violation(A, b, z, poly.scale if floor is None else floor)


def _generator_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _selection(V: np.ndarray) -> np.ndarray | None:
    """For vertices that are standard unit vectors or the origin (distinct), ``take`` with
    ``z[:, j] = p_padded[:, take[j]]`` (``take[j] = n`` points at a zero column); else None."""
    n, d = V.shape
    if not np.all((V == 0) | (V == 1)) or np.any(V.sum(axis=1) > 1):
        return None
    take = np.full(d, n, dtype=np.int64)
    for i, row in enumerate(V):
        cols = np.flatnonzero(row)
        if cols.size:
            take[cols[0]] = i
    return take


class PolyhedronLayer(nn.Module):
    r"""``(..., in_features) -> (..., d)``, every output in the polyhedron ``P``.

    Args:
        poly: a non-empty :class:`~conecore.Polyhedron`.
        in_features: size of the last input dimension.
        nonneg: the map making ray coefficients non-negative (``"abs"``, ``"relu"``,
            ``"softplus"``, ``"exp"``, ``"square"``), as for the :class:`~conecore.ConeLayer`.
        line_mode: passed to the ConeLayer of the recession cone.

    Parts: ``vertex_coef`` (``nn.Linear`` to one logit per vertex; absent with one vertex) and
    ``cone_part`` (a ConeLayer on the recession cone; absent for a polytope). Outputs have the
    dtype of the layer's parameters (float32 under autocast).
    """

    def __init__(self, poly: Polyhedron, in_features: int, nonneg: str = "softplus",
                 line_mode: str = "auto") -> None:
        super().__init__()
        if not isinstance(poly, Polyhedron):
            raise ConeInputError(
                f"poly has to be a conecore.Polyhedron. Got {type(poly).__name__}")
        if poly.is_empty:
            raise ConeInputError(
                "the polyhedron is empty (its constraints contradict each other): no output "
                "can satisfy them")
        if isinstance(in_features, bool) or not isinstance(in_features, (int, np.integer)) or (
                in_features < 1):
            raise ConeInputError(f"in_features has to be a positive integer. Got {in_features!r}")
        self.in_features = int(in_features)
        parse_nonneg(nonneg)
        self.nonneg = nonneg
        V = np.array(poly.vertices)
        nv, d = V.shape
        self.out_features, self.num_vertices = d, nv
        self.num_rays, self.num_lines = len(poly.rays), len(poly.lines)
        self.scale = poly.scale
        take = _selection(V) if nv > 1 else None
        self.vertex_mode = "fixed" if nv == 1 else ("select" if take is not None else "combine")
        anchor = np.zeros(d) if self.vertex_mode == "select" else V.mean(axis=0)
        A, b = polyhedron_rows(poly)
        self._masters = {"anchor": anchor, "vertex_offsets": V - anchor, "A": A, "b": b}
        dtype = _generator_dtype(torch.get_default_dtype())
        for name, value in self._masters.items():
            self.register_buffer(name, torch.as_tensor(value, dtype=dtype))
        self._pad = take is not None and bool(np.any(take == nv))
        identity = take is not None and np.array_equal(take, np.arange(d))
        self.register_buffer("take", torch.as_tensor(take if take is not None and not identity
                                                     else np.zeros(0, dtype=np.int64)),
                             persistent=False)
        self.vertex_coef = nn.Linear(self.in_features, nv) if nv > 1 else None
        self.cone_part = (ConeLayer(poly.recession_cone(), self.in_features, nonneg,
                                    line_mode=line_mode)
                          if self.num_rays + self.num_lines else None)

    def _apply(self, fn, recurse=True):  # type: ignore[override]
        super()._apply(fn, recurse)
        ref = next(self.parameters(), self.anchor)
        dtype = _generator_dtype(ref.dtype)
        for name, master in self._masters.items():
            setattr(self, name, torch.as_tensor(master, dtype=dtype, device=ref.device))
        return self

    # ------------------------------------------------------------------ maths
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ConeInputError(
                f"PolyhedronLayer expects inputs with last dimension {self.in_features}; "
                f"got shape {tuple(x.shape)}")
        lead = x.shape[:-1]
        h = x.reshape(-1, self.in_features)
        weights = next(self.parameters(), None)
        if weights is None:  # a single point
            return self.anchor.expand(*lead, self.out_features).clone()
        device = h.device.type
        autocast = torch.is_autocast_enabled(device)
        reduced = self.anchor.dtype == torch.float32 and reduced_precision_matmul(device)
        exact = torch.float64 if reduced else self.anchor.dtype
        logits = self.vertex_coef(h) if self.vertex_coef is not None else None
        cone = self.cone_part(h) if self.cone_part is not None else None
        with torch.autocast(device, enabled=False) if autocast else nullcontext():
            z = self._vertex_part(logits, exact, h.shape[0])
            if cone is not None:
                z = z + cone.to(exact)
        return z.to(weights.dtype).reshape(*lead, self.out_features)

    def _vertex_part(self, logits: torch.Tensor | None, dtype: torch.dtype,
                     n: int) -> torch.Tensor:
        """``c + (V - c)^T softmax(logits)`` (or the softmax placed in its coordinates)."""
        if logits is None:
            return self.anchor.to(dtype).expand(n, self.out_features)
        p = torch.softmax(logits.to(dtype), dim=-1)
        if self.vertex_mode == "select":
            if self._pad:
                p = F.pad(p, (0, 1))
            return p.index_select(-1, self.take) if self.take.numel() else p
        return torch.addmm(self.anchor.to(dtype), p, self.vertex_offsets.to(dtype))

    # ------------------------------------------------------------------ checkpoints
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):  # type: ignore[override]
        """Refuse another polyhedron's weights; map the same polyhedron's to this layer's
        vertex order; keep this layer's own copy of the polyhedron."""
        self._match_polyhedron(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _words(self) -> str:
        return (f"this layer's polyhedron has {self.num_vertices} vertices, {self.num_rays} "
                f"rays and {self.num_lines} lines in R^{self.out_features}")

    def _match_polyhedron(self, state_dict: dict[str, Any], prefix: str) -> None:
        anchor = state_dict.get(prefix + "anchor")
        offsets = state_dict.get(prefix + "vertex_offsets")
        saved_cone = any(key.startswith(prefix + "cone_part.") for key in state_dict)
        if saved_cone != (self.cone_part is not None):
            raise ConeMismatchError(
                "these weights were saved from a different polyhedron: it "
                f"{'has' if saved_cone else 'has no'} rays or lines ({self._words()})")
        if anchor is None or offsets is None:
            return
        for value in (anchor, offsets):
            if not isinstance(value, torch.Tensor):
                raise ConeMismatchError(f"{prefix}anchor / vertex_offsets are not tensors")
        own = self._masters["anchor"] + self._masters["vertex_offsets"]
        if tuple(offsets.shape) != own.shape or tuple(anchor.shape) != own.shape[1:]:
            raise ConeMismatchError(
                "these weights were saved from a different polyhedron: its vertices have shape "
                f"{tuple(offsets.shape)}, this layer's {own.shape} ({self._words()})")
        theirs = (anchor.detach().to("cpu", torch.float64)[None, :]
                  + offsets.detach().to("cpu", torch.float64)).numpy()
        eps = torch.finfo(offsets.dtype).eps if offsets.is_floating_point() else 0.0
        tol = max(8 * eps, 1e-12) * max(self.scale, 1e-30)
        dist = np.abs(own[:, None, :] - theirs[None, :, :]).max(axis=2)
        order = dist.argmin(axis=1)
        gap = float(dist[np.arange(len(own)), order].max(initial=0.0))
        if gap > tol or len(set(order.tolist())) != len(order):
            raise ConeMismatchError(
                "these weights were saved from a different polyhedron: its vertices differ from "
                f"this layer's by up to {gap:.2g} (tolerance {tol:.1e}; {self._words()}). A "
                "PolyhedronLayer loads only weights of its own polyhedron")
        if not np.array_equal(order, np.arange(len(own))):
            for key in ("vertex_coef.weight", "vertex_coef.bias"):
                if prefix + key in state_dict:
                    state_dict[prefix + key] = state_dict[prefix + key][torch.as_tensor(order)]
        for name in self._masters:  # the layer's own copy of its polyhedron stays
            if prefix + name in state_dict:
                state_dict[prefix + name] = getattr(self, name)

    # ------------------------------------------------------------------ helpers
    def violation(self, z: torch.Tensor) -> torch.Tensor:
        """Per output, 0 inside: :func:`polyhedron_violation` with the polyhedron's scale."""
        return _violation(self.A, self.b, z, self.scale)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"vertices={self.num_vertices}, rays={self.num_rays}, lines={self.num_lines}, "
                f"nonneg={self.nonneg!r}, vertex_mode={self.vertex_mode!r}")
