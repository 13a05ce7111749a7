r"""A small generative model whose samples cannot leave the cone, and its unconstrained twin.

A decoder maps Gaussian noise :math:`\epsilon \sim N(0, I_k)` through an MLP to a point of
:math:`\mathbb{R}^d`, and is trained to match a target distribution by the maximum mean
discrepancy (MMD, Gaussian kernels at several widths). The target leaks outside the cone: a
Gaussian blob centred on the cone's boundary. The constrained decoder ends in a ConeLayer, so
each of its samples is :math:`L t + R^\top \mu` with :math:`\mu \ge 0`: it cannot escape, however
hard the loss pulls. The twin ends in a plain linear layer and follows the target out.

:func:`sample_frames` trains both with the one :class:`~conecore.training.Trainer` and keeps the
samples of a fixed noise batch every few steps, for an animation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.layer import ConeLayer
from conecore.training import Trainer, init_parameters_
from conecore.violation import VIOLATION_TOL, relative_violation

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


def target_distribution(cone: Cone, n: int, seed: int = 0, spread: float = 0.35) -> np.ndarray:
    """A Gaussian blob centred on the cone's boundary (half of it falls outside)."""
    rng = np.random.default_rng(seed)
    d = cone.dim
    if len(cone.rays):
        centre = cone.rays[0] * 1.2
    elif len(cone.lines):
        centre = cone.lines[0] * 1.2
    else:
        centre = np.zeros(d)
    return (centre + spread * rng.normal(size=(n, d))).astype(np.float32)


@dataclass
class Frames:
    """Samples of a fixed noise batch over training: ``samples[model]`` is ``(frames, n, d)``,
    ``outside[model]`` the matching booleans, ``steps`` the step of each frame."""

    steps: list[int]
    samples: dict[str, np.ndarray]
    outside: dict[str, np.ndarray]
    target: np.ndarray


def sample_frames(cone: Cone, steps: int = 600, frames: int = 30, n_samples: int = 300,
                  latent: int = 4, width: int = 64, seed: int = 0) -> Frames:
    """Train the constrained decoder and its twin for ``steps`` steps; keep ``frames`` frames."""
    if not 2 <= frames <= MAX_FRAMES:
        raise ConeInputError(f"frames must be from 2 to {MAX_FRAMES}; got {frames}")
    if not 10 <= n_samples <= MAX_SAMPLES:
        raise ConeInputError(f"n_samples must be from 10 to {MAX_SAMPLES}; got {n_samples}")
    if not 1 <= steps <= 20_000:
        raise ConeInputError(f"steps must be from 1 to 20000; got {steps}")
    d = cone.dim
    target = torch.as_tensor(target_distribution(cone, 4096, seed))
    noise = torch.randn(4096, latent, generator=torch.Generator().manual_seed(seed))
    fixed = torch.randn(n_samples, latent, generator=torch.Generator().manual_seed(seed + 1))
    models = {
        "cone_layer": nn.Sequential(nn.Linear(latent, width), nn.Tanh(), nn.Linear(width, width),
                                    nn.Tanh(), ConeLayer(cone, width)),
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
                # Samples have norms about 1; below 1e-3 a violation is measured absolutely.
                outside[name].append((relative_violation(cone.A, z, floor=1e-3)
                                      > VIOLATION_TOL).numpy())
            if step < steps:
                trainer.step()
    return Frames(checkpoints, {m: np.stack(v) for m, v in samples.items()},
                  {m: np.stack(v) for m, v in outside.items()}, target[:n_samples].numpy())
