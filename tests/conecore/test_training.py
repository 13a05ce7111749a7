"""The one training loop (conecore.training): every method on the same batches, on a cone and
on a polyhedron A z <= b (the PolyhedronLayer next to the other methods)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.baselines import penalty
from conecore.layer import NONNEG
from conecore.polyhedron_layer import polyhedron_violation
from conecore.presets import POLYHEDRA
from conecore.training import (
    CONE_METHODS,
    POLYHEDRON_METHODS,
    LiveTraining,
    TrainConfig,
    Trainer,
    constraint_rows,
    methods_for,
    projector,
    usable_device,
    violation,
)
from conecore.violation import VIOLATION_TOL, relative_violation

# Tiny models gain nothing from intra-op threads; under pytest-xdist on a small machine the
# threads of every worker spin against each other (measured: 100 steps 0.2 s alone, 8 s so).
torch.set_num_threads(1)


@pytest.mark.parametrize("task", ["regression", "projection"])
def test_loop_lowers_the_loss_and_the_cone_layer_never_violates(task):
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    run = LiveTraining(cone, TrainConfig(task=task, seed=1))
    first = run.step()
    run.run(400)
    last = run.history[-1]
    for method in run.methods:
        assert last[method]["loss"] < first[method]["loss"], method
    assert all(h["cone_layer"]["violating"] == 0 for h in run.history)
    evaluation = run.evaluate()
    assert evaluation["cone_layer"]["violating"] == 0 and not evaluation["cone_layer"][
        "outside"].any()
    assert evaluation["projection"]["violating"] == 0
    # Targets leak outside the cone (2-7 % of the outputs, depending on the backend's ray order,
    # which shapes the seeded targets).
    assert evaluation["unconstrained"]["violating"] > 0.01


def test_seeds_reproduce_and_differ():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    a = LiveTraining(cone, TrainConfig(seed=3, methods=("cone_layer", "unconstrained")))
    b = LiveTraining(cone, TrainConfig(seed=3, methods=("cone_layer", "unconstrained")))
    c = LiveTraining(cone, TrainConfig(seed=4, methods=("cone_layer", "unconstrained")))
    for run in (a, b, c):
        run.run(30)
    loss = [[h[m]["loss"] for h in r.history for m in r.methods] for r in (a, b, c)]
    assert loss[0] == loss[1] and loss[0] != loss[2]


def test_closed_form_is_skipped_without_full_row_rank():
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))  # 4 rows in 3-D
    run = LiveTraining(cone, TrainConfig())
    assert "closed_form" not in run.methods and "full row rank" in run.skipped["closed_form"]
    assert set(run.methods) == set(CONE_METHODS) - {"closed_form"}


@pytest.mark.parametrize(
    "kwargs, match",
    [({"width": 10_000}, "width must be an integer from 4 to 512"),
     ({"batch": 0}, "batch must be"), ({"task": "gan"}, "task must be one of"),
     ({"methods": ("magic",)}, "methods must be"), ({"lr": 5.0}, "lr must be")],
)
def test_config_bounds_name_the_field(kwargs, match):
    with pytest.raises(cc.ConeInputError, match=match):
        TrainConfig(**kwargs).validated()


def test_max_steps_stops_the_loop():
    run = LiveTraining(cc.Cone.from_inequalities(cc.preset("wedge")), TrainConfig(max_steps=5))
    assert len(run.run(50)) == 5 and run.done
    with pytest.raises(cc.ConeInputError, match="max_steps"):
        run.step()



def test_a_seed_reproduces_the_run_while_another_thread_draws_random_numbers():
    """A shared link must give the same curves on a busy server: weights and batches come from
    generators of the run's own, not torch's global one (issue 14, item 10)."""
    import threading

    import torch

    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    config = TrainConfig(seed=0, methods=("cone_layer", "unconstrained"))

    def curves() -> list:
        run = LiveTraining(cone, config)
        run.run(15)
        return [[h[m]["loss"] for m in run.methods] for h in run.history]

    serial = curves()
    stop = threading.Event()

    def noise() -> None:  # another session: reseeds and draws from the global generator
        k = 0
        while not stop.is_set():
            torch.manual_seed(k)
            torch.randn(64)
            k += 1

    others = [threading.Thread(target=noise, daemon=True) for _ in range(2)]
    for t in others:
        t.start()
    try:
        busy = [curves() for _ in range(4)]
    finally:
        stop.set()
        for t in others:
            t.join()
    assert all(b == serial for b in busy)


def test_init_parameters_is_pytorchs_linear_distribution_and_refuses_unknown_parameters():
    import torch
    from torch import nn

    from conecore.training import init_parameters_

    a = init_parameters_(nn.Linear(400, 300), 3)
    b = init_parameters_(nn.Linear(400, 300), 3)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    bound = 1 / 400 ** 0.5
    weight = a.weight.detach()
    assert float(weight.abs().max()) <= bound and float(weight.abs().max()) > 0.95 * bound
    assert abs(float(weight.std()) - bound / 3 ** 0.5) < 0.02 * bound  # uniform's std
    assert not torch.equal(init_parameters_(nn.Linear(400, 300), 4).weight, a.weight)

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))

    with pytest.raises(ValueError, match="scale"):
        init_parameters_(Odd(), 0)


# ---------------------------------------------------------------------- on a polyhedron
def example(name: str) -> cc.Polyhedron:
    return cc.read_polyhedron_file(f"{name}.ine", POLYHEDRA[name][2].encode())


@pytest.mark.parametrize("name", ["triangle", "quadrant", "strip", "probability"])
def test_every_method_learns_and_the_polyhedron_layer_never_leaves(name):
    P = example(name)
    run = LiveTraining(P, TrainConfig(seed=1))
    assert run.methods == POLYHEDRON_METHODS and run.layer_method == "polyhedron_layer"
    first = run.step()
    run.run(200)
    last = run.history[-1]
    for method in run.methods:
        assert last[method]["loss"] < first[method]["loss"], method
    assert all(h["polyhedron_layer"]["violating"] == 0 for h in run.history)
    assert max(h["polyhedron_layer"]["worst"] for h in run.history) <= VIOLATION_TOL
    evaluation = run.evaluate()
    for method in ("polyhedron_layer", "projection"):  # the latter projected at test time
        assert evaluation[method]["violating"] == 0, method
        assert P.contains(evaluation[method]["outputs"], atol=1e-5).all(), method
    assert evaluation["unconstrained"]["violating"] > 0.01  # the targets leak outside


def test_targets_are_a_feasible_function_plus_noise():
    P = example("hexagon")
    clean = LiveTraining(P, TrainConfig(noise=0.0, methods=("polyhedron_layer",)))
    assert P.contains(clean.Y.double().numpy(), atol=1e-5).all()
    noisy = LiveTraining(P, TrainConfig(noise=0.3, methods=("polyhedron_layer",)))
    assert not P.contains(noisy.Y.double().numpy()).all()


def test_projection_task_targets_are_the_projections():
    P = example("square")
    run = LiveTraining(P, TrainConfig(task="projection", methods=("polyhedron_layer",)))
    X, Y = run.X.double().numpy(), run.Y.double().numpy()
    assert np.allclose(Y, np.clip(X, -1, 1), atol=1e-6)


def test_a_cone_is_the_special_case_with_one_vertex_at_the_origin():
    """The same seed draws the same targets on a cone and on that cone as a polyhedron (the
    vertex at 0 adds nothing), and b = 0 makes both violations the same measure."""
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    P = cc.Polyhedron.from_cone(cone)
    a = LiveTraining(cone, TrainConfig(seed=2, methods=("unconstrained",)))
    b = LiveTraining(P, TrainConfig(seed=2, methods=("unconstrained",)))
    assert torch.allclose(a.Y, b.Y, atol=1e-6) and torch.equal(a.X, b.X)
    Z = torch.randn(500, 2, dtype=torch.float64)
    assert torch.allclose(violation(cone, Z, 0.5), violation(P, Z, 0.5))


def test_the_layer_alone_trains_on_a_set_of_one_point():
    """The cone {0} with only the ConeLayer, a point with only the PolyhedronLayer: the step's
    loss is on the layer's constant outputs alone, which back-propagates (zero gradients for
    the network before it); before, backward raised (Train live crashed)."""
    origin = cc.Cone.from_inequalities(cc.preset("only-origin"))
    point = cc.Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [3, -3, 1, -1])
    for constraint, method in ((origin, "cone_layer"), (point, "polyhedron_layer")):
        run = LiveTraining(constraint, TrainConfig(methods=(method,), n_train=64, n_eval=32))
        for _ in range(3):
            metrics = run.step()[method]
        assert run.steps == 3 and np.isfinite(metrics["loss"]) and metrics["worst"] == 0


def test_a_device_this_machine_lacks_is_named_before_anything_moves():
    """Trainer, LiveTraining (and the VAE experiment, the benchmarks) check their device first:
    torch accepts ``torch.device("cuda")`` anywhere and fails at the first tensor moved."""
    assert usable_device("cpu") == torch.device("cpu")
    bad = ["xyz", "cuda:x"]
    if not torch.cuda.is_available():
        bad.append("cuda")
    else:
        bad.append(f"cuda:{torch.cuda.device_count()}")
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        bad.append("mps")
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    for spec in bad:
        with pytest.raises(cc.ConeInputError, match=f"device '{spec}'"):
            usable_device(spec)
        with pytest.raises(cc.ConeInputError, match=f"device '{spec}'"):
            LiveTraining(cone, TrainConfig(device=spec))
        with pytest.raises(cc.ConeInputError, match=f"device '{spec}'"):
            Trainer(torch.nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4, 2), device=spec)


def test_methods_that_need_a_cone_are_skipped_on_a_polyhedron_with_the_reason():
    P = example("triangle")
    assert methods_for(P) == POLYHEDRON_METHODS
    run = LiveTraining(P, TrainConfig(methods=("cone_layer", "closed_form", "unconstrained")))
    assert run.methods == ("unconstrained",)
    assert "needs a cone" in run.skipped["cone_layer"] and "closed_form" in run.skipped
    with pytest.raises(cc.ConeInputError, match="no method left"):
        LiveTraining(P, TrainConfig(methods=("cone_layer",)))
    cone_run = LiveTraining(cc.Cone.from_inequalities(cc.preset("wedge")),
                            TrainConfig(methods=("polyhedron_layer", "cone_layer")))
    assert cone_run.methods == ("cone_layer",) and "polyhedron_layer" in cone_run.skipped


def test_an_empty_polyhedron_or_another_object_is_a_clear_error():
    empty = cc.Polyhedron.from_inequalities([[1, 0], [-1, 0]], [-1, -1])
    with pytest.raises(cc.ConeInputError, match="empty"):
        LiveTraining(empty)
    with pytest.raises(cc.ConeInputError, match=r"Cone or a conecore\.Polyhedron"):
        LiveTraining(np.eye(2))  # type: ignore[arg-type]


def test_penalty_and_rows_count_equalities_both_ways():
    P = example("probability")  # p >= 0, p1 + p2 + p3 = 1
    A, b = constraint_rows(P)
    assert A.shape == (5, 3)
    At, bt = torch.as_tensor(A), torch.as_tensor(b)
    inside = torch.tensor([[0.2, 0.3, 0.5]], dtype=torch.float64)
    assert float(penalty(At, inside, 10.0, bt)) == 0.0
    above = torch.tensor([[0.5, 0.5, 0.5]], dtype=torch.float64)  # sums to 1.5
    assert float(penalty(At, above, 10.0, bt)) == pytest.approx(10 * 0.25)
    below = torch.tensor([[0.1, 0.1, 0.1]], dtype=torch.float64)  # sums to 0.3
    assert float(penalty(At, below, 10.0, bt)) == pytest.approx(10 * 0.49)
    # b = None is the cone's penalty, as before
    assert float(penalty(At, above, 1.0)) == float(penalty(At, above, 1.0, torch.zeros(5)))
    cone = cc.Cone.from_inequalities(cc.preset("wedge"))
    A0, b0 = constraint_rows(cone)
    assert np.array_equal(A0, cone.A) and not b0.any()
    z = torch.randn(50, 2, dtype=torch.float64)
    assert torch.equal(violation(cone, z, 1.0), relative_violation(cone.A, z, 1.0))


@pytest.mark.parametrize("name", ["hexagon", "quadrant", "strip", "probability", "octahedron"])
def test_projector_lands_inside_and_leaves_feasible_points_alone(name):
    P = example(name)
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(200, P.dim)) * 3
    Z = projector(P)(Y)
    assert Z.shape == Y.shape and P.contains(Z, atol=1e-5).all()
    kept = polyhedron_violation(P, Y) == 0
    assert np.array_equal(Z[kept], Y[kept])
    # the nearest feasible point: no feasible sample (the vertices) is closer
    V = np.asarray(P.vertices)
    nearest_vertex = np.linalg.norm(Y[:, None] - V[None], axis=2).min(axis=1)
    assert np.all(np.linalg.norm(Z - Y, axis=1) <= nearest_vertex + 1e-5)


# ---------------------------------------------------------------------- property
ROWS = st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=3), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.lists(st.integers(-2, 4), min_size=5, max_size=5), st.sampled_from(list(NONNEG)),
       st.sampled_from(["regression", "projection"]), st.floats(1e-3, 1.0),
       st.integers(0, 10_000))
def test_every_polyhedron_layer_output_in_training_is_inside(rows, b, nonneg, task, lr, seed):
    """Any polyhedron, map, task, learning rate (up to 1: wild weights) and seed: every batch
    output of the PolyhedronLayer during training, and every test output, is in the
    polyhedron."""
    d = len(rows[0])
    rows = [(r + [0] * d)[:d] for r in rows]
    P = cc.Polyhedron.from_inequalities(rows, b[: len(rows)])
    config = TrainConfig(task=task, nonneg=nonneg, lr=lr, seed=seed, width=8, batch=32,
                         n_train=64, n_eval=64, methods=("polyhedron_layer", "unconstrained"))
    if P.is_empty:
        with pytest.raises(cc.ConeInputError, match="empty"):
            LiveTraining(P, config)
        return
    run = LiveTraining(P, config)
    seen = []
    layer = run.models["polyhedron_layer"]
    hook = layer.register_forward_hook(lambda m, i, out: seen.append(out.detach().double()))
    try:
        run.run(12)
    finally:
        hook.remove()
    assert len(seen) == 12
    for z in seen:
        assert torch.isfinite(z).all()
        assert float(polyhedron_violation(P, z).max()) <= VIOLATION_TOL
    assert all(h["polyhedron_layer"]["violating"] == 0 for h in run.history)
    out = run.evaluate()["polyhedron_layer"]
    assert not out["outside"].any() and P.contains(out["outputs"], atol=1e-4).all()


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_rows_far_out_of_range_train_like_any_cone():
    """The wedge with its rows times 1e200 (a cone typed so on the Train page): every method
    trains to finite losses and the ConeLayer stays inside. Before, the penalty's rows were inf
    in float32 and its loss NaN, and the closed form's and the projection's solvers
    overflowed."""
    A = np.array(cc.preset("wedge"), dtype=float) * 1e200
    run = LiveTraining(cc.Cone.from_inequalities(A), TrainConfig(seed=1))
    first = run.step()
    run.run(100)
    last = run.history[-1]
    for method in run.methods:
        assert np.isfinite(last[method]["loss"]) and last[method]["loss"] < first[method]["loss"]
    assert all(h["cone_layer"]["violating"] == 0 for h in run.history)
    assert run.evaluate()["projection"]["violating"] == 0
