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
orthonormal basis of the row space, ``r = d - l`` columns). ``P`` can be folded into the weights,
:math:`P W = W - Q (Q^\top W)` for :math:`2 d r h` multiply-adds whatever the batch (cached for
inference until the weights change), after which a forward pass is two matrix products into one
output buffer, :math:`z = (P b + R^\top \mu) + (P W) h`, and the box. Or it can be applied to the
outputs, :math:`z = y + (\mu M - y Q) Q^\top` with :math:`M = R Q` (the rays lie in the row
space), for :math:`2 n d r`, with the ray combination in ``Q``'s ``r`` coordinates: in training
the layer takes whichever costs fewer multiply-adds (outputs for batches up to about
``2 in_features`` when ``k`` is about ``r``). With few lines the explicit basis is cheaper and
is used instead.

Eager training runs the whole layer as one autograd node (:class:`_LayerMap`): the outputs are
written once and scaled by the box in place, and the hand-written backward allocates one
``n x d`` tensor besides the weights' gradients (autograd's graph of the same map: five or six
nodes and three more). That backward is once-differentiable: a second derivative through the
layer (a gradient penalty) raises an error in eager training. Under ``torch.func`` transforms
(``grad``, ``vmap``: per-sample gradients) the layer runs as plain autograd operations
(:meth:`ConeLayer._forward_projected` with ``plain``); ``torch.compile`` traces its folded
or projected forms.

Eager float32 inference on a CPU is one product of ``[h, mu]`` with ``[P W | R^T]`` (the rays
as ``k`` more input columns, not a second pass over the output), prepacked by oneDNN and cached
with the fold, then the box. On a GPU, eager inference with the box is one product and one
Triton kernel for the rays, the box and the store (:mod:`conecore._triton_rays_box`); in eager
training the line map on the outputs with the box is one Triton kernel each way, and the box
alone one each way where the line map is folded (float32, after a once-per-device self-check).

Measured on a shared 2-core CPU, 28 x 28 checkerboard with the box, in_features 256, batch 256,
against ``nn.Linear(256, 784)`` (``python -m conecore.gpu_check --device cpu --batches 256
--skip feasibility --no-compile``, with ``--threads 1 --cpu-time`` for one thread; medians of
per-round ratios, four runs each, interleaved with the code before this change): see the README
("The layer against a plain head on a CPU"). What is left in the forward is ``u`` (2% of the
head's multiply-adds) and its map, one pass over the rows that adds the rays and applies the
box (in C where a compiler is found, :mod:`conecore._native_box`), and Python dispatch, which
right after the big product costs several times what it costs alone; in the training step,
mostly the line map's four rank-16 products (forward and backward).

Precision. What decides feasibility is the non-negative map, the combination with the rays and
lines, and the box; those always run in float32 (float64 for a float64 layer) at full precision:

* under ``torch.autocast`` (bf16 or fp16) the affine maps run in the low precision, as any
  ``nn.Linear`` does, and the rest with autocast off. Folding ``P`` into a weight that is then
  rounded to bf16 would leave ``ker A`` by :math:`2^{-9}`, so there ``P`` is applied to the
  affine map's output instead (:math:`y - (y Q) Q^\top`, in float32). Outputs are float32.
* where float32 matrix products may run in reduced precision (TF32 on CUDA,
  ``torch.set_float32_matmul_precision("high")`` or ``"medium"``, oneDNN's bf16 on CPU) the
  feasibility steps run in float64, which no such setting touches. Changing the setting for the
  duration of a call would not be thread-safe (it is process-wide) and is invisible to
  ``torch.compile``; float64 costs a few small products and is exact. The setting is read at
  each call (at trace time under ``torch.compile`` / ``torch.export``).
* a layer whose weights are bfloat16 or float16 (``layer.bfloat16()``) keeps its rays and lines in
  float32, combines in float32 and rounds the result to its dtype at the end; that last rounding
  alone moves a point on a facet off it by up to :math:`2^{-9}` (bf16) relative, which is what
  such outputs show: worst relative violation 5e-4 (28 x 28 checkerboard), 1.2e-3 (8 x 8),
  1.6e-3 (wedge x line), 2.1e-3 / 2.8e-3 (ice-cream cones, 64 / 9 facets), 0 (square pyramid,
  whose rays are exact in bf16); before, with the rays rounded to bf16 too, up to 4.6e-3. For
  outputs within 1e-5 keep float32 weights and use autocast.

Under float16 autocast the affine maps overflow to ``inf`` where their outputs pass 65504, as
any ``nn.Linear`` does; bfloat16 has float32's range.

The optional box divides by :math:`\max(1, \|z\|_\infty / b)`: a positive scaling, so the output
stays in the (homogeneous) cone and also in :math:`[-b, b]^d`.

Checkpoints. The state dict holds the cone's rays and line basis next to the weights. Loading
weights saved from another cone raises :class:`ConeMismatchError`; weights of the same cone load
whatever order its rays or basis its lines came in (the coefficient maps are permuted / rotated
to match), and the layer keeps its own float64 copy of the cone for every later ``.to()``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _nn_module

from conecore import _native_box
from conecore.cone import Cone, rows_in_range
from conecore.errors import ConeInputError
from conecore.violation import relative_violation

_TINY = {dtype: torch.finfo(dtype).tiny
         for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16)}


def _flush_(mu: torch.Tensor) -> torch.Tensor:
    """Ray coefficients below the dtype's smallest normal number set to 0, in place (``mu`` is
    the map's own new tensor). A subnormal coefficient (``softplus`` or ``exp`` of ``u < -87``
    in float32, the square of ``|u| < 1e-19``) gives outputs that are subnormal too, where
    float32 keeps a few significant bits: the output's relative violation was up to 1e-4 (a
    hypothesis test found ``|z|`` of 1e-42 on the 9-ray ice-cream cone). With it the output is
    0, or large enough for the usual round-off."""
    return torch.threshold_(mu, _TINY.get(mu.dtype) or torch.finfo(mu.dtype).tiny, 0.0)


def _abs(u: torch.Tensor) -> torch.Tensor:
    return _flush_(torch.abs(u))


def _relu(u: torch.Tensor) -> torch.Tensor:
    return F.threshold(u, torch.finfo(u.dtype).tiny, 0.0)  # relu, flushed


def _softplus(u: torch.Tensor) -> torch.Tensor:
    return _flush_(F.softplus(u))


def _exp_unflushed(u: torch.Tensor) -> torch.Tensor:
    """exp overflows float32 past 88; clamping keeps outputs finite for any input scale."""
    return torch.exp(torch.clamp(u, max=60.0))


def _exp(u: torch.Tensor) -> torch.Tensor:
    """Not flushed in place: exp's backward needs its output."""
    return F.threshold(_exp_unflushed(u), torch.finfo(u.dtype).tiny, 0.0)


def _square(u: torch.Tensor) -> torch.Tensor:
    return _flush_(torch.square(u))


# Module-level functions, not lambdas: a layer holds one, and pickling (torch.save of the whole
# module, deepcopy) must find it by name.
NONNEG: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "abs": _abs, "relu": _relu, "softplus": _softplus, "exp": _exp, "square": _square,
}


# The maps before the flush, for the compiled kernel that flushes as it reads (CPU inference).
_UNFLUSHED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "abs": torch.abs, "relu": F.relu, "softplus": F.softplus, "exp": _exp_unflushed,
    "square": torch.square,
}


class ConeMismatchError(ConeInputError):
    """Weights saved from a different cone than the layer's own."""


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


_FP32_PRECISION = getattr(torch._C, "_get_fp32_precision_getter", None)  # torch >= 2.9


@torch.compiler.assume_constant_result
def reduced_precision_matmul(device_type: str) -> bool:
    """Whether float32 matrix products on ``device_type`` may round their inputs (TF32 on
    CUDA, TF32/bf16 in oneDNN on CPU), by the process-wide settings."""
    if device_type == "cpu" and _FP32_PRECISION is not None:  # the same, without the modules'
        precision = _FP32_PRECISION("mkldnn", "matmul")       # attribute machinery (2 us a call)
        if precision == "none":
            precision = _FP32_PRECISION("generic", "all")
        if precision != "none":
            return precision != "ieee"
        return torch.get_float32_matmul_precision() != "highest"
    backend = {"cuda": getattr(torch.backends, "cuda", None),
               "cpu": getattr(torch.backends, "mkldnn", None)}.get(device_type)
    precision = getattr(getattr(backend, "matmul", None), "fp32_precision", None)
    if precision in (None, "none"):  # torch < 2.9, or following the generic setting
        precision = getattr(torch.backends, "fp32_precision", None)
    if precision not in (None, "none"):
        return precision != "ieee"
    if device_type == "cuda" and torch.backends.cuda.matmul.allow_tf32:
        return True
    return torch.get_float32_matmul_precision() != "highest"


def _box_plain(z: torch.Tensor, bound: float) -> torch.Tensor:
    """``z / max(1, |z|_inf / bound)`` in autograd's own operations, out of place: the box under
    ``torch.func`` transforms, and the reference the kernels are checked against."""
    return z / torch.clamp(z.abs().amax(dim=-1, keepdim=True) / bound, min=1.0)


def _peak(z: torch.Tensor) -> torch.Tensor:
    """``|z|_inf`` per row, ``(n, 1)``. One reduction kernel on a GPU; on a CPU
    ``vector_norm(ord=inf)`` is slow, and ``amax``/``amin`` need no temporary."""
    if z.device.type == "cpu":
        return torch.maximum(z.amax(dim=-1, keepdim=True), z.amin(dim=-1, keepdim=True).neg_())
    return torch.linalg.vector_norm(z, ord=float("inf"), dim=-1, keepdim=True)


def _box_(z: torch.Tensor, bound: float) -> torch.Tensor:
    """``z / max(1, |z|_inf / bound)`` in place, no autograd (inference); on a CPU the compiled
    kernel of :mod:`conecore._native_box` where it is usable, one pass over the rows."""
    if z.is_cpu and _native_box.usable(z):
        return _native_box.box_(z, bound)
    scale = _peak(z).clamp_(min=bound).reciprocal_()  # then mul_: div_ costs twice as much
    return z.mul_(scale if bound == 1.0 else scale.mul_(bound))


def _box_saved_(z: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`_box_saved_torch`, by the compiled kernel on a CPU where it is usable (the same
    outputs bit for bit, one pass over the rows instead of seven operations), by a Triton
    kernel on a GPU where it is (:func:`_triton_box_usable`)."""
    if z.is_cpu and _native_box.usable(z):
        return _native_box.box_forward_(z, bound)
    if _triton_box_usable(z):
        from conecore._triton_rays_box import box_forward_

        return box_forward_(z, bound)
    return _box_saved_torch(z, bound)


def _box_backward(g: torch.Tensor, out: torch.Tensor, inv: torch.Tensor, peak_out: torch.Tensor,
                  bound: float) -> torch.Tensor:
    """:func:`_box_backward_torch`, by the compiled kernel on a CPU where it is usable, by a
    Triton kernel on a GPU where it is."""
    if out.is_cpu and _native_box.usable(out, inv, peak_out):
        return _native_box.box_backward(g.to(out.dtype), out, inv, peak_out, bound)
    if _triton_box_usable(out, inv, peak_out):
        from conecore._triton_rays_box import box_backward

        return box_backward(g.to(out.dtype), out, inv, peak_out, bound)
    return _box_backward_torch(g, out, inv, peak_out, bound)


def _triton_line_usable(z: torch.Tensor, basis: torch.Tensor, u: torch.Tensor | None) -> bool:
    """The Triton kernels for the non-negative map, the "outputs" line map and the box (one pass
    over the rows each way) may run: :func:`_triton_box_usable` for the outputs, the basis and
    the ray coefficients' ``u``, a basis of at most ``MAX_LINE_ROWS`` rows (the kernels loop
    over them), at most ``MAX_LINE_RAYS`` rays (a row block holds their coefficients) and rows
    of at most ``MAX_LINE_BLOCK_D``."""
    if z.is_cpu and _native_box.available():  # Triton's interpreter only stands in for a GPU
        return False
    k = 0 if u is None else u.shape[1]
    if (basis.shape[0] > _TRITON_MAX_LINE_ROWS or k > _TRITON_MAX_LINE_RAYS
            or z.shape[-1] > _TRITON_MAX_LINE_D):
        return False
    return _triton_box_usable(z, basis) and (u is None or _triton_box_usable(u))


def _triton_box_usable(*tensors: torch.Tensor) -> bool:
    """The box's Triton kernels (:mod:`conecore._triton_rays_box`) may run on these tensors:
    plain contiguous float32 tensors on one device, eager (not traced, not compiled: there the
    torch operations are traced), rows no wider than the kernels hold, and
    :func:`_triton_works` (CUDA, the self-check passed)."""
    z = tensors[0]
    if not (z.is_cuda or _TRITON_INTERPRET) or z.dtype != torch.float32:
        return False  # first, cheaply: a CPU training step asks at every call
    if (torch.jit.is_tracing() or torch.compiler.is_compiling() or z.dim() != 2
            or z.shape[1] > _TRITON_MAX_D):
        return False
    for t in tensors:
        if (type(t) is not torch.Tensor or t.dtype != z.dtype or t.device != z.device
                or not t.is_contiguous()):
            return False
    return _triton_works(z)


def _box_saved_torch(z: torch.Tensor, bound: float
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`_box_` and what :func:`_box_backward` needs: ``1 / s`` per row and the row's
    peak after scaling, ``|z|_inf / s`` (``|z_j| / s`` equals it bit for bit at the peak's
    coordinates: the same product of the same two numbers)."""
    peak = _peak(z)
    inv = peak.clamp(min=bound).reciprocal_().mul_(bound)
    return z.mul_(inv), inv, peak.mul_(inv)


def _box_backward_torch(g: torch.Tensor, out: torch.Tensor, inv: torch.Tensor,
                        peak_out: torch.Tensor, bound: float) -> torch.Tensor:
    r""":math:`g / s - [s > 1]\, \operatorname{sign}(z_j) e_j \langle g, z/s \rangle / (s b)`,
    the peak's share split between ties as autograd's ``amax`` does, in one new tensor. The
    peak's coordinates are found from the saved outputs (``|out_j| >= peak_out``), so the
    forward saves no mask."""
    dot = torch.linalg.vecdot(g, out).unsqueeze(-1)
    peaks = out.abs().ge_(peak_out)  # 1 at the peak's coordinates, 0 elsewhere
    ties = peaks.sum(dim=-1, keepdim=True)
    coef = torch.where(inv < 1.0, dot * inv / (bound * ties * peak_out), 0.0)
    return peaks.mul_(out).mul_(coef.neg_()).addcmul_(g, inv)  # out_j = +-peak_out there


_PACKED_OK: bool | None = None  # oneDNN's prepacked linear works in this torch (checked once)
_PACKED_MIN_BATCH = 32  # below this the prepacked product is no faster than F.linear
_TRACED_RAY_TERMS = 64  # rays past which compiled inference adds R^T mu as one product
# Eager float32 layers of cones with lines in at most this many coordinates compute the line map
# in float64 (as under autocast): in float32 an output that is a small difference of large
# numbers (the affine part almost in the row space, the ray coefficients 0) missed the cone by
# a relative 1e-4 to 9e-3 on the 2-D half-plane. Larger cones keep the float32 kernels (their
# outputs are dominated by the many lines: far below 1e-5 measured; see the README).
_FLOAT64_LINES_MAX_D = 16
# What a ConeLayer caches: derived from the weights (dropped by a training forward too), and
# the sparse basis, derived from the cone alone; ``.to()``, loading and pickling drop all.
_WEIGHT_CACHES = ("_folded", "_stacked", "_packed", "_native")
_CACHES = (*_WEIGHT_CACHES, "_sparse")


def _packed_linear_works() -> bool:
    """Whether oneDNN's prepacked linear (``torch.ops.mkldnn._reorder_linear_weight`` and
    ``_linear_pointwise``, what ``torch.compile``'s CPU freezing uses) exists in this torch and
    gives ``F.linear``'s result: checked once on a small product; any error means no."""
    global _PACKED_OK
    if _PACKED_OK is None:
        _PACKED_OK = False
        try:
            if torch.backends.mkldnn.is_available():
                g = torch.Generator().manual_seed(0)
                W, b, x = (torch.randn(*s, generator=g) for s in ((24, 20), (24,), (9, 20)))
                ops = torch.ops.mkldnn
                out = ops._linear_pointwise(x, ops._reorder_linear_weight(W, 9), b, "none", [], "")
                _PACKED_OK = bool(out.shape == (9, 24)
                                  and torch.allclose(out, F.linear(x, W, b), atol=1e-5))
        except Exception:  # an old or a non-x86 build: the plain products are used
            _PACKED_OK = False
    return _PACKED_OK and _MKLDNN_ENABLED()


_MKLDNN_ENABLED = getattr(torch._C, "_get_mkldnn_enabled", lambda: torch.backends.mkldnn.enabled)


class _BoxScale(torch.autograd.Function):
    r""":math:`z / s` with :math:`s = \max(1, \|z\|_\infty / b)`, with a short backward:

    .. math:: \partial_z = g / s - [s > 1]\, \operatorname{sign}(z_j)\, e_j\,
              \langle g, z / s \rangle / (s b)

    with ``j`` the coordinate of the largest ``|z|`` (split evenly between ties, as autograd
    does for ``amax``). Autograd's own graph for ``amax`` and the division makes several more
    passes over the batch, and ``argmax`` is slow on CPU: :func:`_box_backward` finds the peak
    from the saved outputs.
    """

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor, bound: float) -> torch.Tensor:  # type: ignore[override]
        out, inv, peak_out = _box_saved_(z.clone(), bound)
        ctx.bound = bound
        ctx.save_for_backward(out, inv, peak_out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        out = ctx.saved_tensors[0]
        with torch.autocast(g.device.type, enabled=False):  # as in the forward
            return _box_backward(g.to(out.dtype), *ctx.saved_tensors, ctx.bound), None


class _ProjectedLines(torch.autograd.Function):
    r"""The projection mode's feasibility steps on the affine maps' outputs, and the box:
    :math:`z = y + (\mu M - y Q) Q^\top` (:math:`= P y + R^\top \mu`), then
    :math:`z / s`. Its backward is :math:`\partial_y = P g'`, :math:`\partial_\mu =
    g' Q M^\top` with :math:`g'` the box's backward of ``g``: ``g' Q`` is formed once, and
    nothing of size ``n x d`` is allocated but the result (autograd's graph: three more)."""

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, mu: torch.Tensor, B: torch.Tensor,  # type: ignore[override]
                M: torch.Tensor, bound: float | None) -> torch.Tensor:
        w = torch.addmm(y @ B.T, mu, M, beta=-1) if mu.shape[1] else -(y @ B.T)
        z = torch.addmm(y, w, B)
        ctx.bound = bound
        if bound is None:
            ctx.save_for_backward(B, M)
            return z
        out, inv, peak_out = _box_saved_(z, bound)
        ctx.save_for_backward(B, M, out, inv, peak_out)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        B, M, *box = ctx.saved_tensors
        with torch.autocast(g.device.type, enabled=False):  # as in the forward
            g = g.to(B.dtype)
            if box:
                g = _box_backward(g, *box, ctx.bound)
            coords = g @ B.T
            grad_y = g.addmm_(coords, B, alpha=-1) if box else torch.addmm(g, coords, B, alpha=-1)
            return grad_y, coords @ M.T, None, None, None


# the widest rows the kernels of conecore._triton_rays_box hold (not imported: no triton on CPU)
_TRITON_MAX_D = 8192  # its MAX_TRAIN_BLOCK_D: the box's kernels in training
_TRITON_MAX_INFER_D = 16384  # its MAX_BLOCK_D: rays_box
_TRITON_MAX_LINE_D = 4096  # its MAX_LINE_BLOCK_D: the line map's kernels (with the box)
_TRITON_MAX_LINE_ROWS = 64  # conecore._triton_rays_box.MAX_LINE_ROWS
_TRITON_MAX_LINE_RAYS = 64  # conecore._triton_rays_box.MAX_LINE_RAYS
_TRITON_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"  # Triton on CPU tensors (tests)
_TRITON_OK: dict[Any, bool] = {}  # per CUDA device: the fused kernel passed its self-check


def _triton_works(yu: torch.Tensor) -> bool:
    """Whether the Triton kernels (:mod:`conecore._triton_rays_box`: the rays and the box in
    inference, the box's forward and backward in training) may run on ``yu``: float32 on CUDA,
    ``CONECORE_TRITON`` not ``0``, and once per device a self-check of all three against the
    torch operations (any error or a difference above 1e-5 relative: a warning, and the torch
    operations from then on). Not while a CUDA graph is captured. On a
    CPU only under Triton's interpreter (``TRITON_INTERPRET=1``: the tests)."""
    if (yu.dtype != torch.float32 or os.environ.get("CONECORE_TRITON", "1") == "0"
            or not (yu.is_cuda or _TRITON_INTERPRET)):
        return False
    device = yu.device
    if device not in _TRITON_OK:
        if yu.is_cuda and torch.cuda.is_current_stream_capturing():
            return False
        _TRITON_OK[device] = _triton_self_check(device)
    return _TRITON_OK[device]


def _triton_self_check(device: torch.device) -> bool:
    try:
        from conecore._triton_rays_box import (
            box_backward,
            box_forward_,
            line_box_backward,
            line_box_forward_,
            rays_box,
        )

        g = torch.Generator(device=device).manual_seed(0)
        for nonneg, box in (("softplus", 0.5), ("relu", None), ("exp", 2.0)):
            yu = torch.randn(37, 105, generator=g, device=device) * 3
            rays = torch.randn(5, 100, generator=g, device=device)
            out = rays_box(yu, rays, nonneg, box)
            z = yu[:, :100] + NONNEG[nonneg](yu[:, 100:]) @ rays
            if box is not None:
                z = _box_plain(z, box)
            if not bool((out - z).abs().max() <= 1e-5 * (1 + z.abs().max())):
                raise ArithmeticError(f"differs from torch by {(out - z).abs().max():.2g}")
        # the box's training kernels: a row inside the box, a three-way tie, a negative peak
        z = torch.randn(37, 100, generator=g, device=device) * 2
        z[0] = 0.25
        z[1, :3] = z[1].abs().max() + 1
        z[2, 5] = -10
        grad = torch.randn(z.shape, generator=g, device=device)
        for bound in (1.0, 0.7):
            want, got = _box_saved_torch(z.clone(), bound), box_forward_(z.clone(), bound)
            if not all(torch.allclose(a, b, rtol=1e-6, atol=1e-7)
                       for a, b in zip(want, got, strict=True)):
                raise ArithmeticError("the box's forward differs from torch")
            gw, gg = _box_backward_torch(grad, *want, bound), box_backward(grad, *got, bound)
            if not torch.allclose(gg, gw, rtol=1e-4, atol=1e-6):
                raise ArithmeticError("the box's backward differs from torch")
        # the map, the line map and the box: z = y + (mu M - y Q) Q^T, then the box, and back
        basis = torch.randn(100, 6, generator=torch.Generator().manual_seed(0))
        Q = torch.linalg.qr(basis)[0].T.contiguous().to(device)  # on the CPU: no cuSOLVER
        M = torch.randn(5, 6, generator=g, device=device)
        u = torch.randn(37, 5, generator=g, device=device) * 3
        for nonneg, bound in (("softplus", None), ("relu", 0.7), ("exp", 0.7)):
            mu = NONNEG[nonneg](u)
            want = z + (mu @ M - z @ Q.T) @ Q
            saved = _box_saved_torch(want, bound) if bound is not None else (want, None, None)
            out, mu_k, inv, peak = line_box_forward_(z.clone(), u, M, Q, nonneg, bound)
            if not (_close(out, saved[0]) and _close(mu_k, mu)):
                raise ArithmeticError("the line map's forward differs from torch")
            gp = _box_backward_torch(grad, *saved, bound) if bound is not None else grad
            gy, gu = line_box_backward(grad, out, inv, peak, Q, u, mu_k, M, nonneg, bound)
            coords = gp @ Q.T
            if not (_close(gy, gp - coords @ Q)
                    and _close(gu, _nonneg_backward(nonneg, coords @ M.T, u, mu))):
                raise ArithmeticError("the line map's backward differs from torch")
        return True
    except Exception as exc:  # no Triton, a compiler error, a wrong result
        warnings.warn(f"ConeLayer: the fused Triton kernel is not used on {device} ({exc!r}); "
                      "the torch operations are", RuntimeWarning, stacklevel=3)
        return False


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal to float32 round-off, relative to the largest entry."""
    return bool((a - b).abs().max() <= 1e-5 * (1 + b.abs().max()))


def _custom_map(module: nn.Module) -> bool:
    """Must ``module`` (``ray_coef`` or ``line_coef``) run as a module, its ``forward`` called?
    Under a parametrization (``torch.nn.utils.parametrize``: ``spectral_norm``, ``weight_norm``,
    ...) the weight is not in ``_parameters`` and is computed at every access; hooks on it (or on
    every module) expect calls. The layer's own paths read the weights and call no module."""
    params = module._parameters  # (torch.ao's quantized maps have neither entry either)
    return ("weight" not in params or "bias" not in params or bool(
        module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
        or module._backward_pre_hooks or any(_GLOBAL_HOOKS)))


# torch's registries of hooks on every module (dicts; filled in place, so read at call time)
_GLOBAL_HOOKS = tuple(getattr(_nn_module, name, {}) for name in (
    "_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
    "_global_backward_pre_hooks"))


def _only_plain_weights(state_dict: dict[str, Any], prefix: str, module: str, what: str
                        ) -> None:
    """Loading the same cone with ``what``, only ``weight`` and ``bias`` can be mapped; a
    parametrization's tensors (``parametrizations.weight.original``, spectral norm's vectors)
    would otherwise load unmapped, onto the wrong rays or lines."""
    plain = {f"{prefix}{module}.weight", f"{prefix}{module}.bias"}
    other = sorted(k for k in state_dict if k.startswith(f"{prefix}{module}.") and k not in plain)
    if other:
        raise ConeMismatchError(
            f"these weights are of this layer's cone with {what}, which is mapped for "
            f"{module}.weight and {module}.bias only, not for {other[0]} (a parametrization's). "
            "Remove the parametrization before saving (torch.nn.utils.parametrize."
            "remove_parametrizations), or load into a layer built from the same cone data")


def constant_outputs(x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """The outputs of a layer whose set is one point (the cone ``{0}``, a polyhedron that is a
    point): ``value`` (``(d,)``) for every input row, a new ``(*x.shape[:-1], d)`` tensor of
    ``value``'s dtype and device. Where ``x`` is on autograd's graph the outputs are too, with a
    zero gradient (``where`` with a mask of False: exactly ``value`` whatever ``x`` holds, NaN
    included), so a loss on them alone back-propagates, as on any other layer's outputs
    (before, ``backward`` raised "element 0 of tensors does not require grad": Train live with
    only the layer's method on such a set)."""
    shape = (*x.shape[:-1], value.shape[-1])
    if not (torch.is_grad_enabled() and x.requires_grad):
        return value.expand(shape).clone()
    never = torch.zeros(shape, dtype=torch.bool, device=value.device)
    return torch.where(never, x[..., :1].to(value.device, value.dtype), value)


def _functorch_active() -> bool:
    """Under ``torch.func`` transforms (``grad``, ``vmap``, ...), which the layer's hand-written
    backwards do not support, and inside ``torch.autograd.forward_ad.dual_level()`` (forward-mode
    AD: the compiled kernels would drop the tangents, with or without ``no_grad``), the layer
    runs as plain autograd operations."""
    return ((_FUNCTORCH_ACTIVE is not None and bool(_FUNCTORCH_ACTIVE()))
            or getattr(_FORWARD_AD, "_current_level", -1) >= 0)


_FUNCTORCH_ACTIVE = getattr(torch._C, "_are_functorch_transforms_active", None)
_FORWARD_AD = torch.autograd.forward_ad
_IS_TRACING = getattr(torch._C, "_is_tracing", torch.jit.is_tracing)  # torch.jit.trace


def _surely(condition: Any) -> bool:
    """``condition`` for a plain bool (an int batch size); for a symbolic one (a batch that
    Dynamo or ``torch.export`` treats as dynamic) whether it holds for every size in the
    batch's range, decided without a guard: a guard would narrow the sizes a graph accepts (an
    error where the range was given: ``mark_dynamic(x, 0, min=..., max=...)``,
    ``torch.export.Dim``). Dynamo takes a symbolic size for an int in ``isinstance``. Under
    ``torch.jit.trace`` a size is a tensor: False (the fold, right for every batch), without
    reading the tensor's value, which made the tracer warn that the trace might be wrong.
    (Eager code, where a plain bool is one, returns at once: this runs in every training
    step.)"""
    if isinstance(condition, torch.Tensor):
        return False
    if isinstance(condition, bool) and not torch.compiler.is_compiling():
        return condition
    from torch.fx.experimental.symbolic_shapes import statically_known_true

    return bool(statically_known_true(condition))


def _freezing() -> bool:
    """Whether Inductor compiles inference with the weights as constants
    (``torch._inductor.config.freezing``; not imported: no)."""
    config = sys.modules.get("torch._inductor.config")
    return bool(getattr(config, "freezing", False))


def _nonneg_backward(name: str, g: torch.Tensor, u: torch.Tensor, mu: torch.Tensor
                     ) -> torch.Tensor:
    """``g * nonneg'(u)``, as autograd computes it for each map of :data:`NONNEG`, except where
    :func:`_flush_` set a coefficient to 0: there autograd gives 0 and this the map's own
    derivative, at most ``2e-19 |g|`` (``square``; ``softplus``: ``1.2e-38 |g|``)."""
    if name == "softplus":
        return torch.ops.aten.softplus_backward(g, u, 1.0, 20.0)
    if name == "relu":
        return torch.ops.aten.threshold_backward(g, mu, 0.0)
    if name == "abs":
        return g * u.sgn()
    if name == "square":
        return g * (2.0 * u)
    return torch.where(u <= 60.0, g * mu, 0.0)  # exp(clamp(u, max=60))


class _LayerMap(torch.autograd.Function):
    r"""The whole training forward of a :class:`ConeLayer` (float32/float64, no autocast) as one
    autograd node with a hand-written backward, for eager training:

    * ``"outputs"``: :math:`y = W h + b`, :math:`z = y + (\mu M - y Q) Q^\top` in place
      (``P y + R^\top \mu``); backward :math:`\partial_y = P g'`, :math:`\partial_\mu =
      g' Q M^\top`;
    * ``"fold"``: :math:`z = (P W) h + P b + R^\top \mu` (or :math:`L^\top W` with the explicit
      basis); backward :math:`\partial_W = P (g'^\top h)`;
    * ``"basis"``: :math:`z = L^\top (W h + b) + R^\top \mu`; no lines: :math:`R^\top \mu`;

    then the box. Autograd's graph of the same (the two affine maps, the non-negative map, the
    line map and the box) is five or six nodes and several more passes over the ``n x d``
    outputs; here the outputs are written once and scaled in place (:func:`_box_saved_`,
    :func:`_box_backward`). ``spec`` is the layer (its buffers and settings).
    """

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor, W: torch.Tensor | None, b: torch.Tensor | None,  # type: ignore[override]
                Wu: torch.Tensor | None, bu: torch.Tensor | None, spec: ConeLayer,
                kind: str) -> torch.Tensor:
        bufs, bound = spec._buffers, spec.box
        rays = bufs["rays"]
        u = mu = None
        if Wu is not None:
            u = F.linear(h, Wu, bu)  # addmm(bu, h, Wu^T), without a Python-made view
        Wz = None
        if W is not None and kind == "outputs":
            B = bufs["line_basis"]
            z = F.linear(h, W, b)
            if _triton_line_usable(z, B, u):  # the map, the line map, the box: one kernel
                from conecore._triton_rays_box import line_box_forward_

                z, mu, inv, peak_out = line_box_forward_(z, u, bufs["ray_coords"], B,
                                                         spec.nonneg, bound)
                ctx.line_kernel = True
                ctx.save_for_backward(h, W, None, Wu, u, mu, z if bound is not None else None,
                                      inv, peak_out)
                ctx.kind, ctx.spec = kind, spec
                return z
            sparse = spec._sparse_lines() if z.is_cpu and _native_box.usable(z) else None
            if sparse is not None:  # the line map and the box: one compiled pass
                S, coords, blocks = sparse
                mu = spec._nonneg(u) if u is not None else None
                z, inv, peak_out = _native_box.line_box_(z, mu, coords, S, blocks, bound)
                ctx.native_lines = sparse
                ctx.save_for_backward(h, W, None, Wu, u, mu, z if bound is not None else None,
                                      inv, peak_out)
                ctx.kind, ctx.spec = kind, spec
                return z
        if u is not None:
            mu = spec._nonneg(u)
        if W is None:
            z = mu @ rays
        elif kind == "outputs":
            w = F.linear(z, B)
            w = torch.addmm(w, mu, bufs["ray_coords"], beta=-1) if mu is not None else w.neg_()
            z.addmm_(w, B)
        else:
            if kind == "fold":
                Wz, bz = spec._fold_tensors(W, b)
                z = F.linear(h, Wz, bz)
            else:  # "basis": t = W h + b, z = L^T t
                z = F.linear(h, W, b) @ bufs["line_basis"]
            if mu is not None:
                z.addmm_(mu, rays)
        inv = peak_out = None
        if bound is not None:
            z, inv, peak_out = _box_saved_(z, bound)
        ctx.kind, ctx.spec = kind, spec
        ctx.save_for_backward(h, W, Wz, Wu, u, mu, z if bound is not None else None, inv,
                              peak_out)
        return z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        return _layer_map_backward(ctx, g)


def _layer_map_backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
    """:class:`_LayerMap`'s backward (the maths in its docstring)."""
    h, W, Wz, Wu, u, mu, out, inv, peak_out = ctx.saved_tensors
    spec, kind, bound = ctx.spec, ctx.kind, ctx.spec.box
    bufs = spec._buffers
    if g.dtype != h.dtype:
        g = g.to(h.dtype)
    owned = out is not None  # g may be written to in place only once it is a new tensor
    gy = gmu = gu = None
    rays = bufs["rays"]
    sparse = getattr(ctx, "native_lines", None)
    if getattr(ctx, "line_kernel", False):  # the box, the line map, the map: one kernel
        from conecore._triton_rays_box import line_box_backward

        gy, gu = line_box_backward(g, out, inv, peak_out, bufs["line_basis"], u, mu,
                                   bufs["ray_coords"], spec.nonneg, bound)
    elif sparse is not None:  # the box and the line map: one compiled pass
        S, coords, blocks = sparse
        gy, c = _native_box.line_box_backward(g, out, inv, peak_out, S, blocks, bound)
        if Wu is not None:
            gu = _nonneg_backward(spec.nonneg, F.linear(c, coords), u, mu)
    else:
        if out is not None:  # the box; a new tensor, so the rest may work in place on it
            g = _box_backward(g, out, inv, peak_out, bound)
        if W is None:
            gmu = F.linear(g, rays)
        elif kind == "outputs":
            B = bufs["line_basis"]
            coords = F.linear(g, B)
            gy = (g.addmm_(coords, B, alpha=-1) if owned
                  else torch.addmm(g, coords, B, alpha=-1))
            gmu = F.linear(coords, bufs["ray_coords"]) if Wu is not None else None
        else:
            gy = g if kind == "fold" else F.linear(g, bufs["line_basis"])
            gmu = F.linear(g, rays) if Wu is not None else None
        gu = _nonneg_backward(spec.nonneg, gmu, u, mu) if Wu is not None else None
    grads: list[torch.Tensor | None] = [None] * 7
    needs = ctx.needs_input_grad  # frozen maps get no gradient
    if gy is not None and (needs[1] or needs[2]):
        gW, gb = gy.T @ h, gy.sum(0)
        if kind == "fold":  # through P W (or L^T W): P gW, P gb (L gW, L gb)
            gW, gb = spec._unfold_tensors(gW, gb)
        grads[1], grads[2] = gW if needs[1] else None, gb if needs[2] else None
    if gu is not None and (needs[3] or needs[4]):
        grads[3], grads[4] = gu.T @ h if needs[3] else None, gu.sum(0) if needs[4] else None
    if needs[0]:
        gh = gy @ (Wz if kind == "fold" else W) if gy is not None else None
        if gu is not None:
            gh = gu @ Wu if gh is None else gh.addmm_(gu, Wu)
        grads[0] = gh
    return tuple(grads)


# torch's ``Function.apply`` is Python that binds default arguments, checks for functorch
# transforms and unwraps "dead" functorch wrappers in every argument before the C++ apply. In
# the fused path no transform is active (``forward`` checked) and the parameters are plain, so
# the C++ apply is called directly, after unwrapping the input: about 30 us a training step on
# the 2-core VM (2 %), measured interleaved with the order of the two alternating.
_LAYER_MAP_APPLY = super(torch.autograd.Function, _LayerMap).apply
_unwrap_if_dead = getattr(getattr(torch._C, "_functorch", None), "unwrap_if_dead", lambda t: t)


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

    Outputs have the dtype of the layer's parameters (float32 under autocast).

    Inference without autograd caches what it derives from the weights (the line map folded
    into them, the kernels' layouts) until a weight changes in a way torch counts: an
    optimiser's step, any in-place operation on the parameter itself (under ``no_grad``),
    ``load_state_dict``, ``.to()``; every training forward (autograd on, trainable weights)
    drops the caches too, so a manual step through ``.data`` (``p.data -= lr * g``, old
    tutorials' loop), which torch's version counters do not see, is followed as well. Only a
    change through ``.data`` with no training forward since the last inference goes unseen:
    then call ``layer.float()`` (any ``.to()``) to drop the caches, or update ``p`` itself.
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
        rays = np.array(cone.rays)
        self._masters = {"A": rows_in_range(cone.A), "rays": rays, "line_basis": basis,
                         "ray_coords": rays @ basis.T if line_mode == "project"
                         else np.zeros((len(rays), 0))}
        dtype = _generator_dtype(torch.get_default_dtype())
        for name, value in self._masters.items():
            # ray_coords (the rays in the row-space basis) is derived: not in the state dict.
            self.register_buffer(name, torch.as_tensor(value, dtype=dtype),
                                 persistent=name != "ray_coords")
        n_line_params = d if line_mode == "project" else ell
        # Affine maps to the ray coefficients u (k) and to the line part (l, or d to project).
        self.ray_coef = nn.Linear(self.in_features, k) if k else None
        self.line_coef = nn.Linear(self.in_features, n_line_params) if line_mode != "none" else None
        # Each weight cache: (key, what it holds..., the tensors it was made from). The key is
        # their versions and addresses; holding them keeps a new tensor off those addresses.
        self._folded: tuple[Any, ...] | None = None
        self._stacked: tuple[Any, ...] | None = None
        self._packed: tuple[Any, ...] | None = None
        self._native: tuple[Any, ...] | None = None
        self._sparse: tuple[Any, ...] | None = None

    def _apply(self, fn, recurse=True):  # type: ignore[override]
        super()._apply(fn, recurse)
        ref = next(self.parameters(), self.rays)
        dtype = _generator_dtype(ref.dtype)
        for name, master in self._masters.items():
            setattr(self, name, torch.as_tensor(master, dtype=dtype, device=ref.device))
        self._drop_caches(_CACHES)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickling and ``copy.deepcopy`` leave out the caches of folded and packed weights
        (oneDNN's packed tensors have no storage to copy); they are rebuilt on the next call."""
        state = super().__getstate__()
        return {**state, **dict.fromkeys(_CACHES)}

    # ------------------------------------------------------------------ maths
    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The line part as a ``(d, h)`` weight and a ``(d,)`` bias: ``P W`` or ``L^T W``."""
        return self._fold_tensors(self.line_coef.weight, self.line_coef.bias)

    def _fold_tensors(self, W: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B = self._buffers["line_basis"]
        if self.line_mode == "project":
            # P W = W - Q (Q^T W), with Q = line_basis^T (d x r) orthonormal, spanning row(A).
            return torch.addmm(W, B.T, B @ W, alpha=-1), torch.addmv(b, B.T, B @ b, alpha=-1)
        return B.T @ W, B.T @ b

    def _unfold_tensors(self, gW: torch.Tensor, gb: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """The gradients of :meth:`_fold_tensors`' inputs from those of its outputs:
        ``P gW, P gb`` (``P`` is symmetric) or ``L gW, L gb``."""
        B = self._buffers["line_basis"]
        if self.line_mode == "project":
            return gW.addmm_(B.T, B @ gW, alpha=-1), gb.addmv_(B.T, B @ gb, alpha=-1)
        return B @ gW, B @ gb

    def _fold_key(self, W: torch.Tensor, b: torch.Tensor) -> tuple[int, ...]:
        """What the folded weights depend on: the line map's and the basis' versions (bumped by
        every in-place update, an optimiser's step too) and storage."""
        B = self._buffers["line_basis"]
        return (W._version, b._version, B._version, W.data_ptr(), b.data_ptr(), B.data_ptr())

    def _line_weights(self, line_coef: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """Folded line weights; cached for eager inference (no autograd) until the weights
        change. Traced code (``torch.compile``, ``torch.export``) folds in the graph."""
        W, b = line_coef.weight, line_coef.bias
        if torch.compiler.is_compiling() or (torch.is_grad_enabled() and W.requires_grad):
            self._folded = None
            return self._fold()
        key = self._fold_key(W, b)
        if self._folded is None or self._folded[0] != key:
            with torch.no_grad():  # the sources kept: no new tensor takes their address
                self._folded = (key, *self._fold(), (W, b, self._buffers["line_basis"]))
        return self._folded[1], self._folded[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not x.shape or x.shape[-1] != self.in_features:  # (a 0-d tensor has no last dimension)
            raise ConeInputError(
                f"ConeLayer expects inputs with last dimension {self.in_features}; "
                f"got shape {tuple(x.shape)}"
            )
        lead = x.shape[:-1]
        h = x if x.dim() == 2 else x.reshape(-1, self.in_features)
        modules, rays = self._modules, self._buffers["rays"]  # no nn.Module.__getattr__ per call
        ray_coef, line_coef = modules.get("ray_coef"), modules.get("line_coef")
        first = ray_coef if ray_coef is not None else line_coef
        if first is None:  # the cone is {0}
            return constant_outputs(x, x.new_zeros(self.out_features))
        as_modules = _custom_map(first) or (
            line_coef is not None and line_coef is not first and _custom_map(line_coef))
        if as_modules:
            weight = getattr(first, "weight", None)
            if not isinstance(weight, torch.Tensor):  # torch.ao's quantized maps: a method
                weight = rays
        else:
            weight = first._parameters["weight"]
        # h.is_cpu, not h.device.type alone: making the device object cost 13 us a call inside
        # a training step (0.5 us alone), a cold-cache cost as every line's here.
        dtype, device = weight.dtype, "cpu" if h.is_cpu else h.device.type
        autocast = torch.is_autocast_enabled(device)
        reduced = rays.dtype == torch.float32 and reduced_precision_matmul(device)
        # Traced code (torch.compile, torch.export, torch.jit.trace) must see every operation:
        # no compiled C or Triton kernel there, which a trace would silently leave out.
        eager = not (torch.compiler.is_compiling() or _IS_TRACING())
        grad = torch.is_grad_enabled()
        if grad and eager and (self._native is not None or self._folded is not None
                               or self._packed is not None or self._stacked is not None):
            self._drop_weight_caches()
        if as_modules or _functorch_active():
            z = self._forward_projected(h, autocast, reduced, plain=True).to(dtype)
        elif autocast or reduced or dtype != rays.dtype:
            z = self._forward_projected(h, autocast, reduced).to(dtype)
        elif (eager and dtype == torch.float32 and line_coef is not None
              and self.out_features <= _FLOAT64_LINES_MAX_D):
            z = self._forward_projected(h, False, True).to(dtype)
        elif (device == "cuda" and self.box is not None and ray_coef is not None
              and line_coef is not None and not grad and eager):
            z = self._forward_stacked(h, line_coef, ray_coef)
        elif (device == "cpu" and not grad and eager and h.dtype == dtype
              and type(h) is torch.Tensor and dtype in _native_box.SUFFIXES
              and _native_box.available()):
            z = self._forward_native(h, line_coef, ray_coef)
        elif (device == "cpu" and not grad and eager and dtype == torch.float32
              and h.dtype == dtype and h.shape[0] >= _PACKED_MIN_BATCH
              and _packed_linear_works()):
            z = self._forward_packed(h, line_coef, ray_coef)
        elif grad and eager:
            z = self._forward_fused(h, line_coef, ray_coef)
        elif (not grad and not eager and ray_coef is not None
              and self.num_rays <= _TRACED_RAY_TERMS):
            z = self._forward_traced(h, line_coef, ray_coef)  # compiled or traced inference
        elif line_coef is None or self._fold_is_cheaper(h.shape[0], line_coef.weight):
            z = self._forward_folded(h)
        else:
            z = self._forward_projected(h, False, False)
        return z if x.dim() == 2 else z.reshape(*lead, self.out_features)

    def _drop_weight_caches(self) -> None:
        """In a training forward (trainable weights): a manual step through ``.data`` may
        follow, which torch's version counters do not see, so the next inference rebuilds what
        it caches from the weights (after an optimiser's step it would anyway)."""
        if any(p.requires_grad for p in self.parameters()):
            self._drop_caches(_WEIGHT_CACHES)

    def _drop_caches(self, names: tuple[str, ...]) -> None:
        for name in names:
            setattr(self, name, None)

    def _fold_is_cheaper(self, n: int, weight: torch.Tensor) -> bool:
        """Fold ``P`` into the weights, or apply it to the outputs? Folded weights are cached
        for eager inference, so there always (traced inference chooses in
        :meth:`_traced_lines_on_outputs`). In training, eager or compiled, by the multiply-adds
        per output coordinate (forward; the backward's are alike): folding costs ``2 r h`` for
        ``P W`` and ``n k`` for the rays, the outputs' side ``2 n r`` and ``n k r / d`` (the rays
        in ``Q``'s coordinates); with the explicit basis ``l h + n k`` against ``n l + n k``.
        A symbolic batch size (compiled or exported with a dynamic batch) takes the outputs'
        side only where that is cheaper for every size in its range (:func:`_surely`), else
        the fold. Compiled training at batch 2 with the fold took 2.4 x the compiled head's
        step; with the outputs' side 1.2 x (CPU, one thread)."""
        if not (torch.is_grad_enabled() and weight.requires_grad):
            return True
        h, k, d = self.in_features, self.num_rays, self.out_features
        r = self._buffers["line_basis"].shape[0]
        if self.line_mode == "project":  # (times d: in integers, for a symbolic n too)
            return not _surely(2 * n * r * d + n * k * r <= (2 * r * h + n * k) * d)
        return not _surely(n <= h)

    def _stacked_weights(self, line_coef: nn.Linear, ray_coef: nn.Linear
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[P W; W_u]`` and ``[P b; b_u]``: the line part and the ray coefficients ``u`` from
        one product (eager inference with the box), cached as the folded weights are."""
        W, b = self._line_weights(line_coef)
        Wu, bu = ray_coef.weight, ray_coef.bias
        key = (self._folded[0], Wu._version, bu._version, Wu.data_ptr(), bu.data_ptr())
        if self._stacked is None or self._stacked[0] != key:
            self._stacked = (key, torch.cat([W, Wu]), torch.cat([b, bu]),
                             (*self._folded[3], Wu, bu))  # the sources kept (as _folded's)
        return self._stacked[1], self._stacked[2]

    def _forward_stacked(self, h: torch.Tensor, line_coef: nn.Linear, ray_coef: nn.Linear
                         ) -> torch.Tensor:
        """Eager inference with the box in four passes: ``[y, u] = [P W; W_u] h + [P b; b_u]``
        (one product), ``mu = nonneg(u)``, ``y += R^T mu`` in place, then ``z = y / s`` into a
        new (contiguous) tensor, ``s = max(1, |y|_inf / b)``: two kernels fewer than
        :meth:`_forward_folded`, whose launches dominate small batches on a GPU (on a CPU the
        strided in-place product costs more than it saves: not used there). Where Triton's
        kernel passed its self-check (:func:`_triton_works`) the last three are one kernel."""
        W, b = self._stacked_weights(line_coef, ray_coef)
        d = self.out_features
        yu = F.linear(h, W, b)
        if d <= _TRITON_MAX_INFER_D and _triton_works(yu):  # the rest as one kernel
            from conecore._triton_rays_box import rays_box  # (conecore._triton_rays_box)

            return rays_box(yu, self._buffers["rays"], self.nonneg, self.box)
        y = yu[:, :d].addmm_(self._nonneg(yu[:, d:]), self._buffers["rays"])
        peak = torch.linalg.vector_norm(y, ord=float("inf"), dim=-1, keepdim=True)
        scale = peak.clamp_(min=self.box)
        if self.box != 1.0:
            scale.div_(self.box)
        return torch.div(y, scale)

    def _packed_weights(self, line_coef: nn.Linear | None, batch: int
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``[P W | R^T]`` packed by oneDNN, and ``P b``: the line part and the ray combination
        as one product of ``[h, mu]``; cached until the weights change (their versions and
        storage, as the folded weights'). A cache hit reads a few attributes and no more: at
        small batches the layer's Python is a good part of its time."""
        key: tuple[Any, ...] = ()
        sources: tuple[torch.Tensor, ...] = ()
        if line_coef is not None:
            params = line_coef._parameters
            sources = (params["weight"], params["bias"], self._buffers["line_basis"])
            key = self._fold_key(*sources[:2])
        cache = self._packed
        if cache is not None and cache[0] == key:
            return cache[1], cache[2]
        rays = self._buffers["rays"]
        with torch.no_grad():
            if line_coef is None:
                weight, bias = rays.T, None
            else:
                weight, bias = self._fold()
                if self._modules.get("ray_coef") is not None:
                    weight = torch.cat([weight, rays.T], 1)
            packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)
        self._packed = (key, packed, bias, sources)  # the sources kept (as _folded's)
        return packed, bias

    def _forward_packed(self, h: torch.Tensor, line_coef: nn.Linear | None,
                        ray_coef: nn.Linear | None) -> torch.Tensor:
        """Eager float32 inference on a CPU where the C kernels do not load (no compiler; else
        :meth:`_forward_native`): ``mu = nonneg(W_u h + b_u)``, then
        ``z = [P W | R^T] [h; mu] + P b`` (the rays as ``k`` more input columns of one product
        instead of a second pass over the output) with oneDNN's prepacked weight (a plain
        product packs its weight into the kernel's layout at every call: about 10% of one this
        size), then the box."""
        packed, bias = self._packed_weights(line_coef, h.shape[0])
        if ray_coef is None:
            inputs = h
        else:
            params = ray_coef._parameters
            mu = self._nonneg(F.linear(h, params["weight"], params["bias"]))
            inputs = mu if line_coef is None else torch.cat([h, mu], 1)
        z = torch.ops.mkldnn._linear_pointwise(inputs, packed, bias, "none", [], "")
        if self.box is None:
            return z
        if type(z) is torch.Tensor and _native_box.available():  # a new plain float32 tensor
            return _native_box.box_(z, self.box)
        return _box_(z, self.box)

    def _native_weights(self, line_coef: nn.Linear | None, ray_coef: nn.Linear | None
                        ) -> tuple[Any, ...]:
        """What CPU inference's kernels read (:meth:`_forward_native`), cached until a weight,
        the basis or the rays change (their versions and storage: one check a call): the rays
        by blocks (:func:`conecore._native_box.ray_blocks`), the coefficients' weight as
        :func:`conecore._native_box.coef` reads it (None past ``COEF_MAX``: torch's product),
        the folded line weight ``P W`` transposed (``h (P W)^T`` as ``addmm`` of a contiguous
        ``(h, d)`` matrix: 2% faster than ``F.linear`` here) and ``P b``."""
        bufs = self._buffers
        rays, basis = bufs["rays"], bufs["line_basis"]
        key: list[int] = [rays._version, rays.data_ptr(), basis._version, basis.data_ptr()]
        for module in (ray_coef, line_coef):
            if module is not None:
                params = module._parameters
                W, b = params["weight"], params["bias"]
                key += (W._version, b._version, W.data_ptr(), b.data_ptr())
        cache = self._native
        if cache is not None and cache[0] == key:
            return cache
        sources = [rays, basis]
        for module in (ray_coef, line_coef):
            if module is not None:
                sources += (module._parameters["weight"], module._parameters["bias"])
        blocks = coef = line_wt = line_b = None
        if ray_coef is not None:
            Wu, bu = ray_coef.weight, ray_coef.bias
            blocks = _native_box.ray_blocks(rays)
            if Wu.numel() <= _native_box.COEF_MAX:
                coef = _native_box.coef_weights(Wu, bu)
        if line_coef is not None:
            folded, line_b = self._fold()
            line_wt = folded.T.contiguous()
        # The sources kept: while cached, no new tensor (functional_call's, say) can take their
        # address, which with version 0 would match the key.
        self._native = (key, blocks, coef, line_wt, line_b, tuple(sources))
        return self._native

    def _sparse_lines(self) -> tuple[torch.Tensor, torch.Tensor, Any] | None:
        """A sparse orthonormal basis ``S`` of ``row(A)`` for training's compiled line map
        (:func:`conecore._native_box.line_box_`), where ``A``'s non-zero rows are orthogonal
        (disjoint supports, as the checkerboard's signed blocks): those rows normalised. It
        spans what ``line_basis`` spans (a dense basis from the SVD), so ``P = I - S^T S`` is
        the same map; the rays in its coordinates; its blocks. None where the rows are not
        orthogonal, in the basis mode, or where ``S`` is dense
        (:data:`conecore._native_box.LINE_DENSITY`). Cached until ``A`` or the rays change."""
        bufs = self._buffers
        A, rays = bufs["A"], bufs["rays"]
        key = (A._version, A.data_ptr(), rays._version, rays.data_ptr())
        if self._sparse is not None and self._sparse[0] == key:
            return self._sparse[1]
        value = None
        rows = self._masters["A"]
        rows = rows[np.abs(rows).max(axis=1) > 0] if rows.size else rows
        if self.line_mode == "project" and len(rows) == bufs["line_basis"].shape[0] > 0:
            S = rows / np.linalg.norm(rows, axis=1, keepdims=True)
            if np.abs(S @ S.T - np.eye(len(S))).max() <= 1e-12:
                S_t = torch.as_tensor(S, dtype=A.dtype, device=A.device)
                blocks = _native_box.line_blocks(S_t)
                if blocks is not None:
                    coords = torch.as_tensor(self._masters["rays"] @ S.T, dtype=A.dtype,
                                             device=A.device)
                    value = (S_t, coords.contiguous(), blocks)
        self._sparse = (key, value)
        return value

    def _forward_native(self, h: torch.Tensor, line_coef: nn.Linear | None,
                        ray_coef: nn.Linear | None) -> torch.Tensor:
        """Eager inference on a CPU with the compiled kernels, everything they read cached
        (:meth:`_native_weights`): ``mu = nonneg(W_u h + b_u)`` by a kernel that computes four
        rows and 16 coefficients at a time and the map in the same pass
        (:func:`conecore._native_box.coef`; torch's product and map where the weight is
        large), then ``y = h (P W)^T + P b`` (one product), then one pass over the rows
        flushes ``mu``, adds ``R^T mu`` by blocks of 8 output coordinates (each block read once
        with its rays' terms, :func:`conecore._native_box.ray_blocks`) and scales into the box
        (:func:`conecore._native_box.rays_box_`). Against ``[P W | R^T] [h; mu]`` in one
        product (:meth:`_forward_packed`, where there is no compiler) this saves the copy of
        ``h`` and the product's 16 more columns, and the rays and the box read each row
        once."""
        _, blocks, coef, line_wt, line_b, _ = self._native_weights(line_coef, ray_coef)
        z = None if line_coef is None else torch.addmm(line_b, h, line_wt)
        if ray_coef is None:
            return z if self.box is None else _native_box.box_(z, self.box)
        if coef is not None and h.is_contiguous():
            mu = _native_box.coef(h, *coef, self.num_rays, self.nonneg)
        else:
            params = ray_coef._parameters
            mu = _UNFLUSHED[self.nonneg](F.linear(h, params["weight"], params["bias"]))
        return _native_box.rays_box_(z, mu, self._buffers["rays"], blocks, self.box)

    def _forward_fused(self, h: torch.Tensor, line_coef: nn.Linear | None,
                       ray_coef: nn.Linear | None) -> torch.Tensor:
        """Eager training: :class:`_LayerMap`, one autograd node for the whole layer, with the
        line map folded into the weights or applied to the outputs, whichever costs fewer
        multiply-adds (:meth:`_fold_is_cheaper`)."""
        W = b = Wu = bu = None
        kind = "rays"
        if line_coef is not None:
            params = line_coef._parameters  # not nn.Module.__getattr__: a call's Python counts
            W, b = params["weight"], params["bias"]
            if self._fold_is_cheaper(h.shape[0], W):
                kind = "fold"
            else:
                kind = "outputs" if self.line_mode == "project" else "basis"
        if ray_coef is not None:
            params = ray_coef._parameters
            Wu, bu = params["weight"], params["bias"]
        return _LAYER_MAP_APPLY(_unwrap_if_dead(h), W, b, Wu, bu, self, kind)

    def _forward_traced(self, h: torch.Tensor, line_coef: nn.Linear | None,
                        ray_coef: nn.Linear) -> torch.Tensor:
        """Inference in compiled or traced code (``torch.compile``, ``torch.export``, ONNX,
        ``torch.jit.trace``), written for the compiler to fuse: ``[y, u] = [P W; W_u] h +
        [P b; b_u]`` as one product (the fold in the graph, or a constant under Inductor's
        freezing), then ``mu = nonneg(u)`` and ``z = y + mu_1 r_1 + ... + mu_k r_k`` term by
        term (pointwise, in the rays' order), then the box: with the ray sum written as a
        product, Inductor made the rank-``k`` update, the line part's addition and the box
        three to four more kernels and passes over the outputs; written so, one kernel after
        the product (on a CPU; measured, "Compiled inference" in the README). Up to
        ``_TRACED_RAY_TERMS`` rays (each is a term in the graph), else the folded form. At
        small batches the line map goes on the outputs instead of into the weights
        (:meth:`_forward_traced_outputs`)."""
        rays = self._buffers["rays"]
        Wu, bu = ray_coef.weight, ray_coef.bias
        if line_coef is None:
            z, u = None, F.linear(h, Wu, bu)
        elif self._traced_lines_on_outputs(h.shape[0]):
            return self._forward_traced_outputs(h, line_coef, ray_coef)
        else:
            W, b = self._line_weights(line_coef)
            d = self.out_features
            yu = F.linear(h, torch.cat([W, Wu]), torch.cat([b, bu]))
            z, u = yu[:, :d], yu[:, d:]
        mu = self._nonneg(u)
        return self._add_terms(z, mu, rays)

    def _add_terms(self, z: torch.Tensor | None, coefs: torch.Tensor, rows: torch.Tensor
                   ) -> torch.Tensor:
        """``z + coefs rows`` written term by term (``z + c_1 v_1 + c_2 v_2 + ...``, pointwise,
        for the compiler to fuse into one pass; ``z`` None: from 0), then the box."""
        for j in range(rows.shape[0]):
            term = coefs[:, j:j + 1] * rows[j]
            z = term if z is None else z + term
        return z if self.box is None else _box_(z, self.box)

    def _traced_lines_on_outputs(self, n: Any) -> bool:
        """In traced inference, apply the line map to the outputs instead of folding it into
        the weights, where that takes fewer multiply-adds: the fold costs ``2 r h d`` every
        call (``r`` basis rows, ``h`` inputs) whatever the batch, the outputs' side ``2 n r d``
        (``P y = y - (y Q) Q^T``) against ``n k d`` for the rays, which it replaces by
        ``n k r``; with the explicit basis ``l h d`` against ``n l d``. Either form is right
        for every batch (``torch.jit.trace`` folds). A symbolic batch size
        (``torch.compile(dynamic=True)``, a recompile for a new size, ``torch.export`` with a
        dynamic batch) takes the outputs' form only where that is cheaper for every size in its
        range (:func:`_surely`: no guard), else the fold, as under Inductor's freezing, where
        the fold is computed once. The basis terms are as many as the rays'
        (:data:`_TRACED_RAY_TERMS`)."""
        # torch.jit.trace (not under Dynamo, which cannot trace the check): sizes are tensors,
        # whose values the tracer warns about reading; the fold
        if (self.line_mode == "none" or _freezing()
                or (not torch.compiler.is_compiling() and _IS_TRACING())):
            return False
        h, k, d = self.in_features, self.num_rays, self.out_features
        r = self._buffers["line_basis"].shape[0]
        if self.line_mode == "project":
            return r <= _TRACED_RAY_TERMS and _surely(
                2 * n * r * d + n * k * r < 2 * r * h * d + n * k * d)
        return r + k <= _TRACED_RAY_TERMS and _surely(n < h)

    def _forward_traced_outputs(self, h: torch.Tensor, line_coef: nn.Linear,
                                ray_coef: nn.Linear) -> torch.Tensor:
        """:meth:`_forward_traced` with the line map on the outputs (small batches, see
        :meth:`_traced_lines_on_outputs`): ``y = W h + b`` and ``u = W_u h + b_u`` (two
        products: at these batches copying ``[W; W_u]`` at every call, as the folded form does,
        cost more than the second product: 1.83 against 1.48 x the compiled head at batch 2 on
        one CPU thread), ``mu = nonneg(u)``, then ``z = y + a_1 q_1 + ... + a_r q_r`` with
        ``a = mu M - y Q`` (``M = R Q``: the rays in the basis ``Q`` of ``row(A)``; the
        same ``P y + R^T mu`` as the training kernels), or with the explicit basis
        ``z = t_1 l_1 + ... + mu_1 r_1 + ...``, term by term as the rays, then the box."""
        bufs = self._buffers
        y = F.linear(h, line_coef.weight, line_coef.bias)
        mu = self._nonneg(F.linear(h, ray_coef.weight, ray_coef.bias))
        B = bufs["line_basis"]
        if self.line_mode == "project":
            a = torch.addmm(F.linear(y, B), mu, bufs["ray_coords"], beta=-1)
            return self._add_terms(y, a, B)
        return self._add_terms(None, torch.cat([y, mu], 1), torch.cat([B, bufs["rays"]]))

    def _forward_folded(self, h: torch.Tensor) -> torch.Tensor:
        """``z = (P b + R^T mu) + (P W) h``: two products into one buffer, then the box."""
        ray_coef, rays = self._modules.get("ray_coef"), self._buffers["rays"]
        mu = (self._nonneg(F.linear(h, ray_coef.weight, ray_coef.bias))
              if ray_coef is not None else None)
        line_coef = self._modules.get("line_coef")
        if line_coef is None:
            z = mu @ rays
        else:
            W, b = self._line_weights(line_coef)
            if mu is None:
                z = F.linear(h, W, b)
            else:  # in place is safe: addmm's backward needs its inputs, not its output
                z = torch.addmm(b, mu, rays).addmm_(h, W.T)
        if self.box is None:
            return z
        if torch.is_grad_enabled() and z.requires_grad:
            return _BoxScale.apply(z, self.box)
        return _box_(z, self.box)

    def _forward_projected(self, h: torch.Tensor, autocast: bool, reduced: bool,
                           plain: bool = False) -> torch.Tensor:
        r"""The affine maps in whatever precision they get (autocast, low-precision weights), then
        the feasibility steps on their outputs in float32, or float64 where float32 products
        may be rounded: :math:`z = y + (\mu M - y Q) Q^\top` with :math:`M = R Q`, i.e.
        :math:`P y + R^\top \mu` (the rays lie in the row space), or :math:`L^\top t +
        R^\top \mu` with the explicit basis. ``plain``: in autograd's own operations, no
        autograd function of the layer's (``torch.func`` transforms: ``grad``, ``vmap``)."""
        ray_coef, line_coef = self._modules.get("ray_coef"), self._modules.get("line_coef")
        u = ray_coef(h) if ray_coef is not None else None
        y = line_coef(h) if line_coef is not None else None
        exact = torch.float64 if reduced else self._buffers["rays"].dtype
        with torch.autocast(h.device.type, enabled=False) if autocast else nullcontext():
            mu = self._nonneg(u.to(exact)) if u is not None else None
            if y is not None and self.line_mode == "project":
                if mu is None:
                    mu = y.new_zeros(y.shape[0], 0, dtype=exact)
                B, M = self._buffers["line_basis"].to(exact), self._buffers["ray_coords"].to(exact)
                y = y.to(exact)
                if not plain:
                    return _ProjectedLines.apply(y, mu, B, M, self.box)
                z = y + (mu @ M - y @ B.T) @ B
            else:
                R = self._buffers["rays"].to(exact)
                if y is None:
                    z = mu @ R
                else:
                    z = y.to(exact) @ self._buffers["line_basis"].to(exact)
                    if mu is not None:
                        z = torch.addmm(z, mu, R) if plain else z.addmm_(mu, R)
            if self.box is None:
                return z
            if plain:
                return _box_plain(z, self.box)
            if torch.is_grad_enabled() and z.requires_grad:
                return _BoxScale.apply(z, self.box)
            return _box_(z, self.box)

    # ------------------------------------------------------------------ checkpoints
    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):  # type: ignore[override]
        """Refuse another cone's weights; map the same cone's to this layer's ray order and
        line basis; keep this layer's own copy of the cone (see :meth:`_apply`)."""
        self._match_cone(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        self._drop_caches(_CACHES)

    def _match_cone(self, state_dict: dict[str, Any], prefix: str) -> None:
        saved = {name: state_dict.get(prefix + name) for name in ("rays", "line_basis")}
        for name, value in saved.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise ConeMismatchError(f"{prefix}{name} in the checkpoint is not a tensor")
            own = self._masters[name]
            if tuple(value.shape) != own.shape:
                raise ConeMismatchError(
                    f"these weights were saved from a different cone: its {name} have shape "
                    f"{tuple(value.shape)}, this layer's {own.shape} ({self._cone_words()})")
        tol = {name: _load_tolerance(value) for name, value in saved.items() if value is not None}
        if saved["rays"] is not None and self.num_rays:
            order, gap = _matching(saved["rays"].detach().to("cpu", torch.float64).numpy(),
                                   self._masters["rays"], tol["rays"])
            if order is None:
                raise ConeMismatchError(
                    "these weights were saved from a different cone: its rays differ from this "
                    f"layer's by up to {gap:.2g} (tolerance {tol['rays']:.0e}; "
                    f"{self._cone_words()}). A ConeLayer loads only weights of its own cone; "
                    "build it from the cone the weights were trained on")
            if not np.array_equal(order, np.arange(self.num_rays)):
                _only_plain_weights(state_dict, prefix, "ray_coef", "its rays in another order")
                for key in ("ray_coef.weight", "ray_coef.bias"):
                    if prefix + key in state_dict:
                        state_dict[prefix + key] = state_dict[prefix + key][torch.as_tensor(order)]
        if saved["line_basis"] is not None and self.line_mode != "none":
            mine = self._masters["line_basis"]
            theirs = saved["line_basis"].detach().to("cpu", torch.float64).numpy()
            U = theirs @ mine.T  # their basis in ours: theirs = U @ mine on the same subspace
            gap = float(np.abs(theirs - U @ mine).max(initial=0.0))
            if gap > tol["line_basis"]:
                raise ConeMismatchError(
                    "these weights were saved from a different cone: its lines span another "
                    f"space (off this layer's by {gap:.2g}; {self._cone_words()})")
            if self.line_mode == "basis" and not np.allclose(U, np.eye(len(U)), atol=1e-12):
                # t_theirs L_theirs = (t_theirs U) L_ours: rotate the line coefficients.
                _only_plain_weights(state_dict, prefix, "line_coef", "another basis of its lines")
                Ut = torch.as_tensor(U.T)
                for key in ("line_coef.weight", "line_coef.bias"):
                    if prefix + key in state_dict:
                        v = state_dict[prefix + key]
                        state_dict[prefix + key] = (Ut.to(v.device) @ v.double()).to(v.dtype)
        for name in ("A", "rays", "line_basis"):  # the layer's own copy of its cone stays
            if prefix + name in state_dict:
                state_dict[prefix + name] = getattr(self, name)

    def _cone_words(self) -> str:
        return (f"this layer's cone has {self.num_rays} rays and {self.num_lines} lines "
                f"in R^{self.out_features}")

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


def _generator_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the rays and lines are kept in: float64 for a float64 layer, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _load_tolerance(saved: torch.Tensor) -> float:
    """How far a saved copy of a unit-norm generator may be off from its float64 master: a few
    units of its dtype's round-off (1e-6 for float32; old bf16 checkpoints: 0.03)."""
    eps = torch.finfo(saved.dtype).eps if saved.is_floating_point() else 0.0
    return max(1e-9, 4 * eps)


def _matching(theirs: np.ndarray, mine: np.ndarray, tol: float) -> tuple[np.ndarray | None, float]:
    """``order`` with ``theirs[order] ~ mine`` within ``tol`` (rays are distinct unit vectors,
    so the nearest is the only candidate), or ``(None, the largest distance)``."""
    dist = np.abs(mine[:, None, :] - theirs[None, :, :]).max(axis=2)
    order = dist.argmin(axis=1)
    gap = float(dist[np.arange(len(mine)), order].max(initial=0.0))
    if gap > tol or len(set(order.tolist())) != len(order):
        return None, gap
    return order, gap


def _rowspace_basis(cone: Cone) -> np.ndarray:
    """An orthonormal basis (rows) of the row space of ``A``: the complement of the lines."""
    d, ell = cone.dim, cone.lines.shape[0]
    if ell == 0:
        return np.eye(d)
    Q, _ = np.linalg.qr(np.array(cone.lines).T, mode="complete")
    return Q[:, ell:].T.copy()
