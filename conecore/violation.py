r"""How far outputs are from the cone :math:`C = \{z : A z \le 0\}`: the library's one measure.

.. math:: v(z) = \frac{\max_i\, (a_i \cdot z)_+ / \|a_i\|}{\max(\|z\|,\ s)}

The numerator is the distance from ``z`` to the farthest half-space :math:`a_i \cdot x \le 0`
it lies outside (a lower bound on its distance to the cone, exact when one facet is violated),
so :math:`v = 0` exactly on the cone and :math:`v > 0` off it; there is no signed depth inside,
which nothing needs and which would make the worst value of a batch of feasible outputs
negative. Dividing by :math:`\|z\|` makes ``v`` scale-free (``v(c z) = v(z)`` for ``c > 0``),
as round-off is: a float32 ConeLayer output is off by about :math:`10^{-7} \|z\|` whatever its
size. Near the origin that ratio is round-off over round-off, so the denominator never drops
below ``s``, the scale at which the problem lives.

``s`` (``floor``) is given per output and broadcast against ``z.shape[:-1]``, because the right
scale can differ per output: a projection :math:`P_C(y)` of a point ``y`` in the polar cone
lands near 0, and its error is judged against :math:`\|y\|`, not against its own tiny norm
(``floor = ||y||`` row by row). A scalar is the common case (training: the targets' mean norm;
images in ``[-1, 1]``: ``1e-3``); the default 0 is the purely relative measure, with
``v(0) = 0``. An output counts as outside the cone when ``v > VIOLATION_TOL``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conecore.errors import ConeInputError

# Above a float32 ConeLayer's round-off at every scale (tests/conecore/test_layer.py).
VIOLATION_TOL = 1e-5


def relative_violation(A: Any, z: Any, floor: Any = 0.0) -> Any:
    r""":math:`\max_i (a_i \cdot z)_+ / (\|a_i\| \max(\|z\|, \mathrm{floor}))` over the last
    dimension of ``z``: 0 in the cone, positive outside, unchanged when ``z`` is scaled.

    Args:
        A: ``(m, d)`` rows of the cone ``A z <= 0`` (array or tensor; zero rows are ignored).
        z: ``(..., d)`` outputs, a torch tensor or anything numpy reads.
        floor: the smallest norm ``z`` is measured against, ``>= 0``: a number, or one per
            output (``(...)``, e.g. the norms of the points a projection started from).

    Returns:
        ``(...)``: a tensor of ``z``'s dtype and device for a tensor ``z`` (differentiable),
        else a float64 numpy array.
    """
    if isinstance(floor, (int, float)) and not floor >= 0:
        raise ConeInputError(f"floor has to be a non-negative number. Got {floor!r}")
    is_tensor = isinstance(z, torch.Tensor)
    Z = z if is_tensor else torch.as_tensor(_writable(z))
    if not Z.is_floating_point():
        Z = Z.double()
    A_t = A if isinstance(A, torch.Tensor) else torch.as_tensor(_writable(A))
    if not A_t.is_floating_point():
        A_t = A_t.double()
    if A_t.ndim == 2 and A_t.numel():  # rows scaled (see below) before a narrower dtype
        A_t = A_t / power_of_two(A_t.abs().amax(dim=1, keepdim=True))
    A_t = A_t.to(dtype=Z.dtype, device=Z.device)
    if A_t.ndim != 2 or Z.ndim < 1 or A_t.shape[1] != Z.shape[-1]:
        raise ConeInputError(f"A of shape {tuple(A_t.shape)} does not fit outputs of shape "
                             f"{tuple(Z.shape)}: A needs one column per output coordinate")
    if A_t.shape[0] == 0:
        v = Z.new_zeros(Z.shape[:-1])
    else:
        # Every row of A (above) and of z divided by the power of two at or just below its
        # largest entry first: exact, and v is scale-free, so its value is the same. A norm
        # squares the entries: |z| past 1.8e19 in float32 (1e154 in float64; exp's outputs
        # reach 1e26) overflowed to inf and reported a violated output as v = 0.
        peak = power_of_two(Z.abs().amax(dim=-1, keepdim=True))
        Z = Z / peak
        norms = torch.linalg.vector_norm(A_t, dim=1)
        norms = torch.where(norms > 0, norms, torch.ones_like(norms))  # a zero row: 0 / 1
        beyond = (Z @ A_t.T).clamp_min(0.0) / norms  # distance past each facet's hyperplane
        scale = torch.maximum(torch.linalg.vector_norm(Z, dim=-1),
                              torch.as_tensor(floor, dtype=Z.dtype, device=Z.device)
                              / peak[..., 0])
        v = beyond.amax(dim=-1) / scale.clamp_min(torch.finfo(Z.dtype).tiny)
    return v if is_tensor else v.numpy()


def power_of_two(peak: torch.Tensor) -> torch.Tensor:
    """The power of two ``2^e <= peak < 2^(e + 1)`` (0.5 for 0, inf and NaN): dividing by it is
    exact, and it is finite for every finite ``peak``. (``frexp`` on the CPU for devices other
    than CUDA, which may not have it: MPS; ``peak`` is one number per row.)"""
    if peak.device.type not in ("cpu", "cuda"):
        return power_of_two(peak.cpu()).to(peak.device)
    wide = peak if peak.dtype in (torch.float32, torch.float64) else peak.float()
    return torch.ldexp(torch.ones_like(peak), torch.frexp(wide).exponent - 1)


def _writable(x: Any) -> np.ndarray:
    """float64, shared when possible; copied when read-only (``cone.A``), which torch refuses
    to wrap without a warning."""
    arr = np.asarray(x, dtype=np.float64)
    return arr if arr.flags.writeable else arr.copy()
