"""One training loop, driven step by step by any page, CLI or test.

:class:`Trainer` holds a model, its optimiser, a seeded sampler of mini-batches and a loss;
``step()`` does one optimiser step and returns its metrics. Nothing here knows about a UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from conecore.errors import ConeInputError

Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def mse_to_target(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over samples of the squared error summed over coordinates."""
    return (model(x) - y).square().sum(dim=-1).mean()


class Trainer:
    """Adam on ``loss(model, x_batch, y_batch)`` over mini-batches drawn from ``(X, Y)``."""

    def __init__(self, model: nn.Module, X: torch.Tensor, Y: torch.Tensor, *,
                 loss: Loss = mse_to_target, batch: int = 256, lr: float = 1e-3,
                 seed: int = 0, device: str = "cpu") -> None:
        if len(X) != len(Y) or len(X) == 0:
            raise ConeInputError(f"X and Y need the same, non-zero length; got {len(X)}, {len(Y)}")
        if batch < 1:
            raise ConeInputError(f"batch has to be a positive integer. Got {batch}")
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.X, self.Y = X.to(self.device), Y.to(self.device)
        self.loss, self.batch = loss, min(batch, len(X))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        self.steps = 0
        self.seconds = 0.0

    def step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        idx = torch.randint(len(self.X), (self.batch,), generator=self.generator)
        idx = idx.to(self.device)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model, self.X[idx], self.Y[idx])
        loss.backward()
        self.optimizer.step()
        self.steps += 1
        self.seconds += time.perf_counter() - t0
        return {"step": self.steps, "loss": float(loss.detach())}

    def run(self, steps: int) -> list[float]:
        return [self.step()["loss"] for _ in range(steps)]

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0
