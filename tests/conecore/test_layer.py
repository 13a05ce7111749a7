"""The ConeLayer: feasibility for every map and dtype, gradients, buffers, devices, DDP."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import conecore as cc

NONNEGS = ["abs", "relu", "softplus", "exp", "square"]
CONES = {
    "pyramid": cc.preset("pyramid"),
    "monotone": cc.preset("monotone", d=5),
    "half-space": cc.preset("half-space", d=4),
    "wedge-line": cc.preset("wedge-line"),
    "ice-cream": cc.preset("ice-cream", k=9),
    "checkerboard-8": cc.preset("checkerboard-8"),
}


def cone_of(name: str) -> cc.Cone:
    return cc.Cone.from_inequalities(CONES[name])


def worst_violation(cone: cc.Cone, z: torch.Tensor) -> float:
    """max_i (A z)_i / (||A_i|| ||z||), computed in float64 from the layer's output."""
    return float(cc.relative_violation(torch.as_tensor(np.array(cone.A)), z.double()).max())


@pytest.mark.parametrize("dtype, bound", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("nonneg", NONNEGS)
@pytest.mark.parametrize("name", ["pyramid", "wedge-line", "half-space", "checkerboard-8"])
def test_outputs_stay_in_the_cone_over_scales(name, nonneg, dtype, bound):
    """10^5 inputs with scales from 1e-2 to 1e4; the worst relative violation stays tiny."""
    cone = cone_of(name)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        layer = cc.ConeLayer(cone, 8, nonneg=nonneg).to(dtype)
        n = 100_000
        scales = torch.logspace(-2, 4, n, dtype=dtype)
        x = torch.randn(n, 8, generator=gen, dtype=dtype) * scales[:, None]
        z = layer(x)
    assert torch.isfinite(z).all()
    assert worst_violation(cone, z) < bound


@pytest.mark.parametrize("line_mode", ["basis", "project"])
def test_line_modes_cover_the_same_set(line_mode):
    """Both line parameterisations give outputs in the cone and reach the lines."""
    cone = cone_of("wedge-line")
    layer = cc.ConeLayer(cone, 3, line_mode=line_mode)
    z = layer(torch.randn(1000, 3) * 10)
    assert worst_violation(cone, z) < 1e-6
    along_line = z.double() @ torch.as_tensor(np.array(cone.lines)).T
    assert along_line.min() < -1 and along_line.max() > 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=6),
    st.sampled_from(NONNEGS),
    st.integers(0, 2**31 - 1),
    st.sampled_from([None, 0.5, 3.0]),
)
def test_random_cones_every_output_feasible(rows, nonneg, seed, box):
    cone = cc.Cone.from_inequalities(rows)
    torch.manual_seed(seed)
    layer = cc.ConeLayer(cone, 4, nonneg=nonneg, box=box).double()
    z = layer(torch.randn(256, 4, dtype=torch.float64) * 100)
    assert worst_violation(cone, z) < 1e-10
    if box is not None:
        assert z.abs().max() <= box * (1 + 1e-12)


def test_leading_batch_dimensions():
    layer = cc.ConeLayer(cone_of("pyramid"), 5)
    x = torch.randn(2, 3, 4, 5)
    z = layer(x)
    assert z.shape == (2, 3, 4, 3)
    assert torch.allclose(z[1, 2], layer(x[1, 2]), atol=1e-6)
    assert layer(torch.randn(5)).shape == (3,)


def test_gradcheck_float64():
    torch.manual_seed(0)
    for nonneg in NONNEGS:
        for name in ["pyramid", "wedge-line"]:
            layer = cc.ConeLayer(cone_of(name), 3, nonneg=nonneg, box=2.0).double()
            x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
            assert torch.autograd.gradcheck(layer, (x,))
            out = layer(x).sum()
            out.backward()
            assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


def test_state_dict_round_trip_and_dtype():
    cone = cone_of("checkerboard-8")
    a = cc.ConeLayer(cone, 6)
    b = cc.ConeLayer(cone, 6)
    b.load_state_dict(a.state_dict())
    x = torch.randn(7, 6)
    assert torch.equal(a(x), b(x))
    assert {"rays", "line_basis", "A"} <= set(a.state_dict())
    d = a.double()
    assert d.rays.dtype == torch.float64 and d(x.double()).dtype == torch.float64


def test_extra_repr_tells_the_cone_size():
    text = repr(cc.ConeLayer(cone_of("checkerboard-8"), 6, nonneg="abs", box=1))
    assert "rays=16, lines=48" in text and "nonneg='abs'" in text and "box=1" in text


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_cuda_round_trip():
    cone = cone_of("checkerboard-8")
    layer = cc.ConeLayer(cone, 6).cuda()
    z = layer(torch.randn(100, 6, device="cuda"))
    assert z.device.type == "cuda" and worst_violation(cone, z.cpu()) < 1e-5


def test_torch_compile_matches_eager():
    """The default (inductor) backend compiles the layer, forward and backward."""
    layer = cc.ConeLayer(cone_of("pyramid"), 4, box=2.0)
    compiled = torch.compile(layer)
    x = torch.randn(16, 4, requires_grad=True)
    assert torch.allclose(compiled(x), layer(x), atol=1e-6)
    compiled(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_coefficients_reproduce_feasible_points():
    cone = cone_of("wedge-line")
    for mode in ["basis", "project"]:
        layer = cc.ConeLayer(cone, 3, line_mode=mode).double()
        z = layer(torch.randn(20, 3, dtype=torch.float64)).detach()
        mu, t = layer.coefficients(z)
        assert (mu >= 0).all()
        lines_part = t @ layer.line_basis if mode == "basis" else t
        assert torch.allclose(mu @ layer.rays + lines_part, z, atol=1e-9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nonneg": "sigmoid"}, "nonneg must be one of"),
        ({"box": -1.0}, "box has to be a positive number"),
        ({"line_mode": "magic"}, "line_mode must be"),
        ({"in_features": 0}, "in_features has to be a positive integer"),
    ],
)
def test_constructor_validates(kwargs, match):
    args = {"in_features": 3, **kwargs}
    with pytest.raises(cc.ConeInputError, match=match):
        cc.ConeLayer(cone_of("pyramid"), **args)


def test_forward_names_the_wrong_shape():
    with pytest.raises(cc.ConeInputError, match="last dimension 3; got shape"):
        cc.ConeLayer(cone_of("pyramid"), 3)(torch.randn(2, 4))


def test_only_origin_outputs_zero():
    layer = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("only-origin")), 3)
    assert torch.equal(layer(torch.randn(5, 3)), torch.zeros(5, 2))


# ---------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, state: dict, out: dict) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    layer = cc.ConeLayer(cone, 4)
    layer.load_state_dict(state)
    model = DDP(layer)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _ddp_data()
    shard = slice(rank * 16, (rank + 1) * 16)
    for _ in range(5):
        opt.zero_grad()
        loss = ((model(x[shard]) - y[shard]) ** 2).mean()
        loss.backward()
        opt.step()
    if rank == 0:
        out.update({k: v.clone() for k, v in layer.state_dict().items()})
    dist.destroy_process_group()


def _ddp_data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(32, 4, generator=g), torch.randn(32, 3, generator=g)


def test_ddp_two_processes_match_single_process():
    import torch.multiprocessing as mp

    torch.manual_seed(0)
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    single = cc.ConeLayer(cone, 4)
    state = {k: v.clone() for k, v in single.state_dict().items()}
    opt = torch.optim.SGD(single.parameters(), lr=0.1)
    x, y = _ddp_data()
    for _ in range(5):
        opt.zero_grad()
        # DDP averages the gradients of two shards of 16: the mean of the shard means.
        loss = 0.5 * (((single(x[:16]) - y[:16]) ** 2).mean()
                      + ((single(x[16:]) - y[16:]) ** 2).mean())
        loss.backward()
        opt.step()
    manager = mp.get_context("spawn").Manager()
    out = manager.dict()
    mp.start_processes(_ddp_worker, args=(2, _free_port(), state, out), nprocs=2,
                       start_method="spawn", join=True)
    for key, value in single.state_dict().items():
        assert torch.allclose(out[key], value, atol=1e-6), key
