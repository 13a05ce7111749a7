"""The ConeLayer under autocast, TF32 settings and low-precision weights: outputs stay in the
cone (relative violation <= 1e-5) and finite, in training and in inference, with and without the
box. CPU autocast here; scripts/gpu_check.sh runs the same checks on CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.layer import reduced_precision_matmul

CONES = {
    "checkerboard-8": cc.preset("checkerboard-8"),  # 16 rays, 48 lines (projection mode)
    "wedge-line": cc.preset("wedge-line"),  # 2 rays, 1 line (basis mode)
    "ice-cream-9": cc.preset("ice-cream", k=9),  # pointed, facets not axis-aligned
    "ice-cream-64": cc.preset("ice-cream", k=64),  # pointed, nearly parallel rays
}
_CACHE: dict[str, cc.Cone] = {}


def cone_of(name: str) -> cc.Cone:
    if name not in _CACHE:
        _CACHE[name] = cc.Cone.from_inequalities(CONES[name])
    return _CACHE[name]


def worst_violation(cone: cc.Cone, z: torch.Tensor) -> float:
    return float(cc.relative_violation(np.array(cone.A), z.detach().double().numpy()).max())


def on_faces(cone: cc.Cone, h: int, nonneg: str, box: float | None, weight_scale: float = 1.0):
    """A layer whose outputs often lie on faces (relu, a negative bias: many mu = 0), where any
    rounding of the rays or lines shows as a violation."""
    layer = cc.ConeLayer(cone, h, nonneg=nonneg, box=box)
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(weight_scale)
        if layer.ray_coef is not None:
            layer.ray_coef.bias.sub_(weight_scale)
    return layer


AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES, ids=["bf16", "fp16"])
@pytest.mark.parametrize("box", [None, 1.0])
@pytest.mark.parametrize("name", list(CONES))
def test_autocast_outputs_in_the_cone(name, box, dtype):
    """Every cone with lines used to fail under autocast (addmm_ of bf16 into float32); pointed
    cones gave outputs off the cone by 2e-3 (bf16)."""
    cone = cone_of(name)
    torch.manual_seed(0)
    layer = on_faces(cone, 16, "relu", box)
    x = torch.randn(2000, 16) * torch.logspace(-2, 4, 2000)[:, None]
    for grad in (False, True):  # inference, and training (also through the small-batch path)
        for batch in (x, x[:8]):
            with torch.autocast("cpu", dtype=dtype), torch.set_grad_enabled(grad):
                z = layer(batch)
            assert z.dtype == torch.float32  # the parameters' dtype
            assert torch.isfinite(z).all()
            assert worst_violation(cone, z) <= 1e-5
            if box is not None:
                assert z.abs().max() <= box * (1 + 1e-6)
    with torch.autocast("cpu", dtype=dtype):
        layer(x[:64]).square().mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


@settings(max_examples=25, deadline=None)
@example(name="ice-cream-9", dtype=torch.bfloat16, weight_scale=86.0, input_scale=1.5,
         nonneg="softplus", box=None, seed=57006)  # subnormal outputs before layer._flush_
@given(
    name=st.sampled_from(list(CONES)),
    dtype=st.sampled_from(AUTOCAST_DTYPES),
    weight_scale=st.floats(1e-3, 1e2),
    input_scale=st.floats(1e-3, 1e4),
    nonneg=st.sampled_from(["relu", "softplus", "abs"]),
    box=st.sampled_from([None, 0.5]),
    seed=st.integers(0, 2**16),
)
def test_autocast_any_weights_any_inputs(name, dtype, weight_scale, input_scale, nonneg, box,
                                         seed):
    """For any weight and input scale (fp16: while the affine maps' outputs fit in float16)."""
    cone = cone_of(name)
    torch.manual_seed(seed)
    layer = on_faces(cone, 8, nonneg, box, weight_scale)
    x = torch.randn(256, 8) * input_scale
    with torch.autocast("cpu", dtype=dtype):
        z = layer(x)
    if dtype == torch.float16:  # the affine maps run in float16, as nn.Linear's do
        with torch.no_grad():
            u = torch.cat([m(x) for m in (layer.ray_coef, layer.line_coef) if m is not None], 1)
        if u.abs().max() > 6e4:
            return
    assert torch.isfinite(z).all()
    assert worst_violation(cone, z) <= 1e-5


@pytest.mark.parametrize("precision", ["high", "medium"])
@pytest.mark.parametrize("name", ["checkerboard-8", "ice-cream-9"])
def test_reduced_precision_float32_matmul_setting(name, precision):
    """With TF32 / bf16-internal float32 products allowed the feasibility steps run in float64.
    CPU does not round to TF32, but the setting takes the same path as on CUDA."""
    cone = cone_of(name)
    torch.manual_seed(0)
    layer = on_faces(cone, 16, "relu", 1.0)
    x = torch.randn(1000, 16) * torch.logspace(-2, 4, 1000)[:, None]
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision(precision)
        assert reduced_precision_matmul("cpu") and reduced_precision_matmul("cuda")
        z = layer(x)
        z_train = layer(x[:8])
        z_train.sum().backward()
    finally:
        torch.set_float32_matmul_precision(old)
    assert not reduced_precision_matmul("cpu")
    assert z.dtype == torch.float32 and torch.isfinite(z).all()
    assert worst_violation(cone, z) <= 1e-5 and worst_violation(cone, z_train) <= 1e-5
    assert torch.allclose(z, layer(x), atol=1e-5)


@pytest.mark.skipif(not hasattr(torch.backends, "fp32_precision"), reason="torch < 2.9")
@pytest.mark.parametrize(("generic", "mkldnn", "reduced"), [
    ("none", "bf16", True), ("none", "tf32", True), ("none", "ieee", False),
    ("tf32", "none", True), ("ieee", "none", False), ("tf32", "ieee", False),
    ("ieee", "bf16", True),
])
def test_cpu_backend_precision_settings(generic, mkldnn, reduced):
    """torch >= 2.9's per-backend settings (``torch.backends.mkldnn.matmul.fp32_precision``,
    the generic ``torch.backends.fp32_precision``) as the CPU path reads them: the backend's
    own setting first, then the generic one; and the layer's outputs stay feasible."""
    before = torch.backends.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision
    cone = cone_of("checkerboard-8")
    torch.manual_seed(0)
    layer = on_faces(cone, 16, "relu", 1.0)
    x = torch.randn(300, 16) * torch.logspace(-2, 4, 300)[:, None]
    try:
        torch.backends.fp32_precision = generic
        torch.backends.mkldnn.matmul.fp32_precision = mkldnn
        assert reduced_precision_matmul("cpu") is reduced
        with torch.no_grad():
            z = layer(x)
    finally:
        torch.backends.fp32_precision, torch.backends.mkldnn.matmul.fp32_precision = before
    assert worst_violation(cone, z) <= 1e-5


def test_tf32_flag_alone_counts_as_reduced():
    old = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = True
        assert reduced_precision_matmul("cuda")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    assert not reduced_precision_matmul("cuda")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_low_precision_weights(dtype):
    """A layer converted to bf16/fp16 keeps float32 rays and lines, combines in float32 and rounds
    the result to its dtype: finite, within a few units of that dtype's round-off (documented in
    conecore/layer.py); only float32 weights (with autocast) give 1e-5."""
    cone = cone_of("ice-cream-9")
    torch.manual_seed(0)
    layer = on_faces(cone, 16, "relu", 1.0).to(dtype)
    assert layer.rays.dtype == torch.float32 and layer.ray_coef.weight.dtype == dtype
    z = layer(torch.randn(2000, 16, dtype=dtype) * 10)
    assert z.dtype == dtype and torch.isfinite(z).all()
    assert worst_violation(cone, z.float()) <= 4 * torch.finfo(dtype).eps
    back = layer.float()
    assert back.rays.dtype == torch.float32 and torch.equal(
        back.rays, torch.as_tensor(np.array(cone.rays), dtype=torch.float32))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("nonneg", ["abs", "relu", "softplus", "exp", "square"])
def test_no_subnormal_ray_coefficients(nonneg: str, dtype: torch.dtype) -> None:
    """Coefficients below the smallest normal number are 0: subnormal coefficients gave
    subnormal outputs, whose relative violation float arithmetic cannot keep small (1e-4 on
    the 9-ray ice-cream cone, found by the test above). Normal ones are the map's own."""
    from conecore.layer import NONNEG

    tiny = torch.finfo(dtype).tiny
    u = torch.tensor([-800.0, -110.0, -90.0, -87.0, -1e-30, -1e-200, 0.0, 1e-200, 1e-30,
                      1e-20, 1e-10, 0.5, 30.0], dtype=dtype)
    u = u[torch.isfinite(u)]
    mu = NONNEG[nonneg](u)
    assert ((mu > 0) & (mu < tiny)).sum() == 0, mu
    normal = mu >= tiny
    plain = {"abs": u.abs(), "relu": u.relu(), "softplus": torch.nn.functional.softplus(u),
             "exp": u.clamp(max=60).exp(), "square": u.square()}[nonneg]
    assert torch.equal(mu[normal], plain[normal])
    assert torch.equal(normal, plain >= tiny)  # only subnormal values were flushed


def test_subnormal_coefficients_give_outputs_in_the_cone() -> None:
    """A pointed cone whose coefficients all underflow (softplus of u near -100): the outputs
    are 0, not subnormal points off the cone."""
    cone = cone_of("ice-cream-9")
    layer = cc.ConeLayer(cone, 4, nonneg="softplus")
    with torch.no_grad():
        layer.ray_coef.weight.zero_()
        layer.ray_coef.bias.fill_(-100.0)
        z = layer(torch.randn(64, 4))
    assert torch.equal(z, torch.zeros_like(z))
    assert worst_violation(cone, z) == 0
