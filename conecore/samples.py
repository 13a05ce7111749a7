r"""A small generative model whose samples cannot leave the set, and its unconstrained twin.

A decoder maps Gaussian noise :math:`\epsilon \sim N(0, I_k)` through an MLP to a point of
:math:`\mathbb{R}^d`, and is trained to match a target distribution by the maximum mean
discrepancy (MMD, Gaussian kernels at several widths). The target leaks outside the set: a
Gaussian blob centred on its boundary. The set is a cone or a polyhedron
(:data:`conecore.training.Constraint`). The constrained decoder ends in the layer feasible by
construction (:func:`conecore.training.feasible_layer`): for a cone each sample is
:math:`L t + R^\top \mu` with :math:`\mu \ge 0`, for a polyhedron
:math:`V^\top p + R^\top \mu + L^\top t` with ``p`` a probability vector; it cannot escape,
however hard the loss pulls. The twin ends in a plain linear layer and follows the target out.

:func:`sample_frames` trains both with the one :class:`~conecore.training.Trainer` and keeps the
samples of a fixed noise batch every few steps, for an animation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from conecore.errors import ConeInputError
from conecore.polyhedron import Polyhedron
from conecore.training import (
    Constraint,
    Trainer,
    check_constraint,
    feasible_layer,
    init_parameters_,
    layer_method,
    violation,
)
from conecore.violation import VIOLATION_TOL

MAX_FRAMES = 60
MAX_SAMPLES = 1000


def mmd(x: torch.Tensor, y: torch.Tensor, widths: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0)
        ) -> torch.Tensor:
    """Squared maximum mean discrepancy between two samples, Gaussian kernels summed."""
    xy = torch.cat([x, y])
    d2 = torch.cdist(xy, xy).square()
    k = sum(torch.exp(-d2 / (2 * w * w)) for w in widths)
    n = len(x)
    return k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean()


def target_distribution(constraint: Constraint, n: int, seed: int = 0, spread: float = 0.35
                        ) -> np.ndarray:
    """A Gaussian blob centred on the set's boundary (about half of it falls outside).

    A cone: centred at 1.2 times its first ray, ``spread`` wide. A polyhedron: centred on a
    facet (:func:`boundary_point`), ``spread`` times the vertices' mean distance from their
    centroid wide (at least ``spread``), and lying in the polyhedron's affine hull, so that
    probability vectors are targets that sum to 1 with some entries negative."""
    rng = np.random.default_rng(seed)
    d = constraint.dim
    if isinstance(constraint, Polyhedron):
        centre, directions, size = boundary_point(constraint)
        noise = rng.normal(size=(n, d)) @ directions  # within the affine hull
        return (centre + spread * size * noise).astype(np.float32)
    cone = constraint
    if len(cone.rays):
        centre = cone.rays[0] * 1.2
    elif len(cone.lines):
        centre = cone.lines[0] * 1.2
    else:
        centre = np.zeros(d)
    return (centre + spread * rng.normal(size=(n, d))).astype(np.float32)


def boundary_point(poly: Polyhedron) -> tuple[np.ndarray, np.ndarray, float]:
    """``(centre, H, size)``: a point on a facet of ``poly``, the orthogonal projection ``H``
    onto the directions of its affine hull (``(d, d)``; the identity without equalities), and
    its size (the vertices' mean distance from their centroid, at least 1).

    The point: from ``y``, the vertices' centroid plus the mean of the rays (inside), along the
    first inequality's normal projected onto the hull, to that inequality's hyperplane; the
    first row for which that point is in ``poly`` (a facet, not a redundant row). ``y`` itself
    when no row qualifies (an affine subspace, the whole space)."""
    V, R = np.array(poly.vertices), np.array(poly.rays)
    d = poly.dim
    y = V.mean(axis=0) + (R.mean(axis=0) if len(R) else 0.0)
    eq = list(poly.equalities)
    H = np.eye(d)
    if eq:
        Q, _ = np.linalg.qr(np.array(poly.A)[eq].T)
        H = H - Q @ Q.T
    size = max(1.0, float(np.linalg.norm(V - V.mean(axis=0), axis=1).mean()))
    for i, (a, b) in enumerate(zip(np.array(poly.A), np.array(poly.b), strict=True)):
        direction = H @ a
        reach = float(a @ direction)
        if i in eq or reach <= 1e-12:
            continue
        point = y + (b - a @ y) / reach * direction
        if poly.contains(point[None])[0]:
            return point, H, size
    return y, H, size


@dataclass
class Frames:
    """Samples of a fixed noise batch over training: ``samples[model]`` is ``(frames, n, d)``,
    ``outside[model]`` the matching booleans, ``steps`` the step of each frame."""

    steps: list[int]
    samples: dict[str, np.ndarray]
    outside: dict[str, np.ndarray]
    target: np.ndarray


def sample_frames(constraint: Constraint, steps: int = 600, frames: int = 30,
                  n_samples: int = 300, latent: int = 4, width: int = 64, seed: int = 0
                  ) -> Frames:
    """Train the constrained decoder (``"cone_layer"`` for a cone, ``"polyhedron_layer"`` for a
    polyhedron) and its twin (``"unconstrained"``) for ``steps`` steps; keep ``frames``
    frames."""
    check_constraint(constraint, "sample_frames")
    if not 2 <= frames <= MAX_FRAMES:
        raise ConeInputError(f"frames must be from 2 to {MAX_FRAMES}; got {frames}")
    if not 10 <= n_samples <= MAX_SAMPLES:
        raise ConeInputError(f"n_samples must be from 10 to {MAX_SAMPLES}; got {n_samples}")
    if not 1 <= steps <= 20_000:
        raise ConeInputError(f"steps must be from 1 to 20000; got {steps}")
    d = constraint.dim
    target = torch.as_tensor(target_distribution(constraint, 4096, seed))
    noise = torch.randn(4096, latent, generator=torch.Generator().manual_seed(seed))
    fixed = torch.randn(n_samples, latent, generator=torch.Generator().manual_seed(seed + 1))
    models = {
        layer_method(constraint): nn.Sequential(
            nn.Linear(latent, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
            feasible_layer(constraint, width)),
        "unconstrained": nn.Sequential(nn.Linear(latent, width), nn.Tanh(),
                                       nn.Linear(width, width), nn.Tanh(), nn.Linear(width, d)),
    }

    for model in models.values():  # the same seed, whatever other threads draw meanwhile
        init_parameters_(model, seed)

    def loss(model: nn.Module, eps: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # The targets are paired with noise only to share the Trainer's sampler; MMD ignores
        # the pairing.
        return mmd(model(eps), y)

    checkpoints = sorted(set(np.linspace(0, steps, frames).round().astype(int).tolist()))
    samples: dict[str, list[np.ndarray]] = {m: [] for m in models}
    outside: dict[str, list[np.ndarray]] = {m: [] for m in models}
    for name, model in models.items():
        trainer = Trainer(model, noise, target, loss=loss, batch=128, lr=3e-3, seed=seed)
        for step in range(steps + 1):
            if step in checkpoints:
                with torch.no_grad():
                    z = model(fixed)
                samples[name].append(z.numpy().copy())
                # Samples have norms about 1; below 1e-3 a violation is measured absolutely
                # (for a polyhedron, below its scale).
                floor = max(1e-3, getattr(constraint, "scale", 0.0))
                outside[name].append((violation(constraint, z, floor) > VIOLATION_TOL).numpy())
            if step < steps:
                trainer.step()
    return Frames(checkpoints, {m: np.stack(v) for m, v in samples.items()},
                  {m: np.stack(v) for m, v in outside.items()}, target[:n_samples].numpy())
