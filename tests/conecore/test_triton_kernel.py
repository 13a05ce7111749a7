"""The Triton kernels of the ConeLayer on a GPU (inference: rays and box in one pass; training:
the box's forward and backward), run by Triton's interpreter on the CPU: it needs no GPU, only
the ``triton`` package (which torch's CUDA builds bring; skipped where it is missing). On a GPU,
``test_layer.py``'s CUDA tests run them compiled."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="the triton package is not installed")

# Every map with every box on narrow rows; on wide ones (where the interpreter spent three quarters
# of the line kernels' time) each map once, with the boxes in turn.
COMBOS = textwrap.dedent("""
    def combos(d, maps, boxes):
        if d < 512:
            return [(m, b) for m in maps for b in boxes]
        return [(m, boxes[i % len(boxes)]) for i, m in enumerate(maps)]
""")

SCRIPT = COMBOS + textwrap.dedent("""
    import warnings
    import numpy as np
    import torch
    import conecore as cc
    from conecore import layer as L
    from conecore._triton_rays_box import rays_box

    torch.manual_seed(0)
    # the kernel against the torch operations: widths around the block sizes, every map, k = 0
    for n, d, k in ((5, 64, 16), (37, 784, 16), (3, 3, 2), (9, 100, 0), (17, 1025, 3)):
        for nonneg, box in combos(d, list(L.NONNEG), (None, 0.5)):
            yu = torch.randn(n, d + k) * 3
            rays = torch.randn(k, d)
            out = rays_box(yu, rays, nonneg, box)
            z = yu[:, :d] + L.NONNEG[nonneg](yu[:, d:]) @ rays
            if box is not None:
                z = z / torch.clamp(z.abs().amax(-1, keepdim=True) / box, min=1.0)
            err = float((out - z).abs().max())
            assert out.is_contiguous() and out.shape == (n, d)
            assert err <= 1e-5 * (1 + float(z.abs().max())), (n, d, k, nonneg, box, err)
    # the layer's stacked inference path takes it, after the self-check, and stays in the cone
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    layer = cc.ConeLayer(cone, 5, box=2.0)
    x = torch.randn(300, 5) * 10
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        z = layer._forward_stacked(x, layer.line_coef, layer.ray_coef)
        assert L._TRITON_OK[x.device] is True
        assert torch.allclose(z, layer._forward_folded(x), atol=1e-5)
    A = torch.as_tensor(np.array(cone.A))
    assert float(cc.relative_violation(A, z.double()).max()) < 1e-5
    assert float(z.abs().max()) <= 2.0 + 1e-6
    # rows wider than the kernel holds take the torch operations (it would raise otherwise)
    import conecore._triton_rays_box as K

    def too_wide(*args):
        raise AssertionError("rays_box called on rows wider than it holds")

    L._TRITON_MAX_INFER_D, K.rays_box = layer.out_features - 1, too_wide
    with torch.no_grad():
        assert torch.allclose(layer._forward_stacked(x, layer.line_coef, layer.ray_coef), z,
                              atol=1e-5)
    print("kernel ok")
""")


def run(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1", **env_extra}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_kernel_matches_the_torch_operations_and_the_layer_uses_it():
    done = run({})
    assert done.returncode == 0 and "kernel ok" in done.stdout, done.stderr[-3000:]


BOX_SCRIPT = textwrap.dedent("""
    import numpy as np
    import torch
    import conecore as cc
    from conecore import layer as L
    from conecore._triton_rays_box import box_backward, box_forward_

    torch.manual_seed(0)
    # the box's training kernels against the torch operations: ties, a negative peak, a row
    # inside the box, widths around the block sizes, NaN and inf
    for n, d in ((5, 64), (37, 784), (3, 3), (17, 1025), (1, 1)):
        for bound in (1.0, 0.5, 3.0):
            z = torch.randn(n, d) * 2
            if n > 2 and d > 3:
                z[0] = 0.1
                z[1, :3] = z[1].abs().max() + 1
                z[2, 1] = -10
            g = torch.randn(n, d)
            want, got = L._box_saved_torch(z.clone(), bound), box_forward_(z.clone(), bound)
            for a, b in zip(want, got, strict=True):
                assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), (n, d, bound)
            gw, gg = L._box_backward_torch(g, *want, bound), box_backward(g, *got, bound)
            assert torch.allclose(gg, gw, rtol=1e-5, atol=1e-6), (n, d, bound)
    z = torch.tensor([[1.0, float("nan"), 3.0], [2.0, float("inf"), -1.0], [0.5, 0.2, -0.3]])
    want, got = L._box_saved_torch(z.clone(), 1.0)[0], box_forward_(z.clone(), 1.0)[0]
    assert torch.equal(want.isnan(), got.isnan())
    assert torch.equal(torch.nan_to_num(want), torch.nan_to_num(got))
    # the layer's training node takes them (the C kernels off), with the torch operations'
    # outputs and gradients, every output in the cone and the box
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    layer = cc.ConeLayer(cone, 6, box=1.0)
    x = torch.randn(50, 6) * 5
    assert L._triton_works(x)  # the self-check passed (before the counting)
    calls = []
    for name in ("box_forward_", "box_backward"):
        kernel = getattr(cc._triton_rays_box, name)
        setattr(cc._triton_rays_box, name,
                lambda *a, _k=kernel, _n=name: calls.append(_n) or _k(*a))
    results = []
    for use in (True, False):
        L._TRITON_OK[x.device] = use
        layer.zero_grad()
        z = layer(x)
        z.square().sum().backward()
        results.append((z.detach(), [p.grad.clone() for p in layer.parameters()]))
    assert calls == ["box_forward_", "box_backward"], calls
    (z1, g1), (z2, g2) = results
    assert torch.allclose(z1, z2, atol=1e-6)
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(g1, g2, strict=True))
    A = torch.as_tensor(np.array(cone.A))
    assert float(cc.relative_violation(A, z1.double()).max()) < 1e-5
    assert float(z1.abs().max()) <= 1.0 + 1e-6
    print("box kernels ok")
""")


def test_box_kernels_match_the_torch_operations_and_training_uses_them():
    """The box's forward and backward for training on a GPU, one Triton kernel each; checked
    here under the interpreter with the C kernels switched off (on a CPU they come first)."""
    done = subprocess.run([sys.executable, "-c", BOX_SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1",
                               "CONECORE_NATIVE": "0"})
    assert done.returncode == 0 and "box kernels ok" in done.stdout, done.stderr[-3000:]


LINE_SCRIPT = COMBOS + textwrap.dedent("""
    import numpy as np
    import torch
    import conecore as cc
    from conecore import layer as L
    from conecore import _triton_rays_box as K

    def close(a, b):
        return float((a - b).abs().max()) <= 1e-5 * (1 + float(b.abs().max()))

    torch.manual_seed(0)
    # the map, the line map and the box, against the torch operations: widths around the block
    # sizes, one to sixteen basis rows, no rays to sixteen, every map, with and without the box
    for n, d, r, k in ((5, 64, 4, 3), (37, 784, 16, 16), (3, 3, 1, 2), (17, 1025, 5, 0)):
        Q = torch.linalg.qr(torch.randn(d, r, dtype=torch.float64))[0].T.contiguous().float()
        M = torch.randn(k, r)
        for nonneg, bound in combos(d, list(L.NONNEG), (None, 1.0, 0.5)):
            y, g = torch.randn(n, d) * 3, torch.randn(n, d)
            u = torch.randn(n, k) * 3 if k else None
            mu = L.NONNEG[nonneg](u) if k else torch.zeros(n, 0)
            want = y + (mu @ M - y @ Q.T) @ Q
            saved = L._box_saved_torch(want, bound) if bound else (want, None, None)
            z, mu_k, inv, peak = K.line_box_forward_(y.clone(), u, M, Q, nonneg, bound)
            assert close(z, saved[0]), (n, d, r, k, nonneg, bound)
            assert k == 0 or close(mu_k, mu), (n, d, k, nonneg)
            gp = L._box_backward_torch(g, *saved, bound) if bound else g
            gy, gu = K.line_box_backward(g, z, inv, peak, Q, u, mu_k, M, nonneg, bound)
            coords = gp @ Q.T
            assert close(gy, gp - coords @ Q), (n, d, r, k, nonneg, bound)
            if k:
                assert close(gu, L._nonneg_backward(nonneg, coords @ M.T, u, mu)), nonneg
    # a NaN coefficient stays NaN (as torch's maps), its row's outputs too; the others finite
    u = torch.randn(4, 3)
    u[1, 2] = float("nan")
    for nonneg in L.NONNEG:
        z, mu_k, _, _ = K.line_box_forward_(torch.randn(4, 8), u, torch.randn(3, 2),
                                            torch.eye(8)[:2].contiguous(), nonneg, 1.0)
        assert torch.equal(mu_k.isnan(), u.isnan()), nonneg
        assert z[1].isnan().all() and torch.isfinite(z[[0, 2, 3]]).all(), nonneg
    # the layer's training node takes them where the line map goes on the outputs (a wide
    # input, a small batch), the C kernels off: the torch operations' outputs and gradients
    # (the input's too), every output in the cone (and the box)
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    x = (torch.randn(20, 64) * 5).requires_grad_()
    assert L._triton_works(x.detach())  # the self-check passed (before the counting)
    calls = []
    for name in ("line_box_forward_", "line_box_backward"):
        kernel = getattr(K, name)
        setattr(K, name, lambda *a, _k=kernel, _n=name: calls.append(_n) or _k(*a))
    A = torch.as_tensor(np.array(cone.A))
    for nonneg, box in (("softplus", 1.0), ("relu", None), ("exp", 0.5), ("abs", 2.0)):
        layer = cc.ConeLayer(cone, 64, box=box, nonneg=nonneg)
        assert not layer._fold_is_cheaper(20, layer.line_coef.weight)  # the outputs' side
        results = []
        for use in (True, False):
            L._TRITON_OK[x.device] = use
            layer.zero_grad()
            x.grad = None
            z = layer(x)
            z.square().sum().backward()
            results.append((z.detach(), [p.grad.clone() for p in layer.parameters()],
                            x.grad.clone()))
        (z1, g1, x1), (z2, g2, x2) = results
        for a, b in zip([z1, *g1, x1], [z2, *g2, x2], strict=True):  # round-off, relative
            assert float((a - b).abs().max()) <= 1e-5 * (1 + float(b.abs().max())), nonneg
        assert float(cc.relative_violation(A, z1.double()).max()) < 1e-5
        if box is not None:
            assert float(z1.abs().max()) <= box + 1e-6
    assert calls == ["line_box_forward_", "line_box_backward"] * 4, calls
    print("line kernels ok")
""")


def test_line_kernels_match_the_torch_operations_and_training_uses_them():
    """The non-negative map, the "outputs" line map and the box for training on a GPU, one
    Triton kernel each way; checked under the interpreter with the C kernels switched off."""
    done = subprocess.run([sys.executable, "-c", LINE_SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1",
                               "CONECORE_NATIVE": "0"})
    assert done.returncode == 0 and "line kernels ok" in done.stdout, done.stderr[-3000:]


def test_a_failing_kernel_falls_back_with_a_warning():
    """A kernel that cannot run (here: switched off by a wrong constant) is refused by the
    self-check: a RuntimeWarning, and the torch operations give the outputs."""
    script = textwrap.dedent("""
        import warnings
        import torch
        import conecore as cc
        from conecore import layer as L
        import conecore._triton_rays_box as K
        K.NONNEG_CODES["softplus"] = 1  # relu's code: the self-check's softplus case differs
        layer = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("checkerboard-8")), 5, box=2.0)
        x = torch.randn(40, 5)
        with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            z = layer._forward_stacked(x, layer.line_coef, layer.ray_coef)
        assert L._TRITON_OK[x.device] is False
        assert any("fused Triton kernel is not used" in str(w.message) for w in caught)
        assert torch.allclose(z, layer._forward_folded(x), atol=1e-5)
        print("fallback ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0 and "fallback ok" in done.stdout, done.stderr[-3000:]
