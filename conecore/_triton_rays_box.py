"""One Triton kernel for the ConeLayer's eager inference on a GPU, after the product
``[y, u] = [P W; W_u] h + [P b; b_u]``: ``mu = nonneg(u)``, ``z = y + R^T mu``, the box
``z / max(1, |z|_inf / b)``, written once into a new contiguous tensor.

In plain torch that is four kernels and three passes over the ``n x d`` output (the rank-k
update, the norm, the division); here each program holds ``BLOCK_M`` rows of ``z`` in
registers, adds the rays one at a time (fp32 fused multiply-adds, no tensor cores: the
combination decides feasibility, see :mod:`conecore.layer`), takes the row's peak and stores the
scaled rows. Imported only on CUDA (where torch ships Triton); :func:`rays_box` is checked
against the torch operations once per process before the layer uses it (``conecore.layer``).
Under ``TRITON_INTERPRET=1`` it runs on CPU tensors, which is how ``make test`` checks it.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

NONNEG_CODES = {"abs": 0, "relu": 1, "softplus": 2, "exp": 3, "square": 4}
MAX_BLOCK_D = 16384  # one row of z in registers; wider outputs use the torch operations


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
        mu = tl.where(mu > 1.1754943508222875e-38, mu, 0.0)  # subnormal: 0 (layer._flush_)
        ray = tl.load(rays_ptr + i * d + cols, mask=col_ok, other=0.0)
        z += mu[:, None] * ray[None, :]
    if BOX:
        peak = tl.max(tl.abs(z), axis=1)
        z = z * (bound / tl.maximum(peak, bound))[:, None]
    tl.store(out_ptr + rows[:, None] * d + cols[None, :], z, mask=ok)


def rays_box(yu: torch.Tensor, rays: torch.Tensor, nonneg: str, box: float | None
             ) -> torch.Tensor:
    """``yu``: ``(n, d + k)`` float32 rows ``[y, u]`` (any row stride, unit column stride);
    ``rays``: ``(k, d)`` contiguous. Returns the ``(n, d)`` outputs, contiguous."""
    n, k, d = yu.shape[0], rays.shape[0], rays.shape[1]
    block_d = triton.next_power_of_2(d)
    if block_d > MAX_BLOCK_D or yu.stride(1) != 1 or not rays.is_contiguous():
        raise ValueError("rays_box: output too wide or operands not laid out by rows")
    block_m = max(1, min(16, 8192 // block_d))
    out = torch.empty((n, d), dtype=yu.dtype, device=yu.device)
    grid = (triton.cdiv(n, block_m),)
    _rays_box_kernel[grid](yu, rays, out, n, d, yu.stride(0),
                           float(box) if box is not None else 1.0, K=k,
                           NONNEG=NONNEG_CODES[nonneg], BOX=box is not None,
                           BLOCK_M=block_m, BLOCK_D=block_d,
                           num_warps=4 if block_d * block_m <= 4096 else 8)
    return out
