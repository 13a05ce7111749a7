"""The PolyhedronLayer: every output in the polyhedron for any weights and inputs (simplex, box,
unbounded, with lines; float32 and float64), precision under autocast/TF32, checkpoints,
gradients, the special cases (a cone, a point, the softmax of a simplex), errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.layer import ConeMismatchError
from conecore.polyhedron import Polyhedron
from conecore.polyhedron_layer import PolyhedronLayer, polyhedron_violation

NONNEGS = ["abs", "relu", "softplus", "exp", "square"]


def box(n: int, lo: float, hi: float) -> Polyhedron:
    A = np.vstack([np.eye(n, dtype=np.int64), -np.eye(n, dtype=np.int64)])
    return Polyhedron.from_inequalities(A, [hi] * n + [-lo] * n)


def simplex(n: int, probability: bool) -> Polyhedron:
    A = np.vstack([-np.eye(n, dtype=np.int64), np.ones((1, n), dtype=np.int64)])
    return Polyhedron.from_inequalities(A, [0] * n + [1], equalities=[n] if probability else None)


def random_polytope(d: int, n: int, seed: int) -> Polyhedron:
    rng = np.random.default_rng(seed)
    return Polyhedron.from_generators(rng.integers(-20, 21, size=(n, d)))


POLYHEDRA = {
    "probability simplex": lambda: simplex(6, True),
    "simplex": lambda: simplex(4, False),
    "box": lambda: box(4, -1, 2),
    "far box": lambda: box(3, 1000, 1001),
    "cross-polytope": lambda: Polyhedron.from_inequalities(
        np.array(list(itertools.product([-1, 1], repeat=3))), [1] * 8),
    "random 3-D polytope": lambda: random_polytope(3, 15, 0),
    "shifted orthant": lambda: Polyhedron.from_inequalities(-np.eye(3, dtype=int), [-1, -2, 5]),
    "shifted wedge": lambda: Polyhedron.from_inequalities([[1, -2, 0], [-3, 1, 0], [0, 0, 1]],
                                                          [1, 2, 3]),
    "slab": lambda: Polyhedron.from_inequalities([[1, 0, 0], [-1, 0, 0]], [1, 1]),
    "prism with a line": lambda: Polyhedron.from_inequalities(
        [[1, 1, 0], [-1, 0, 0], [0, -1, 0]], [2, 0, 0]),
    "half-space": lambda: Polyhedron.from_inequalities([[1, 2, -1, 3]], [5]),
    "affine plane": lambda: Polyhedron.from_inequalities([[1, 1, 1]], [3], equalities=[0]),
}
_CACHE: dict[str, Polyhedron] = {}


def poly(name: str) -> Polyhedron:
    if name not in _CACHE:
        _CACHE[name] = POLYHEDRA[name]()
    return _CACHE[name]


def worst(P: Polyhedron, z: torch.Tensor) -> float:
    return float(polyhedron_violation(P, z.detach().double()).max())


@pytest.mark.parametrize(("dtype", "bound"), [(torch.float32, 1e-6), (torch.float64, 1e-13)])
@pytest.mark.parametrize("nonneg", NONNEGS)
@pytest.mark.parametrize("name", POLYHEDRA)
def test_outputs_stay_in_the_polyhedron_over_scales(name, nonneg, dtype, bound):
    """2 x 10^4 inputs of scales 1e-2 to 1e4, then weights scaled by 1e3: tiny violations
    (measured over 10^5 inputs: at most 1.2e-7 in float32, 4e-16 in float64)."""
    P = poly(name)
    gen = torch.Generator().manual_seed(0)
    layer = PolyhedronLayer(P, 8, nonneg=nonneg).to(dtype)
    n = 20_000
    x = torch.randn(n, 8, generator=gen, dtype=dtype) * torch.logspace(-2, 4, n, dtype=dtype)[
        :, None]
    with torch.no_grad():
        z = layer(x)
        for p in layer.parameters():
            p.mul_(1e3)
        z_big = layer(x)
    assert z.dtype == dtype and torch.isfinite(z).all() and torch.isfinite(z_big).all()
    assert worst(P, z) < bound and worst(P, z_big) < bound


@pytest.mark.parametrize("name", POLYHEDRA)
def test_contains_accepts_every_output_at_its_default_tolerance(name):
    """What a user checks first: ``poly.contains(layer(x))``, float32 and float64 outputs."""
    P = poly(name)
    x = torch.randn(2000, 6) * torch.logspace(-1, 3, 2000)[:, None]
    assert P.contains(PolyhedronLayer(P, 6)(x)).all()
    assert P.contains(PolyhedronLayer(P, 6).double()(x.double())).all()


def test_lines_are_combined_from_their_coefficients_so_products_cannot_cancel():
    """Inputs of 1e4 through weights that make the lines' coefficients small: folding the lines
    into the weights ((L^T W) h) left A z at round-off of |W| |h| (2e-5 relative here)."""
    P = poly("affine plane")
    layer = PolyhedronLayer(P, 8)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(100_000, 8, generator=gen) * torch.logspace(-2, 4, 100_000)[:, None]
    with torch.no_grad():
        layer.coef.weight.mul_(1e3)
        layer.coef.bias.mul_(1e3)
        assert worst(P, layer(x)) < 1e-6


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["probability simplex", "box", "far box", "shifted orthant", "slab",
                        "prism with a line", "half-space", "random 3-D polytope"]),
       st.sampled_from(NONNEGS), st.sampled_from([torch.float32, torch.float64]),
       st.floats(-4, 4), st.floats(-3, 4), st.integers(0, 2**31 - 1))
def test_any_weights_any_inputs_feasible(name, nonneg, dtype, log_weight, log_input, seed):
    P = poly(name)
    torch.manual_seed(seed)
    layer = PolyhedronLayer(P, 5, nonneg=nonneg).to(dtype)
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(10.0**log_weight)
        z = layer(torch.randn(64, 5, dtype=dtype) * 10.0**log_input)
    assert torch.isfinite(z).all()
    assert worst(P, z) < (1e-5 if dtype == torch.float32 else 1e-10)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=1, max_size=6),
       st.lists(st.integers(-2, 4), min_size=6, max_size=6), st.integers(0, 2**31 - 1))
def test_random_polyhedra_every_output_feasible(rows, b, seed):
    P = Polyhedron.from_inequalities(rows, b[: len(rows)])
    if P.is_empty:
        with pytest.raises(cc.ConeInputError, match="empty"):
            PolyhedronLayer(P, 4)
        return
    torch.manual_seed(seed)
    x = torch.randn(256, 4, dtype=torch.float64) * 100
    assert worst(P, PolyhedronLayer(P, 4).double()(x)) < 1e-10
    assert worst(P, PolyhedronLayer(P, 4)(x.float())) < 1e-5


def test_the_layer_reaches_every_vertex_ray_and_line():
    P = poly("prism with a line")  # triangle x >= 0, y >= 0, x + y <= 2, times a line
    layer = PolyhedronLayer(P, 2).double()
    assert layer.vertex_mode == "combine" and layer.num_lines == 1
    with torch.no_grad():
        layer.coef.weight.zero_()
        for j, v in enumerate(P.vertices):
            layer.coef.bias.zero_()
            layer.coef.bias[j] = 60.0
            z = layer(torch.zeros(1, 2, dtype=torch.float64))[0].numpy()
            assert np.allclose(z, v, atol=1e-12)
    z = PolyhedronLayer(P, 3).double()(torch.randn(2000, 3, dtype=torch.float64) * 30)
    along = (z @ torch.as_tensor(np.array(P.lines)).T).detach()
    assert along.min() < -5 and along.max() > 5


def test_a_simplex_layer_is_the_softmax():
    P = poly("probability simplex")
    layer = PolyhedronLayer(P, 7)
    assert layer.vertex_mode == "select" and layer.num_rays == layer.num_lines == 0
    x = torch.randn(100, 7)
    z = layer(x)
    p = torch.softmax(layer.coef(x), dim=-1)
    order = [int(np.argmax(v)) for v in P.vertices]  # vertex i is e_order[i]
    assert torch.equal(z[:, order], p)
    assert torch.allclose(z.sum(dim=-1), torch.ones(100)) and (z >= 0).all()
    # with the origin as a vertex: its weight is dropped
    Q = poly("simplex")
    zq = PolyhedronLayer(Q, 7)(x)
    assert (zq >= 0).all() and (zq.sum(dim=-1) <= 1 + 1e-6).all()
    # ... in any vertex order: with e_1, ..., e_4 first and the origin last, the selection
    # looked like the identity and returned the origin's column too (5 outputs for d = 4).
    for V in (np.vstack([np.eye(4), np.zeros(4)]), np.vstack([np.zeros(4), np.eye(4)])):
        R = Polyhedron.from_parts(np.array(Q.A), np.array(Q.b), V)
        layer = PolyhedronLayer(R, 7)
        zr = layer(x)
        assert zr.shape == (100, 4) and (zr >= 0).all() and (zr.sum(dim=-1) <= 1 + 1e-6).all()
        p = torch.softmax(layer.coef(x), dim=-1)
        assert torch.allclose(zr, p[:, :4] if V[0].any() else p[:, 1:])


def test_a_cone_is_the_special_case_with_one_vertex_at_the_origin():
    torch.manual_seed(0)
    cone = cc.Cone.from_inequalities(cc.preset("pyramid"))
    P = Polyhedron.from_cone(cone)
    layer = PolyhedronLayer(P, 5)
    assert layer.vertex_mode == "fixed" and layer.num_logits == 0
    assert torch.equal(layer.anchor, torch.zeros(3))
    cone_layer = cc.ConeLayer(cone, 5)  # the pyramid has no lines: R^T nonneg(u) in both
    with torch.no_grad():
        layer.coef.weight.copy_(cone_layer.ray_coef.weight)
        layer.coef.bias.copy_(cone_layer.ray_coef.bias)
    x = torch.randn(50, 5)
    assert torch.allclose(layer(x), cone_layer(x), rtol=1e-5, atol=1e-6)


def test_a_point_outputs_the_point():
    P = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [3, -3, 1, -1])
    layer = PolyhedronLayer(P, 4)
    assert list(layer.parameters()) == []
    z = layer(torch.randn(2, 5, 4))
    assert z.shape == (2, 5, 2) and torch.equal(z, torch.tensor([3.0, 1.0]).expand(2, 5, 2))
    # On the graph where the input is (a loss on the point alone back-propagates: zeros)
    x = torch.randn(3, 4)
    x[1, 2] = float("nan")
    x.requires_grad_(True)
    z = layer(x)
    assert z.requires_grad and torch.equal(z.detach(), torch.tensor([3.0, 1.0]).expand(3, 2))
    z.square().sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_leading_batch_dimensions_and_shape_errors():
    layer = PolyhedronLayer(poly("box"), 5)
    x = torch.randn(2, 3, 5)
    assert layer(x).shape == (2, 3, 4)
    assert torch.allclose(layer(x)[1, 2], layer(x[1, 2]), atol=1e-6)
    with pytest.raises(cc.ConeInputError, match="last dimension 5"):
        layer(torch.randn(3, 4))
    with pytest.raises(cc.ConeInputError, match=r"last dimension 5; got shape \(\)"):
        layer(torch.tensor(1.0))  # was an IndexError


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"in_features": 0}, "positive integer"),
    ({"in_features": True}, "positive integer"),
    ({"nonneg": "sigmoid"}, "nonneg must be one of"),
])
def test_constructor_validates(kwargs, pattern):
    args = {"poly": poly("box"), "in_features": 3, **kwargs}
    with pytest.raises(cc.ConeInputError, match=pattern):
        PolyhedronLayer(**args)


def test_empty_polyhedra_and_other_objects_are_refused():
    empty = Polyhedron.from_inequalities([[1], [-1]], [-1, -1])
    with pytest.raises(cc.ConeInputError, match="the polyhedron is empty"):
        PolyhedronLayer(empty, 3)
    with pytest.raises(cc.ConeInputError, match="Polyhedron"):
        PolyhedronLayer(cc.Cone.from_inequalities([[1, 0]]), 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["random 3-D polytope", "prism with a line", "simplex",
                                  "shifted wedge"])
def test_gradcheck_float64(name):
    torch.manual_seed(0)
    for nonneg in NONNEGS:
        layer = PolyhedronLayer(poly(name), 3, nonneg=nonneg).double()
        x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(layer, (x,))
        layer(x).square().sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


# ---------------------------------------------------------------------- precision
@pytest.mark.parametrize("name", ["far box", "random 3-D polytope", "prism with a line",
                                  "probability simplex", "half-space"])
def test_autocast_keeps_outputs_float32_and_feasible(name):
    P = poly(name)
    layer = PolyhedronLayer(P, 16)
    x = torch.randn(512, 16) * 10
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = layer(x)
    assert z.dtype == torch.float32 and worst(P, z) < 1e-5


@pytest.mark.parametrize("precision", ["high", "medium"])
def test_reduced_precision_matmul_settings_keep_outputs_feasible(precision):
    P = poly("far box")
    layer = PolyhedronLayer(P, 16)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        z = layer(torch.randn(512, 16) * 10)
    finally:
        torch.set_float32_matmul_precision(before)
    assert z.dtype == torch.float32 and worst(P, z) < 1e-5


def test_bfloat16_weights_give_bfloat16_outputs_near_the_polyhedron():
    P = poly("random 3-D polytope")
    layer = PolyhedronLayer(P, 8).bfloat16()
    assert layer.anchor.dtype == torch.float32  # the polyhedron stays float32
    z = layer(torch.randn(100, 8).bfloat16())
    assert z.dtype == torch.bfloat16 and worst(P, z.float()) < 2e-2  # the final rounding


# ---------------------------------------------------------------------- checkpoints
def test_state_dict_round_trip_dtype_and_device_moves():
    P = poly("shifted wedge")
    layer = PolyhedronLayer(P, 4)
    other = PolyhedronLayer(P, 4).double()
    other.load_state_dict(layer.state_dict())
    x = torch.randn(10, 4)
    assert torch.allclose(other(x.double()).float(), layer(x), atol=1e-5)
    assert other.anchor.dtype == torch.float64
    assert torch.equal(other.vertex_offsets.cpu(), torch.as_tensor(
        P.vertices - P.vertices.mean(axis=0)))


def test_the_same_polyhedron_loads_whatever_order_its_vertices_came_in():
    P = poly("random 3-D polytope")
    layer = PolyhedronLayer(P, 4)
    state = layer.state_dict()
    perm = torch.randperm(P.vertices.shape[0], generator=torch.Generator().manual_seed(1))
    shuffled = dict(state)
    shuffled["vertex_offsets"] = state["vertex_offsets"][perm]
    shuffled["coef.weight"] = state["coef.weight"][perm]
    shuffled["coef.bias"] = state["coef.bias"][perm]
    again = PolyhedronLayer(P, 4)
    again.load_state_dict(shuffled)
    x = torch.randn(20, 4)
    assert torch.allclose(again(x), layer(x), atol=1e-6)


def test_the_same_rays_in_another_order_and_lines_in_another_basis_load():
    P = Polyhedron.from_inequalities([[-1, 0, 0, 0], [0, -1, 0, 0]], [1, 2])  # 2 rays, 2 lines
    layer = PolyhedronLayer(P, 3).double()
    state = {k: v.clone() for k, v in layer.state_dict().items()}
    assert set(state) == {"anchor", "vertex_offsets", "rays", "lines", "A", "b", "coef.weight",
                          "coef.bias"}
    theta = 0.7
    U = torch.tensor([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]],
                     dtype=torch.float64)
    saved = dict(state)
    saved["rays"] = state["rays"][[1, 0]]
    saved["lines"] = U @ state["lines"]  # another orthonormal basis of the same lines
    for key in ("coef.weight", "coef.bias"):
        v = state[key].clone()
        v[:2] = state[key][[1, 0]]
        v[2:] = U @ state[key][2:]  # t_theirs = U t_ours keeps t_theirs L_theirs the same
        saved[key] = v
    again = PolyhedronLayer(P, 3).double()
    again.load_state_dict(saved)
    x = torch.randn(20, 3, dtype=torch.float64)
    assert torch.allclose(again(x), layer(x), atol=1e-12)


@pytest.mark.parametrize(("other", "pattern"), [
    (lambda: box(4, -1, 3), r"vertices differ .* by up to 1"),
    (lambda: box(3, -1, 2), r"its anchor are of shape \(4,\), this layer's of \(3,\)"),
    (lambda: Polyhedron.from_inequalities(-np.eye(4, dtype=int), [1, 1, 1, -2]),
     r"vertex_offsets are of shape \(16, 4\)"),
])
def test_weights_of_another_polyhedron_are_refused(other, pattern):
    saved = PolyhedronLayer(poly("box"), 4).state_dict()
    with pytest.raises(ConeMismatchError, match=pattern):
        PolyhedronLayer(other(), 4).load_state_dict(saved)


def test_weights_with_other_rays_are_refused():
    saved = PolyhedronLayer(poly("shifted wedge"), 4).state_dict()
    other = Polyhedron.from_inequalities([[1, -3, 0], [-3, 1, 0], [0, 0, 1]], [1, 2, 3])
    with pytest.raises(ConeMismatchError):
        PolyhedronLayer(other, 4).load_state_dict(saved)


def test_extra_repr_and_violation_helper():
    P = poly("box")
    layer = PolyhedronLayer(P, 3)
    assert "vertices=16" in repr(layer) and "vertex_mode='combine'" in repr(layer)
    inside = torch.tensor([[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, -1.0, 0.0]])
    outside = torch.tensor([[2.5, 0.0, 0.0, 0.0]])
    assert layer.violation(inside).max() == 0 and layer.violation(outside).item() > 0


def test_polyhedron_violation_measure():
    P = Polyhedron.from_inequalities([[1, 0], [0, 1]], [1, 0], equalities=[1])  # y = 0, x <= 1
    assert P.scale == 1.0  # the vertex (1, 0)
    v = polyhedron_violation(P, np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 0.5], [-5.0, 0.0]]))
    assert isinstance(v, np.ndarray) and v[0] == 0 and v[3] == 0
    assert v[1] == pytest.approx(2 / 3)      # 2 past x <= 1, |z| = 3
    assert v[2] == pytest.approx(0.5)        # 0.5 off y = 0, |z| = 0.5 below the floor 1
    assert polyhedron_violation(P, np.array([[0.0, 0.5]]), floor=0.0)[0] == pytest.approx(1.0)
    z = torch.tensor([[3.0, 0.0]], requires_grad=True)
    polyhedron_violation(P, z).sum().backward()
    assert z.grad is not None and z.grad[0, 0] > 0
    assert cc.polyhedron_violation is polyhedron_violation and cc.PolyhedronLayer is PolyhedronLayer


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_outputs_feasible_and_round_trip():
    P = poly("far box")
    layer = PolyhedronLayer(P, 8).cuda()
    z = layer(torch.randn(4096, 8, device="cuda") * 100)
    assert z.device.type == "cuda" and worst(P, z.cpu()) < 1e-5
    back = PolyhedronLayer(P, 8)
    back.load_state_dict(layer.state_dict())
    assert back.anchor.device.type == "cpu"


@pytest.mark.parametrize("name", ["prism with a line", "shifted wedge", "simplex"])
def test_per_sample_gradients_with_torch_func(name):
    """torch.func.grad and vmap(grad) (per-sample gradients): the eager gradients, with no
    operation that vmap runs sample by sample (the in-place addmm_ of vertices, rays and lines
    together was one: 5x slower at 512 samples)."""
    import warnings

    from torch.func import functional_call, grad, vmap

    torch.manual_seed(0)
    layer = PolyhedronLayer(poly(name), 5).double()
    params = {k: v.detach() for k, v in layer.named_parameters()}
    x = torch.randn(30, 5, dtype=torch.float64) * 4

    def loss(p, xb):
        return functional_call(layer, p, (xb,)).square().sum()

    layer(x).square().sum().backward()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*batching rule")
        per_sample = vmap(grad(loss), in_dims=(None, 0))(params, x[:, None, :])
    for key, p in layer.named_parameters():
        assert per_sample[key].shape == (30, *p.shape)
        assert torch.allclose(per_sample[key].sum(0), p.grad, atol=1e-10), key


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_violation_of_points_far_out_keeps_its_value():
    """|z| past 1e154 overflowed in float64: a point far outside the square read 0."""
    square = Polyhedron.from_inequalities([[1, 0], [-1, 0], [0, 1], [0, -1]], [1, 1, 1, 1])
    v = polyhedron_violation(square, np.array([[1e200, 0.0], [1e300, 1e300], [2.0, 0.0],
                                               [0.5, -0.5]]))
    assert np.allclose(v, [1.0, 2 ** -0.5, 0.5, 0.0])
