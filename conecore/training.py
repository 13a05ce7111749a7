"""One training loop, driven step by step by any page, CLI or test.

:class:`Trainer` holds a model, its optimiser, a seeded sampler of mini-batches and a loss;
``step()`` does one optimiser step and returns its metrics. :class:`LiveTraining` trains the
layer that is feasible by construction and the methods it is compared with side by side, for the
Train live page, the CLI and the tests, on a constraint set that is a :class:`~conecore.Cone`
(the ConeLayer) or a :class:`~conecore.Polyhedron` (the PolyhedronLayer). A cone is the
polyhedron with ``b = 0`` and one vertex at the origin, so the loop is the same for both: only
the layer, the rows ``(A, b)`` the penalty and the violations use, and the test-time projection
differ (:func:`feasible_layer`, :func:`constraint_rows`, :func:`violation`, :func:`projector`).
Nothing here knows about a UI.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from conecore.baselines import ClosedFormHead, penalty
from conecore.cone import Cone, rows_in_range
from conecore.errors import ConeInputError
from conecore.layer import ConeLayer
from conecore.polyhedron import Polyhedron
from conecore.polyhedron_layer import PolyhedronLayer, polyhedron_rows, polyhedron_violation
from conecore.polyhedron_projection import Projector
from conecore.projection import has_full_row_rank, project
from conecore.violation import VIOLATION_TOL, relative_violation

Loss = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
Constraint = Cone | Polyhedron
"""A set the outputs must stay in: a cone ``A z <= 0`` or a polyhedron ``A z <= b``."""


def mse_to_target(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over samples of the squared error summed over coordinates."""
    return (model(x) - y).square().sum(dim=-1).mean()


def init_parameters_(model: nn.Module, seed: int) -> nn.Module:
    r"""Draw every parameter of ``model`` from a generator of its own, seeded with ``seed``.

    The distribution is PyTorch's default for ``nn.Linear`` (weight and bias uniform in
    :math:`\pm 1/\sqrt{\text{fan\_in}}`), so a model looks as it would after
    ``torch.manual_seed``; but the weights depend on ``seed`` only, not on what other threads
    draw from torch's global generator meanwhile. A server runs every session in a thread of
    its own, and a shared link must reproduce the same curves on a busy server.

    Raises ``ValueError`` for a parameter that is not the weight or bias of a linear map (a new
    kind of layer must say how to draw it)."""
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    drawn: set[int] = set()
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if not (isinstance(weight, nn.Parameter) and weight.dim() == 2):
                continue
            bound = 1.0 / math.sqrt(weight.shape[1]) if weight.shape[1] else 0.0
            for p in (weight, getattr(module, "bias", None)):
                if isinstance(p, nn.Parameter) and id(p) not in drawn:
                    values = torch.empty(p.shape, dtype=torch.float64).uniform_(
                        -bound, bound, generator=gen)
                    p.copy_(values.to(dtype=p.dtype, device=p.device))
                    drawn.add(id(p))
    left = [name for name, p in model.named_parameters() if id(p) not in drawn]
    if left:
        raise ValueError(f"init_parameters_ does not know how to draw {left}")
    return model


def usable_device(spec: str | torch.device) -> torch.device:
    """``spec`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...) as a ``torch.device`` this
    machine has, or :class:`ConeInputError` naming it: not a device torch knows, or a GPU this
    torch build or machine lacks (torch itself fails later, at the first tensor moved there,
    with "Torch not compiled with CUDA enabled" and a traceback)."""
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConeInputError(f"device {str(spec)!r} is not a device torch knows ({exc})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise ConeInputError(f"device {str(spec)!r}: no CUDA device is available here")
        if device.index is not None and device.index >= count:
            raise ConeInputError(f"device {str(spec)!r}: this machine has {count} CUDA "
                                 f"device{'s' if count > 1 else ''} (cuda:0 to cuda:{count - 1})")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConeInputError(f"device {str(spec)!r}: no Apple GPU (MPS) is available here")
    return device


class Trainer:
    """Adam on ``loss(model, x_batch, y_batch)`` over mini-batches drawn from ``(X, Y)``."""

    def __init__(self, model: nn.Module, X: torch.Tensor, Y: torch.Tensor, *,
                 loss: Loss = mse_to_target, batch: int = 256, lr: float = 1e-3,
                 seed: int = 0, device: str = "cpu") -> None:
        if len(X) != len(Y) or len(X) == 0:
            raise ConeInputError(f"X and Y need the same, non-zero length; got {len(X)}, {len(Y)}")
        if batch < 1:
            raise ConeInputError(f"batch has to be a positive integer. Got {batch}")
        self.device = usable_device(device)
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


# ---------------------------------------------------------------------- the constraint set
def constraint_rows(constraint: Constraint) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` with the set ``{z : A z <= b}``, float64: ``b = 0`` for a cone; a
    polyhedron's equalities written both ways (:func:`conecore.polyhedron_rows`)."""
    if isinstance(constraint, Cone):
        return rows_in_range(constraint.A), np.zeros(constraint.A.shape[0])  # (past 2^60: inf)
    return polyhedron_rows(constraint)


def feasible_layer(constraint: Constraint, in_features: int, nonneg: str = "softplus"
                   ) -> nn.Module:
    """The head whose outputs are in the set by construction: the ConeLayer for a cone, the
    PolyhedronLayer for a polyhedron."""
    if isinstance(constraint, Cone):
        return ConeLayer(constraint, in_features, nonneg=nonneg)
    return PolyhedronLayer(constraint, in_features, nonneg=nonneg)


def layer_method(constraint: Constraint) -> str:
    """The method name of :func:`feasible_layer`'s head: ``"cone_layer"`` or
    ``"polyhedron_layer"``."""
    return "cone_layer" if isinstance(constraint, Cone) else "polyhedron_layer"


def violation(constraint: Constraint, Z: Any, floor: Any = 0.0) -> Any:
    r"""The library's relative violation of ``A z <= b`` for outputs ``Z`` (``(..., d)``):
    :func:`conecore.relative_violation` for a cone, :func:`conecore.polyhedron_violation` for a
    polyhedron (``b != 0``: the distance past the farthest violated hyperplane over
    :math:`\max(\|z\|, \mathrm{floor})`). 0 inside; an output is outside when it exceeds
    ``VIOLATION_TOL``."""
    if isinstance(constraint, Cone):
        return relative_violation(constraint.A, Z, floor)
    return polyhedron_violation(constraint, Z, floor)


def projector(constraint: Constraint) -> Callable[[np.ndarray], np.ndarray]:
    """The test-time projection onto the set, set up once: ``(n, d)`` float64 in and out.

    A cone: non-negative least squares on its rays (:func:`conecore.project`, ``"nnls"``). A
    polyhedron: the exact batched projection over the faces of a polytope of dimension at most 3
    (few faces), else OSQP, one QP per sample (:mod:`conecore.polyhedron_projection`); only the
    rows outside are projected (a feasible point is its own projection, and OSQP would print a
    line for each: "Polishing not needed")."""
    if isinstance(constraint, Cone):
        return lambda Y: project(constraint, Y, "nnls")
    poly = constraint
    solve = Projector(poly, "faces" if poly.is_bounded and poly.dim <= 3 else "osqp")

    def project_outside(Y: np.ndarray) -> np.ndarray:
        Z = np.array(Y, dtype=np.float64)
        outside = polyhedron_violation(poly, Z) > 0
        if outside.any():
            Z[outside] = solve(Z[outside])
        return Z

    return project_outside


def generators(constraint: Constraint) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(V, R, L)``, float64: vertices, extreme rays and lines (Minkowski-Weyl). A cone has
    one vertex, the origin."""
    if isinstance(constraint, Cone):
        return np.zeros((1, constraint.dim)), np.array(constraint.rays), np.array(constraint.lines)
    return (np.array(constraint.vertices), np.array(constraint.rays),
            np.array(constraint.lines))


# ---------------------------------------------------------------------- several methods at once
METHODS = ("cone_layer", "polyhedron_layer", "unconstrained", "penalty", "projection",
           "closed_form")
CONE_METHODS = ("cone_layer", "unconstrained", "penalty", "projection", "closed_form")
POLYHEDRON_METHODS = ("polyhedron_layer", "unconstrained", "penalty", "projection")
METHOD_TITLES = {
    "cone_layer": "ConeLayer",
    "polyhedron_layer": "PolyhedronLayer",
    "unconstrained": "unconstrained",
    "penalty": "penalty",
    "projection": "unconstrained + test-time projection",
    "closed_form": "closed form f - A⁺relu(Af)",
}
TASKS = ("regression", "projection")
LIMITS = {"width": (4, 512), "batch": (1, 4096), "max_steps": (1, 100_000),
          "n_train": (16, 20_000)}


def methods_for(constraint: Constraint) -> tuple[str, ...]:
    """The methods that apply to this constraint set: ``CONE_METHODS`` for a cone,
    ``POLYHEDRON_METHODS`` for a polyhedron (the ConeLayer and the closed form need ``b = 0``)."""
    return CONE_METHODS if isinstance(constraint, Cone) else POLYHEDRON_METHODS


@dataclass(frozen=True)
class TrainConfig:
    """What to train. ``task``: ``"regression"`` (targets from a known feasible function plus
    noise that pushes some outside the set) or ``"projection"`` (learn ``P_C``, the paper's toy).
    ``methods``: ``None`` for every method that applies to the constraint set
    (:func:`methods_for`). Bounded by ``LIMITS``; :meth:`validated` names the field that is out
    of range."""

    task: str = "regression"
    methods: tuple[str, ...] | None = None
    nonneg: str = "softplus"
    width: int = 64
    lr: float = 1e-2
    batch: int = 128
    seed: int = 0
    penalty_weight: float = 10.0
    noise: float = 0.3
    max_steps: int = 5000
    n_train: int = 2048
    n_eval: int = 256
    device: str = "cpu"

    def validated(self) -> TrainConfig:
        if self.task not in TASKS:
            raise ConeInputError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.methods is not None:
            unknown = [m for m in self.methods if m not in METHODS]
            if unknown or not self.methods:
                raise ConeInputError(f"methods must be a non-empty subset of "
                                     f"{', '.join(METHODS)}; got {list(self.methods)}")
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ConeInputError(f"{name} must be an integer from {lo} to {hi}; got {value!r}")
        if not (0 < self.lr <= 1):
            raise ConeInputError(f"lr must be in (0, 1]; got {self.lr!r}")
        if self.penalty_weight < 0 or self.noise < 0:
            raise ConeInputError("penalty_weight and noise must be non-negative")
        return self


def check_constraint(constraint: object, who: str) -> None:
    """Raise :class:`ConeInputError` unless ``constraint`` is a Cone or a non-empty Polyhedron
    (``who`` names the caller in the message)."""
    if not isinstance(constraint, (Cone, Polyhedron)):
        raise ConeInputError(f"{who} needs a conecore.Cone or a conecore.Polyhedron; got "
                             f"{type(constraint).__name__}")
    if isinstance(constraint, Polyhedron) and constraint.is_empty:
        raise ConeInputError("the polyhedron is empty (its constraints contradict each other): "
                             "no point satisfies them")


class LiveTraining:
    r"""Several heads trained side by side on the same data, one :meth:`step` at a time.

    ``constraint`` is a :class:`~conecore.Cone` or a :class:`~conecore.Polyhedron`
    ``{z : A z <= b}``. Every method is ``Linear(d, width) -> tanh -> head`` with its own head:
    the layer feasible by construction (the ConeLayer, or the PolyhedronLayer), a plain linear
    head, the same with the penalty :math:`\lambda \|\operatorname{relu}(Az - b)\|^2`, a plain
    head projected onto the set at test time, and for a cone the closed form. Their parameters
    are disjoint, so one Adam over all of them on the sum of their losses is exactly one Adam per
    method, at a fraction of the overhead. Metrics per step and method: loss, share of batch
    outputs outside the set, worst relative violation (:func:`violation`), and the method's
    forward time. For the projection method the batch metrics are before projection (projection
    happens at test time: :meth:`evaluate`). Methods that do not apply to the set are left out,
    with the reason in ``skipped``.
    """

    def __init__(self, constraint: Constraint, config: TrainConfig | None = None) -> None:
        check_constraint(constraint, "LiveTraining")
        self.constraint = constraint
        self.config = cfg = (config or TrainConfig()).validated()
        applicable = methods_for(constraint)
        self.skipped: dict[str, str] = {}
        methods = []
        for m in (cfg.methods if cfg.methods is not None else applicable):
            if m not in applicable:
                self.skipped[m] = ("needs a cone (b = 0); use the PolyhedronLayer"
                                   if m in CONE_METHODS else "needs a polyhedron")
            elif m == "closed_form" and not has_full_row_rank(constraint):
                self.skipped[m] = "A does not have full row rank"  # it would leave the cone
            else:
                methods.append(m)
        if not methods:
            raise ConeInputError("no method left to train: "
                                 + "; ".join(f"{m} {why}" for m, why in self.skipped.items()))
        self.methods = tuple(methods)
        self.device = usable_device(cfg.device)
        d = constraint.dim
        gen = torch.Generator().manual_seed(cfg.seed)
        self._project = projector(constraint)
        self.X, self.Y = self._data(cfg.n_train, gen)
        self.X_eval, self.Y_eval = self._data(cfg.n_eval, gen)
        heads = {
            "cone_layer": lambda: feasible_layer(constraint, cfg.width, nonneg=cfg.nonneg),
            "polyhedron_layer": lambda: feasible_layer(constraint, cfg.width, nonneg=cfg.nonneg),
            "unconstrained": lambda: nn.Linear(cfg.width, d),
            "penalty": lambda: nn.Linear(cfg.width, d),
            "projection": lambda: nn.Linear(cfg.width, d),
            "closed_form": lambda: ClosedFormHead(constraint, cfg.width),
        }
        self.models = init_parameters_(nn.ModuleDict({
            m: nn.Sequential(nn.Linear(d, cfg.width), nn.Tanh(), heads[m]()) for m in self.methods
        }), cfg.seed).to(self.device)
        A, b = constraint_rows(constraint)
        self.A = torch.as_tensor(A, dtype=torch.float32, device=self.device)
        self.b = torch.as_tensor(b, dtype=torch.float32, device=self.device)
        # Round-off is judged at the targets' size, and at least at the polyhedron's.
        self.norm_floor = max(float(torch.linalg.vector_norm(self.Y, dim=1).mean()),
                              getattr(constraint, "scale", 0.0))
        self.models.train()
        self.optimizer = torch.optim.Adam(self.models.parameters(), lr=cfg.lr, fused=True)
        self.generator = gen
        self.history: list[dict[str, dict[str, float]]] = []
        self.seconds = 0.0

    @property
    def layer_method(self) -> str:
        """``"cone_layer"`` or ``"polyhedron_layer"``: the head feasible by construction."""
        return layer_method(self.constraint)

    def _data(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs in R^d and targets: a feasible function plus noise, or the projection."""
        cfg, d = self.config, self.constraint.dim
        X = torch.randn(n, d, generator=gen) * 1.5
        if cfg.task == "projection":
            Y = torch.as_tensor(self._project(X.double().numpy()), dtype=torch.float32)
        else:
            # z(x) = V^T softmax(G x) + R^T softplus(B x) + L^T (C x): in the set for every x
            # (a cone: one vertex, the origin, and no G).
            V, R, L = (torch.as_tensor(M, dtype=torch.float32)
                       for M in generators(self.constraint))
            B = torch.randn(len(R), d, generator=gen)
            C = torch.randn(len(L), d, generator=gen)
            Y = F.softplus(X @ B.T) @ R + (X @ C.T) @ L
            if len(V) > 1:
                G = torch.randn(len(V), d, generator=gen)
                Y = Y + torch.softmax(X @ G.T, dim=-1) @ V
            else:
                Y = Y + V[0]
            Y = Y + cfg.noise * torch.randn(n, d, generator=gen)
        return X.to(self.device), Y.to(self.device)

    @property
    def steps(self) -> int:
        return len(self.history)

    @property
    def done(self) -> bool:
        return self.steps >= self.config.max_steps

    def _violations(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Which outputs are outside the set, and their relative violations
        (:func:`violation`, ``Z``: ``(..., n, d)``). The floor is the targets' mean norm (and
        the polyhedron's scale): float32 round-off on outputs near the origin is not a
        violation."""
        if isinstance(self.constraint, Cone):
            v = relative_violation(self.A, Z, floor=self.norm_floor)  # A kept on the device
        else:
            v = violation(self.constraint, Z, floor=self.norm_floor)
        return v > VIOLATION_TOL, v

    def step(self) -> dict[str, dict[str, float]]:
        """One optimiser step for every method on the same mini-batch; returns the metrics."""
        if self.done:
            raise ConeInputError(f"max_steps ({self.config.max_steps}) reached; reset to go on")
        t_start = time.perf_counter()
        idx = torch.randint(len(self.X), (min(self.config.batch, len(self.X)),),
                            generator=self.generator).to(self.device)
        x, y = self.X[idx], self.Y[idx]
        self.optimizer.zero_grad(set_to_none=True)
        outputs, times = [], []
        for name in self.methods:
            t0 = time.perf_counter()
            outputs.append(self.models[name](x))
            times.append(1e3 * (time.perf_counter() - t0))
        Z = torch.stack(outputs)  # (methods, batch, d): one loss computation for all
        losses = (Z - y).square().sum(dim=-1).mean(dim=-1)
        total = losses.sum()
        if "penalty" in self.methods:
            total = total + penalty(self.A, Z[self.methods.index("penalty")],
                                    self.config.penalty_weight, self.b)
        total.backward()
        self.optimizer.step()
        with torch.no_grad():
            outside, v = self._violations(Z.detach())
            shares = outside.float().mean(dim=1).tolist()
            worsts = v.amax(dim=1).tolist()
        loss_values = losses.detach().tolist()
        metrics = {name: {"loss": loss_values[i], "violating": shares[i], "worst": worsts[i],
                          "forward_ms": times[i]} for i, name in enumerate(self.methods)}
        self.seconds += time.perf_counter() - t_start
        self.history.append(metrics)
        return metrics

    def run(self, steps: int) -> list[dict[str, dict[str, float]]]:
        """Up to ``steps`` more steps (fewer when ``max_steps`` is reached)."""
        return [self.step() for _ in range(min(steps, self.config.max_steps - self.steps))]

    def run_for(self, seconds: float, max_steps: int = 1000) -> int:
        """Steps until ``seconds`` have passed (at least one, at most ``max_steps``); for live
        views that must redraw on time whatever the machine's speed. Returns the steps done."""
        deadline = time.perf_counter() + seconds
        done = 0
        while not self.done and done < max_steps and (done == 0 or time.perf_counter() < deadline):
            self.step()
            done += 1
        return done

    @torch.no_grad()
    def evaluate(self) -> dict[str, dict[str, Any]]:
        """Test-time outputs on the held-out inputs (the projection method projected), with
        which are outside the set, their loss and violations."""
        self.models.eval()
        out: dict[str, dict[str, Any]] = {}
        for name in self.methods:
            z = self.models[name](self.X_eval)
            if name == "projection":
                z = torch.as_tensor(self._project(z.double().cpu().numpy()),
                                    dtype=torch.float32, device=self.device)
            outside, v = self._violations(z)
            out[name] = {"outputs": z.cpu().numpy(), "outside": outside.cpu().numpy(),
                         "violating": float(outside.float().mean()), "worst": float(v.max()),
                         "loss": float((z - self.Y_eval).square().sum(dim=-1).mean())}
        return out

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0
