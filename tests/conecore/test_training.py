"""The one training loop (conecore.training): every method on the same batches."""

from __future__ import annotations

import pytest

import conecore as cc
from conecore.training import CONE_METHODS, LiveTraining, TrainConfig


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
    assert float(a.weight.abs().max()) <= bound and float(a.weight.abs().max()) > 0.95 * bound
    assert abs(float(a.weight.std()) - bound / 3 ** 0.5) < 0.02 * bound  # uniform's std
    assert not torch.equal(init_parameters_(nn.Linear(400, 300), 4).weight, a.weight)

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))

    with pytest.raises(ValueError, match="scale"):
        init_parameters_(Odd(), 0)
