"""Triton kernels for the ConeLayer on a GPU.

* :func:`rays_box`, eager inference, after the product ``[y, u] = [P W; W_u] h + [P b; b_u]``:
  ``mu = nonneg(u)``, ``z = y + R^T mu``, the box ``z / max(1, |z|_inf / b)``, written once
  into a new contiguous tensor;
* :func:`line_box_forward_` and :func:`line_box_backward`, eager training with the line map on
  the outputs: the non-negative map, ``z = y + (mu M - y Q) Q^T`` and the box, and back;
* :func:`box_forward_` and :func:`box_backward`, eager training otherwise: the box in place,
  saving what its backward needs, and that backward, with the formulas of
  ``conecore.layer._box_saved_torch`` / ``_box_backward_torch``, as the CPU's C kernels
  (:mod:`conecore._native_box`).

In plain torch each is several kernels, each a launch from Python and most a pass over the
``n x d`` outputs; here each program holds ``BLOCK_M`` rows in registers, reads them once and
writes them once. Sums of products are fp32 multiply-adds, never tensor cores (``tl.dot``
would round to TF32): these steps decide feasibility (see :mod:`conecore.layer`). Imported only
on CUDA (where torch ships Triton); every kernel is checked against the torch operations once
per device before the layer uses any (``conecore.layer._triton_self_check``). Under
``TRITON_INTERPRET=1`` they run on CPU tensors, which is how ``make test`` checks them.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

NONNEG_CODES = {"abs": 0, "relu": 1, "softplus": 2, "exp": 3, "square": 4}
MAX_BLOCK_D = 16384  # inference (rays_box): one row of z in registers; wider: torch operations
MAX_TRAIN_BLOCK_D = 8192  # the box's training kernels hold two or three such tensors
MAX_LINE_BLOCK_D = 4096  # the line map's also loop over the basis rows (see _blocks)
PER_THREAD = 16  # entries of each row-block tensor per thread, see _blocks
# a * b + c as one fused multiply-add (one rounding), as Triton did by default up to 3.9; said
# at every launch, so Triton 3.10's new default (off) changes nothing and 3.9 does not warn
FP_FUSION = True


@triton.jit
def _nonneg(u, NONNEG: tl.constexpr):
    """The layer's non-negative maps (``conecore.layer.NONNEG``, by :data:`NONNEG_CODES`), with
    coefficients below the smallest normal number set to 0 (``layer._flush_``)."""
    if NONNEG == 0:
        mu = tl.abs(u)
    elif NONNEG == 1:
        mu = tl.maximum(u, 0.0)
    elif NONNEG == 2:  # torch's softplus: u past its threshold 20
        mu = tl.where(u > 20.0, u, tl.log(1.0 + tl.exp(tl.minimum(u, 20.0))))
    elif NONNEG == 3:
        mu = tl.exp(tl.minimum(u, 60.0))
    else:
        mu = u * u
    mu = tl.where(mu > 1.1754943508222875e-38, mu, 0.0)
    return tl.where(u != u, u, mu)  # NaN stays NaN, as torch's maps (GPU min/max drop NaN)


@triton.jit
def _nonneg_grad(g, u, mu, NONNEG: tl.constexpr):
    """``g * nonneg'(u)``, as ``conecore.layer._nonneg_backward``."""
    if NONNEG == 0:
        res = tl.where(u > 0.0, g, tl.where(u < 0.0, -g, 0.0))
    elif NONNEG == 1:
        res = tl.where(mu > 0.0, g, 0.0)
    elif NONNEG == 2:  # torch's softplus_backward, threshold 20
        e = tl.exp(tl.minimum(u, 20.0))
        res = tl.where(u > 20.0, g, g * e / (e + 1.0))
    elif NONNEG == 3:
        res = tl.where(u <= 60.0, g * mu, 0.0)
    else:
        res = g * (2.0 * u)
    return tl.where(u != u, u, res)  # NaN stays NaN, as torch's derivatives


@triton.jit
def _rays_box_kernel(yu_ptr, rays_ptr, out_ptr, n, d, stride_yu, bound, K: tl.constexpr,
                     NONNEG: tl.constexpr, BOX: tl.constexpr, BLOCK_M: tl.constexpr,
                     BLOCK_D: tl.constexpr):
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)  # 64-bit offsets
    cols = tl.arange(0, BLOCK_D)
    row_ok = rows < n
    col_ok = cols < d
    ok = row_ok[:, None] & col_ok[None, :]
    z = tl.load(yu_ptr + rows[:, None] * stride_yu + cols[None, :], mask=ok, other=0.0)
    for i in range(K):
        u = tl.load(yu_ptr + rows * stride_yu + d + i, mask=row_ok, other=0.0)
        mu = _nonneg(u, NONNEG)
        ray = tl.load(rays_ptr + i * d + cols, mask=col_ok, other=0.0)
        z += mu[:, None] * ray[None, :]
    if BOX:
        z, _, _ = _box_rows(z, bound)
    tl.store(out_ptr + rows[:, None] * d + cols[None, :], z, mask=ok)


def rays_box(yu: torch.Tensor, rays: torch.Tensor, nonneg: str, box: float | None
             ) -> torch.Tensor:
    """``yu``: ``(n, d + k)`` float32 rows ``[y, u]`` (any row stride, unit column stride);
    ``rays``: ``(k, d)`` contiguous. Returns the ``(n, d)`` outputs, contiguous."""
    n, k, d = yu.shape[0], rays.shape[0], rays.shape[1]
    if yu.stride(1) != 1 or not rays.is_contiguous():
        raise ValueError("rays_box: operands not laid out by rows")
    block_d, block_m, warps = _blocks(d, MAX_BLOCK_D)
    out = torch.empty((n, d), dtype=yu.dtype, device=yu.device)
    grid = (triton.cdiv(n, block_m),)
    _rays_box_kernel[grid](yu, rays, out, n, d, yu.stride(0),
                           float(box) if box is not None else 1.0, K=k,
                           NONNEG=NONNEG_CODES[nonneg], BOX=box is not None,
                           BLOCK_M=block_m, BLOCK_D=block_d, num_warps=warps,
                           enable_fp_fusion=FP_FUSION)
    return out


def _blocks(d: int, max_d: int = MAX_TRAIN_BLOCK_D) -> tuple[int, int, int]:
    """Block width (the power of two that holds a row of ``d``), rows per program and warps:
    ``PER_THREAD`` entries of each ``BLOCK_M x BLOCK_D`` tensor per thread (at least 4 warps),
    up to 16 rows, programs of 4096 entries up to rows of 4096. With these, no kernel runs out
    of registers on sm_90 (``tests/conecore/test_triton_sm90.py``); twice the entries per
    thread spilled the line map's backward at ``d = 784``. At ``block_d = 16384`` (1024
    threads, at most 64 registers each) the training kernels spill whatever the split, hence
    ``MAX_TRAIN_BLOCK_D``; with Triton 3.6 the line map's backward spills at 8192 (512
    threads, 128 registers each), hence ``MAX_LINE_BLOCK_D``. ``scripts/triton_blocks.py``
    times the alternatives on a GPU."""
    block_d = triton.next_power_of_2(d)
    if block_d > max_d:
        raise ValueError(f"Triton kernels: rows of {d} are wider than {max_d}")
    block_m = max(1, min(16, 32 * 8 * PER_THREAD // block_d))
    return block_d, block_m, max(4, min(32, block_m * block_d // (32 * PER_THREAD)))


@triton.jit
def _row_peak(z, row_nan):
    """``|z|_inf`` of each row, NaN where the row has one (as torch's amax)."""
    peak = tl.max(tl.abs(z), axis=1)
    return tl.where(row_nan, float("nan"), peak)


@triton.jit
def _box_rows(z, bound):
    """The rows ``z`` scaled into the box, their scale ``s`` and their peak after scaling
    (``conecore.layer._box_saved_torch``'s formulas)."""
    m = _row_peak(z, tl.max((z != z).to(tl.int32), axis=1) > 0)
    c = tl.where((m != m) | (m > bound), m, bound)  # clamp(min=bound), NaN kept
    s = (1.0 / c) * bound  # reciprocal, then * bound: as _box_saved_torch
    return z * s[:, None], s, m * s  # |out_j| at the peak: the same product


@triton.jit
def _box_grad_rows(g, o, s, p, ok, bound):
    """The gradient through the box of the rows ``g``, from the outputs ``o``, the scale ``s``
    and the peak ``p`` (``conecore.layer._box_backward_torch``'s formula); ``ok`` masks the
    block's padding out of the peak's ties."""
    dot = tl.sum(g * o, axis=1)
    at_peak = (tl.abs(o) >= p[:, None]) & ok
    ties = tl.sum(at_peak.to(tl.float32), axis=1)
    scaled = s < 1.0  # then p > bound > 0 and ties >= 1; elsewhere no 0 / 0 (masked rows)
    neg = tl.where(scaled, -(dot * s) / tl.where(scaled, bound * ties * p, 1.0), 0.0)
    return tl.where(at_peak, o, 0.0) * neg[:, None] + g * s[:, None]


@triton.jit
def _row_block(n, d, BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """This program's ``BLOCK_M`` rows of an ``(n, d)`` row-major tensor: the row indices
    (64-bit), the columns, the rows' and columns' masks, the block's mask and its offsets."""
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.arange(0, BLOCK_D)
    row_ok = rows < n
    col_ok = cols < d
    ok = row_ok[:, None] & col_ok[None, :]
    return rows, cols, row_ok, col_ok, ok, rows[:, None] * d + cols[None, :]


@triton.jit
def _box_forward_kernel(z_ptr, inv_ptr, peak_ptr, n, d, bound, BLOCK_M: tl.constexpr,
                        BLOCK_D: tl.constexpr):
    rows, _, row_ok, _, ok, offs = _row_block(n, d, BLOCK_M, BLOCK_D)
    z, s, peak = _box_rows(tl.load(z_ptr + offs, mask=ok, other=0.0), bound)
    tl.store(z_ptr + offs, z, mask=ok)
    tl.store(inv_ptr + rows, s, mask=row_ok)
    tl.store(peak_ptr + rows, peak, mask=row_ok)


@triton.jit
def _box_backward_kernel(g_ptr, out_ptr, inv_ptr, peak_ptr, res_ptr, n, d, bound,
                         BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    rows, _, row_ok, _, ok, offs = _row_block(n, d, BLOCK_M, BLOCK_D)
    g = tl.load(g_ptr + offs, mask=ok, other=0.0)
    o = tl.load(out_ptr + offs, mask=ok, other=0.0)
    s = tl.load(inv_ptr + rows, mask=row_ok, other=1.0)
    p = tl.load(peak_ptr + rows, mask=row_ok, other=1.0)
    tl.store(res_ptr + offs, _box_grad_rows(g, o, s, p, ok, bound), mask=ok)


def box_forward_(z: torch.Tensor, bound: float
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``z`` (contiguous float32 ``(n, d)``) scaled into the box in place; ``z``, the scale
    ``s`` and the row's peak after scaling, each ``(n, 1)``."""
    n, d = z.shape
    block_d, block_m, warps = _blocks(d)
    inv, peak = z.new_empty(n, 1), z.new_empty(n, 1)
    _box_forward_kernel[(triton.cdiv(n, block_m),)](z, inv, peak, n, d, float(bound),
                                                    BLOCK_M=block_m, BLOCK_D=block_d,
                                                    num_warps=warps,
                                                    enable_fp_fusion=FP_FUSION)
    return z, inv, peak


def box_backward(g: torch.Tensor, out: torch.Tensor, inv: torch.Tensor, peak: torch.Tensor,
                 bound: float) -> torch.Tensor:
    """The gradient through the box (a new tensor) from :func:`box_forward_`'s outputs."""
    g = g.contiguous()
    n, d = out.shape
    block_d, block_m, warps = _blocks(d)
    res = torch.empty_like(out)
    _box_backward_kernel[(triton.cdiv(n, block_m),)](g, out, inv, peak, res, n, d, float(bound),
                                                     BLOCK_M=block_m, BLOCK_D=block_d,
                                                     num_warps=warps,
                                                     enable_fp_fusion=FP_FUSION)
    return res


# ----------------------------------------------------------------- the line map with the box
@triton.jit
def _line_box_forward_kernel(z_ptr, u_ptr, m_ptr, mu_ptr, basis_ptr, inv_ptr, peak_ptr, n, d,
                             k, bound, R: tl.constexpr, NONNEG: tl.constexpr,
                             BOX: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_M: tl.constexpr,
                             BLOCK_D: tl.constexpr):
    """``mu = nonneg(u)`` (stored), ``z <- y + (mu M - y Q) Q^T`` (``Q^T``: the ``R x d``
    orthonormal basis rows, ``M = R Q``: the rays' coordinates), then the box, in place: the
    layer's "outputs" line map, each row read and written once. Sums of products in float32
    registers, never ``tl.dot`` (no TF32: this decides feasibility)."""
    rows, cols, row_ok, col_ok, ok, offs = _row_block(n, d, BLOCK_M, BLOCK_D)
    ks = tl.arange(0, BLOCK_K)  # the ray coefficients' columns
    k_ok = ks < k
    kmask = row_ok[:, None] & k_ok[None, :]
    koffs = rows[:, None] * k + ks[None, :]
    mu = tl.where(kmask, _nonneg(tl.load(u_ptr + koffs, mask=kmask, other=0.0), NONNEG), 0.0)
    tl.store(mu_ptr + koffs, mu, mask=kmask)
    y = tl.load(z_ptr + offs, mask=ok, other=0.0)
    z = y
    for i in range(R):  # y Q is taken from y, the updates go to z
        q = tl.load(basis_ptr + i * d + cols, mask=col_ok, other=0.0)
        w = tl.sum(y * q[None, :], axis=1)
        t = tl.sum(mu * tl.load(m_ptr + ks * R + i, mask=k_ok, other=0.0)[None, :], axis=1)
        z += (t - w)[:, None] * q[None, :]
    if BOX:
        z, s, peak = _box_rows(z, bound)
        tl.store(inv_ptr + rows, s, mask=row_ok)
        tl.store(peak_ptr + rows, peak, mask=row_ok)
    tl.store(z_ptr + offs, z, mask=ok)


@triton.jit
def _line_box_backward_kernel(g_ptr, out_ptr, inv_ptr, peak_ptr, basis_ptr, u_ptr, mu_ptr,
                              m_ptr, gy_ptr, gu_ptr, n, d, k, bound, R: tl.constexpr,
                              NONNEG: tl.constexpr, BOX: tl.constexpr, BLOCK_K: tl.constexpr,
                              BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """The backward of :func:`_line_box_forward_kernel`: ``g'`` through the box, then
    ``c = g' Q``, ``g_y = g' - c Q^T`` (``P g'``) and ``g_u = nonneg'(u) * (c M^T)``."""
    rows, cols, row_ok, col_ok, ok, offs = _row_block(n, d, BLOCK_M, BLOCK_D)
    ks = tl.arange(0, BLOCK_K)  # the ray coefficients' columns
    k_ok = ks < k
    kmask = row_ok[:, None] & k_ok[None, :]
    koffs = rows[:, None] * k + ks[None, :]
    g = tl.load(g_ptr + offs, mask=ok, other=0.0)
    if BOX:
        o = tl.load(out_ptr + offs, mask=ok, other=0.0)
        s = tl.load(inv_ptr + rows, mask=row_ok, other=1.0)
        p = tl.load(peak_ptr + rows, mask=row_ok, other=1.0)
        g = _box_grad_rows(g, o, s, p, ok, bound)
    gy = g
    gmu = tl.zeros((BLOCK_M, BLOCK_K), dtype=tl.float32)
    for i in range(R):
        q = tl.load(basis_ptr + i * d + cols, mask=col_ok, other=0.0)
        c = tl.sum(g * q[None, :], axis=1)
        gy -= c[:, None] * q[None, :]
        gmu += c[:, None] * tl.load(m_ptr + ks * R + i, mask=k_ok, other=0.0)[None, :]
    tl.store(gy_ptr + offs, gy, mask=ok)
    u = tl.load(u_ptr + koffs, mask=kmask, other=0.0)
    mu = tl.load(mu_ptr + koffs, mask=kmask, other=0.0)
    tl.store(gu_ptr + koffs, _nonneg_grad(gmu, u, mu, NONNEG), mask=kmask)


MAX_LINE_ROWS = 64  # basis rows the line kernels loop over; more: the torch operations
MAX_LINE_RAYS = 64  # rays whose coefficients a row block holds; more: the torch operations


def line_box_forward_(z: torch.Tensor, u: torch.Tensor | None, coords: torch.Tensor,
                      basis: torch.Tensor, nonneg: str, bound: float | None
                      ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None,
                                 torch.Tensor | None]:
    """``z`` (contiguous float32 ``(n, d)``, the affine map's output ``y``) replaced in place by
    ``y + (mu M - y Q) Q^T`` with ``mu = nonneg(u)`` (``u``: ``(n, k)``, or ``None``: no
    rays), then scaled into the box (``bound``; ``None``: no box). ``coords`` is ``M``
    ``(k, r)``, ``basis`` the ``(r, d)`` rows ``Q^T``. Returns ``z``, ``mu`` and what the box's
    backward needs (``None`` without the box)."""
    n, d = z.shape
    r = basis.shape[0]
    k = 0 if u is None else u.shape[1]
    block_d, block_m, warps = _blocks(d, MAX_LINE_BLOCK_D)
    box = bound is not None
    inv, peak = (z.new_empty(n, 1), z.new_empty(n, 1)) if box else (z, z)
    mu = z.new_empty(n, k)
    _line_box_forward_kernel[(triton.cdiv(n, block_m),)](
        z, z if u is None else u, coords, mu, basis, inv, peak, n, d, k,
        float(bound) if box else 1.0, R=r, NONNEG=NONNEG_CODES[nonneg], BOX=box,
        BLOCK_K=max(1, triton.next_power_of_2(k)), BLOCK_M=block_m, BLOCK_D=block_d,
        num_warps=warps, enable_fp_fusion=FP_FUSION)
    return z, (mu if u is not None else None), (inv if box else None), (peak if box else None)


def line_box_backward(g: torch.Tensor, out: torch.Tensor | None, inv: torch.Tensor | None,
                      peak: torch.Tensor | None, basis: torch.Tensor, u: torch.Tensor | None,
                      mu: torch.Tensor | None, coords: torch.Tensor, nonneg: str,
                      bound: float | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(g_y, g_u)`` from the outputs' gradient ``g``: through the box (when ``bound``), then
    ``g_y = P g'`` (a new tensor) and ``g_u = nonneg'(u) * (g' Q M^T)`` (``None`` without
    rays), from :func:`line_box_forward_`'s ``u``, ``mu`` and outputs."""
    g = g.contiguous()
    n, d = g.shape
    r = basis.shape[0]
    k = 0 if u is None else u.shape[1]
    block_d, block_m, warps = _blocks(d, MAX_LINE_BLOCK_D)
    box = bound is not None
    gy, gu = torch.empty_like(g), g.new_empty(n, k)
    _line_box_backward_kernel[(triton.cdiv(n, block_m),)](
        g, out if box else g, inv if box else g, peak if box else g, basis,
        g if u is None else u, g if mu is None else mu, coords, gy, gu, n, d, k,
        float(bound) if box else 1.0, R=r, NONNEG=NONNEG_CODES[nonneg], BOX=box,
        BLOCK_K=max(1, triton.next_power_of_2(k)), BLOCK_M=block_m, BLOCK_D=block_d,
        num_warps=warps, enable_fp_fusion=FP_FUSION)
    return gy, (gu if u is not None else None)
