r"""The PolyhedronLayer: outputs in :math:`P = \{z : A z \le b\}` by construction.

By Minkowski–Weyl every point of a non-empty polyhedron is

.. math:: z = V^\top p + R^\top \mu + L^\top t, \qquad p \in \Delta,\ \mu \ge 0,\ t \text{ free},

with ``V`` the vertices of its pointed part, ``R`` the extreme rays and ``L`` an orthonormal
basis of the lines (:class:`~conecore.Polyhedron`), and every such point is in ``P``:
:math:`A V^\top p \le b` for a convex combination ``p``, :math:`A R^\top \mu \le 0` and
:math:`A L^\top t = 0`. One affine map (``coef``) gives a logit per vertex, a coefficient per ray
and one per line; ``p = softmax(logits)``, ``mu = nonneg(...)`` (the ConeLayer's maps), ``t`` as
it is. So every output is feasible for any weights and inputs, and the map is differentiable. A
cone is the special case with one vertex, the origin (no logits): ``R^T mu + L^T t``.

Numerics. :math:`V^\top p` is a convex combination only up to round-off: ``p`` sums to
:math:`1 + \delta` with :math:`|\delta|` a few units of round-off, which moves the output by
:math:`\delta \|V\|`, a lot for a small polytope far from the origin. So the vertices are stored
relative to their mean ``c``, :math:`z = c + (V - c)^\top p + \ldots`: the error is then
:math:`\delta` times the polytope's diameter, plus the rounding of ``c`` itself. When every
vertex is a standard unit vector or the origin (the probability simplex
:math:`\{x \ge 0, \sum x = 1\}`, :math:`\{x \ge 0, \sum x \le 1\}`, their faces), the output is
the softmax itself, placed in its coordinates (a gather, no product): exactly the usual
softmax head, and the cheapest.

The lines are always combined as ``t @ L`` from their coefficients, never folded into the
weights (``(L^T W) h``) or applied as a projection ``P y`` as the ConeLayer does for speed: those
keep ``A z`` at round-off of :math:`\|W\| \|h\|` or :math:`\|y\|`, which can be far larger than
:math:`\|z\|` when the product cancels (measured: 2e-5 relative for the plane ``x + y + z = 3``
with inputs of 1e4 and weights scaled by 1e3), while ``t @ L`` keeps it at round-off of
:math:`\|t\| = \|L^\top t\|`. Rays are orthogonal to the lines, so the ray and line parts
cannot cancel either. The price: ``l d`` multiply-adds per sample for ``l`` lines (the
ConeLayer's projection costs ``2 r d`` for ``r = d - l``), which matters only for polyhedra
with very many lines.

How far an output is from ``P`` (:func:`polyhedron_violation`, computed in float64):

.. math:: v(z) = \frac{\max_i (a_i \cdot z - b_i)_+ / \|a_i\|}{\max(\|z\|, s)},

the distance past the farthest violated hyperplane, relative to the size of ``z`` or to the
polyhedron's scale ``s`` (the largest vertex norm, :attr:`Polyhedron.scale`), whichever is
larger: round-off of a float32 output is about :math:`10^{-7} \max(\|z\|, s)`. For a cone
(``b = 0``, ``s = 0``) this is :func:`conecore.relative_violation`. Equalities count both ways.
Measured (tests/conecore/test_polyhedron_layer.py's twelve polyhedra, every map, 10^5 inputs of
scales 1e-2 to 1e4, default weights and weights scaled by 1e3): at most 1.2e-7 in float32 and
4e-16 in float64.

Precision, as the ConeLayer: the affine maps run in whatever precision autocast gives them;
the softmax, the combination with the vertices and the sum run with autocast off in float32, or
in float64 where float32 matrix products may be rounded (TF32, ``set_float32_matmul_precision``
below ``"highest"``). Outputs are float32 under autocast, float64 for a float64 layer.

Checkpoints. The state dict holds the vertices (as ``anchor`` and ``vertex_offsets``), the rays
and the lines next to the weights. Loading weights saved from another polyhedron raises
:class:`~conecore.layer.ConeMismatchError`; weights of the same polyhedron load whatever order
its vertices and rays came in and whatever basis its lines (the coefficients are permuted and
rotated to match), and the layer keeps its own float64 copy of the polyhedron for every
``.to()``.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from conecore.errors import ConeInputError
from conecore.layer import (
    ConeMismatchError,
    _functorch_active,
    constant_outputs,
    parse_nonneg,
    reduced_precision_matmul,
)
from conecore.polyhedron import Polyhedron
from conecore.violation import power_of_two


def polyhedron_rows(poly: Polyhedron) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with every equality ``a x = b`` written as ``a x <= b`` and ``-a x <= -b``,
    from :meth:`Polyhedron.rows_in_range`."""
    eq = list(poly.equalities)
    A0, b0 = poly.rows_in_range()
    A = np.concatenate([A0, -A0[eq]]) if eq else A0
    b = np.concatenate([b0, -b0[eq]]) if eq else b0
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
        # |z| with z divided by a power of two first (exact): past 1e154 a plain norm was inf
        # and a point far outside read 0
        peak = power_of_two(Zw.abs().amax(dim=-1, keepdim=True))
        scale = torch.maximum(torch.linalg.vector_norm(Zw / peak, dim=-1) * peak[..., 0],
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

    ``coef`` is one ``nn.Linear`` to ``n_logits + k + l`` outputs: a logit per vertex (none
    with a single vertex), a coefficient per ray, one per line; absent for a single point.
    Outputs have the dtype of the layer's parameters (float32 under autocast).
    """

    def __init__(self, poly: Polyhedron, in_features: int, nonneg: str = "softplus") -> None:
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
        self._nonneg = parse_nonneg(nonneg)
        self.nonneg = nonneg
        V = np.array(poly.vertices)
        nv, d = V.shape
        self.out_features, self.num_vertices = d, nv
        self.num_rays, self.num_lines = len(poly.rays), len(poly.lines)
        self.num_logits = nv if nv > 1 else 0
        self.scale = poly.scale
        take = _selection(V) if nv > 1 else None
        self.vertex_mode = "fixed" if nv == 1 else ("select" if take is not None else "combine")
        anchor = np.zeros(d) if self.vertex_mode == "select" else V.mean(axis=0)
        A, b = polyhedron_rows(poly)
        self._masters = {"anchor": anchor, "vertex_offsets": V - anchor,
                         "rays": np.array(poly.rays), "lines": np.array(poly.lines),
                         "A": A, "b": b}
        dtype = _generator_dtype(torch.get_default_dtype())
        for name, value in self._masters.items():
            self.register_buffer(name, torch.as_tensor(value, dtype=dtype))
        self._pad = take is not None and bool(np.any(take == nv))
        # The identity only where every column of p is a coordinate (no origin among them).
        identity = take is not None and nv == d and np.array_equal(take, np.arange(d))
        self.register_buffer("take", torch.as_tensor(take if take is not None and not identity
                                                     else np.zeros(0, dtype=np.int64)),
                             persistent=False)
        width = self.num_logits + self.num_rays + self.num_lines
        self.coef = nn.Linear(self.in_features, width) if width else None

    def _apply(self, fn, recurse=True):  # type: ignore[override]
        super()._apply(fn, recurse)
        ref = next(self.parameters(), self.anchor)
        dtype = _generator_dtype(ref.dtype)
        for name, master in self._masters.items():
            setattr(self, name, torch.as_tensor(master, dtype=dtype, device=ref.device))
        return self

    # ------------------------------------------------------------------ maths
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.shape or x.shape[-1] != self.in_features:  # (a 0-d tensor has no last dimension)
            raise ConeInputError(
                f"PolyhedronLayer expects inputs with last dimension {self.in_features}; "
                f"got shape {tuple(x.shape)}")
        lead = x.shape[:-1]
        if self.coef is None:  # a single point
            return constant_outputs(x, self.anchor)
        h = x.reshape(-1, self.in_features)
        weights = self.coef.weight
        device = h.device.type
        autocast = torch.is_autocast_enabled(device)
        reduced = self.anchor.dtype == torch.float32 and reduced_precision_matmul(device)
        exact = torch.float64 if reduced else self.anchor.dtype
        out = self.coef(h)  # in whatever precision autocast or the weights give it
        with torch.autocast(device, enabled=False) if autocast else nullcontext():
            z = self._combine(out.to(exact), exact)
        return z.to(weights.dtype).reshape(*lead, self.out_features)

    def _combine(self, out: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``c + (V - c)^T softmax(logits) + R^T nonneg(u) + L^T t`` (or the softmax placed in
        its coordinates), in ``dtype``."""
        nl, k = self.num_logits, self.num_rays
        z: torch.Tensor | None = None
        if nl:
            p = torch.softmax(out[:, :nl], dim=-1)
            if self.vertex_mode == "select":
                if self._pad:
                    p = F.pad(p, (0, 1))
                z = p.index_select(-1, self.take) if self.take.numel() else p
            else:
                z = torch.addmm(self.anchor.to(dtype), p, self.vertex_offsets.to(dtype))
        parts = []
        if k:
            parts.append((self._nonneg(out[:, nl:nl + k]), self.rays))
        if self.num_lines:
            parts.append((out[:, nl + k:], self.lines))
        in_place = not _functorch_active()  # vmap has no batching rule for addmm_ (a loop)
        for coefs, G in parts:
            # in place is safe: addmm's backward needs its inputs, not its output
            if z is None or not in_place:
                z = torch.addmm(self.anchor.to(dtype) if z is None else z, coefs, G.to(dtype))
            else:
                z = z.addmm_(coefs, G.to(dtype))
        assert z is not None
        return z

    # ------------------------------------------------------------------ checkpoints
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):  # type: ignore[override]
        """Refuse another polyhedron's weights; map the same polyhedron's to this layer's
        vertex and ray order and line basis; keep this layer's own copy of the polyhedron."""
        self._match_polyhedron(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _words(self) -> str:
        return (f"this layer's polyhedron has {self.num_vertices} vertices, {self.num_rays} "
                f"rays and {self.num_lines} lines in R^{self.out_features}")

    def _mismatch(self, what: str) -> ConeMismatchError:
        return ConeMismatchError(
            f"these weights were saved from a different polyhedron: {what} ({self._words()}). "
            "A PolyhedronLayer loads only weights of its own polyhedron")

    def _match_polyhedron(self, state_dict: dict[str, Any], prefix: str) -> None:
        saved = {name: state_dict.get(prefix + name)
                 for name in ("anchor", "vertex_offsets", "rays", "lines")}
        for name, value in saved.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise ConeMismatchError(f"{prefix}{name} in the checkpoint is not a tensor")
            own = self._masters[name]
            if tuple(value.shape) != own.shape:
                raise self._mismatch(f"its {name} are of shape {tuple(value.shape)}, this "
                                     f"layer's of {own.shape}")
        order = {}
        if saved["anchor"] is not None and saved["vertex_offsets"] is not None:
            own = self._masters["anchor"] + self._masters["vertex_offsets"]
            theirs = (_cpu64(saved["anchor"])[None, :] + _cpu64(saved["vertex_offsets"]))
            tol = _tolerance(saved["vertex_offsets"]) * max(self.scale, 1e-30)
            order["vertices"] = _matching(theirs, own, tol, "vertices", self._mismatch)
        if saved["rays"] is not None and self.num_rays:
            order["rays"] = _matching(_cpu64(saved["rays"]), self._masters["rays"],
                                      _tolerance(saved["rays"]), "rays", self._mismatch)
        rotation = None
        if saved["lines"] is not None and self.num_lines:
            mine, theirs = self._masters["lines"], _cpu64(saved["lines"])
            U = theirs @ mine.T  # theirs = U @ mine on the same subspace
            gap = float(np.abs(theirs - U @ mine).max(initial=0.0))
            if gap > _tolerance(saved["lines"]):
                raise self._mismatch(f"its lines span another space (off by {gap:.2g})")
            if not np.allclose(U, np.eye(len(U)), atol=1e-12):
                rotation = U
        self._remap_coefficients(state_dict, prefix, order, rotation)
        for name in self._masters:  # the layer's own copy of its polyhedron stays
            if prefix + name in state_dict:
                state_dict[prefix + name] = getattr(self, name)

    def _remap_coefficients(self, state_dict: dict[str, Any], prefix: str,
                            order: dict[str, np.ndarray], rotation: np.ndarray | None) -> None:
        """Rows of ``coef`` in this layer's order: logits and ray coefficients permuted, line
        coefficients rotated (``t_ours = U^T t_theirs``)."""
        nl, k = self.num_logits, self.num_rays
        index = np.arange(nl + k + self.num_lines)
        if nl and "vertices" in order:
            index[:nl] = order["vertices"]
        if k and "rays" in order:
            index[nl:nl + k] = nl + order["rays"]
        permute = not np.array_equal(index, np.arange(len(index)))
        for key in ("coef.weight", "coef.bias"):
            v = state_dict.get(prefix + key)
            if not isinstance(v, torch.Tensor) or v.shape[0] != len(index):
                continue
            if permute:
                v = v[torch.as_tensor(index)]
            if rotation is not None:
                Ut = torch.as_tensor(rotation.T, device=v.device)
                v = v.clone()
                v[nl + k:] = (Ut @ v[nl + k:].double()).to(v.dtype)
            state_dict[prefix + key] = v

    # ------------------------------------------------------------------ helpers
    def violation(self, z: torch.Tensor) -> torch.Tensor:
        """Per output, 0 inside: :func:`polyhedron_violation` with the polyhedron's scale."""
        return _violation(self.A, self.b, z, self.scale)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"vertices={self.num_vertices}, rays={self.num_rays}, lines={self.num_lines}, "
                f"nonneg={self.nonneg!r}, vertex_mode={self.vertex_mode!r}")


def _cpu64(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _tolerance(saved: torch.Tensor) -> float:
    """How far a saved copy may be off its float64 master: a few units of its dtype's
    round-off (1e-6 relative for float32)."""
    eps = torch.finfo(saved.dtype).eps if saved.is_floating_point() else 0.0
    return max(1e-9, 8 * eps)


def _matching(theirs: np.ndarray, mine: np.ndarray, tol: float, name: str,
              mismatch: Any) -> np.ndarray:
    """``order`` with ``theirs[order] ~ mine`` within ``tol`` (distinct points: the nearest is
    the only candidate), or :class:`ConeMismatchError`."""
    if not len(mine):
        return np.zeros(0, dtype=np.int64)
    dist = np.abs(mine[:, None, :] - theirs[None, :, :]).max(axis=2)
    order = dist.argmin(axis=1)
    gap = float(dist[np.arange(len(mine)), order].max(initial=0.0))
    if gap > tol or len(set(order.tolist())) != len(order):
        raise mismatch(f"its {name} differ from this layer's by up to {gap:.2g} "
                       f"(tolerance {tol:.1e})")
    return order
