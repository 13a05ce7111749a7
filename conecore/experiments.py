r"""The paper's toy experiment: learn the orthogonal projection onto the checkerboard cone.

A small network maps an image ``x`` to ``z`` and is trained with Adam to minimise
:math:`\|z - x\|^2`. Constrained by a ConeLayer, the best it can do is the exact projection
:math:`P_C(x)`, whose error is the optimum. The unconstrained twin learns (nearly) the identity and
is projected onto the cone at test time instead, the baseline the paper argues against.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from conecore.cone import Cone
from conecore.layer import ConeLayer
from conecore.presets import checkerboard
from conecore.projection import project
from conecore.training import Trainer, init_parameters_
from conecore.violation import VIOLATION_TOL, relative_violation


def _net(in_features: int, hidden: int, head: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), head)


def _median_seconds(fn, device: str, runs: int = 5) -> float:
    """Median wall time of ``fn()`` (synchronising a GPU)."""
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    times = []
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def projection_toy(steps: int = 1500, hidden: int = 256, batch: int = 256, lr: float = 1e-3,
                   mnist_dir: str | None = None, device: str = "cpu", seed: int = 0,
                   max_test: int = 1000, cone: Cone | None = None
                   ) -> dict[str, float | int | str]:
    """Train both models for ``steps`` steps; return test errors, times and steps per second.

    ``cone``: the constraint (default: the checkerboard of the images' side, built here); one
    read from a file (:func:`conecore.cone_from_json`) needs no double description. Its
    dimension must be the images' (64 for the 8 x 8 digits, 784 for MNIST)."""
    from conecore.data import digits, load_mnist

    if mnist_dir:
        X, _ = load_mnist(mnist_dir, "train")
        X = X[:20000]
        side, block = 28, 7
        data = "MNIST 28 x 28 (first 20,000 training images)"
    else:
        X, _ = digits()
        side, block = 8, 2
        data = "8 x 8 digits (conecore/assets)"
    if cone is None:
        cone = Cone.from_inequalities(checkerboard(side, block))
    elif cone.dim != side * side:
        raise ValueError(f"the toy experiment's cone must have d = {side * side} (the {data}'s "
                         f"pixels); this one has d = {cone.dim}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = min(max_test, len(X) // 5)
    test, train = X[order[:n_test]], X[order[n_test:]]
    Xtr = torch.as_tensor(train)
    Xte = torch.as_tensor(test).to(device)
    d = cone.dim
    constrained = init_parameters_(_net(d, hidden, ConeLayer(cone, hidden)), seed)
    free = init_parameters_(_net(d, hidden, nn.Linear(hidden, d)), seed)
    results: dict[str, float | int | str] = {"data": data, "steps": steps, "batch": batch}
    for name, model in (("cone_layer", constrained), ("unconstrained", free)):
        trainer = Trainer(model, Xtr, Xtr, batch=batch, lr=lr, seed=seed, device=device)
        trainer.run(steps)
        results[f"{name}_steps_per_second"] = round(trainer.steps_per_second, 1)
    with torch.no_grad():
        Z, F_ = constrained.eval()(Xte), free.eval()(Xte)  # warm-up (folds the line weights)
        t_layer = _median_seconds(lambda: constrained(Xte), device)
        t_free = _median_seconds(lambda: free(Xte), device)
    optimum = project(cone, test.astype(np.float64), "nnls")
    t0 = time.perf_counter()
    projected = project(cone, F_.double().cpu().numpy(), "nnls")
    t_proj = t_free + time.perf_counter() - t0
    x64 = test.astype(np.float64)

    def mse(a: np.ndarray) -> float:
        return float(np.mean(np.sum((a - x64) ** 2, axis=1)))

    Zn = Z.double().cpu().numpy()
    results.update({
        "mse_optimum_exact_projection": mse(optimum),
        "mse_cone_layer": mse(Zn),
        "mse_cone_layer_to_projection": float(np.mean(np.sum((Zn - optimum) ** 2, axis=1))),
        "mse_unconstrained_plus_projection": mse(projected),
        "mse_unconstrained_raw": mse(F_.double().cpu().numpy()),
        "max_violation_cone_layer": float(relative_violation(cone.A, Zn).max()),
        "share_unconstrained_outside": float(
            (relative_violation(cone.A, F_.double().cpu().numpy()) > VIOLATION_TOL).mean()),
        "inference_us_per_sample_cone_layer": 1e6 * t_layer / len(test),
        "inference_us_per_sample_unconstrained_plus_nnls": 1e6 * t_proj / len(test),
    })
    return results
